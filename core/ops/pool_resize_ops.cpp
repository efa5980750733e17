// MaxPool and nearest Resize on NHWC activations.
#include "core/kernels/vector_f32/vector_ops_f32.h"
#include "core/ops/node_geometry.h"
#include "core/ops/op_factory.h"
#include "core/thread_pool.h"

namespace sp {
namespace {

class MaxPoolOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    kernels::maxpool2d_nhwc_f32(desc_, x.data, x.pixel_stride, y.data, y.pixel_stride, ctx.isa);
  }
  std::string kernel() const override { return "maxpool-nhwc"; }
  kernels::Pool2dDesc desc_;
};

OpPtr create_maxpool(const OpBuildContext& ctx) {
  const RtValue& x = ctx.in(0);
  if (!x.nhwc) throw ctx.error("max pooling runs on 4-D activations of batch 1 only");
  const Node& n = ctx.node;
  auto op = make_op<MaxPoolOp>(ctx);
  kernels::Pool2dDesc& desc = op->desc_;
  fill_pool_geometry(desc, n, x);
  if (desc.out_h() != ctx.out(0).height() || desc.out_w() != ctx.out(0).width()) throw ctx.error("internal: pooled size mismatch");
  return op;
}

class ResizeNearestOp : public Op {
 public:
  void run(RunContext& ctx) override {
    const RtValue& x = ctx.values[inputs[0]];
    RtValue& y = ctx.values[outputs[0]];
    const int in_h = static_cast<int>(x.height()), in_w = static_cast<int>(x.width()), c = static_cast<int>(x.channels());
    const int out_h = static_cast<int>(y.height()), out_w = static_cast<int>(y.width());
    const int threads = ctx.pool ? ctx.pool->num_threads() : 1;
    // A pure copy bound by memory bandwidth (the neck's 2x upsampling writes MBs): with an integer height
    // ratio, bands of input rows map to bands of output rows with the same row mapping
    // ((ih0 * k + r) / k = ih0 + r / k), so the bands go to the pool; the bytes are the same either way.
    if (threads > 1 && in_h >= 2 * threads && out_h % in_h == 0) {
      const int k = out_h / in_h;
      const int64_t bands = 2 * threads;
      ctx.pool->parallel_for(bands, [&](int64_t b) {
        const int ih0 = static_cast<int>(b * in_h / bands), ih1 = static_cast<int>((b + 1) * in_h / bands);
        kernels::resize_nearest_nhwc_f32(x.data + static_cast<int64_t>(ih0) * in_w * x.pixel_stride, ih1 - ih0, in_w, c,
                                         x.pixel_stride, y.data + static_cast<int64_t>(ih0) * k * out_w * y.pixel_stride,
                                         (ih1 - ih0) * k, out_w, y.pixel_stride, ctx.isa);
      });
      return;
    }
    kernels::resize_nearest_nhwc_f32(x.data, in_h, in_w, c, x.pixel_stride, y.data, out_h, out_w, y.pixel_stride, ctx.isa);
  }
  std::string kernel() const override { return "resize-nearest-nhwc"; }
};

OpPtr create_resize(const OpBuildContext& ctx) {
  if (!ctx.in(0).nhwc || !ctx.out(0).nhwc) {
    throw ctx.error("only nearest resizing (asymmetric, floor) of 4-D activations is supported, got mode '" +
                    ctx.node.attr_string("mode", "nearest") + "', coordinate_transformation_mode '" +
                    ctx.node.attr_string("coordinate_transformation_mode", "half_pixel") + "'");
  }
  return make_op<ResizeNearestOp>(ctx);
}

}  // namespace

void register_pool_resize_ops(OpRegistry& r) {
  r["MaxPool"] = create_maxpool;
  r["Resize"] = create_resize;
}

}  // namespace sp
