#include "core/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <unordered_map>

#include "core/error.h"

namespace sp {
namespace {

constexpr int64_t kMinOpset = 11;
constexpr int64_t kMaxOpset = 21;
constexpr int64_t kMaxTensorElements = int64_t{1} << 31;  // larger initializers are certainly corrupt here

const std::set<std::string>& supported_ops() {
  static const std::set<std::string> ops = {
      "Add", "BatchNormalization", "Cast", "Concat", "Constant", "ConstantOfShape", "Conv", "DequantizeLinear",
      "Div", "Equal", "Expand", "Flatten", "Gather", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "MatMul",
      "MaxPool", "Mul", "QuantizeLinear", "Range", "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice",
      "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where", "Pow", "Floor", "Ceil",
      "Neg", "Tanh", "Exp", "Log"};
  return ops;
}

DType convert_dtype(int onnx_type, const std::string& where) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT: return DType::kFloat32;
    case onnx::TensorProto::UINT8: return DType::kUInt8;
    case onnx::TensorProto::INT8: return DType::kInt8;
    case onnx::TensorProto::INT32: return DType::kInt32;
    case onnx::TensorProto::INT64: return DType::kInt64;
    case onnx::TensorProto::BOOL: return DType::kBool;
    default:
      throw Error(where + ": unsupported tensor element type " + std::to_string(onnx_type) +
                  " (supported: float32, uint8, int8, int32, int64, bool)");
  }
}

TensorPtr convert_tensor(const onnx::TensorProto& tp, const std::string& where) {
  if (tp.data_location() == onnx::TensorProto::EXTERNAL || tp.external_data_size() > 0) {
    throw Error(where + ": tensor '" + tp.name() + "' uses external data, which is not supported");
  }
  auto t = std::make_shared<Tensor>();
  t->dtype = convert_dtype(tp.data_type(), where + ": tensor '" + tp.name() + "'");
  int64_t n = 1;
  for (int64_t d : tp.dims()) {
    if (d < 0 || (d > 0 && n > kMaxTensorElements / d)) {
      throw Error(where + ": tensor '" + tp.name() + "' has an invalid shape");
    }
    t->shape.push_back(d);
    n *= d;
  }
  const size_t elem = dtype_size(t->dtype);
  // Compare what the proto holds with what the shape needs BEFORE allocating: a corrupt file can claim
  // gigabytes in its dims and carry no data (the fuzzer found one).
  int64_t held = 0;
  if (tp.has_raw_data()) held = tp.raw_data().size() % elem ? -1 : static_cast<int64_t>(tp.raw_data().size() / elem);
  else if (t->dtype == DType::kFloat32) held = tp.float_data_size();
  else if (t->dtype == DType::kInt64) held = tp.int64_data_size();
  else held = tp.int32_data_size();  // int32, int8, uint8 and bool are stored widened in int32_data
  if (held != n) {
    throw Error(where + ": tensor '" + tp.name() + "' holds " + std::to_string(held < 0 ? static_cast<int64_t>(tp.raw_data().size() / elem) : held) + " values but its shape " +
                shape_string(t->shape) + " needs " + std::to_string(n));
  }
  t->bytes.resize(static_cast<size_t>(n) * elem);
  if (tp.has_raw_data()) {
    if (n > 0) std::memcpy(t->bytes.data(), tp.raw_data().data(), t->bytes.size());
    return t;
  }
  switch (t->dtype) {
    case DType::kFloat32:
      if (n > 0) std::memcpy(t->bytes.data(), tp.float_data().data(), t->bytes.size());
      break;
    case DType::kInt64:
      if (n > 0) std::memcpy(t->bytes.data(), tp.int64_data().data(), t->bytes.size());
      break;
    case DType::kInt32:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) {
        int32_t v = tp.int32_data(static_cast<int>(i));
        if (t->dtype == DType::kInt32) t->data<int32_t>()[i] = v;
        else if (t->dtype == DType::kInt8) t->data<int8_t>()[i] = static_cast<int8_t>(v);
        else t->data<uint8_t>()[i] = static_cast<uint8_t>(v);
      }
      break;
  }
  return t;
}

Attribute convert_attribute(const onnx::AttributeProto& ap, const std::string& where) {
  Attribute a;
  switch (ap.type()) {
    case onnx::AttributeProto::INT: a.kind = Attribute::Kind::kInt; a.i = ap.i(); break;
    case onnx::AttributeProto::FLOAT: a.kind = Attribute::Kind::kFloat; a.f = ap.f(); break;
    case onnx::AttributeProto::STRING: a.kind = Attribute::Kind::kString; a.s = ap.s(); break;
    case onnx::AttributeProto::INTS:
      a.kind = Attribute::Kind::kInts;
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      a.kind = Attribute::Kind::kFloats;
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      a.kind = Attribute::Kind::kTensor;
      a.t = convert_tensor(ap.t(), where);
      break;
    default:
      throw Error(where + ": attribute '" + ap.name() + "' has an unsupported type");
  }
  return a;
}

Graph convert_model(const onnx::ModelProto& model, const std::string& origin) {
  Graph g;
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  }
  if (g.opset == 0) throw Error(origin + ": the model imports no default-domain opset");
  if (g.opset < kMinOpset || g.opset > kMaxOpset) {
    throw Error(origin + ": opset " + std::to_string(g.opset) + " is not supported (supported: " +
                std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  }
  for (const auto& p : model.metadata_props()) g.metadata[p.key()] = p.value();
  const onnx::GraphProto& gp = model.graph();
  if (gp.node_size() == 0) throw Error(origin + ": the graph has no nodes");

  std::unordered_map<std::string, int> by_name;
  auto define = [&](Value v) {
    if (v.name.empty()) throw Error(origin + ": a value has an empty name");
    if (by_name.count(v.name)) throw Error(origin + ": value '" + v.name + "' is defined twice");
    std::string name = v.name;
    int id = g.add_value(std::move(v));
    by_name[name] = id;
    return id;
  };

  for (const auto& init : gp.initializer()) {
    Value v;
    v.name = init.name();
    v.constant = convert_tensor(init, origin);
    v.dtype = v.constant->dtype;
    v.shape = v.constant->shape;
    v.shape_known = true;
    define(std::move(v));
  }
  for (const auto& in : gp.input()) {
    if (by_name.count(in.name())) continue;  // an initializer listed as input (old exporters)
    Value v;
    v.name = in.name();
    const auto& tt = in.type().tensor_type();
    v.dtype = convert_dtype(tt.elem_type(), origin + ": graph input '" + in.name() + "'");
    for (const auto& d : tt.shape().dim()) v.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    v.shape_known = false;  // dynamic dims are fixed when a Session is created
    g.inputs.push_back(define(std::move(v)));
  }
  if (g.inputs.empty()) throw Error(origin + ": the graph has no inputs");

  for (int ni = 0; ni < gp.node_size(); ++ni) {
    const auto& np = gp.node(ni);
    Node n;
    n.op_type = np.op_type();
    n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(ni) : np.name();
    if (!np.domain().empty() && np.domain() != "ai.onnx") {
      throw Error(origin + ": unsupported op '" + n.op_type + "' from domain '" + np.domain() + "' (node '" +
                  n.name + "')");
    }
    if (!is_supported_op(n.op_type)) {
      throw Error(origin + ": unsupported op '" + n.op_type + "' (node '" + n.name + "')");
    }
    for (const auto& ap : np.attribute()) {
      n.attrs[ap.name()] = convert_attribute(ap, origin + ": node '" + n.name + "'");
    }
    for (const auto& in : np.input()) {
      if (in.empty()) {
        n.inputs.push_back(-1);
        continue;
      }
      auto it = by_name.find(in);
      if (it == by_name.end()) {
        throw Error(origin + ": node '" + n.name + "' reads '" + in + "', which nothing defines before it");
      }
      n.inputs.push_back(it->second);
    }
    if (n.op_type == "Constant") {
      // Constants become constant values at once; they are not nodes at run time.
      if (np.output_size() != 1) throw Error(origin + ": Constant node '" + n.name + "' must have one output");
      Value v;
      v.name = np.output(0);
      auto it = n.attrs.find("value");
      if (it != n.attrs.end() && it->second.kind == Attribute::Kind::kTensor) {
        v.constant = it->second.t;
      } else if (n.has_attr("value_float")) {
        v.constant = make_float_tensor({n.attr_float("value_float", 0)}, {});
      } else if (n.has_attr("value_int")) {
        v.constant = make_int64_tensor({n.attr_int("value_int", 0)}, {});
      } else if (n.has_attr("value_ints")) {
        auto ints = n.attr_ints("value_ints");
        v.constant = make_int64_tensor(ints, {static_cast<int64_t>(ints.size())});
      } else {
        throw Error(origin + ": Constant node '" + n.name + "' has no supported value attribute");
      }
      v.dtype = v.constant->dtype;
      v.shape = v.constant->shape;
      v.shape_known = true;
      define(std::move(v));
      continue;
    }
    for (const auto& out : np.output()) {
      Value v;
      v.name = out.empty() ? n.name + "_unused_output" + std::to_string(n.outputs.size()) : out;
      n.outputs.push_back(define(std::move(v)));
    }
    g.add_node(std::move(n));
  }
  for (const auto& out : gp.output()) {
    auto it = by_name.find(out.name());
    if (it == by_name.end()) throw Error(origin + ": graph output '" + out.name() + "' is never produced");
    g.outputs.push_back(it->second);
    // The declared shape, for display only: shape inference decides the real one for a Session.
    Value& v = g.values[it->second];
    if (!v.shape_known && v.shape.empty() && out.type().tensor_type().has_shape()) {
      for (const auto& d : out.type().tensor_type().shape().dim()) v.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
  }
  if (g.outputs.empty()) throw Error(origin + ": the graph has no outputs");
  return g;
}

}  // namespace

bool is_supported_op(const std::string& op_type) { return supported_ops().count(op_type) != 0; }

Graph load_onnx_bytes(const void* data, size_t size, const std::string& origin) {
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error(origin + ": the file is larger than 2 GiB, which protobuf cannot parse");
  }
  onnx::ModelProto model;
  if (size == 0 || !model.ParseFromArray(data, static_cast<int>(size))) {
    throw Error(origin + ": not a valid ONNX model (the protobuf could not be parsed; truncated or not ONNX?)");
  }
  if (!model.has_graph()) throw Error(origin + ": not a valid ONNX model (no graph)");
  return convert_model(model, origin);
}

Graph load_onnx_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("model path '" + path + "' is a directory, not an ONNX file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open model file '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw Error("cannot read model file '" + path + "'");
  return load_onnx_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace sp
