#!/usr/bin/python3
"""Make the pose head's three raw branch outputs per scale visible as extra graph outputs.

    tests/golden/expose_head.py IN.onnx OUT.onnx     (prints a JSON description of the branches on stdout)

Ultralytics v8/11 pose heads end, per scale i, in three plain convolutions: cv2.i (4*reg_max box distribution
channels), cv3.i (class scores: 1 for pose), cv4.i (17*3 keypoints). Their outputs are what sparsepose decodes
itself, so the golden tests compare those tensors; ONNX Runtime only returns graph outputs, hence this tool.
Works on float and QDQ models (in a QDQ model the exposed tensor is the float Conv output, before its
QuantizeLinear). Uses Debian's python3-onnx (hence /usr/bin/python3).
"""
import json
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BRANCH = {"2": "box", "3": "score", "4": "keypoints"}
HEAD_CONV = re.compile(r"/model\.(\d+)/cv([234])\.(\d+)/")


def weight_value(graph, weight):
    """A Conv weight as float: an initializer, or an initializer behind DequantizeLinear (per-tensor or per-axis)."""
    inits = {t.name: t for t in graph.initializer}
    if weight in inits:
        return numpy_helper.to_array(inits[weight]).astype(np.float64)
    n = next((n for n in graph.node if weight in n.output), None)
    if n is None or n.op_type != "DequantizeLinear" or n.input[0] not in inits:
        raise SystemExit(f"expose_head: cannot find the weight {weight}")
    q = numpy_helper.to_array(inits[n.input[0]]).astype(np.float64)
    scale = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
    zp = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64) if len(n.input) > 2 and n.input[2] else 0.0
    if np.ndim(scale):  # per-axis: broadcast along the axis attribute (default 1)
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zp = np.reshape(zp, shape) if np.ndim(zp) else zp
    return (q - zp) * scale


def dfl_weights(graph):
    """The DFL expectation weights (a [1, reg_max, 1, 1] Conv in the decode tail). Ideally 0..reg_max-1, but a
    model derived from an int8 export keeps the int8-rounded values, and output0 is computed with those."""
    convs = [n for n in graph.node if n.op_type == "Conv" and "dfl" in n.name]
    if len(convs) != 1:
        return None
    w = weight_value(graph, convs[0].input[1])
    return w.ravel().tolist() if w.shape[0] == 1 and w.size == w.shape[1] else None


def find_branches(graph):
    """{(branch digit, scale): final Conv node}: per group, the Conv from which no other Conv of the group is
    reached (only activation / Q / DQ nodes may lie between two convs of a branch)."""
    groups = {}
    for n in graph.node:
        m = HEAD_CONV.search(n.name)
        if n.op_type == "Conv" and m:
            groups.setdefault((int(m.group(1)), m.group(2), int(m.group(3))), []).append(n)
    if not groups:
        raise SystemExit("expose_head: no cv2/cv3/cv4 head convolutions found (not an Ultralytics pose export?)")
    layer = max(k[0] for k in groups)  # the head is the last module
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def reaches_conv(node, members, depth=6):
        frontier = list(node.output)
        for _ in range(depth):
            nxt = []
            for t in frontier:
                for c in consumers.get(t, []):
                    if c.op_type == "Conv":
                        if any(c is m for m in members):
                            return True
                    else:
                        nxt += list(c.output)
            frontier = nxt
        return False

    finals = {}
    for (lay, br, scale), members in groups.items():
        if lay != layer:
            continue
        last = [n for n in members if not reaches_conv(n, members)]
        if len(last) != 1:
            raise SystemExit(f"expose_head: cv{br}.{scale} has {len(last)} final convolutions: {[n.name for n in last]}")
        finals[(br, scale)] = last[0]
    scales = sorted({s for _, s in finals})
    if sorted(finals) != sorted((b, s) for b in "234" for s in scales):
        raise SystemExit(f"expose_head: incomplete head: {sorted(finals)}")
    return layer, finals


def expose(model):
    graph = model.graph
    layer, finals = find_branches(graph)
    existing = {o.name for o in graph.output}
    branches = []
    for (br, scale), node in sorted(finals.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        name = node.output[0]
        if name not in existing:
            # Shape left open: ORT reports it; the JSON below gives the channel count.
            graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        branches.append({"key": f"cv{br}.{scale}", "branch": BRANCH[br], "scale": scale, "node": node.name,
                         "tensor": name, "channels": int(weight_value(graph, node.input[1]).shape[0])})
    return {"head_layer": layer, "branches": branches, "dfl_weights": dfl_weights(graph)}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model = onnx.load(sys.argv[1])
    info = expose(model)
    onnx.save(model, sys.argv[2])
    print(json.dumps(info))


if __name__ == "__main__":
    main()
