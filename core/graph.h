// The graph IR: values (SSA, each produced once) and nodes in topological order. Imported from ONNX,
// rewritten by passes (core/passes/), then compiled into a Session.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace sp {

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kTensor } kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  TensorPtr t;
};

// What a folded DequantizeLinear of a constant integer tensor was: the integers and their per-axis (or
// per-tensor) scale and zero point, kept so the integer engine can use the exact weights and bias.
struct QuantizedConstant {
  TensorPtr integers;               // int8 / uint8 / int32, the DequantizeLinear input
  std::vector<float> scales;        // one, or one per index of `axis`
  std::vector<int64_t> zero_points; // same count as scales
  int64_t axis = 0;
};

struct Value {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;                  // ONNX logical shape; empty + !shape_known before inference
  bool shape_known = false;
  TensorPtr constant;           // set for initializers and folded values
  int producer = -1;            // node index, -1 for graph inputs and constants
  std::shared_ptr<const QuantizedConstant> dequantized_from;  // constant = DequantizeLinear(this)
};

struct Node {
  std::string name;
  std::string op_type;
  std::vector<int> inputs;      // value ids; -1 for an omitted optional input
  std::vector<int> outputs;
  std::map<std::string, Attribute> attrs;
  bool removed = false;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  // "op 'Conv' (node '/model.0/conv/Conv')" — for error messages.
  std::string describe() const;
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // non-constant graph inputs
  std::vector<int> outputs;
  int64_t opset = 0;
  std::map<std::string, std::string> metadata;

  int add_value(Value v);
  int add_node(Node n);     // sets producer of its outputs
  int find_value(const std::string& name) const;  // -1 if absent
  const Tensor* constant(int value) const {
    return value >= 0 && values[value].constant ? values[value].constant.get() : nullptr;
  }
  // consumers[v] = nodes (not removed) reading value v.
  std::vector<std::vector<int>> consumers() const;
  // Replaces every use of `from` (node inputs and graph outputs) by `to`.
  void replace_uses(int from, int to);
  // Drops nodes marked removed and nodes whose outputs nobody needs; renumbers nothing.
  void remove_dead_nodes();
};

}  // namespace sp
