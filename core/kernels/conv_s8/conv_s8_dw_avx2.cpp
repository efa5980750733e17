// AVX2 depthwise integer convolution (compiled with -mavx2 -mfma; only called when the CPU has them):
// 8 channels per ymm as int32 lanes, the shared body in conv_s8_dw_simd.inc.
//
// Everything but the entry point is in an anonymous namespace; no std:: templates (an inline template
// instantiated here would be compiled for AVX2 and could be the copy the linker keeps).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

#define SP_INLINE inline __attribute__((always_inline))

constexpr int kL = 8;
constexpr int kMr = 8;  // 8 accumulators + weights + input of 16 ymm registers
using VI = __m256i;
using VF = __m256;

SP_INLINE VI vload_i32(const int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
SP_INLINE VF vload_f32(const float* p) { return _mm256_load_ps(p); }
SP_INLINE VI vload_x(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
SP_INLINE VI vload_x_part(const uint8_t* p, int n) {
  int64_t v = 0;
  __builtin_memcpy(&v, p, static_cast<unsigned>(n));
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}
SP_INLINE VI vmac(VI acc, VI x, VI w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
SP_INLINE VF vcvt_f(VI v) { return _mm256_cvtepi32_ps(v); }  // MXCSR rounding: nearest even
SP_INLINE VI vcvt_i(VF v) { return _mm256_cvtps_epi32(v); }
SP_INLINE VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
SP_INLINE VF vmin(VF a, VF b) { return _mm256_min_ps(a, b); }
SP_INLINE VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
SP_INLINE VF vsetf(float s) { return _mm256_set1_ps(s); }
SP_INLINE VI vaddi(VI a, VI b) { return _mm256_add_epi32(a, b); }
SP_INLINE VI vseti(int s) { return _mm256_set1_epi32(s); }
SP_INLINE void vstore_f32(float* p, VF v, int n) {
  if (n == kL) {
    _mm256_storeu_ps(p, v);
  } else {
    const VI mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(p, mask, v);
  }
}
SP_INLINE void vstore_u8(uint8_t* p, VI q, int n) {
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b8 = _mm_packus_epi16(w16, w16);
  if (n == kL) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), b8);
  } else {
    const int64_t v = _mm_cvtsi128_si64(b8);
    __builtin_memcpy(p, &v, static_cast<unsigned>(n));
  }
}

#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avx2_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
