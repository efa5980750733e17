// MaxPool and nearest Resize on NHWC activations.
#include "core/kernels/vector_f32/vector_ops_f32.h"
#include "core/ops/node_geometry.h"
#include "core/ops/op_factory.h"

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
    kernels::resize_nearest_nhwc_f32(x.data, static_cast<int>(x.height()), static_cast<int>(x.width()),
                                     static_cast<int>(x.channels()), x.pixel_stride, y.data,
                                     static_cast<int>(y.height()), static_cast<int>(y.width()), y.pixel_stride, ctx.isa);
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
