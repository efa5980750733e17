// Elementwise ops: binary (with ONNX broadcasting), activations, FakeQuant (QDQ emulation).
#include <cmath>

#include "core/kernels/vector_f32/vector_ops_f32.h"
#include "core/ops/op_factory.h"

namespace sp {
namespace {

using kernels::BinaryOp;

// A 2-D view of a value for kernels: NHWC → pixels × channels with the pixel stride; NCHW → 1 × numel.
struct View2d {
  float* data;
  int64_t ld, rows, cols;
};

View2d view2d(const RtValue& v) {
  if (v.nhwc) return {v.data, v.pixel_stride, v.height() * v.width(), v.channels()};
  return {v.data, v.numel(), 1, v.numel()};
}

class BinaryNhwcOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& a = ctx.values[inputs[0]];
    const RtValue& b = ctx.values[inputs[1]];
    View2d y = view2d(ctx.values[outputs[0]]);
    if (!a.constant && !b.constant) {
      View2d va = view2d(a), vb = view2d(b);
      kernels::binary_f32(op_, va.data, va.ld, vb.data, vb.ld, y.data, y.ld, y.rows, y.cols, ctx.isa);
      return;
    }
    bool const_first = a.constant != nullptr;
    const RtValue& c = const_first ? a : b;
    View2d vx = view2d(const_first ? b : a);
    if (c.numel() == 1) {
      kernels::binary_scalar_f32(op_, vx.data, vx.ld, c.data[0], const_first, y.data, y.ld, y.rows, y.cols, ctx.isa);
    } else if (!const_first || op_ == BinaryOp::kAdd || op_ == BinaryOp::kMul) {
      kernels::binary_row_broadcast_f32(op_, vx.data, vx.ld, c.data, y.data, y.ld, y.rows, y.cols, ctx.isa);
    } else {
      // per-channel constant on the left of Sub/Div: rare, done plainly
      for (int64_t r = 0; r < y.rows; ++r) {
        for (int64_t k = 0; k < y.cols; ++k) {
          float xv = vx.data[r * vx.ld + k];
          y.data[r * y.ld + k] = op_ == BinaryOp::kSub ? c.data[k] - xv : c.data[k] / xv;
        }
      }
    }
  }
  std::string kernel() const override { return "binary-nhwc"; }
  BinaryOp op_ = BinaryOp::kAdd;
};

// General ONNX broadcasting on NCHW-contiguous tensors: loops over all but the last axis and calls the
// kernel on each innermost run.
class BinaryBroadcastOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& a = ctx.values[inputs[0]];
    const RtValue& b = ctx.values[inputs[1]];
    RtValue& y = ctx.values[outputs[0]];
    const Shape& s = y.shape;
    if (s.empty()) {
      kernels::binary_f32(op_, a.data, 1, b.data, 1, y.data, 1, 1, 1, ctx.isa);
      return;
    }
    int64_t inner = s.back(), outer = y.numel() / std::max<int64_t>(inner, 1);
    size_t rank = s.size();
    std::vector<int64_t>& idx = idx_;
    idx.assign(rank, 0);
    int64_t oa = 0, ob = 0;
    for (int64_t o = 0; o < outer; ++o) {
      float* yr = y.data + o * inner;
      const float* ar = a.data + oa;
      const float* br = b.data + ob;
      int64_t sa = sa_[rank - 1], sb = sb_[rank - 1];
      if (sa == 1 && sb == 1) kernels::binary_f32(op_, ar, inner, br, inner, yr, inner, 1, inner, ctx.isa);
      else if (sa == 1) kernels::binary_scalar_f32(op_, ar, inner, br[0], false, yr, inner, 1, inner, ctx.isa);
      else if (sb == 1) kernels::binary_scalar_f32(op_, br, inner, ar[0], true, yr, inner, 1, inner, ctx.isa);
      else {
        kernels::binary_f32(op_, ar, 1, br, 1, yr, 1, 1, 1, ctx.isa);
        fill(yr, inner);
      }
      for (size_t d = rank - 1; d-- > 0;) {
        ++idx[d];
        oa += sa_[d];
        ob += sb_[d];
        if (idx[d] < s[d]) break;
        oa -= sa_[d] * s[d];
        ob -= sb_[d] * s[d];
        idx[d] = 0;
      }
    }
  }
  static void fill(float* y, int64_t n) {
    for (int64_t i = 1; i < n; ++i) y[i] = y[0];
  }
  std::string kernel() const override { return "binary-broadcast"; }
  BinaryOp op_ = BinaryOp::kAdd;
  std::vector<int64_t> sa_, sb_, idx_;
};

OpPtr create_binary(const OpBuildContext& ctx) {
  const std::string& t = ctx.node.op_type;
  BinaryOp bop = t == "Add" ? BinaryOp::kAdd : t == "Sub" ? BinaryOp::kSub : t == "Mul" ? BinaryOp::kMul : BinaryOp::kDiv;
  const RtValue& y = ctx.out(0);
  if (y.nhwc) {
    auto op = make_op<BinaryNhwcOp>(ctx);
    op->op_ = bop;
    return op;
  }
  if (ctx.in(0).nhwc || ctx.in(1).nhwc) throw ctx.error("internal: mixed layouts");
  auto op = make_op<BinaryBroadcastOp>(ctx);
  op->op_ = bop;
  op->sa_ = broadcast_strides(ctx.in(0).shape, y.shape);
  op->sb_ = broadcast_strides(ctx.in(1).shape, y.shape);
  op->idx_.reserve(y.shape.size());
  return op;
}

class ActivationOp : public Op {
 public:
  void run(RunContext& ctx) override {
    View2d x = view2d(ctx.values[inputs[0]]);
    View2d y = view2d(ctx.values[outputs[0]]);
    kernels::activation_f32(act_, x.data, x.ld, y.data, y.ld, y.rows, y.cols, ctx.isa);
  }
  std::string kernel() const override { return std::string("activation-") + kernels::activation_name(act_); }
  kernels::Activation act_ = kernels::Activation::kNone;
};

OpPtr create_activation(const OpBuildContext& ctx) {
  auto op = make_op<ActivationOp>(ctx);
  const std::string& t = ctx.node.op_type;
  op->act_ = t == "Relu" ? kernels::Activation::kRelu
           : t == "Sigmoid" ? kernels::Activation::kSigmoid
           : t == "SiLU" ? kernels::Activation::kSilu
           : kernels::Activation::kNone;
  return op;
}

// y = (clamp(round(x / scale) + zp, qmin, qmax) - zp) * scale: what QuantizeLinear → DequantizeLinear
// computes, kept in float (round half to even, as ONNX specifies).
class FakeQuantOp : public Op {
 public:
  void run(RunContext& ctx) override {
    View2d x = view2d(ctx.values[inputs[0]]);
    View2d y = view2d(ctx.values[outputs[0]]);
    for (int64_t r = 0; r < y.rows; ++r) {
      const float* xr = x.data + r * x.ld;
      float* yr = y.data + r * y.ld;
      for (int64_t k = 0; k < y.cols; ++k) {
        float q = std::nearbyint(xr[k] / scale_) + zp_;
        q = q < qmin_ ? qmin_ : (q > qmax_ ? qmax_ : q);
        yr[k] = (q - zp_) * scale_;
      }
    }
  }
  std::string kernel() const override { return "fake-quant"; }
  float scale_ = 1, zp_ = 0, qmin_ = 0, qmax_ = 255;
};

OpPtr create_fake_quant(const OpBuildContext& ctx) {
  auto op = make_op<FakeQuantOp>(ctx);
  op->scale_ = ctx.node.attr_float("scale", 1.0f);
  if (!(op->scale_ > 0) || !std::isfinite(op->scale_)) throw ctx.error("quantization scale must be positive");
  op->zp_ = static_cast<float>(ctx.node.attr_int("zero_point", 0));
  op->qmin_ = static_cast<float>(ctx.node.attr_int("qmin", 0));
  op->qmax_ = static_cast<float>(ctx.node.attr_int("qmax", 255));
  return op;
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  for (const char* t : {"Add", "Sub", "Mul", "Div"}) r[t] = create_binary;
  for (const char* t : {"Relu", "Sigmoid", "SiLU"}) r[t] = create_activation;
  r["FakeQuant"] = create_fake_quant;
}

}  // namespace sp
