// Float 2-D convolution, NHWC, batch 1, with bias + activation (+ optional residual add) fused into
// the epilogue. Created once per Conv node and ISA (weights packed then), run many times with no
// allocation (XNNPACK's create/run discipline).
//
// Activations are NHWC with a *pixel stride*: the number of floats from one pixel to the next, which
// may exceed the channel count. A tensor can therefore be a channel slice of a wider buffer — that is
// how Concat and Split along channels cost nothing: producers write into, and consumers read from,
// slices of one buffer. Row stride = width * pixel_stride.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/cpu_features.h"
#include "core/kernels/activation.h"

namespace sp {
class ThreadPool;
}

namespace sp::kernels {

struct Conv2dDesc {
  int in_h = 0, in_w = 0, in_c = 0;  // in_c: all input channels (groups * channels per group)
  int out_c = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;
  Activation activation = Activation::kNone;

  int out_h() const { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int out_w() const { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

struct ConvIO {
  const float* input = nullptr;
  int64_t in_pixel_stride = 0;
  float* output = nullptr;
  int64_t out_pixel_stride = 0;
  // Optional: output = activation(conv + bias) + residual (the YOLO bottleneck shortcut).
  const float* residual = nullptr;
  int64_t residual_pixel_stride = 0;
};

class Conv2dF32 {
 public:
  virtual ~Conv2dF32() = default;
  // `pool` may be null (single-threaded). Input and output must not overlap; residual may equal output.
  virtual void run(const ConvIO& io, ThreadPool* pool) const = 0;
  // What runs, for profiles and `info`: e.g. "conv3x3s1-nhwc-avx512".
  virtual std::string_view name() const = 0;
};

// weights: ONNX layout OIHW, O = out_c, I = in_c / groups. bias: out_c floats or null.
// Throws sp::Error for a descriptor it cannot run (e.g. channels not divisible by groups).
std::unique_ptr<Conv2dF32> create_conv2d_f32(const Conv2dDesc& desc, const float* weights, const float* bias,
                                             Isa isa);

}  // namespace sp::kernels
