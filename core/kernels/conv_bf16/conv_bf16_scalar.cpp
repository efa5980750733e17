// The portable bf16 reference convolution, straight from the definition in conv_bf16_internal.h and
// parameterized by the instruction model, so that every kernel (vdpbf16ps here, tdpbf16ps through the AMX
// tile emulator) is tested bit-exact against the model of its own instruction. Slow (each product is a
// modelled FMA); it is also what `--isa scalar` runs.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_bf16_internal {
namespace {

uint32_t pair_of(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16); }

float activate(Activation act, float x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::kSilu: return x / (1.0f + std::exp(-x));
  }
  return x;
}

class ReferenceConv2d final : public Conv2dF32 {
 public:
  ReferenceConv2d(const Conv2dDesc& d, const float* weights, const float* bias, const Bf16DotModel& model)
      : d_(d), model_(model) {
    if (model.pairs_per_step < 1 || model.tap_pairs_multiple < 1) throw Error("conv2d bf16: invalid instruction model");
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
    pairs_ = (ic_g + 1) / 2;
    // OIHW -> [group][tap][pair][oc of the group] bf16 pairs: the innermost loop walks output channels.
    weights_.assign(static_cast<size_t>(d.groups) * taps * pairs_ * oc_g, 0u);
    for (int o = 0; o < d.out_c; ++o) {
      const int g = o / oc_g, og = o % oc_g;
      for (int t = 0; t < taps; ++t)
        for (int k = 0; k < pairs_; ++k) {
          auto w = [&](int i) -> uint16_t {
            return i < ic_g ? bf16_round(weights[(static_cast<size_t>(o) * ic_g + i) * taps + t]) : 0;
          };
          weights_[((static_cast<size_t>(g) * taps + t) * pairs_ + k) * oc_g + og] = pair_of(w(2 * k), w(2 * k + 1));
        }
    }
    bias_.assign(d.out_c, 0.0f);
    if (bias) std::memcpy(bias_.data(), bias, sizeof(float) * d.out_c);
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(d_, io);
    const int out_h = d_.out_h();
    auto rows = [&](int64_t oh) { run_row(io, static_cast<int>(oh)); };
    if (pool) {
      pool->parallel_for(out_h, rows);
    } else {
      for (int oh = 0; oh < out_h; ++oh) rows(oh);
    }
  }

  std::string_view name() const override { return "conv-bf16-ref-scalar"; }

 private:
  static constexpr int kChunk = 64;  // output channels per pass, states on the stack (run() must not allocate)

  void run_row(const ConvIO& io, int oh) const {
    const Conv2dDesc& d = d_;
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, out_w = d.out_w();
    const int taps = d.kernel_h * d.kernel_w;
    const int m = model_.tap_pairs_multiple;
    const int tap_pairs = (pairs_ + m - 1) / m * m;
    Bf16DotState st[kChunk];
    for (int ow = 0; ow < out_w; ++ow) {
      const int64_t opix = static_cast<int64_t>(oh) * out_w + ow;
      for (int g = 0; g < d.groups; ++g) {
        for (int o0 = 0; o0 < oc_g; o0 += kChunk) {
          const int n = oc_g - o0 < kChunk ? oc_g - o0 : kChunk;
          const int oc_begin = g * oc_g + o0;
          for (int o = 0; o < n; ++o) dot_begin(st[o], bias_[oc_begin + o]);
          for (int y = 0; y < d.kernel_h; ++y) {
            const int ih = oh * d.stride_h - d.pad_top + y * d.dilation_h;
            for (int x = 0; x < d.kernel_w; ++x) {
              const int iw = ow * d.stride_w - d.pad_left + x * d.dilation_w;
              const bool inside = ih >= 0 && ih < d.in_h && iw >= 0 && iw < d.in_w;
              const float* in =
                  inside ? io.input + (static_cast<int64_t>(ih) * d.in_w + iw) * io.in_pixel_stride + g * ic_g : nullptr;
              const uint32_t* w =
                  weights_.data() + ((static_cast<size_t>(g) * taps + y * d.kernel_w + x) * pairs_) * oc_g + o0;
              for (int k = 0; k < tap_pairs; ++k) {
                uint32_t xp = 0;
                if (in && k < pairs_) {
                  const uint16_t lo = bf16_round(in[2 * k]);
                  const uint16_t hi = 2 * k + 1 < ic_g ? bf16_round(in[2 * k + 1]) : 0;
                  xp = pair_of(lo, hi);
                }
                if (k < pairs_) {
                  for (int o = 0; o < n; ++o) dot_pair(model_, st[o], w[static_cast<size_t>(k) * oc_g + o], xp);
                } else {
                  for (int o = 0; o < n; ++o) dot_pair(model_, st[o], 0u, 0u);  // tap padding
                }
              }
              if (model_.step_ends_at_tap)
                for (int o = 0; o < n; ++o) dot_end_step(model_, st[o]);
            }
          }
          for (int o = 0; o < n; ++o) {
            float v = activate(d.activation, dot_end(model_, st[o]));
            if (io.residual) v += io.residual[opix * io.residual_pixel_stride + oc_begin + o];
            io.output[opix * io.out_pixel_stride + oc_begin + o] = v;
          }
        }
      }
    }
  }

  Conv2dDesc d_;
  Bf16DotModel model_;
  int pairs_ = 0;
  std::vector<uint32_t> weights_;
  std::vector<float> bias_;
};

}  // namespace

std::unique_ptr<Conv2dF32> create_conv2d_bf16_reference(const Conv2dDesc& desc, const float* weights,
                                                        const float* bias, const Bf16DotModel& model) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("conv2d: missing weights");
  return std::make_unique<ReferenceConv2d>(desc, weights, bias, model);
}

}  // namespace sp::kernels::conv_bf16_internal
