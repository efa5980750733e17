// Reading Conv / MaxPool node attributes into kernel descriptors, shared by the float and the integer
// ops (the descriptors differ in type but name their geometry fields alike).
#pragma once

#include "core/ops/op_factory.h"

namespace sp {

// Kernel size from the weights, strides, dilations, pads and group from the node, input size and
// channels from x, output channels from y.
template <typename Desc>
void fill_conv_geometry(Desc& d, const Node& n, const RtValue& x, const RtValue& w, const RtValue& y) {
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  d.in_h = static_cast<int>(x.height());
  d.in_w = static_cast<int>(x.width());
  d.in_c = static_cast<int>(x.channels());
  d.out_c = static_cast<int>(y.channels());
  d.kernel_h = static_cast<int>(w.shape[2]);
  d.kernel_w = static_cast<int>(w.shape[3]);
  d.stride_h = static_cast<int>(strides[0]);
  d.stride_w = static_cast<int>(strides[1]);
  d.dilation_h = static_cast<int>(dil[0]);
  d.dilation_w = static_cast<int>(dil[1]);
  d.pad_top = static_cast<int>(pads[0]);
  d.pad_left = static_cast<int>(pads[1]);
  d.pad_bottom = static_cast<int>(pads[2]);
  d.pad_right = static_cast<int>(pads[3]);
  d.groups = static_cast<int>(n.attr_int("group", 1));
}

// MaxPool geometry (kernel, strides, pads, dilations, ceil_mode) for input x.
template <typename Desc>
void fill_pool_geometry(Desc& d, const Node& n, const RtValue& x) {
  auto k = n.attr_ints("kernel_shape");
  auto s = n.attr_ints("strides", {1, 1});
  auto p = n.attr_ints("pads", {0, 0, 0, 0});
  auto dl = n.attr_ints("dilations", {1, 1});
  d.in_h = static_cast<int>(x.height());
  d.in_w = static_cast<int>(x.width());
  d.channels = static_cast<int>(x.channels());
  d.kernel_h = static_cast<int>(k[0]);
  d.kernel_w = static_cast<int>(k[1]);
  d.stride_h = static_cast<int>(s[0]);
  d.stride_w = static_cast<int>(s[1]);
  d.pad_top = static_cast<int>(p[0]);
  d.pad_left = static_cast<int>(p[1]);
  d.pad_bottom = static_cast<int>(p[2]);
  d.pad_right = static_cast<int>(p[3]);
  d.dilation_h = static_cast<int>(dl[0]);
  d.dilation_w = static_cast<int>(dl[1]);
  d.ceil_mode = n.attr_int("ceil_mode", 0) != 0;
}

}  // namespace sp
