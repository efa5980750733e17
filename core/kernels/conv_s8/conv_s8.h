// Integer 2-D convolution (the quantized Conv of a QDQ graph), NHWC, batch 1. Created once per Conv node
// and ISA (weights packed then), run many times with no allocation — the same discipline and the same
// pixel-stride convention as conv_f32.h (a tensor may be a channel slice of a wider buffer).
//
// Semantics:
//   input  x: u8, per-tensor scale sx and zero point zx;
//   weights w: s8 OIHW, symmetric (zero point 0), per-output-channel scale sw[o];
//   bias   b: int32 (scale sx * sw[o], as in ONNX QLinearConv / QDQ);
//   acc[o] = b[o] + sum over taps and input channels of (x - zx) * w          (int32)
//   Padding taps read the value zx, i.e. contribute 0.
// Output, per desc.output:
//   kU8:  y = clamp(round(acc * m[o]) + zy, 0, 255),  m[o] = sx * sw[o] / sy          (no activation)
//         y = clamp(round(silu(acc * d[o]) * (1 / sy)) + zy, 0, 255), d[o] = sx * sw[o]  (SiLU)
//   kF32: y = acc * d[o]  or  silu(acc * d[o]).
//   kU8 with a residual r (u8, scale sr, zero point zr; Conv2dS8Desc::residual):
//         y = clamp(rne((f + float(r - zr) * sr) / sy) + zy, 0, 255), f = the kF32 output above,
//         "/" a true IEEE division: exactly QConv(kF32) -> DequantizeLinear(r) -> Add -> QuantizeLinear
//         as quant_u8.h computes them, bit for bit (a residual block of a QDQ graph whose conv output
//         is not itself quantized), in one pass over the output.
// m[o], d[o] and 1/sy are computed once in float at create time (m[o] = float(double(sx)*sw[o]/sy),
// d[o] = sx * sw[o] in float). The float product acc * m uses float(acc) (round to nearest even).
//
// ROUNDING: round half to nearest EVEN (the rounding of ONNX QuantizeLinear), done in float, with the
// clamp applied before the rounding (equivalent, since the bounds are integers). Requires the default
// floating-point environment (round-to-nearest, no FTZ/DAZ), which the engine never changes.
// SiLU is x / (1 + e^-x) with e^-x from one fixed sequence of IEEE operations (see
// conv_s8_internal.h: silu_exact), so every ISA's output is BIT-IDENTICAL to the scalar reference —
// the unit test checks that. (It is accurate to ~1e-6 relative, not bit-equal to std::exp.)
//
// Supported: any kernel size, stride, dilation and padding, with groups == 1 (dense) or
// groups == in_c == out_c (depthwise, channel multiplier 1: weights out_c x 1 x kh x kw, acc[c] sums the
// taps of input channel c only; same epilogue). Other grouped convolutions (1 < groups < in_c, or a
// channel multiplier > 1) are rejected with sp::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/activation.h"

namespace sp {
class ThreadPool;
}

namespace sp::kernels {

enum class QuantOutput : uint8_t {
  kU8,   // requantized u8 (output_scale, output_zero_point)
  kF32,  // dequantized float, for layers that feed float consumers (e.g. the pose head)
};

struct Conv2dS8Desc {
  int in_h = 0, in_w = 0, in_c = 0;
  int out_c = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;  // 1, or in_c == out_c (depthwise)

  float input_scale = 1.0f;            // sx
  uint8_t input_zero_point = 0;        // zx
  std::vector<float> weight_scales;    // sw[o], out_c positive finite values
  QuantOutput output = QuantOutput::kU8;
  float output_scale = 1.0f;           // sy (kU8 only)
  uint8_t output_zero_point = 0;       // zy (kU8 only)
  Activation activation = Activation::kNone;  // kNone or kSilu
  // kU8 and groups == 1 only: add a u8 residual before the requantization (see above); the op then
  // runs with run_residual().
  bool residual = false;
  float residual_scale = 1.0f;         // sr
  uint8_t residual_zero_point = 0;     // zr

  int out_h() const { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int out_w() const { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

class Conv2dS8 {
 public:
  virtual ~Conv2dS8() = default;
  // in: u8 NHWC, in_pixel_stride >= in_c bytes. out: uint8_t* (kU8) or float* (kF32), out_pixel_stride
  // >= out_c elements of that type. Only the out_c channels of each output pixel are written. `pool` may
  // be null. Input and output must not overlap.
  virtual void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
                   ThreadPool* pool) const = 0;
  // The same for a descriptor with a residual: `residual` u8 NHWC of out_h x out_w pixels x out_c
  // channels, residual_pixel_stride >= out_c. The residual may share the output's buffer (other
  // channels of the same pixels, or exactly the output itself); it must not overlap the input.
  // The kernels create_conv2d_s8 returns for dense descriptors implement it; the default throws.
  virtual void run_residual(const uint8_t* in, int64_t in_pixel_stride, const uint8_t* residual,
                            int64_t residual_pixel_stride, void* out, int64_t out_pixel_stride,
                            ThreadPool* pool) const;
  // What runs, e.g. "conv3x3s2-s8-u8-avx512vnni", "dwconv3x3s1-s8-f32-avx512" or, with a residual,
  // "conv3x3s1-s8-u8-res-avx512vnni".
  virtual std::string_view name() const = 0;
};

// weights_oihw: out_c x (in_c / groups) x kernel_h x kernel_w int8. bias: out_c int32 or null (zero).
// isa, dense: kAmx the AMX tdpbusd kernel (conv_s8_amx_internal.h; on the tile emulator under
// SP_AMX=emulate, name ending "-amx-emu"); kAvx512Vnni the AVX-512 vpdpbusd kernel (zmm); kAvxVnni the
// AVX-VNNI vpdpbusd kernel (ymm, VEX); kAvx2 and kAvx512 the AVX2 vpmaddwd kernel (no AVX-512BW-specific
// dense kernel). Depthwise: kAvx512Vnni and kAmx use the AVX-512 VNNI kernel (AMX has no depthwise
// form), kAvx512 the AVX-512BW vpmaddwd one, kAvxVnni the AVX-VNNI one, kAvx2 the AVX2 vpmaddwd one.
// kScalar is the reference. name() ends with the ISA whose instructions run ("-amx", "-amx-emu",
// "-avx512vnni", "-avxvnni", "-avx512", "-avx2", "-scalar"). Throws sp::Error for a descriptor it cannot
// run or an ISA the CPU lacks.
std::unique_ptr<Conv2dS8> create_conv2d_s8(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                           const int32_t* bias, Isa isa);

}  // namespace sp::kernels
