#include "core/quantize/onnx_model_util.h"

#include <cstring>

#include "core/error.h"

namespace sp::quant::detail {

GraphIndex::GraphIndex(const onnx::GraphProto& g) {
  for (int i = 0; i < g.initializer_size(); ++i) {
    initializer[g.initializer(i).name()] = i;
    constants.insert(g.initializer(i).name());
  }
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    for (const auto& o : n.output()) {
      if (!o.empty()) producer[o] = i;
      if (n.op_type() == "Constant") constants.insert(o);
    }
    for (const auto& in : n.input()) {
      if (!in.empty()) consumers[in].push_back(i);
    }
  }
  for (const auto& o : g.output()) graph_outputs.insert(o.name());
}

std::vector<float> float_values(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::FLOAT) throw Error("tensor '" + t.name() + "' is not float");
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != v.size() * sizeof(float)) throw Error("tensor '" + t.name() + "' has the wrong size");
    if (n > 0) std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
  } else {
    if (t.float_data_size() != n) throw Error("tensor '" + t.name() + "' has the wrong size");
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = t.float_data(static_cast<int>(i));
  }
  return v;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& key, int64_t fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == key && a.type() == onnx::AttributeProto::INT) return a.i();
  }
  return fallback;
}

std::string attr_string(const onnx::NodeProto& n, const std::string& key, const std::string& fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == key && a.type() == onnx::AttributeProto::STRING) return a.s();
  }
  return fallback;
}

}  // namespace sp::quant::detail
