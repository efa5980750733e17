// The portable sparse reference: compressed sparse rows straight from the definition. Per output channel,
// its nonzero weights in reduction order (input channel, kernel row, kernel column) as they appear in
// OIHW; per output pixel, each nonzero reads its input tap from NHWC (skipped when it falls in the padding).
// Deliberately shares nothing with the vectorised path (no planes, no groups, no runs), so the tests
// compare two independent implementations; it is also what runs on CPUs without AVX2.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/kernels/spconv_f32/spconv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::spconv_internal {
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

struct Nonzero {
  int channel;  // absolute input channel
  int y, x;     // kernel tap
  float w;
};

class ScalarSparseConv2d final : public Conv2dF32 {
 public:
  ScalarSparseConv2d(const Conv2dDesc& d, const float* weights, const float* bias) : d_(d) {
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups;
    row_begin_.push_back(0);
    for (int o = 0; o < d.out_c; ++o) {
      const int g = o / oc_g;
      for (int i = 0; i < ic_g; ++i)
        for (int y = 0; y < d.kernel_h; ++y)
          for (int x = 0; x < d.kernel_w; ++x) {
            const float w = weights[((static_cast<int64_t>(o) * ic_g + i) * d.kernel_h + y) * d.kernel_w + x];
            if (w != 0.0f) nz_.push_back({g * ic_g + i, y, x, w});
          }
      row_begin_.push_back(static_cast<int64_t>(nz_.size()));
    }
    bias_.assign(d.out_c, 0.0f);
    if (bias) std::memcpy(bias_.data(), bias, sizeof(float) * d.out_c);
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(d_, io);
    const int out_h = d_.out_h();
    auto row = [&](int64_t oh) { run_row(io, static_cast<int>(oh)); };
    if (pool) {
      pool->parallel_for(out_h, row);
    } else {
      for (int oh = 0; oh < out_h; ++oh) row(oh);
    }
  }

  std::string_view name() const override { return "spconv-ref-scalar"; }

 private:
  void run_row(const ConvIO& io, int oh) const {
    const Conv2dDesc& d = d_;
    const int out_w = d.out_w();
    for (int ow = 0; ow < out_w; ++ow) {
      const int64_t opix = static_cast<int64_t>(oh) * out_w + ow;
      const int ih0 = oh * d.stride_h - d.pad_top, iw0 = ow * d.stride_w - d.pad_left;
      for (int o = 0; o < d.out_c; ++o) {
        float acc = bias_[o];
        for (int64_t k = row_begin_[o]; k < row_begin_[o + 1]; ++k) {
          const Nonzero& nz = nz_[k];
          const int ih = ih0 + nz.y * d.dilation_h, iw = iw0 + nz.x * d.dilation_w;
          if (ih < 0 || ih >= d.in_h || iw < 0 || iw >= d.in_w) continue;
          acc += io.input[(static_cast<int64_t>(ih) * d.in_w + iw) * io.in_pixel_stride + nz.channel] * nz.w;
        }
        float v = activate(d.activation, acc);
        if (io.residual) v += io.residual[opix * io.residual_pixel_stride + o];
        io.output[opix * io.out_pixel_stride + o] = v;
      }
    }
  }

  Conv2dDesc d_;
  std::vector<Nonzero> nz_;
  std::vector<int64_t> row_begin_;  // nonzeros of output channel o: [row_begin_[o], row_begin_[o + 1])
  std::vector<float> bias_;
};

}  // namespace

std::unique_ptr<Conv2dF32> create_sparse_conv2d_f32_scalar(const Conv2dDesc& desc, const float* weights,
                                                           const float* bias) {
  conv_internal::validate_conv2d_desc(desc);
  return std::make_unique<ScalarSparseConv2d>(desc, weights, bias);
}

}  // namespace sp::kernels::spconv_internal
