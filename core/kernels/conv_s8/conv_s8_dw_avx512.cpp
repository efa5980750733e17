// AVX-512 (F/BW/VL/DQ) depthwise integer convolution (compiled with the AVX-512 flags; only called when
// the CPU has them): 16 channels per zmm as int32 lanes, byte-masked loads and stores for the channel
// tail, the shared body in conv_s8_dw_simd.inc. VNNI would not help: every output channel has one input
// channel, so there is no 4-channel dot product to take.
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

#define SP_INLINE inline __attribute__((always_inline))

constexpr int kL = 16;
constexpr int kMr = 8;
constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
using VI = __m512i;
using VF = __m512;

SP_INLINE __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
SP_INLINE VI vload_i32(const int32_t* p) { return _mm512_load_si512(p); }
SP_INLINE VF vload_f32(const float* p) { return _mm512_load_ps(p); }
SP_INLINE VI vload_x(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
SP_INLINE VI vload_x_part(const uint8_t* p, int n) { return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(first(n), p)); }
SP_INLINE VI vmac(VI acc, VI x, VI w) { return _mm512_add_epi32(acc, _mm512_madd_epi16(x, w)); }
SP_INLINE VF vcvt_f(VI v) { return _mm512_cvt_roundepi32_ps(v, kRne); }
SP_INLINE VI vcvt_i(VF v) { return _mm512_cvt_roundps_epi32(v, kRne); }
SP_INLINE VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
SP_INLINE VF vmin(VF a, VF b) { return _mm512_min_ps(a, b); }
SP_INLINE VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
SP_INLINE VF vsetf(float s) { return _mm512_set1_ps(s); }
SP_INLINE VI vaddi(VI a, VI b) { return _mm512_add_epi32(a, b); }
SP_INLINE VI vseti(int s) { return _mm512_set1_epi32(s); }
// Full vectors use plain stores: masked stores are much slower on some cores (Zen 4).
SP_INLINE void vstore_f32(float* p, VF v, int n) {
  if (n == kL) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, first(n), v);
}
SP_INLINE void vstore_u8(uint8_t* p, VI q, int n) {
  if (n == kL) _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(q));
  else _mm_mask_storeu_epi8(p, first(n), _mm512_cvtepi32_epi8(q));
}

#include "core/kernels/conv_s8/conv_s8_silu_avx512.inc"

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avx512_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
