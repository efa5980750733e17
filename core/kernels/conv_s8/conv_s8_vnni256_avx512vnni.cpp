// The 256-bit VNNI micro-kernels of conv_s8_vnni256.inc in their AVX-512VL VNNI (EVEX) form, compiled with
// the AVX-512 VNNI flags. The engine never selects it (on AVX-512 VNNI CPUs the 512-bit kernel of
// conv_s8_avx512vnni.cpp is the faster one); it exists so that the source behind Isa::kAvxVnni is tested
// bit-exact on every AVX-512 VNNI machine, through create_conv2d_s8_simd(..., S8Kernel::kVnni256Evex).
//
// Everything but the entry points is in an anonymous namespace; no std:: templates.
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

// %{evex%} ({evex} once the asm template is expanded): the AVX-512VL encoding of the same instruction ("v": any of ymm0-31).
#define SP_VNNI256_DPBUSD(acc, x, w) \
  __asm__("%{evex%} vpdpbusd %[wv], %[xv], %[av]" : [av] "+v"(acc) : [xv] "v"(x), [wv] "v"(w))

#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_store_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_im2col_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_tiles.inc"
#include "core/kernels/conv_s8/conv_s8_vnni256.inc"

#undef SP_VNNI256_DPBUSD

}  // namespace

void conv_s8_vnni256_evex_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                               int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  vnni256_block<false>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end);
}

void conv_s8_vnni256_evex_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                      int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  vnni256_block<true>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end);
}

}  // namespace sp::kernels::conv_s8_internal
