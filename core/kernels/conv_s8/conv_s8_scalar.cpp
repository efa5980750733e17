// The integer convolution reference: plain int32 loops over the OIHW weights, (x - zx) * w, padding taps
// skipped (they contribute (zx - zx) * w = 0). Written for any group count (output channel o reads the
// in_c / groups input channels of its group), so it covers dense and depthwise convolution alike. Every
// ISA kernel is tested bit-exact against it.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_s8_internal {

float silu_exact(float x) {
  const float xc = std::fmin(std::fmax(x, -88.0f), 88.0f);
  const float n = std::nearbyint(xc * -1.44269504088896341f);
  const float t = std::fma(n, 0x1.62E430p-1f, xc);
  float p = std::fma(-t, 0x1.0F9F9Cp-7f, 0x1.573A1Ap-5f);
  p = std::fma(-t, p, 0x1.555A80p-3f);
  p = std::fma(-t, p, 0x1.FFFDC6p-2f);
  p = std::fma(-t, p, 0x1.FFFFF6p-1f);
  p = std::fma(-t, p, 1.0f);
  const float d = std::ldexp(p, static_cast<int>(n)) + 1.0f;
  return x / d;
}

namespace {

class Conv2dS8Scalar final : public Conv2dS8 {
 public:
  Conv2dS8Scalar(const Conv2dS8Desc& desc, const int8_t* weights, const int32_t* bias)
      : desc_(desc),
        group_in_c_(desc.in_c / desc.groups),
        weights_(weights, weights + static_cast<int64_t>(desc.out_c) * group_in_c_ * desc.kernel_h * desc.kernel_w),
        bias_(static_cast<size_t>(desc.out_c), 0),
        requant_(static_cast<size_t>(desc.out_c)),
        dequant_(static_cast<size_t>(desc.out_c)),
        inv_out_scale_(inverse_output_scale(desc)) {
    for (int o = 0; o < desc.out_c; ++o) {
      if (bias) bias_[o] = bias[o];
      requant_[o] = requant_multiplier(desc, o);
      dequant_[o] = dequant_multiplier(desc, o);
    }
    name_ = kernel_name_prefix(desc) + "-s8-" + (desc.output == QuantOutput::kU8 ? "u8" : "f32") +
            (desc.residual ? "-res" : "") + "-scalar";
  }

  void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
           ThreadPool* pool) const override {
    validate_conv2d_s8_io(desc_, in, in_pixel_stride, out, out_pixel_stride);
    run_rows(in, in_pixel_stride, nullptr, 0, out, out_pixel_stride, pool);
  }

  void run_residual(const uint8_t* in, int64_t in_pixel_stride, const uint8_t* residual, int64_t residual_pixel_stride,
                    void* out, int64_t out_pixel_stride, ThreadPool* pool) const override {
    validate_conv2d_s8_residual_io(desc_, in, in_pixel_stride, residual, residual_pixel_stride, out, out_pixel_stride);
    run_rows(in, in_pixel_stride, residual, residual_pixel_stride, out, out_pixel_stride, pool);
  }

  std::string_view name() const override { return name_; }

 private:
  void run_rows(const uint8_t* in, int64_t ips, const uint8_t* res, int64_t rps, void* out, int64_t ops,
                ThreadPool* pool) const {
    const int oh_n = desc_.out_h();
    if (pool && pool->num_threads() > 1) {
      pool->parallel_for(oh_n, [&](int64_t oh) { run_row(in, ips, res, rps, out, ops, static_cast<int>(oh)); });
    } else {
      for (int oh = 0; oh < oh_n; ++oh) run_row(in, ips, res, rps, out, ops, oh);
    }
  }

  void run_row(const uint8_t* in, int64_t ips, const uint8_t* res, int64_t rps, void* out, int64_t ops, int oh) const {
    const Conv2dS8Desc& d = desc_;
    const int ow_n = d.out_w();
    const int32_t zx = d.input_zero_point;
    const int zy = d.output_zero_point;
    const bool silu = d.activation == Activation::kSilu;
    const int icg = group_in_c_;
    const int ocg = d.out_c / d.groups;
    for (int ow = 0; ow < ow_n; ++ow) {
      const int64_t pixel = static_cast<int64_t>(oh) * ow_n + ow;
      for (int o = 0; o < d.out_c; ++o) {
        const int c0 = (o / ocg) * icg;  // first input channel of o's group
        int32_t acc = bias_[o];
        for (int kh = 0; kh < d.kernel_h; ++kh) {
          const int ih = oh * d.stride_h - d.pad_top + kh * d.dilation_h;
          if (ih < 0 || ih >= d.in_h) continue;
          for (int kw = 0; kw < d.kernel_w; ++kw) {
            const int iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
            if (iw < 0 || iw >= d.in_w) continue;
            const uint8_t* x = in + (static_cast<int64_t>(ih) * d.in_w + iw) * ips;
            for (int c = 0; c < icg; ++c) {
              const int8_t w = weights_[((static_cast<int64_t>(o) * icg + c) * d.kernel_h + kh) * d.kernel_w + kw];
              acc += (static_cast<int32_t>(x[c0 + c]) - zx) * static_cast<int32_t>(w);
            }
          }
        }
        float f = static_cast<float>(acc);
        if (d.output == QuantOutput::kF32) {
          f = f * dequant_[o];
          if (silu) f = silu_exact(f);
          static_cast<float*>(out)[pixel * ops + o] = f;
        } else {
          if (res) {  // what QConv(f32) -> DequantizeLinear -> Add -> QuantizeLinear compute, one by one
            f = f * dequant_[o];
            if (silu) f = silu_exact(f);
            const float r = static_cast<float>(static_cast<int>(res[pixel * rps + o]) - d.residual_zero_point) * d.residual_scale;
            f = (f + r) / d.output_scale;
          } else if (silu) {
            f = silu_exact(f * dequant_[o]);
            f = f * inv_out_scale_;
          } else {
            f = f * requant_[o];
          }
          f = std::fmin(std::fmax(f, static_cast<float>(-zy)), static_cast<float>(255 - zy));
          const int q = static_cast<int>(std::nearbyint(f)) + zy;
          static_cast<uint8_t*>(out)[pixel * ops + o] = static_cast<uint8_t>(q);
        }
      }
    }
  }

  Conv2dS8Desc desc_;
  int group_in_c_;
  std::vector<int8_t> weights_;
  std::vector<int32_t> bias_;
  std::vector<float> requant_, dequant_;
  float inv_out_scale_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Conv2dS8> create_conv2d_s8_scalar(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                  const int32_t* bias) {
  validate_conv2d_s8_desc(desc);
  return std::make_unique<Conv2dS8Scalar>(desc, weights_oihw, bias);
}

}  // namespace sp::kernels::conv_s8_internal
