// Conv (NHWC) with fused bias, activation and residual add, on the float conv kernels (fp32, or bf16
// products with fp32 accumulation for nodes marked bf16), dense or sparse (core/kernel_plan.h).
#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/spconv_f32/spconv_f32.h"
#include "core/ops/dual_kernel.h"
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

class ConvOp : public Op, public KernelChoice, public PlanarConv {
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
    conv_.active().run(io, ctx.pool);
  }
  std::string kernel() const override { return std::string(conv_.active().name()); }
  int64_t macs() const override { return macs_; }
  const ConvSparsity* conv_sparsity() const override { return &sparsity_; }
  // Undecided (auto), or (--kernels sparse) a sparse kernel whose group size is still to be tuned.
  KernelChoice* kernel_choice() override {
    return conv_.undecided() || (conv_.sparse && !tune_groups_.empty()) ? this : nullptr;
  }
  const ConvOpInfo* conv_info() const override { return &info_; }

  bool undecided() const override { return conv_.undecided(); }
  void run_candidate(bool sparse, ThreadPool* pool) override {
    if (in_.empty()) {
      in_ = scratch(in_pixels_ * io_.in_pixel_stride, 1);
      out_.assign(static_cast<size_t>(out_pixels_ * io_.out_pixel_stride), 0.0f);
      if (residual_ >= 0) res_ = scratch(out_pixels_ * io_.residual_pixel_stride, 2);
    }
    kernels::ConvIO io = io_;
    io.input = in_.data();
    io.output = out_.data();
    io.residual = residual_ >= 0 ? res_.data() : nullptr;
    (sparse ? *conv_.sparse : *conv_.dense).run(io, pool);
  }
  void keep(bool sparse) override {
    conv_.keep(sparse);
    variants_.clear();
    tune_groups_.clear();  // decided
    in_ = {};
    out_ = {};
    res_ = {};
  }

  // The group sizes worth timing (tune_groups_), the current one first.
  std::vector<int> sparse_variants() const override {
    if (!conv_.sparse || tune_groups_.empty()) return {};
    std::vector<int> v = {sparse_group_};
    for (int g : tune_groups_)
      if (g != sparse_group_) v.push_back(g);
    return v;
  }
  void run_sparse_variant(int v, ThreadPool* pool) override {
    if (v == sparse_group_) return run_candidate(true, pool);
    std::unique_ptr<kernels::Conv2dF32>& k = variants_[v];
    if (!k) k = create_sparse(v, -1, -1);
    std::swap(conv_.sparse, k);
    run_candidate(true, pool);
    std::swap(conv_.sparse, k);
  }
  bool use_sparse_variant(int v) override {
    const std::vector<int> all = sparse_variants();
    if (std::find(all.begin(), all.end(), v) == all.end()) return false;
    if (v != sparse_group_) {
      auto it = variants_.find(v);
      conv_.sparse = it != variants_.end() && it->second ? std::move(it->second) : create_sparse(v, -1, -1);
      sparse_group_ = v;
    }
    variants_.clear();
    return true;
  }
  uint64_t fingerprint() const override { return fingerprint_; }

  PlanarConv* planar_conv() override { return this; }
  bool can_write_planar() const override { return sparse_with_planar_sides() && residual_ < 0; }
  int planar_input_halo() const override {
    return sparse_with_planar_sides() ? kernels::sparse_conv_planar_input_halo(desc_) : -1;
  }
  void use_planar(int input_halo, int output_halo) override {
    conv_.sparse = create_sparse(sparse_group_, input_halo, output_halo);
  }
  std::unique_ptr<kernels::Conv2dF32> create_sparse(int group, int input_halo, int output_halo) const {
    kernels::SparseConvOptions o;
    o.oc_group = group;
    o.planar_input_halo = input_halo;
    o.planar_output_halo = output_halo;
    return kernels::create_sparse_conv2d_f32(desc_, static_cast<const float*>(info_.weights),
                                             static_cast<const float*>(info_.bias), created_isa_, o);
  }
  bool sparse_with_planar_sides() const {
    return conv_.sparse && !conv_.dense && kernels::sparse_conv_planar_supported(created_isa_);
  }

  Isa created_isa_ = Isa::kScalar;  // what the kernels were created for (ctx.isa)
  int sparse_group_ = 0;             // the sparse kernel's output-channel group size (the cost model's pick, or timed)
  DualKernel<kernels::Conv2dF32> conv_;
  std::map<int, std::unique_ptr<kernels::Conv2dF32>> variants_;  // other group sizes while they are timed
  std::vector<int> tune_groups_;  // auto and sparse: the group sizes to time (the pick among them; empty: none)
  ConvSparsity sparsity_;
  uint64_t fingerprint_ = 0;
  int residual_ = -1;
  int64_t macs_ = 0;
  // Shapes of the timing buffers: pixel strides as in the session, pixel counts.
  kernels::ConvIO io_;
  int64_t in_pixels_ = 0, out_pixels_ = 0;

  kernels::Conv2dDesc desc_;
  ConvOpInfo info_;

 private:
  // Values in [-1, 1) from a fixed LCG: activations of the usual magnitude, no denormals or NaNs.
  static std::vector<float> scratch(int64_t n, uint32_t seed) {
    std::vector<float> v(static_cast<size_t>(n));
    uint32_t state = seed * 2654435761u;
    for (float& x : v) {
      state = 1664525u * state + 1013904223u;
      x = static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return v;
  }
  std::vector<float> in_, out_, res_;
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
  if (n.attr_int("residual", 0) != 0) {
    op->residual_ = n.inputs.at(3);
    if (!ctx.in(3).nhwc || ctx.in(3).shape != y.shape) throw ctx.error("internal: residual must be NHWC of the output's shape");
  }
  // Marked bf16 by passes::mark_bf16_convs. Depthwise convs stay fp32: bf16 pairs run along the input
  // channels, of which a depthwise conv has one per group (the bf16 kernel would be far slower than fp32).
  const bool depthwise = d.groups > 1 && d.groups == d.in_c && d.groups == d.out_c;
  // A model's own bf16 marks (1) run bf16 only where the CPU multiplies bf16 natively (AVX-512 BF16 or
  // AMX-BF16): elsewhere the exact emulation costs more than fp32 (1.3x over the model's convs) for no
  // accuracy gain. Forced marks (2).
  const int64_t bf16_mark = n.attr_int("bf16", 0);
  const bool bf16 = bf16_mark != 0 && !depthwise &&
                    (bf16_mark == 2 || kernels::conv2d_bf16_native(ctx.isa));
  // Sparse candidates: fp32 convs that are not depthwise (the sparse kernel runs them, but slower than the
  // dense depthwise kernel) with enough exact zeros.
  const int64_t nw = w.numel();
  int64_t zeros = 0;
  for (int64_t i = 0; i < nw; ++i) zeros += w.data[i] == 0.0f;
  op->sparsity_.zero_fraction = nw > 0 ? static_cast<double>(zeros) / static_cast<double>(nw) : 0.0;
  op->sparsity_.candidate = !bf16 && d.groups == 1 && op->sparsity_.zero_fraction >= kSparseMinZeros;
  const KernelsToBuild build = kernels_to_build(ctx.kernels, op->sparsity_);
  if (bf16) {
    op->conv_.dense = kernels::create_conv2d_bf16(d, w.data, bias, ctx.isa);
  } else {
    if (build.dense) op->conv_.dense = kernels::create_conv2d_f32(d, w.data, bias, ctx.isa);
    if (build.sparse) {
      // The cost model's pick (estimate 1), and the group sizes it estimates within the tuning window of
      // it, which the session times (core/kernel_plan.h, kSparseTuneWindow).
      const kernels::SparseGroupEstimates estimates = kernels::sparse_conv_group_estimates(d, w.data, ctx.isa);
      op->sparse_group_ = estimates.pick;
      if (ctx.kernels != KernelMode::kDense && ctx.sparse_tune_window >= 1.0)
        for (const auto& [r, e] : estimates.relative)
          if (e <= ctx.sparse_tune_window) op->tune_groups_.push_back(r);
      if (op->tune_groups_.size() < 2) op->tune_groups_.clear();  // the pick alone: nothing to time
      kernels::SparseConvOptions o;
      o.oc_group = op->sparse_group_;
      op->conv_.sparse = kernels::create_sparse_conv2d_f32(d, w.data, bias, ctx.isa, o);
    }
  }
  op->created_isa_ = ctx.isa;
  op->io_.in_pixel_stride = x.pixel_stride;
  op->io_.out_pixel_stride = y.pixel_stride;
  op->io_.residual_pixel_stride = op->residual_ >= 0 ? ctx.in(3).pixel_stride : 0;
  op->in_pixels_ = x.height() * x.width();
  op->out_pixels_ = y.height() * y.width();
  uint64_t h = hash_conv_geometry(d, 0x636f6e76ull);
  h = hash_bytes(w.data, static_cast<size_t>(nw) * sizeof(float), h);
  if (bias) h = hash_bytes(bias, static_cast<size_t>(d.out_c) * sizeof(float), h);
  const int64_t strides[] = {x.pixel_stride, y.pixel_stride, op->io_.residual_pixel_stride, op->residual_ >= 0};
  op->fingerprint_ = hash_bytes(strides, sizeof strides, h);
  op->macs_ = y.numel() * w.shape[1] * w.shape[2] * w.shape[3];
  op->desc_ = d;
  op->info_ = {&op->desc_, nullptr, w.data, bias, op->residual_ >= 0};
  return op;
}

}  // namespace

void register_conv_ops(OpRegistry& r) { r["Conv"] = create_conv; }

}  // namespace sp
