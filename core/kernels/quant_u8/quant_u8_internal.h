// Per-ISA entry points behind core/kernels/quant_u8/quant_u8.h. Only quant_u8.cpp (the dispatcher) and the
// tests should include this. The dispatcher has validated the arguments and split the work, so the
// variants may assume pixels >= 1, channels >= 1, a valid grid, and for pooling a well-formed
// Pool2dDesc with rows [oh_begin, oh_end) inside the output.
//
//   scalar::  quant_u8_scalar.cpp  plain C++, the reference and the fallback
//   avx2::    quant_u8_avx2.cpp    AVX2
//   avx512::  quant_u8_avx512.cpp  AVX-512 F/BW/VL/DQ
//
// avx2:: and avx512:: share their code through quant_u8_simd.inc.
#pragma once

#include <cstdint>

#include "core/kernels/quant_u8/quant_u8.h"

#define SP_QUANT_U8_DECLARE_ENTRY_POINTS()                                                                    \
  void quantize_f32_u8(const float* x, int64_t xs, uint8_t* y, int64_t ys, int64_t pixels, int64_t channels,  \
                       U8Grid grid);                                                                          \
  void dequantize_u8_f32(const uint8_t* x, int64_t xs, float* y, int64_t ys, int64_t pixels, int64_t channels, \
                         U8Grid grid);                                                                        \
  void lookup_u8(const uint8_t* x, int64_t xs, uint8_t* y, int64_t ys, int64_t pixels, int64_t channels,      \
                 const uint8_t* table);                                                                       \
  void add_u8(const uint8_t* a, int64_t as, U8Grid ga, const uint8_t* b, int64_t bs, U8Grid gb, uint8_t* y,   \
              int64_t ys, U8Grid gy, int64_t pixels, int64_t channels);                                       \
  void maxpool2d_nhwc_u8(const Pool2dDesc& d, const uint8_t* x, int64_t xs, uint8_t* y, int64_t ys,           \
                         int oh_begin, int oh_end);

namespace sp::kernels::quant_u8_internal {
namespace scalar {
SP_QUANT_U8_DECLARE_ENTRY_POINTS()
}  // namespace scalar
namespace avx2 {
SP_QUANT_U8_DECLARE_ENTRY_POINTS()
}  // namespace avx2
namespace avx512 {
SP_QUANT_U8_DECLARE_ENTRY_POINTS()
}  // namespace avx512
}  // namespace sp::kernels::quant_u8_internal

#undef SP_QUANT_U8_DECLARE_ENTRY_POINTS
