// Ops that move data without arithmetic: layout conversions, Concat/Split when they cannot be views,
// Slice, Transpose, and copies for reshapes that cannot alias.
#include <cstring>

#include "core/kernels/vector_f32/vector_ops_f32.h"
#include "core/ops/op_factory.h"

namespace sp {
namespace {

class LayoutOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    int64_t pixels = x.height() * x.width();
    int c = static_cast<int>(x.channels());
    if (to_nhwc_) kernels::nchw_to_nhwc_f32(x.data, c, pixels, y.data, y.pixel_stride, ctx.isa);
    else kernels::nhwc_to_nchw_f32(x.data, c, pixels, x.pixel_stride, y.data, ctx.isa);
  }
  std::string kernel() const override { return to_nhwc_ ? "nchw-to-nhwc" : "nhwc-to-nchw"; }
  bool to_nhwc_ = true;
};

OpPtr create_layout(const OpBuildContext& ctx) {
  auto op = make_op<LayoutOp>(ctx);
  op->to_nhwc_ = ctx.node.op_type == "LayoutToNHWC";
  return op;
}

// NHWC channel concat: copies the inputs that producers did not already write in place.
class ConcatNhwcOp : public Op {
 public:
  void run(RunContext& ctx) override {
    RtValue& y = ctx.values[outputs[0]];
    int64_t pixels = y.height() * y.width();
    for (size_t j = 0; j < inputs.size(); ++j) {
      if (in_place_[j]) continue;
      const RtValue& x = ctx.values[inputs[j]];
      int64_t c = x.channels();
      for (int64_t p = 0; p < pixels; ++p) {
        std::memcpy(y.data + p * y.pixel_stride + start_[j], x.data + p * x.pixel_stride, c * sizeof(float));
      }
    }
  }
  std::string kernel() const override { return "concat-nhwc"; }
  std::vector<int64_t> in_place_, start_;
};

// Concat along any axis of NCHW-contiguous tensors: outer × (chunk per input) copies.
class ConcatOp : public Op {
 public:
  void run(RunContext& ctx) override {
    RtValue& y = ctx.values[outputs[0]];
    float* dst = y.data;
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t j = 0; j < inputs.size(); ++j) {
        const RtValue& x = ctx.values[inputs[j]];
        std::memcpy(dst, x.data + o * chunk_[j], chunk_[j] * sizeof(float));
        dst += chunk_[j];
      }
    }
  }
  std::string kernel() const override { return "concat"; }
  int64_t outer_ = 1;
  std::vector<int64_t> chunk_;
};

OpPtr create_concat(const OpBuildContext& ctx) {
  const RtValue& y = ctx.out(0);
  if (y.nhwc) {
    auto op = make_op<ConcatNhwcOp>(ctx);
    auto placed = ctx.node.attr_ints("in_place");
    int64_t c = 0;
    for (size_t j = 0; j < ctx.node.inputs.size(); ++j) {
      if (!ctx.in(j).nhwc) throw ctx.error("internal: NHWC concat of an NCHW input");
      op->in_place_.push_back(j < placed.size() ? placed[j] : 0);
      op->start_.push_back(c);
      c += ctx.in(j).channels();
    }
    return op;
  }
  auto op = make_op<ConcatOp>(ctx);
  int64_t axis = ctx.node.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(y.shape.size());
  for (int64_t d = 0; d < axis; ++d) op->outer_ *= y.shape[d];
  for (size_t j = 0; j < ctx.node.inputs.size(); ++j) {
    if (ctx.in(j).nhwc) throw ctx.error("internal: NCHW concat of an NHWC input");
    op->chunk_.push_back(ctx.in(j).numel() / std::max<int64_t>(op->outer_, 1));
  }
  return op;
}

class SplitOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    if (x.nhwc) {
      int64_t pixels = x.height() * x.width(), start = 0;
      for (size_t k = 0; k < outputs.size(); ++k) {
        RtValue& y = ctx.values[outputs[k]];
        for (int64_t p = 0; p < pixels; ++p) {
          std::memcpy(y.data + p * y.pixel_stride, x.data + p * x.pixel_stride + start, y.channels() * sizeof(float));
        }
        start += y.channels();
      }
      return;
    }
    const float* src = x.data;
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t k = 0; k < outputs.size(); ++k) {
        std::memcpy(ctx.values[outputs[k]].data + o * chunk_[k], src, chunk_[k] * sizeof(float));
        src += chunk_[k];
      }
    }
  }
  std::string kernel() const override { return "split"; }
  int64_t outer_ = 1;
  std::vector<int64_t> chunk_;
};

OpPtr create_split(const OpBuildContext& ctx) {
  auto op = make_op<SplitOp>(ctx);
  const RtValue& x = ctx.in(0);
  int64_t axis = ctx.node.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(x.shape.size());
  for (int64_t d = 0; d < axis; ++d) op->outer_ *= x.shape[d];
  for (size_t k = 0; k < ctx.node.outputs.size(); ++k) op->chunk_.push_back(ctx.out(k).numel() / std::max<int64_t>(op->outer_, 1));
  return op;
}

// Reshape-like ops whose output could not be a view (e.g. it is a graph output): a plain copy.
class CopyOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    if (x.nhwc) {
      int64_t pixels = x.height() * x.width();
      for (int64_t p = 0; p < pixels; ++p) std::memcpy(y.data + p * y.pixel_stride, x.data + p * x.pixel_stride, x.channels() * sizeof(float));
    } else {
      std::memcpy(y.data, x.data, x.numel() * sizeof(float));
    }
  }
  std::string kernel() const override { return "copy"; }
};

OpPtr create_copy(const OpBuildContext& ctx) {
  if (ctx.in(0).nhwc != ctx.out(0).nhwc || (ctx.in(0).nhwc && ctx.in(0).shape != ctx.out(0).shape)) {
    throw ctx.error("internal: reshape across layouts");
  }
  return make_op<CopyOp>(ctx);
}

// Generic strided gather over NCHW-contiguous tensors (Slice and Transpose): for each output element
// run along the last axis, copy from the input at per-axis strides.
class StridedCopyOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    const Shape& s = y.shape;
    size_t rank = s.size();
    if (y.numel() == 0) return;
    int64_t inner = rank ? s.back() : 1, outer = y.numel() / inner;
    int64_t inner_stride = rank ? src_stride_.back() : 1;
    idx_.assign(rank, 0);
    int64_t off = base_;
    for (int64_t o = 0; o < outer; ++o) {
      float* dst = y.data + o * inner;
      const float* src = x.data + off;
      if (inner_stride == 1) std::memcpy(dst, src, inner * sizeof(float));
      else for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
      for (size_t d = rank - 1; d-- > 0;) {
        ++idx_[d];
        off += src_stride_[d];
        if (idx_[d] < s[d]) break;
        off -= src_stride_[d] * s[d];
        idx_[d] = 0;
      }
    }
  }
  std::string kernel() const override { return kernel_; }
  int64_t base_ = 0;
  std::vector<int64_t> src_stride_, idx_;
  std::string kernel_;
};

OpPtr create_slice(const OpBuildContext& ctx) {
  auto op = make_op<StridedCopyOp>(ctx);
  const RtValue& x = ctx.in(0);
  if (x.nhwc) throw ctx.error("internal: slice of an NHWC tensor");
  auto starts = ctx.node.attr_ints("resolved_starts"), steps = ctx.node.attr_ints("resolved_steps");
  auto st = row_major_strides(x.shape);
  for (size_t d = 0; d < x.shape.size(); ++d) {
    op->base_ += starts[d] * st[d];
    op->src_stride_.push_back(steps[d] * st[d]);
  }
  op->idx_.reserve(x.shape.size());
  op->kernel_ = "slice";
  return op;
}

OpPtr create_transpose(const OpBuildContext& ctx) {
  auto op = make_op<StridedCopyOp>(ctx);
  const RtValue& x = ctx.in(0);
  if (x.nhwc) throw ctx.error("internal: transpose of an NHWC tensor");
  auto perm = ctx.node.attr_ints("perm");
  if (perm.empty()) for (int64_t i = static_cast<int64_t>(x.shape.size()) - 1; i >= 0; --i) perm.push_back(i);
  auto st = row_major_strides(x.shape);
  for (int64_t p : perm) op->src_stride_.push_back(st[p < 0 ? p + static_cast<int64_t>(x.shape.size()) : p]);
  op->idx_.reserve(x.shape.size());
  op->kernel_ = "transpose";
  return op;
}

}  // namespace

void register_data_movement_ops(OpRegistry& r) {
  r["LayoutToNHWC"] = create_layout;
  r["LayoutToNCHW"] = create_layout;
  r["Concat"] = create_concat;
  r["Split"] = create_split;
  for (const char* t : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}) r[t] = create_copy;
  r["Slice"] = create_slice;
  r["Transpose"] = create_transpose;
}

}  // namespace sp
