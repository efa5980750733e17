// Sparse integer convolution, AVX-VNNI (compiled with -mavx2 -mfma -mavxvnni; only called when the CPU has
// it): the VEX-encoded vpdpbusd on ymm, 8 output pixels per vector, one instruction per nonzero
// 4-channel unit and vector — for CPUs with AVX-VNNI but no AVX-512 (Alder Lake and later client cores,
// Zen 5 client parts with AVX-512 fused off). Vector primitives in spconv_s8_ymm.inc, micro-kernel in
// spconv_s8_kernel.inc.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/spconv_s8/spconv_s8_internal.h"

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::spconv_s8_internal {
namespace {

// {vex} (escaped %{vex%} in GCC asm): the assembler would otherwise pick the EVEX (AVX-512 VNNI) encoding of vpdpbusd. Inline asm for
// the same reason as the AVX-512 kernel (GCC 12 copies the tied accumulator around the intrinsic).
SP_INLINE void ymm_dot(__m256i& acc, __m256i x_u8, __m256i w_s8) {
  __asm__("%{vex%} vpdpbusd %[w], %[x], %[acc]" : [acc] "+x"(acc) : [x] "x"(x_u8), [w] "x"(w_s8));
}

#include "core/kernels/spconv_s8/spconv_s8_ymm.inc"
#include "core/kernels/spconv_s8/spconv_s8_kernel.inc"

}  // namespace

void spconv_s8_avxvnni_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                             int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end, int oc_begin,
                             int oc_end) {
  dispatch_tiles(plan, segment, q_origin, out, out_pixel_stride, tile_pixels, tile_begin, tile_end, oc_begin, oc_end);
}

void spconv_s8_avxvnni_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                                 int row0, int ih_begin, int ih_end) {
  pack_rows_ymm<4>(plan, in, in_pixel_stride, segment, row0, ih_begin, ih_end);
}

}  // namespace sp::kernels::spconv_s8_internal
