// AVX-512 (F/BW/VL/DQ) depthwise integer convolution (compiled with the AVX-512 flags; only called when the
// CPU has them): the shared body conv_s8_dw_simd.inc on zmm, 64-channel blocks, 4 taps per int32 lane as
// two vpmaddwd on even/odd int16 pairs (exact for u8 x s8).
//
// Everything but the entry point is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_* placeholders, which
// -Wuninitialized reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::conv_s8_internal {
namespace {

#include "core/kernels/conv_s8/conv_s8_dw_zmm.inc"
#include "core/kernels/conv_s8/conv_s8_silu_avx512.inc"

constexpr bool kVnni = false;
constexpr int kTw = 4;  // 16 accumulators + 8 column vectors of 32 zmm registers

SP_DW_INLINE void dw_dot(VI& acc, const VI* col, int k, const int8_t* w) { dot_madd(acc, col[k], col[4 + k], w); }

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avx512_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
