#!/usr/bin/python3
# Writes small valid ONNX models as the fuzzer's seed corpus (tests/fuzz/seeds/): a YOLO-like conv
# block (Conv, Sigmoid, Mul, Split, Concat, MaxPool, Resize, Reshape) and a shape-arithmetic graph like
# dynamic exports have (Shape, Gather, Unsqueeze, Concat, Reshape). Run: tests/fuzz/make_seeds.py
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(0)

def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)

nodes = [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("Sigmoid", ["c"], ["s"]),
    helper.make_node("Mul", ["c", "s"], ["a"]),
    helper.make_node("Split", ["a", "split"], ["a0", "a1"], axis=1),
    helper.make_node("MaxPool", ["a1"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Concat", ["a0", "p"], ["cat"], axis=1),
    helper.make_node("Resize", ["cat", "", "scales"], ["up"], mode="nearest",
                     coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    helper.make_node("Reshape", ["up", "shape"], ["y"]),
]
g = helper.make_graph(nodes, "conv_block",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, None])],
                      [init("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
                       init("b", np.zeros(4, np.float32)),
                       init("split", np.array([2, 2], np.int64)),
                       init("scales", np.array([1, 1, 2, 2], np.float32)),
                       init("shape", np.array([1, 4, -1], np.int64))])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(m)
onnx.save(m, os.path.join(here, "conv_block.onnx"))

nodes = [
    helper.make_node("Shape", ["x"], ["sh"]),
    helper.make_node("Gather", ["sh", "i2"], ["h"], axis=0),
    helper.make_node("Unsqueeze", ["h", "ax0"], ["hu"]),
    helper.make_node("Concat", ["one", "hu", "minus1"], ["target"], axis=0),
    helper.make_node("Reshape", ["x", "target"], ["y"]),
]
g = helper.make_graph(nodes, "shape_math",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, "h", "w"])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, None])],
                      [init("i2", np.array(2, np.int64)), init("ax0", np.array([0], np.int64)),
                       init("one", np.array([1], np.int64)), init("minus1", np.array([-1], np.int64))])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, os.path.join(here, "shape_math.onnx"))
print("wrote seeds to", here)

# A valid model with an op the engine does not run, for the command-line error tests.
data_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
os.makedirs(data_dir, exist_ok=True)
g = helper.make_graph([helper.make_node("Conv", ["images", "w"], ["c"], name="stem"),
                       helper.make_node("Gelu", ["c"], ["output0"], name="head_gelu")],
                      "unsupported", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
                      [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4, 64, 64])],
                      [init("w", rng.standard_normal((4, 3, 1, 1)).astype(np.float32))])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
onnx.save(m, os.path.join(data_dir, "unsupported_op.onnx"))
print("wrote", os.path.join(data_dir, "unsupported_op.onnx"))
