#include "core/ops/op_factory.h"

namespace sp {
namespace {

const OpRegistry& registry() {
  static const OpRegistry r = [] {
    OpRegistry reg;
    register_conv_ops(reg);
    register_elementwise_ops(reg);
    register_data_movement_ops(reg);
    register_pool_resize_ops(reg);
    register_matmul_softmax_ops(reg);
    register_quantized_ops(reg);
    return reg;
  }();
  return r;
}

}  // namespace

bool is_integer_op(const std::string& op) {
  return op == "QConv" || op == "QAdd" || op == "QConcat" || op == "QSplit" || op == "QMaxPool" || op == "QResize" ||
         op == "LutU8" || op == "QuantizeU8" || op == "DequantizeU8";
}

OpPtr create_op(const OpBuildContext& ctx) {
  auto it = registry().find(ctx.node.op_type);
  if (it == registry().end()) {
    throw ctx.error("cannot run at run time (its inputs are not constant and the engine has no kernel for it)");
  }
  for (int v : ctx.node.inputs) {
    if (is_integer_op(ctx.node.op_type)) break;  // their creators check their u8 operands
    if (v >= 0 && !ctx.values[v].constant && ctx.values[v].dtype != DType::kFloat32) {
      throw ctx.error("input '" + ctx.values[v].name + "' is " + dtype_name(ctx.values[v].dtype) +
                      " at run time; only float tensors are supported there");
    }
  }
  return it->second(ctx);
}

}  // namespace sp

namespace sp {

std::string Op::kernel_isa() const {
  const std::string name = kernel();
  const std::string_view tag = kernel_isa_tag(name);
  return tag.empty() ? std::string(isa_name(isa)) : std::string(tag);
}

}  // namespace sp
