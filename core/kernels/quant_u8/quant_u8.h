// u8 activation kernels of the integer engine: the conversions at the float/integer boundary, table
// lookups (any u8 -> u8 function of one value: requantization, fused activations), the requantizing Add
// of residual connections, and max pooling. Each has a scalar reference and AVX2 / AVX-512BW variants
// selected by `isa` (its float family, see sp::float_isa), BIT-IDENTICAL to the reference on every ISA.
//
// Data are NHWC "pixel rows": `pixels` pixels of `channels` channels, pixel p of a tensor starting at
// ptr + p * pixel_stride (in elements of that tensor's type), so a tensor may be a channel slice of a
// wider buffer. pixel_stride >= channels. Only the `channels` elements of each output pixel are written.
// `pool` may be null (the calling thread does everything); with a pool the work is split over pixels
// (pooling: over output rows). Arguments are checked and violations throw sp::Error.
//
// Rounding: half to nearest EVEN (ONNX QuantizeLinear), in float. Requires the default floating-point
// environment (round-to-nearest, no FTZ/DAZ), which the engine never changes.
#pragma once

#include <array>
#include <cstdint>

#include "core/cpu_features.h"
#include "core/kernels/vector_f32/vector_ops_f32.h"  // Pool2dDesc

namespace sp {
class ThreadPool;
}

namespace sp::kernels {

// A u8 quantization grid: real = (q - zero_point) * scale. scale positive and finite, zero_point in
// [0, 255].
struct U8Grid {
  float scale = 1.0f;
  int zero_point = 0;
};

// ONNX QuantizeLinear: y = clamp(rne(x / scale) + zero_point, 0, 255), with a true IEEE division (not a
// multiplication by 1 / scale) and rne(...) rounded in float. NaN maps to zero_point; +-inf saturate.
void quantize_f32_u8(const float* x, int64_t x_pixel_stride, int64_t pixels, int64_t channels, U8Grid grid,
                     uint8_t* y, int64_t y_pixel_stride, Isa isa, ThreadPool* pool = nullptr);

// ONNX DequantizeLinear: y = float(int(x) - zero_point) * scale (exact conversion, one rounding).
void dequantize_u8_f32(const uint8_t* x, int64_t x_pixel_stride, int64_t pixels, int64_t channels, U8Grid grid,
                       float* y, int64_t y_pixel_stride, Isa isa, ThreadPool* pool = nullptr);

// y = table[x], table: 256 entries. y may alias x exactly (same pointer and pixel stride).
void lookup_u8(const uint8_t* x, int64_t x_pixel_stride, int64_t pixels, int64_t channels, const uint8_t* table,
               uint8_t* y, int64_t y_pixel_stride, Isa isa, ThreadPool* pool = nullptr);

// The table of DequantizeLinear(in) -> QuantizeLinear(out): table[q] = quantize(float(q - in.zp) * in.scale)
// with the rounding of quantize_f32_u8. For lookup_u8 (Concat inputs on another grid, and the like).
std::array<uint8_t, 256> requantization_table(U8Grid in, U8Grid out);

// What DequantizeLinear -> Add -> QuantizeLinear computes, in float:
//   fa = float(a - za) * sa;  fb = float(b - zb) * sb;  y = clamp(rne((fa + fb) / sy) + zy, 0, 255)
// (fa + fb one rounded addition, never fused into an FMA). y may alias a or b exactly.
void add_u8(const uint8_t* a, int64_t a_pixel_stride, U8Grid a_grid, const uint8_t* b, int64_t b_pixel_stride,
            U8Grid b_grid, int64_t pixels, int64_t channels, uint8_t* y, int64_t y_pixel_stride, U8Grid y_grid, Isa isa,
            ThreadPool* pool = nullptr);

// Max pooling on u8 NHWC with pixel strides (d.channels channels; kernel, stride, dilation, pads and
// ceil_mode as in maxpool2d_nhwc_f32). Taps outside the image are ignored (padding never wins); a window
// entirely in the padding gives 0. The grid is unchanged (max commutes with a monotone dequantization).
// x and y must not overlap.
void maxpool2d_nhwc_u8(const Pool2dDesc& d, const uint8_t* x, int64_t x_pixel_stride, uint8_t* y,
                       int64_t y_pixel_stride, Isa isa, ThreadPool* pool = nullptr);

}  // namespace sp::kernels
