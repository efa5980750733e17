// AVX-512 (F/BW/VL/DQ) variants of the u8 activation kernels (compiled with the AVX-512 flags; only
// called after run-time detection): the vector abstraction below with opmask tails, the bodies in
// quant_u8_simd.inc. BW gives the byte ops (vpmaxub, vpshufb, byte masks); no VBMI is assumed, so the
// 256-entry lookup is the 16-sub-table pshufb tree rather than vpermb.
//
// Everything but the entry points has internal linkage; no std:: function templates.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/quant_u8/quant_u8_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_* placeholders, which
// -Wuninitialized reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::quant_u8_internal::avx512 {
namespace {

#define SP_INLINE inline __attribute__((always_inline))

constexpr int64_t kF = 16;
constexpr int64_t kB = 64;
constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
using VF = __m512;
using VI = __m512i;
using VB = __m512i;
constexpr bool kCheapPartialBytes = true;  // opmask loads and stores

SP_INLINE __mmask16 mask16(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
SP_INLINE __mmask64 mask64(int n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }
SP_INLINE VF vloadf(const float* p) { return _mm512_loadu_ps(p); }
SP_INLINE VF vloadf_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask16(n), p); }
SP_INLINE void vstoref(float* p, VF v) { _mm512_storeu_ps(p, v); }
SP_INLINE void vstoref_n(float* p, VF v, int n) { _mm512_mask_storeu_ps(p, mask16(n), v); }
SP_INLINE VI vload_u8_i32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
SP_INLINE VI vload_u8_i32_n(const uint8_t* p, int n) { return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask16(n), p)); }
SP_INLINE void vstore_i32_u8(uint8_t* p, VI q) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(q)); }
SP_INLINE void vstore_i32_u8_n(uint8_t* p, VI q, int n) { _mm_mask_storeu_epi8(p, mask16(n), _mm512_cvtepi32_epi8(q)); }
SP_INLINE VB vloadb(const uint8_t* p) { return _mm512_loadu_si512(p); }
SP_INLINE VB vloadb_n(const uint8_t* p, int n) { return _mm512_maskz_loadu_epi8(mask64(n), p); }
SP_INLINE void vstoreb(uint8_t* p, VB v) { _mm512_storeu_si512(p, v); }
SP_INLINE void vstoreb_n(uint8_t* p, VB v, int n) { _mm512_mask_storeu_epi8(p, mask64(n), v); }
SP_INLINE VF vdiv(VF a, VF b) { return _mm512_div_ps(a, b); }
SP_INLINE VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
SP_INLINE VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
SP_INLINE VF vmin(VF a, VF b) { return _mm512_min_ps(a, b); }
SP_INLINE VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
SP_INLINE VF vsetf(float s) { return _mm512_set1_ps(s); }
SP_INLINE VF vnan_to_zero(VF v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); }
SP_INLINE VF vopaque(VF v) {
  __asm__("" : "+v"(v));
  return v;
}
SP_INLINE VI vsubi(VI a, VI b) { return _mm512_sub_epi32(a, b); }
SP_INLINE VI vaddi(VI a, VI b) { return _mm512_add_epi32(a, b); }
SP_INLINE VI vseti(int s) { return _mm512_set1_epi32(s); }
SP_INLINE VF vcvt_f(VI v) { return _mm512_cvt_roundepi32_ps(v, kRne); }
SP_INLINE VI vcvt_i(VF v) { return _mm512_cvt_roundps_epi32(v, kRne); }
SP_INLINE VB vmaxb(VB a, VB b) { return _mm512_max_epu8(a, b); }
SP_INLINE VB vzerob() { return _mm512_setzero_si512(); }
SP_INLINE VB vandb(VB a, VB b) { return _mm512_and_si512(a, b); }
SP_INLINE VB vset1b(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
SP_INLINE VB vtable16(const uint8_t* p) { return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
SP_INLINE VB vshufb(VB t, VB i) { return _mm512_shuffle_epi8(t, i); }
template <int B>
SP_INLINE VB vselect_bit(VB a, VB b, VB idx) {
  return _mm512_mask_blend_epi8(_mm512_test_epi8_mask(idx, _mm512_set1_epi8(static_cast<char>(1 << B))), a, b);
}

}  // namespace

#include "core/kernels/quant_u8/quant_u8_simd.inc"

}  // namespace sp::kernels::quant_u8_internal::avx512
