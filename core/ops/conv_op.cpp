// Conv (NHWC) with fused bias, activation and residual add, on the float conv kernels (fp32, or bf16
// products with fp32 accumulation for nodes marked bf16).
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/ops/node_geometry.h"
#include "core/ops/op_factory.h"

namespace sp {
namespace {

kernels::Activation parse_activation(const std::string& s, const OpBuildContext& ctx) {
  if (s.empty() || s == "none") return kernels::Activation::kNone;
  if (s == "relu") return kernels::Activation::kRelu;
  if (s == "sigmoid") return kernels::Activation::kSigmoid;
  if (s == "silu") return kernels::Activation::kSilu;
  throw ctx.error("unknown fused activation '" + s + "'");
}

class ConvOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::ConvIO io;
    io.input = x.data;
    io.in_pixel_stride = x.pixel_stride;
    io.output = y.data;
    io.out_pixel_stride = y.pixel_stride;
    if (residual_ >= 0) {
      const RtValue& r = ctx.values[residual_];
      io.residual = r.data;
      io.residual_pixel_stride = r.pixel_stride;
    }
    conv_->run(io, ctx.pool);
  }
  std::string kernel() const override { return std::string(conv_->name()); }
  int64_t macs() const override { return macs_; }
  const ConvOpInfo* conv_info() const override { return &info_; }

  std::unique_ptr<kernels::Conv2dF32> conv_;
  int residual_ = -1;
  int64_t macs_ = 0;
  kernels::Conv2dDesc desc_;
  ConvOpInfo info_;
};

OpPtr create_conv(const OpBuildContext& ctx) {
  const RtValue& x = ctx.in(0);
  const RtValue& w = ctx.in(1);
  const RtValue& y = ctx.out(0);
  if (!x.nhwc || !y.nhwc) throw ctx.error("convolution runs on NHWC activations of batch 1 only");
  if (!w.constant || w.dtype != DType::kFloat32) throw ctx.error("weights must be a float constant");
  const float* bias = nullptr;
  if (ctx.has_in(2)) {
    if (!ctx.in(2).constant || ctx.in(2).dtype != DType::kFloat32) throw ctx.error("bias must be a float constant");
    bias = ctx.in(2).data;
  }
  const Node& n = ctx.node;
  kernels::Conv2dDesc d;
  fill_conv_geometry(d, n, x, w, y);
  d.activation = parse_activation(n.attr_string("activation", ""), ctx);
  if (d.out_h() != y.height() || d.out_w() != y.width()) throw ctx.error("internal: output size mismatch");
  auto op = make_op<ConvOp>(ctx);
  // Marked bf16 by passes::mark_bf16_convs. Depthwise convs stay fp32: bf16 pairs run along the input
  // channels, of which a depthwise conv has one per group (the bf16 kernel would be far slower than fp32).
  const bool depthwise = d.groups > 1 && d.groups == d.in_c && d.groups == d.out_c;
  // A model's own bf16 marks (1) run bf16 only where the CPU multiplies bf16 natively: elsewhere the exact
  // emulation costs more than fp32 (1.3x over the model's convs) for no accuracy gain. Forced marks (2).
  const int64_t bf16 = n.attr_int("bf16", 0);
  if (bf16 != 0 && !depthwise && (bf16 == 2 || kernels::conv2d_bf16_path(ctx.isa) == kernels::Bf16Path::kNative)) {
    op->conv_ = kernels::create_conv2d_bf16(d, w.data, bias, ctx.isa);
  } else {
    op->conv_ = kernels::create_conv2d_f32(d, w.data, bias, ctx.isa);
  }
  if (n.attr_int("residual", 0) != 0) {
    op->residual_ = n.inputs.at(3);
    if (!ctx.in(3).nhwc || ctx.in(3).shape != y.shape) throw ctx.error("internal: residual must be NHWC of the output's shape");
  }
  op->macs_ = y.numel() * w.shape[1] * w.shape[2] * w.shape[3];
  op->desc_ = d;
  op->info_ = {&op->desc_, nullptr, w.data, bias, op->residual_ >= 0};
  return op;
}

}  // namespace

void register_conv_ops(OpRegistry& r) { r["Conv"] = create_conv; }

}  // namespace sp
