// MatMul (batched, with broadcasting over batch axes) and Softmax along any axis, NCHW-contiguous.
#include <algorithm>
#include <cmath>

#include "core/kernels/vector_f32/vector_ops_f32.h"
#include "core/ops/op_factory.h"

namespace sp {
namespace {

class MatMulOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& a = ctx.values[inputs[0]];
    const RtValue& b = ctx.values[inputs[1]];
    RtValue& y = ctx.values[outputs[0]];
    for (size_t i = 0; i < a_off_.size(); ++i) {
      kernels::matmul_f32(a.data + a_off_[i], k_, b.data + b_off_[i], n_, y.data + i * m_ * n_, n_, m_, n_, k_, ctx.isa);
    }
  }
  std::string kernel() const override { return "matmul"; }
  int64_t macs() const override { return static_cast<int64_t>(a_off_.size()) * m_ * n_ * k_; }
  int64_t m_ = 0, n_ = 0, k_ = 0;
  std::vector<int64_t> a_off_, b_off_;  // per output batch: offsets of the A and B matrices
};

OpPtr create_matmul(const OpBuildContext& ctx) {
  const RtValue& a = ctx.in(0);
  const RtValue& b = ctx.in(1);
  const RtValue& y = ctx.out(0);
  if (a.shape.size() < 2 || b.shape.size() < 2) throw ctx.error("1-D MatMul operands are not supported");
  auto op = make_op<MatMulOp>(ctx);
  op->m_ = a.shape[a.shape.size() - 2];
  op->k_ = a.shape.back();
  op->n_ = b.shape.back();
  Shape batch(y.shape.begin(), y.shape.end() - 2);
  int64_t count = shape_numel(batch);
  auto offset = [&](const Shape& s, int64_t flat) {
    // broadcast the output batch index onto operand `s`'s batch axes
    int64_t off = 0, mat = s[s.size() - 2] * s.back(), stride = mat;
    int64_t rem = flat;
    for (size_t k = 0; k < batch.size(); ++k) {
      size_t d = batch.size() - 1 - k;
      int64_t i = rem % batch[d];
      rem /= batch[d];
      if (k < s.size() - 2) {
        int64_t sd = s[s.size() - 3 - k];
        if (sd != 1) off += i * stride;
        stride *= sd;
      }
    }
    return off;
  };
  for (int64_t i = 0; i < count; ++i) {
    op->a_off_.push_back(offset(a.shape, i));
    op->b_off_.push_back(offset(b.shape, i));
  }
  return op;
}

class SoftmaxOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    if (inner_ == 1) {
      kernels::softmax_rows_f32(x.data, y.data, outer_, axis_len_, ctx.isa);
      return;
    }
    // Softmax across a strided axis (e.g. the DFL bins of an exported tail): plain loops.
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const float* xs = x.data + o * axis_len_ * inner_ + i;
        float* ys = y.data + o * axis_len_ * inner_ + i;
        float m = xs[0];
        for (int64_t k = 1; k < axis_len_; ++k) m = std::max(m, xs[k * inner_]);
        float sum = 0;
        for (int64_t k = 0; k < axis_len_; ++k) sum += ys[k * inner_] = std::exp(xs[k * inner_] - m);
        for (int64_t k = 0; k < axis_len_; ++k) ys[k * inner_] /= sum;
      }
    }
  }
  std::string kernel() const override { return inner_ == 1 ? "softmax-rows" : "softmax-strided"; }
  int64_t outer_ = 1, axis_len_ = 1, inner_ = 1;
};

OpPtr create_softmax(const OpBuildContext& ctx) {
  const RtValue& x = ctx.in(0);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = ctx.node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) throw ctx.error("axis out of range");
  auto op = make_op<SoftmaxOp>(ctx);
  for (int64_t d = 0; d < axis; ++d) op->outer_ *= x.shape[d];
  op->axis_len_ = x.shape[axis];
  for (int64_t d = axis + 1; d < rank; ++d) op->inner_ *= x.shape[d];
  return op;
}

}  // namespace

void register_matmul_softmax_ops(OpRegistry& r) {
  r["MatMul"] = create_matmul;
  r["Softmax"] = create_softmax;
}

}  // namespace sp
