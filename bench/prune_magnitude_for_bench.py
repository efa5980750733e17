#!/usr/bin/python3
"""Zeros the smallest-magnitude fraction of each conv's weights of a float ONNX model, for measuring the
sparse kernels and `--kernels auto` on a model with real shapes. Not a pruner: no calibration, no
compensation, accuracy is not preserved (the real pruner is `sparsepose optimize --prune`, issue #8 item 1).

The first conv (3 input channels) and the pose head (/model.23/, YOLO11's Pose module) stay dense, as the
issue prescribes for real pruning; depthwise convs (group > 1) too, since the engine keeps them dense.

  /usr/bin/python3 bench/prune_magnitude_for_bench.py assets/models/yolo11n-pose.onnx 0.7 /tmp/p70.onnx
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: prune_magnitude_for_bench.py IN.onnx SPARSITY OUT.onnx")
    src, sparsity, dst = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    if not 0 < sparsity < 1:
        sys.exit(f"sparsity {sparsity} is outside (0, 1)")
    model = onnx.load(src)
    inits = {t.name: t for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    pruned = kept = 0
    for i, node in enumerate(convs):
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        w_init = inits.get(node.input[1])
        if w_init is None:
            sys.exit(f"{node.name}: weights are not an initializer")
        if i == 0 or "/model.23/" in node.name or group != 1:
            kept += 1
            continue
        w = numpy_helper.to_array(w_init).astype(np.float32)
        k = int(round(sparsity * w.size))
        flat = np.abs(w).ravel()
        # Exactly k zeros per layer (ties broken by position), whatever the layer's value distribution.
        order = np.argsort(flat, kind="stable")
        mask = np.ones(w.size, dtype=bool)
        mask[order[:k]] = False
        w = (w.ravel() * mask).reshape(w.shape).astype(np.float32)
        w_init.CopyFrom(numpy_helper.from_array(w, w_init.name))
        pruned += 1
    onnx.save(model, dst)
    print(f"{dst}: {pruned} convs pruned to {sparsity:.0%} zeros, {kept} kept dense (first conv, head, depthwise)")


if __name__ == "__main__":
    main()
