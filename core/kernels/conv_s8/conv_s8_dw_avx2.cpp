// AVX2 depthwise integer convolution (compiled with -mavx2 -mfma; only called when the CPU has them): the
// shared body conv_s8_dw_simd.inc on ymm, 32-channel blocks, 4 taps per int32 lane as two vpmaddwd on
// even/odd int16 pairs (exact for u8 x s8).
//
// Everything but the entry point is in an anonymous namespace; no std:: templates (an inline template
// instantiated here would be compiled for AVX2 and could be the copy the linker keeps).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

#include "core/kernels/conv_s8/conv_s8_dw_ymm.inc"
#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"

constexpr bool kVnni = false;
constexpr int kTw = 2;  // 8 accumulators + 8 column vectors + temporaries of 16 ymm registers

SP_DW_INLINE void dw_dot(VI& acc, const VI* col, int k, const int8_t* w) { dot_madd(acc, col[k], col[4 + k], w); }

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avx2_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
