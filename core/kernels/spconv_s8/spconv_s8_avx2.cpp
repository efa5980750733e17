// Sparse integer convolution, AVX2 (compiled with -mavx2 -mfma; only called when the CPU has them): the
// cells are int16 pairs (unit 2: the packing zero-extends the u8 input), multiplied by a broadcast pair of
// int16 weights with vpmaddwd — exact for u8 x s8, unlike vpmaddubsw whose pair sums saturate. 8 output
// pixels per vector, one vpmaddwd + vpaddd per nonzero 2-channel unit and vector. Vector primitives in
// spconv_s8_ymm.inc, micro-kernel in spconv_s8_kernel.inc.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/spconv_s8/spconv_s8_internal.h"

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::spconv_s8_internal {
namespace {

SP_INLINE void ymm_dot(__m256i& acc, __m256i x_i16, __m256i w_i16) {
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x_i16, w_i16));
}

#include "core/kernels/spconv_s8/spconv_s8_ymm.inc"
#include "core/kernels/spconv_s8/spconv_s8_kernel.inc"

}  // namespace

void spconv_s8_avx2_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                          int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end, int oc_begin,
                          int oc_end) {
  dispatch_tiles(plan, segment, q_origin, out, out_pixel_stride, tile_pixels, tile_begin, tile_end, oc_begin, oc_end);
}

void spconv_s8_avx2_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                              int row0, int ih_begin, int ih_end) {
  pack_rows_ymm<2>(plan, in, in_pixel_stride, segment, row0, ih_begin, ih_end);
}

}  // namespace sp::kernels::spconv_s8_internal
