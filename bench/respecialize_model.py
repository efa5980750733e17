#!/usr/bin/python3
"""Rewrite a static-shape Ultralytics YOLOv8/YOLO11 pose export for another square input size.

    bench/respecialize_model.py IN.onnx OUT.onnx --imgsz S

Static exports bake the input size into constants: C2PSA attention Reshape targets ([1,2,128,400],
[1,128,20,20] at 640), the DFL Reshape targets ([1,4,16,8400], [1,4,8400]), the decode tail's anchor grid
and stride constants, and the declared output dims. This tool rewrites exactly those (float or int8 QDQ
models) and fails loudly on any other constant that looks size-dependent, so a wrong model is never written.

Needs Debian's python3-onnx and python3-numpy (hence /usr/bin/python3, not a pyenv python).
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

STRIDES = (8, 16, 32)  # the three detection scales of v8/11 pose heads (P3, P4, P5)


class RespecializeError(Exception):
    pass


def grid(size):
    """Exact anchors (x+0.5, y+0.5) as [2, N] and per-anchor strides as [N], Ultralytics' make_anchors order:
    scales by increasing stride, each row-major (y outer, x inner)."""
    xs, ys, st = [], [], []
    for s in STRIDES:
        g = size // s
        y, x = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        xs.append(x.ravel() + 0.5)
        ys.append(y.ravel() + 0.5)
        st.append(np.full(g * g, float(s)))
    return np.stack([np.concatenate(xs), np.concatenate(ys)]), np.concatenate(st)


def decode_constant_forms(size):
    """The decode-tail constants an export may hold, by name: [2, N] (or [N]) float64 arrays."""
    anchors, strides = grid(size)
    return {
        "anchors": anchors,                # box decode: (anchor -/+ ltrb) * stride
        "anchors-0.5": anchors - 0.5,      # keypoint decode: (k*2 + anchor - 0.5) * stride, pre-subtracted
        "strides": strides,
    }


def size_tokens(s0, s1):
    """Map every size-derived dimension at size s0 to its value at s1: grid sides, grid areas, anchor count."""
    pairs = []
    for s in STRIDES:
        pairs += [(s0 // s, s1 // s), ((s0 // s) ** 2, (s1 // s) ** 2)]
    pairs.append((sum((s0 // s) ** 2 for s in STRIDES), sum((s1 // s) ** 2 for s in STRIDES)))
    olds = [o for o, _ in pairs]
    if len(set(olds)) != len(olds):  # e.g. a grid side equal to another scale's area: values are ambiguous
        raise RespecializeError(f"size-derived dimensions at {s0} are ambiguous: {sorted(olds)}")
    return dict(pairs)


def match_form(arr, size):
    """Name and layout of a decode constant if arr equals one exactly at `size`, else None.
    Layouts: [..1.., 2, N], [..1.., N, 2], [..1.., N], [..1.., N, 1] (leading/trailing unit dims allowed)."""
    core = [d for d in arr.shape if d != 1]
    for name, ref in decode_constant_forms(size).items():
        for layout, r in (("kn", ref), ("nk", ref.T)):
            if list(r.shape) == core and np.array_equal(arr.reshape(r.shape).astype(np.float64), r):
                return name, layout
    return None


def rebuild_form(name, layout, shape, n_old, n_new, size, dtype):
    ref = decode_constant_forms(size)[name]
    if layout == "nk":
        ref = ref.T
    new_shape = [n_new if d == n_old else d for d in shape]
    return ref.reshape(new_shape).astype(dtype)


class Constants:
    """Uniform access to initializers and Constant nodes (tensor-valued), with their consumers."""

    def __init__(self, graph):
        self.graph = graph
        self.init = {t.name: t for t in graph.initializer}
        self.const_node = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
        self.consumers = {}
        for n in graph.node:
            for i, name in enumerate(n.input):
                self.consumers.setdefault(name, []).append((n, i))

    def names(self):
        return list(self.init) + list(self.const_node)

    def get(self, name):
        if name in self.init:
            return numpy_helper.to_array(self.init[name])
        n = self.const_node.get(name)
        if n is None:
            return None
        attr = {a.name: a for a in n.attribute}
        if "value" in attr:
            return numpy_helper.to_array(attr["value"].t)
        if "value_ints" in attr:
            return np.array(attr["value_ints"].ints, dtype=np.int64)
        if "value_int" in attr:
            return np.array(attr["value_int"].i, dtype=np.int64)
        return None  # float/string-valued scalars and lists carry no shape

    def set(self, name, arr):
        t = numpy_helper.from_array(arr, name)
        if name in self.init:
            self.init[name].CopyFrom(t)
            return
        n = self.const_node[name]
        del n.attribute[:]
        n.attribute.append(helper.make_attribute("value", t))


# Inputs that take a shape or an index/length along an axis: an int constant holding a size-derived value there
# is size-dependent. Only Reshape targets are understood; anything else (e.g. Resize `sizes`, a Slice end at a
# spatial position) makes the tool stop.
SHAPE_INPUTS = {("Reshape", 1), ("Expand", 1), ("Tile", 1), ("Split", 1), ("Resize", 3), ("ConstantOfShape", 0),
                ("Slice", 1), ("Slice", 2), ("Range", 0), ("Range", 1), ("Pad", 1), ("Upsample", 1), ("Gather", 1)}


def respecialize(model, size):
    graph = model.graph
    inits = {t.name for t in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in inits]
    if len(real_inputs) != 1:
        raise RespecializeError(f"expected one image input, found {[i.name for i in real_inputs]}")
    dims = real_inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if len(shape) != 4 or None in shape or shape[2] != shape[3]:
        raise RespecializeError(f"input {real_inputs[0].name} has shape {shape}: need a static square [1,3,S,S]")
    s0 = shape[2]
    for s in (s0, size):
        if s % 32 or s <= 0:
            raise RespecializeError(f"image size {s} is not a positive multiple of 32")
    tokens = size_tokens(s0, size)
    n_old = max(tokens)  # the anchor count is the largest size-derived value
    n_new = tokens[n_old]
    areas = {(s0 // s) ** 2 for s in STRIDES} | {n_old}

    c = Constants(graph)
    changed = []
    for name in c.names():
        arr = c.get(name)
        if arr is None:
            continue
        uses = c.consumers.get(name, [])
        # Shape-like int64 constants: rewrite Reshape targets, refuse other size-dependent uses.
        if arr.dtype == np.int64 and any((n.op_type, i) in SHAPE_INPUTS for n, i in uses):
            hits = [v for v in arr.ravel().tolist() if v in tokens]
            if not hits:
                continue
            bad = [f"{n.op_type} {n.name} input {i}" for n, i in uses if (n.op_type, i) != ("Reshape", 1)]
            if bad or arr.ndim != 1:
                raise RespecializeError(f"size-dependent int constant {name} = {arr.tolist()} used by {bad}: not understood")
            new = np.array([tokens.get(v, v) for v in arr.tolist()], dtype=np.int64)
            c.set(name, new)
            changed.append(f"Reshape target {name}: {arr.tolist()} -> {new.tolist()}")
            continue
        # Tensors with an anchor-count or grid-area dimension (convolution weights aside: a channel count may
        # equal a grid side, never matters): must be an exact decode constant.
        if not any(d in areas for d in arr.shape) or is_conv_param(c, name):
            continue
        if n_old not in arr.shape:
            raise RespecializeError(f"constant {name} {list(arr.shape)} has a per-scale size dimension: not understood")
        dq = [(n, i) for n, i in uses if n.op_type == "DequantizeLinear" and i == 0]
        if arr.dtype.kind == "f":
            form = match_form(arr, s0)
            if form is None:
                raise RespecializeError(f"float constant {name} {list(arr.shape)} with the anchor count is not an exact "
                                        "anchor grid / anchor-0.5 / stride constant: not understood")
            c.set(name, rebuild_form(*form, arr.shape, n_old, n_new, size, arr.dtype))
            changed.append(f"{form[0]} ({form[1]}) {name}: {list(arr.shape)}")
        elif dq and len(dq) == len(uses):
            changed.append(requantize(c, name, arr, dq, s0, size, n_old, n_new))
        else:
            raise RespecializeError(f"constant {name} {arr.dtype} {list(arr.shape)} with the anchor count: not understood")

    dims[2].dim_value = size
    dims[3].dim_value = size
    for out in graph.output:
        for d in out.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value in tokens:
                d.dim_value = tokens[d.dim_value]
    del graph.value_info[:]  # stale intermediate shapes; shape inference recomputes them
    for p in model.metadata_props:  # Ultralytics records the export size
        if p.key == "imgsz":
            p.value = f"[{size}, {size}]"
    return changed


def is_conv_param(c, name):
    """True if the constant is a Conv weight or bias, directly or through a DequantizeLinear."""
    for n, i in c.consumers.get(name, []):
        if n.op_type in ("Conv", "ConvTranspose") and i >= 1:
            return True
        if n.op_type == "DequantizeLinear" and i == 0 and any(is_conv_param(c, o) for o in n.output):
            return True
    return False


def requantize(c, name, q, dq_uses, s0, size, n_old, n_new):
    """An int8/uint8 decode constant behind DequantizeLinear: keep its scale and zero point, requantize the new
    grid with ONNX's QuantizeLinear rounding (half to even, saturate). Proven understood by reproducing the
    stored values exactly at the original size."""
    node = dq_uses[0][0]
    scale = c.get(node.input[1])
    zp = c.get(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros((), q.dtype)
    if scale is None or scale.size != 1 or zp is None or zp.size != 1:
        raise RespecializeError(f"quantized constant {name}: per-axis or non-constant scale: not understood")
    if any(n.input[1:] != node.input[1:] for n, _ in dq_uses):
        raise RespecializeError(f"quantized constant {name}: dequantized with different parameters: not understood")
    info = np.iinfo(q.dtype)

    def quant(x):
        return np.clip(np.round(x / scale.astype(np.float64).item()) + int(zp.item()), info.min, info.max).astype(q.dtype)

    core = [d for d in q.shape if d != 1]
    for form, ref in decode_constant_forms(s0).items():
        for layout, r in (("kn", ref), ("nk", ref.T)):
            if list(r.shape) == core and np.array_equal(quant(r).reshape(q.shape), q):
                new = rebuild_form(form, layout, q.shape, n_old, n_new, size, np.float64)
                c.set(name, quant(new))
                return f"quantized {form} ({layout}) {name}: {list(q.shape)}, scale {scale.item():.6g} zp {zp.item()}"
    raise RespecializeError(f"quantized constant {name} {list(q.shape)} is no requantized anchor/stride grid: not understood")


def copy_for_old_onnx(model):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.ir_version = min(m.ir_version, onnx.IR_VERSION)
    for op in m.opset_import:
        if op.domain in ("", "ai.onnx"):
            op.version = min(op.version, onnx.defs.onnx_opset_version())
    return m


def check(model):
    """onnx.checker plus strict shape inference, and the declared output dims must equal the inferred ones.

    Debian's python3-onnx 1.12 knows IR <= 8 and opset <= 17, while current exports are IR 9 / opset 20, so the
    check runs on a copy declared at the versions it knows: the ops of these models (Conv, Reshape, Split,
    Resize, Q/DQ, ...) have the same semantics and shape rules there; a model relying on a newer feature fails
    the check loudly, it is never passed silently. The saved model keeps its own versions."""
    model = copy_for_old_onnx(model)
    onnx.checker.check_model(model)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    declared = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    # Shape inference's view of the outputs: from the node outputs that feed them (value_info or outputs).
    known = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in
             list(inferred.graph.value_info) + list(inferred.graph.output)}
    for name, dims in declared.items():
        if known.get(name) != dims:
            raise RespecializeError(f"output {name}: declared {dims}, shape inference gives {known.get(name)}")
    return inferred


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--imgsz", type=int, required=True, help="new square input size, a multiple of 32")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every rewritten constant")
    a = ap.parse_args(argv)
    try:
        model = onnx.load(a.input)
        changed = respecialize(model, a.imgsz)
        check(model)
    except FileNotFoundError as e:
        sys.exit(f"respecialize_model: {e}")
    except (RespecializeError, onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        sys.exit(f"respecialize_model: {a.input}: {e}")
    onnx.save(model, a.output)
    if a.verbose:
        print("\n".join(changed), file=sys.stderr)
    print(f"respecialize_model: wrote {a.output} for imgsz {a.imgsz} ({len(changed)} constants rewritten)", file=sys.stderr)


if __name__ == "__main__":
    main()
