// The u8 kernels' reference: the formulas of quant_u8.h written out element by element. Every other
// ISA is tested bit-exact against these. (ISO C++ mode compiles with -ffp-contract=off, so a * b + c
// below is two roundings, as the SIMD kernels do it.)
#include <cmath>
#include <cstdint>

#include "core/kernels/quant_u8/quant_u8_internal.h"

namespace sp::kernels::quant_u8_internal::scalar {
namespace {

// clamp(rne(f) + zp, 0, 255), NaN -> zp.
uint8_t quantize(float f, int zp) {
  float r = std::nearbyint(f);
  if (std::isnan(r)) r = 0.0f;
  const float v = std::fmin(std::fmax(r + static_cast<float>(zp), 0.0f), 255.0f);
  return static_cast<uint8_t>(static_cast<int>(v));
}

}  // namespace

void quantize_f32_u8(const float* x, int64_t xs, uint8_t* y, int64_t ys, int64_t pixels, int64_t channels,
                     U8Grid g) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) y[p * ys + c] = quantize(x[p * xs + c] / g.scale, g.zero_point);
}

void dequantize_u8_f32(const uint8_t* x, int64_t xs, float* y, int64_t ys, int64_t pixels, int64_t channels,
                       U8Grid g) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      y[p * ys + c] = static_cast<float>(static_cast<int>(x[p * xs + c]) - g.zero_point) * g.scale;
}

void lookup_u8(const uint8_t* x, int64_t xs, uint8_t* y, int64_t ys, int64_t pixels, int64_t channels,
               const uint8_t* table) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) y[p * ys + c] = table[x[p * xs + c]];
}

void add_u8(const uint8_t* a, int64_t as, U8Grid ga, const uint8_t* b, int64_t bs, U8Grid gb, uint8_t* y,
            int64_t ys, U8Grid gy, int64_t pixels, int64_t channels) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) {
      const float fa = static_cast<float>(static_cast<int>(a[p * as + c]) - ga.zero_point) * ga.scale;
      const float fb = static_cast<float>(static_cast<int>(b[p * bs + c]) - gb.zero_point) * gb.scale;
      y[p * ys + c] = quantize((fa + fb) / gy.scale, gy.zero_point);
    }
}

void maxpool2d_nhwc_u8(const Pool2dDesc& d, const uint8_t* x, int64_t xs, uint8_t* y, int64_t ys, int oh_begin,
                       int oh_end) {
  const int out_w = d.out_w();
  for (int oh = oh_begin; oh < oh_end; ++oh)
    for (int ow = 0; ow < out_w; ++ow) {
      uint8_t* yp = y + (static_cast<int64_t>(oh) * out_w + ow) * ys;
      for (int c = 0; c < d.channels; ++c) yp[c] = 0;
      for (int kh = 0; kh < d.kernel_h; ++kh) {
        const int ih = oh * d.stride_h - d.pad_top + kh * d.dilation_h;
        if (ih < 0 || ih >= d.in_h) continue;
        for (int kw = 0; kw < d.kernel_w; ++kw) {
          const int iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
          if (iw < 0 || iw >= d.in_w) continue;
          const uint8_t* xp = x + (static_cast<int64_t>(ih) * d.in_w + iw) * xs;
          for (int c = 0; c < d.channels; ++c) yp[c] = xp[c] > yp[c] ? xp[c] : yp[c];
        }
      }
    }
}

}  // namespace sp::kernels::quant_u8_internal::scalar
