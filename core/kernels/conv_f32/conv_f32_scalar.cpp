// The portable reference convolution, straight from the definition: for each output pixel, the output
// channels of a group accumulate x * w over (kh, kw, ic) in that order. Every vectorised kernel is tested
// against this, and it is what runs on CPUs without AVX2 (the innermost loop runs over contiguous output
// channels, so the compiler vectorises it with baseline SSE2 without reordering any sum).
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_internal {
namespace {

float activate(Activation act, float x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::kSilu: return x / (1.0f + std::exp(-x));
  }
  return x;
}

class ScalarConv2d final : public Conv2dF32 {
 public:
  ScalarConv2d(const Conv2dDesc& d, const float* weights, const float* bias) : d_(d) {
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
    // OIHW -> [group][kh][kw][ic][oc of the group]: the innermost loop walks contiguous output channels.
    weights_.resize(static_cast<size_t>(d.out_c) * ic_g * taps);
    for (int o = 0; o < d.out_c; ++o) {
      const int g = o / oc_g, og = o % oc_g;
      for (int i = 0; i < ic_g; ++i)
        for (int t = 0; t < taps; ++t)
          weights_[((static_cast<size_t>(g) * taps + t) * ic_g + i) * oc_g + og] =
              weights[(static_cast<size_t>(o) * ic_g + i) * taps + t];
    }
    bias_.assign(d.out_c, 0.0f);
    if (bias) std::memcpy(bias_.data(), bias, sizeof(float) * d.out_c);
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    validate_conv_io(d_, io);
    const int out_h = d_.out_h();
    auto rows = [&](int64_t oh) { run_row(io, static_cast<int>(oh)); };
    if (pool) {
      pool->parallel_for(out_h, rows);
    } else {
      for (int oh = 0; oh < out_h; ++oh) rows(oh);
    }
  }

  std::string_view name() const override { return "conv-ref-scalar"; }

 private:
  // Output channels are summed in chunks of this many, in a stack buffer (run() must not allocate).
  static constexpr int kChunk = 256;

  void run_row(const ConvIO& io, int oh) const {
    const Conv2dDesc& d = d_;
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, out_w = d.out_w();
    const int taps = d.kernel_h * d.kernel_w;
    float acc[kChunk];
    for (int ow = 0; ow < out_w; ++ow) {
      const int64_t opix = static_cast<int64_t>(oh) * out_w + ow;
      for (int g = 0; g < d.groups; ++g) {
        for (int o0 = 0; o0 < oc_g; o0 += kChunk) {
          const int n = oc_g - o0 < kChunk ? oc_g - o0 : kChunk;
          const int oc_begin = g * oc_g + o0;
          for (int o = 0; o < n; ++o) acc[o] = bias_[oc_begin + o];
          for (int y = 0; y < d.kernel_h; ++y) {
            const int ih = oh * d.stride_h - d.pad_top + y * d.dilation_h;
            if (ih < 0 || ih >= d.in_h) continue;
            for (int x = 0; x < d.kernel_w; ++x) {
              const int iw = ow * d.stride_w - d.pad_left + x * d.dilation_w;
              if (iw < 0 || iw >= d.in_w) continue;
              const float* in = io.input + (static_cast<int64_t>(ih) * d.in_w + iw) * io.in_pixel_stride + g * ic_g;
              const float* w =
                  weights_.data() + ((static_cast<size_t>(g) * taps + y * d.kernel_w + x) * ic_g) * oc_g + o0;
              for (int i = 0; i < ic_g; ++i, w += oc_g) {
                const float v = in[i];
                for (int o = 0; o < n; ++o) acc[o] += v * w[o];
              }
            }
          }
          for (int o = 0; o < n; ++o) {
            float v = activate(d.activation, acc[o]);
            if (io.residual) v += io.residual[opix * io.residual_pixel_stride + oc_begin + o];
            io.output[opix * io.out_pixel_stride + oc_begin + o] = v;
          }
        }
      }
    }
  }

  Conv2dDesc d_;
  std::vector<float> weights_;
  std::vector<float> bias_;
};

}  // namespace

std::unique_ptr<Conv2dF32> create_conv2d_f32_scalar(const Conv2dDesc& desc, const float* weights, const float* bias) {
  validate_conv2d_desc(desc);
  return std::make_unique<ScalarConv2d>(desc, weights, bias);
}

}  // namespace sp::kernels::conv_internal
