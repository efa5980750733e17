// AVX2 variants of the u8 activation kernels (compiled with -mavx2 -mfma; only called after run-time
// detection): the vector abstraction below, the bodies in quant_u8_simd.inc. Partial vectors go
// through small stack buffers (AVX2 has no byte-masked loads or stores).
//
// Everything but the entry points has internal linkage; no std:: function templates (an inline
// template instantiated here would be compiled for AVX2 and the linker could keep this copy).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/quant_u8/quant_u8_internal.h"

namespace sp::kernels::quant_u8_internal::avx2 {
namespace {

#define SP_INLINE inline __attribute__((always_inline))

constexpr int64_t kF = 8;
constexpr int64_t kB = 32;
using VF = __m256;
using VI = __m256i;
using VB = __m256i;
constexpr bool kCheapPartialBytes = false;  // no byte masks: partial vectors go through a stack buffer

SP_INLINE VI first_lanes(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
SP_INLINE VF vloadf(const float* p) { return _mm256_loadu_ps(p); }
SP_INLINE VF vloadf_n(const float* p, int n) { return _mm256_maskload_ps(p, first_lanes(n)); }
SP_INLINE void vstoref(float* p, VF v) { _mm256_storeu_ps(p, v); }
SP_INLINE void vstoref_n(float* p, VF v, int n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
SP_INLINE VI vload_u8_i32(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
SP_INLINE VI vload_u8_i32_n(const uint8_t* p, int n) {
  int64_t v = 0;
  __builtin_memcpy(&v, p, static_cast<unsigned>(n));
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}
SP_INLINE __m128i pack_i32_u8(VI q) {  // lanes in [0, 255] -> the low 8 bytes
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packus_epi16(w16, w16);
}
SP_INLINE void vstore_i32_u8(uint8_t* p, VI q) { _mm_storel_epi64(reinterpret_cast<__m128i*>(p), pack_i32_u8(q)); }
SP_INLINE void vstore_i32_u8_n(uint8_t* p, VI q, int n) {
  const int64_t v = _mm_cvtsi128_si64(pack_i32_u8(q));
  __builtin_memcpy(p, &v, static_cast<unsigned>(n));
}
SP_INLINE VB vloadb(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
SP_INLINE VB vloadb_n(const uint8_t* p, int n) {
  alignas(32) uint8_t tmp[32] = {};
  __builtin_memcpy(tmp, p, static_cast<unsigned>(n));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
}
SP_INLINE void vstoreb(uint8_t* p, VB v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
SP_INLINE void vstoreb_n(uint8_t* p, VB v, int n) {
  alignas(32) uint8_t tmp[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
  __builtin_memcpy(p, tmp, static_cast<unsigned>(n));
}
SP_INLINE VF vdiv(VF a, VF b) { return _mm256_div_ps(a, b); }
SP_INLINE VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
SP_INLINE VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
SP_INLINE VF vmin(VF a, VF b) { return _mm256_min_ps(a, b); }
SP_INLINE VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
SP_INLINE VF vsetf(float s) { return _mm256_set1_ps(s); }
SP_INLINE VF vnan_to_zero(VF v) { return _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }
SP_INLINE VF vopaque(VF v) {
  __asm__("" : "+x"(v));
  return v;
}
SP_INLINE VI vsubi(VI a, VI b) { return _mm256_sub_epi32(a, b); }
SP_INLINE VI vaddi(VI a, VI b) { return _mm256_add_epi32(a, b); }
SP_INLINE VI vseti(int s) { return _mm256_set1_epi32(s); }
SP_INLINE VF vcvt_f(VI v) { return _mm256_cvtepi32_ps(v); }  // MXCSR rounding: nearest even
SP_INLINE VI vcvt_i(VF v) { return _mm256_cvtps_epi32(v); }
SP_INLINE VB vmaxb(VB a, VB b) { return _mm256_max_epu8(a, b); }
SP_INLINE VB vzerob() { return _mm256_setzero_si256(); }
SP_INLINE VB vandb(VB a, VB b) { return _mm256_and_si256(a, b); }
SP_INLINE VB vset1b(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
SP_INLINE VB vtable16(const uint8_t* p) { return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
SP_INLINE VB vshufb(VB t, VB i) { return _mm256_shuffle_epi8(t, i); }
// vpblendvb selects on bit 7 of each mask byte: shift bit B there (16-bit shifts are fine, bit 7 of a
// byte only receives bits of the same byte for shifts up to 7).
template <int B>
SP_INLINE VB vselect_bit(VB a, VB b, VB idx) { return _mm256_blendv_epi8(a, b, _mm256_slli_epi16(idx, 7 - B)); }

}  // namespace

#include "core/kernels/quant_u8/quant_u8_simd.inc"

}  // namespace sp::kernels::quant_u8_internal::avx2
