// Small helpers over onnx::ModelProto for the quantizer (internal to core/quantize: includes protobuf).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace sp::quant::detail {

// Where each value comes from and who reads it, for a GraphProto as it is.
struct GraphIndex {
  std::map<std::string, int> producer;                 // value -> node index
  std::map<std::string, std::vector<int>> consumers;   // value -> node indices (each node once per input slot)
  std::map<std::string, int> initializer;              // name -> initializer index
  std::set<std::string> constants;                     // initializers and Constant outputs
  std::set<std::string> graph_outputs;
  explicit GraphIndex(const onnx::GraphProto& g);
  bool is_constant(const std::string& v) const { return constants.count(v) != 0; }
};

std::vector<float> float_values(const onnx::TensorProto& t);  // throws sp::Error for non-float tensors
int64_t attr_int(const onnx::NodeProto& n, const std::string& key, int64_t fallback);
std::string attr_string(const onnx::NodeProto& n, const std::string& key, const std::string& fallback);

}  // namespace sp::quant::detail
