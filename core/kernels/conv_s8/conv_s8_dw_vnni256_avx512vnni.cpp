// conv_s8_dw_avxvnni.cpp in its AVX-512VL VNNI (EVEX) form: the same body, primitives and tile, with the
// EVEX encoding of vpdpbusd ymm. Never selected by the engine (AVX-512 VNNI CPUs run the zmm kernel); it
// lets the unit tests check the AVX-VNNI depthwise source bit-exact on every AVX-512 VNNI machine, through
// create_conv2d_s8_dw(..., DwKernel::kVnni256Evex).
//
// Everything but the entry point is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::conv_s8_internal {
namespace {

#include "core/kernels/conv_s8/conv_s8_dw_ymm.inc"
#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"

constexpr bool kVnni = true;
constexpr int kTw = 2;  // as conv_s8_dw_avxvnni.cpp

SP_DW_INLINE void dw_dot(VI& acc, const VI* col, int k, const int8_t* w) {
  __asm__("%{evex%} vpdpbusd %[wv], %[xv], %[av]"
          : [av] "+v"(acc)
          : [xv] "v"(col[k]), [wv] "m"(*reinterpret_cast<const __m256i*>(w)));
}

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_vnni256_evex_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
