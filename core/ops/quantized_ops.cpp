// The integer ops the lowering pass (core/passes/lower_to_integer.cpp) emits. All work on u8 NHWC
// activations of batch 1 with pixel strides (a value may be a channel slice of a wider buffer); each
// value's grid (scale, zero point) is carried in the node's attributes.
#include <array>
#include <cmath>
#include <cstring>

#include <vector>

#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/spconv_s8/spconv_s8.h"
#include "core/ops/dual_kernel.h"
#include "core/kernels/quant_u8/quant_u8.h"
#include "core/ops/node_geometry.h"
#include "core/ops/op_factory.h"

namespace sp {
namespace {


const uint8_t* u8(const RtValue& v) { return reinterpret_cast<const uint8_t*>(v.data); }
uint8_t* u8(RtValue& v) { return reinterpret_cast<uint8_t*>(v.data); }
int64_t pixels_of(const RtValue& v) { return v.height() * v.width(); }

kernels::U8Grid grid_attrs(const Node& n, const std::string& prefix) {
  return {n.attr_float(prefix + "scale", 1.0f), static_cast<int>(n.attr_int(prefix + "zero_point", 0))};
}

void check_u8_nhwc(const OpBuildContext& ctx, const RtValue& v, const char* what) {
  if (v.dtype != DType::kUInt8 || !v.nhwc) throw ctx.error(std::string("internal: ") + what + " must be u8 NHWC");
}

// --- convolution ---------------------------------------------------------------------------------
class QConvOp : public Op, public KernelChoice {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    if (residual_) {
      const RtValue& r = ctx.values[inputs[3]];
      conv_.active().run_residual(u8(x), x.pixel_stride, u8(r), r.pixel_stride, y.data, y.pixel_stride, ctx.pool);
    } else {
      conv_.active().run(u8(x), x.pixel_stride, y.data, y.pixel_stride, ctx.pool);
    }
  }
  std::string kernel() const override { return std::string(conv_.active().name()); }
  int64_t macs() const override { return macs_; }
  const ConvSparsity* conv_sparsity() const override { return &sparsity_; }
  KernelChoice* kernel_choice() override { return conv_.undecided() ? this : nullptr; }
  const ConvOpInfo* conv_info() const override { return &info_; }

  bool undecided() const override { return conv_.undecided(); }
  void run_candidate(bool sparse, ThreadPool* pool) override {
    if (in_.empty()) {
      // Bytes from a fixed LCG: every code of the grid, as real activations use.
      in_.resize(static_cast<size_t>(in_pixels_ * in_ps_));
      uint32_t state = 0x51ED270Bu;
      for (uint8_t& b : in_) {
        state = 1664525u * state + 1013904223u;
        b = static_cast<uint8_t>(state >> 24);
      }
      out_.assign(static_cast<size_t>(out_pixels_ * out_ps_ * out_bytes_), 0);
    }
    (sparse ? *conv_.sparse : *conv_.dense).run(in_.data(), in_ps_, out_.data(), out_ps_, pool);
  }
  void keep(bool sparse) override {
    conv_.keep(sparse);
    in_ = {};
    out_ = {};
  }
  uint64_t fingerprint() const override { return fingerprint_; }

  DualKernel<kernels::Conv2dS8> conv_;
  ConvSparsity sparsity_;
  uint64_t fingerprint_ = 0;
  int64_t macs_ = 0;
  bool residual_ = false;  // input 3: a u8 residual added in the epilogue (fuse_qconv_residual)
  int64_t in_pixels_ = 0, out_pixels_ = 0, in_ps_ = 0, out_ps_ = 0, out_bytes_ = 1;

  kernels::Conv2dS8Desc desc_;
  ConvOpInfo info_;

 private:
  std::vector<uint8_t> in_, out_;
};

OpPtr create_qconv(const OpBuildContext& ctx) {
  const Node& n = ctx.node;
  const RtValue& x = ctx.in(0);
  const RtValue& w = ctx.in(1);
  const RtValue& y = ctx.out(0);
  check_u8_nhwc(ctx, x, "input");
  if (!w.constant || w.dtype != DType::kInt8) throw ctx.error("internal: weights must be an int8 constant");
  const int32_t* bias = nullptr;
  if (ctx.has_in(2)) bias = ctx.in(2).constant->data<int32_t>();
  kernels::Conv2dS8Desc d;
  fill_conv_geometry(d, n, x, w, y);
  d.input_scale = n.attr_float("input_scale", 1.0f);
  d.input_zero_point = static_cast<uint8_t>(n.attr_int("input_zero_point", 0));
  d.weight_scales = n.attrs.at("weight_scales").floats;
  d.activation = n.attr_string("activation", "") == "silu" ? kernels::Activation::kSilu : kernels::Activation::kNone;
  if (n.attr_int("output", 32) == 8) {
    check_u8_nhwc(ctx, y, "output");
    d.output = kernels::QuantOutput::kU8;
    d.output_scale = n.attr_float("output_scale", 1.0f);
    d.output_zero_point = static_cast<uint8_t>(n.attr_int("output_zero_point", 0));
    if (ctx.has_in(3)) {
      check_u8_nhwc(ctx, ctx.in(3), "residual");
      d.residual = true;
      d.residual_scale = n.attr_float("residual_scale", 1.0f);
      d.residual_zero_point = static_cast<uint8_t>(n.attr_int("residual_zero_point", 0));
    }
  } else {
    if (y.dtype != DType::kFloat32 || !y.nhwc) throw ctx.error("internal: float output must be NHWC");
    d.output = kernels::QuantOutput::kF32;
  }
  if (d.out_h() != y.height() || d.out_w() != y.width()) throw ctx.error("internal: output size mismatch");
  auto op = make_op<QConvOp>(ctx);
  const int8_t* weights = w.constant->data<int8_t>();
  // Sparse candidates: ungrouped convs (the sparse kernel refuses depthwise ones) with enough exact zeros,
  // and no fused residual (the sparse kernels have no residual epilogue).
  const bool depthwise = d.groups > 1 && d.groups == d.in_c && d.groups == d.out_c;
  const int64_t nw = w.numel();
  int64_t zeros = 0;
  for (int64_t i = 0; i < nw; ++i) zeros += weights[i] == 0;
  op->sparsity_.zero_fraction = nw > 0 ? static_cast<double>(zeros) / static_cast<double>(nw) : 0.0;
  op->sparsity_.candidate =
      !depthwise && d.groups == 1 && !d.residual && op->sparsity_.zero_fraction >= kSparseMinZeros;
  const KernelsToBuild build = kernels_to_build(ctx.kernels, op->sparsity_);
  if (build.dense) op->conv_.dense = kernels::create_conv2d_s8(d, weights, bias, ctx.isa);
  if (build.sparse) op->conv_.sparse = kernels::create_sparse_conv2d_s8(d, weights, bias, ctx.isa);
  op->in_pixels_ = x.height() * x.width();
  op->out_pixels_ = y.height() * y.width();
  op->in_ps_ = x.pixel_stride;
  op->out_ps_ = y.pixel_stride;
  op->out_bytes_ = d.output == kernels::QuantOutput::kF32 ? 4 : 1;
  uint64_t h = hash_conv_geometry(d, 0x71636f6e76ull);
  h = hash_bytes(weights, static_cast<size_t>(nw), h);
  if (bias) h = hash_bytes(bias, static_cast<size_t>(d.out_c) * sizeof(int32_t), h);
  const int64_t io[] = {x.pixel_stride, y.pixel_stride, op->out_bytes_};
  op->fingerprint_ = hash_bytes(io, sizeof io, h);
  op->macs_ = y.numel() * w.shape[1] * w.shape[2] * w.shape[3];
  op->residual_ = d.residual;
  op->desc_ = std::move(d);
  op->info_ = {nullptr, &op->desc_, w.constant->data<int8_t>(), bias, false};
  return op;
}

// --- conversions and elementwise -----------------------------------------------------------------
class QuantizeOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::quantize_f32_u8(x.data, x.nhwc ? x.pixel_stride : y.channels(), pixels_of(y), y.channels(), grid_, u8(y),
                             y.pixel_stride, ctx.isa, ctx.pool);
  }
  std::string kernel() const override { return "quantize-u8"; }
  kernels::U8Grid grid_;
};

class DequantizeOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::dequantize_u8_f32(u8(x), x.pixel_stride, pixels_of(x), x.channels(), grid_, y.data, y.pixel_stride,
                               ctx.isa, ctx.pool);
  }
  std::string kernel() const override { return "dequantize-u8"; }
  kernels::U8Grid grid_;
};

class LutOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::lookup_u8(u8(x), x.pixel_stride, pixels_of(x), x.channels(), table_, u8(y), y.pixel_stride, ctx.isa, ctx.pool);
  }
  std::string kernel() const override { return "lut-u8"; }
  uint8_t table_[256] = {};
};

class QAddOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& a = ctx.values[inputs[0]];
    const RtValue& b = ctx.values[inputs[1]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::add_u8(u8(a), a.pixel_stride, a_, u8(b), b.pixel_stride, b_, pixels_of(y), y.channels(), u8(y),
                    y.pixel_stride, y_, ctx.isa, ctx.pool);
  }
  std::string kernel() const override { return "add-u8"; }
  kernels::U8Grid a_, b_, y_;
};

OpPtr create_quantize(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.out(0), "output");
  if (!ctx.in(0).nhwc) throw ctx.error("internal: quantizing an NCHW value");
  auto op = make_op<QuantizeOp>(ctx);
  op->grid_ = grid_attrs(ctx.node, "");
  return op;
}

OpPtr create_dequantize(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.in(0), "input");
  if (!ctx.out(0).nhwc) throw ctx.error("internal: dequantizing to an NCHW value");
  auto op = make_op<DequantizeOp>(ctx);
  op->grid_ = grid_attrs(ctx.node, "");
  return op;
}

OpPtr create_lut(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.in(0), "input");
  check_u8_nhwc(ctx, ctx.out(0), "output");
  auto table = ctx.node.attr_ints("table");
  if (table.size() != 256) throw ctx.error("internal: a lookup table has 256 entries");
  auto op = make_op<LutOp>(ctx);
  for (int i = 0; i < 256; ++i) op->table_[i] = static_cast<uint8_t>(table[i]);
  return op;
}

OpPtr create_qadd(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.in(0), "input");
  check_u8_nhwc(ctx, ctx.in(1), "input");
  check_u8_nhwc(ctx, ctx.out(0), "output");
  auto op = make_op<QAddOp>(ctx);
  op->a_ = grid_attrs(ctx.node, "a_");
  op->b_ = grid_attrs(ctx.node, "b_");
  op->y_ = grid_attrs(ctx.node, "");
  return op;
}

// --- data movement -------------------------------------------------------------------------------
// Channel concat of u8 values: inputs already written in place are skipped, inputs on the output's
// grid are copied, inputs on another grid are re-quantized through a table.
class QConcatOp : public Op {
 public:
  void run(RunContext& ctx) override {
    RtValue& y = ctx.values[outputs[0]];
    int64_t pixels = pixels_of(y);
    for (size_t j = 0; j < inputs.size(); ++j) {
      if (in_place_[j]) continue;
      const RtValue& x = ctx.values[inputs[j]];
      uint8_t* dst = u8(y) + start_[j];
      if (requant_[j]) {
        kernels::lookup_u8(u8(x), x.pixel_stride, pixels, x.channels(), tables_[j].data(), dst, y.pixel_stride, ctx.isa, ctx.pool);
      } else {
        for (int64_t p = 0; p < pixels; ++p) std::memcpy(dst + p * y.pixel_stride, u8(x) + p * x.pixel_stride, x.channels());
      }
    }
  }
  std::string kernel() const override { return "concat-u8"; }
  std::vector<int64_t> in_place_, start_;
  std::vector<bool> requant_;
  std::vector<std::array<uint8_t, 256>> tables_;
};

OpPtr create_qconcat(const OpBuildContext& ctx) {
  const Node& n = ctx.node;
  check_u8_nhwc(ctx, ctx.out(0), "output");
  auto op = make_op<QConcatOp>(ctx);
  auto placed = n.attr_ints("in_place");
  auto scales = n.attrs.at("input_scales").floats;
  auto zps = n.attr_ints("input_zero_points");
  kernels::U8Grid out = grid_attrs(n, "");
  int64_t c = 0;
  for (size_t j = 0; j < n.inputs.size(); ++j) {
    check_u8_nhwc(ctx, ctx.in(j), "input");
    kernels::U8Grid in{scales.at(j), static_cast<int>(zps.at(j))};
    op->in_place_.push_back(j < placed.size() ? placed[j] : 0);
    op->start_.push_back(c);
    op->requant_.push_back(!(in.scale == out.scale && in.zero_point == out.zero_point));
    op->tables_.push_back(kernels::requantization_table(in, out));
    c += ctx.in(j).channels();
  }
  return op;
}

// Split when its outputs cannot be views of the input (see SessionCompiler::alias_split).
class QSplitOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    int64_t pixels = pixels_of(x), start = 0;
    for (int o : outputs) {
      RtValue& y = ctx.values[o];
      for (int64_t p = 0; p < pixels; ++p) std::memcpy(u8(y) + p * y.pixel_stride, u8(x) + p * x.pixel_stride + start, y.channels());
      start += y.channels();
    }
  }
  std::string kernel() const override { return "split-u8"; }
};

OpPtr create_qsplit(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.in(0), "input");
  return make_op<QSplitOp>(ctx);
}

class QMaxPoolOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::maxpool2d_nhwc_u8(desc_, u8(x), x.pixel_stride, u8(y), y.pixel_stride, ctx.isa, ctx.pool);
  }
  std::string kernel() const override { return "maxpool-u8"; }
  kernels::Pool2dDesc desc_;
};

OpPtr create_qmaxpool(const OpBuildContext& ctx) {
  const Node& n = ctx.node;
  const RtValue& x = ctx.in(0);
  check_u8_nhwc(ctx, x, "input");
  check_u8_nhwc(ctx, ctx.out(0), "output");
  auto op = make_op<QMaxPoolOp>(ctx);
  kernels::Pool2dDesc& desc = op->desc_;
  fill_pool_geometry(desc, n, x);
  if (desc.out_h() != ctx.out(0).height() || desc.out_w() != ctx.out(0).width()) throw ctx.error("internal: pooled size mismatch");
  return op;
}

// Nearest (asymmetric, floor) resize: source index floor(dst * in / out), as the float kernel.
class QResizeOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    int64_t in_h = x.height(), in_w = x.width(), out_h = y.height(), out_w = y.width(), c = x.channels();
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const uint8_t* xrow = u8(x) + (oh * in_h / out_h) * in_w * x.pixel_stride;
      uint8_t* yrow = u8(y) + oh * out_w * y.pixel_stride;
      for (int64_t ow = 0; ow < out_w; ++ow) std::memcpy(yrow + ow * y.pixel_stride, xrow + (ow * in_w / out_w) * x.pixel_stride, c);
    }
  }
  std::string kernel() const override { return "resize-nearest-u8"; }
};

OpPtr create_qresize(const OpBuildContext& ctx) {
  check_u8_nhwc(ctx, ctx.in(0), "input");
  check_u8_nhwc(ctx, ctx.out(0), "output");
  return make_op<QResizeOp>(ctx);
}

}  // namespace

void register_quantized_ops(OpRegistry& r) {
  r["QConv"] = create_qconv;
  r["QuantizeU8"] = create_quantize;
  r["DequantizeU8"] = create_dequantize;
  r["LutU8"] = create_lut;
  r["QAdd"] = create_qadd;
  r["QConcat"] = create_qconcat;
  r["QSplit"] = create_qsplit;
  r["QMaxPool"] = create_qmaxpool;
  r["QResize"] = create_qresize;
}

}  // namespace sp
