// AVX-VNNI integer convolution (compiled with -mavx2 -mfma -mavxvnni; only called when the CPU has AVX-VNNI):
// the 256-bit VNNI micro-kernels of conv_s8_vnni256.inc with the VEX-encoded vpdpbusd of client CPUs
// (Alder Lake and later) that lack AVX-512. The same source runs in its EVEX form in
// conv_s8_vnni256_avx512vnni.cpp, which is how the unit tests exercise it on AVX-512 VNNI machines.
//
// Everything but the entry points is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

// Inline asm rather than _mm256_dpbusd_avx_epi32, as in conv_s8_avx512vnni.cpp (GCC 12 copies the tied
// accumulator around every intrinsic call). %{vex%} is the asm template spelling of the {vex} prefix;
// "x": ymm0-15, the registers a VEX encoding can name.
#define SP_VNNI256_DPBUSD(acc, x, w) \
  __asm__("%{vex%} vpdpbusd %[wv], %[xv], %[av]" : [av] "+x"(acc) : [xv] "x"(x), [wv] "x"(w))

#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_store_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_im2col_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_tiles.inc"
#include "core/kernels/conv_s8/conv_s8_vnni256.inc"

#undef SP_VNNI256_DPBUSD

}  // namespace

void conv_s8_avxvnni_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                          int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  vnni256_block<false>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end);
}

void conv_s8_avxvnni_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                 int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  vnni256_block<true>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end);
}

}  // namespace sp::kernels::conv_s8_internal
