// Creates the runtime op for a compiled node. Each op file registers its creators in one function
// called from op_factory.cpp (explicit, because static-library registrars get dropped by the linker).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/error.h"
#include "core/kernel_plan.h"
#include "core/ops/op.h"

namespace sp {

struct OpBuildContext {
  const Node& node;
  std::vector<RtValue>& values;
  Isa isa;
  KernelMode kernels = KernelMode::kAuto;  // dense / sparse convolution kernels (core/kernel_plan.h)
  double sparse_tune_window = kSparseTuneWindow;  // SessionOptions::sparse_tune_window

  const RtValue& in(size_t i) const { return values.at(node.inputs.at(i)); }
  const RtValue& out(size_t i) const { return values.at(node.outputs.at(i)); }
  bool has_in(size_t i) const { return i < node.inputs.size() && node.inputs[i] >= 0; }
  Error error(const std::string& what) const { return Error(node.describe() + ": " + what); }
};

using OpCreator = std::function<OpPtr(const OpBuildContext&)>;
using OpRegistry = std::map<std::string, OpCreator>;

// Throws sp::Error naming the node and op when no creator exists or the creator rejects the node.
OpPtr create_op(const OpBuildContext& ctx);

// One per op file.
void register_conv_ops(OpRegistry& r);
void register_elementwise_ops(OpRegistry& r);
void register_data_movement_ops(OpRegistry& r);
void register_pool_resize_ops(OpRegistry& r);
void register_matmul_softmax_ops(OpRegistry& r);
void register_quantized_ops(OpRegistry& r);

// The ops of the integer lowering (core/passes/lower_to_integer.cpp): u8 NHWC activations in or out.
bool is_integer_op(const std::string& op_type);

// Fills op.node_name/op_type/inputs/outputs from the node.
template <typename T>
std::unique_ptr<T> make_op(const OpBuildContext& ctx) {
  auto op = std::make_unique<T>();
  op->node_name = ctx.node.name;
  op->op_type = ctx.node.op_type;
  op->inputs = ctx.node.inputs;
  op->outputs = ctx.node.outputs;
  op->isa = float_isa(ctx.isa);  // the float and u8 vector families run their float_isa() variant
  return op;
}

}  // namespace sp
