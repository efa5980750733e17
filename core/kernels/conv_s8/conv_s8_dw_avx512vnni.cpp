// AVX-512 VNNI depthwise integer convolution (compiled with the AVX-512 VNNI flags; only called when the CPU
// has them): the shared body conv_s8_dw_simd.inc on zmm, 64-channel blocks, one vpdpbusd per column quad
// (4 kernel rows of 16 channels).
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

constexpr bool kVnni = true;
constexpr int kTw = 4;  // 16 accumulators + 4 column vectors + unpack temporaries of 32 zmm registers

// acc += u8 quads x s8 weights (memory operand). Inline asm, as in conv_s8_avx512vnni.cpp: GCC 12 copies
// the tied accumulator of the intrinsic around every call.
SP_DW_INLINE void dw_dot(VI& acc, const VI* col, int k, const int8_t* w) {
  __asm__("vpdpbusd %[wv], %[xv], %[av]"
          : [av] "+v"(acc)
          : [xv] "v"(col[k]), [wv] "m"(*reinterpret_cast<const __m512i*>(w)));
}

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avx512vnni_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
