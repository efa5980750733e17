// AVX-512 (F/BW/VL/DQ) + FMA variants of the non-convolution float kernels: the 16-lane vector
// abstraction below, and the kernel bodies shared with AVX2 in vector_ops_f32_simd.inc. Tails use
// opmask loads/stores, exp uses vscalefps for the 2^n step.
//
// Built with the AVX-512 flags and only called after run-time detection. Everything but the entry
// points has internal linkage, and no std:: function templates are used: an inline template
// instantiated here would be compiled with AVX-512 and the linker could keep this copy for baseline code.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/vector_f32/vector_ops_f32_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_ps() placeholder, which
// -Wuninitialized reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::avx512 {
namespace {

constexpr int64_t kW = 16;
constexpr int kMR = 12;  // matmul tile 12 x 32: 24 accumulators + 2 B vectors + broadcasts of 32 zmm
using V = __m512;
using Mask = __mmask16;

inline Mask vmask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V vload_mask(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
inline V vload_mask_or(const float* p, Mask m, V fill) { return _mm512_mask_loadu_ps(fill, m, p); }
inline void vstore_mask(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
inline V vkeep(V v, Mask m) { return _mm512_maskz_mov_ps(m, v); }
inline V vset1(float s) { return _mm512_set1_ps(s); }
inline V vzero() { return _mm512_setzero_ps(); }
inline V vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
inline V vfmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vfnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
inline V vrcp(V x) { return _mm512_rcp14_ps(x); }
inline V vround(V x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V vldexp(V v, V n) { return _mm512_scalef_ps(v, n); }
// Horizontal max / sum over the 16 lanes, in every lane.
inline V vallmax(V v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
  v = _mm512_max_ps(v, _mm512_permute_ps(v, 0x4E));
  return _mm512_max_ps(v, _mm512_permute_ps(v, 0xB1));
}
inline V vallsum(V v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));
  return _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));
}
// 16 x 16 transpose. Unpack pairs of rows and shuffle so that u[4g + j] holds, in its 128-bit lane l,
// column 4l + j of rows 4g..4g+3; then two rounds of 128-bit lane shuffles gather the four lanes of a
// column: lanes (0,2)/(1,3) of row groups (0,1) and (2,3), then of those pairs.
inline void vtranspose(V* r) {
  V u[16];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const V t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]), t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const V t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
    const V t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    u[4 * g + 0] = _mm512_shuffle_ps(t0, t2, 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t1, t3, 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t1, t3, 0xEE);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const V v02 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);       // lanes 0,2 of groups 0,1
    const V v13 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);       // lanes 1,3 of groups 0,1
    const V w02 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);  // lanes 0,2 of groups 2,3
    const V w13 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);  // lanes 1,3 of groups 2,3
    r[j] = _mm512_shuffle_f32x4(v02, w02, 0x88);       // lane 0: column j
    r[8 + j] = _mm512_shuffle_f32x4(v02, w02, 0xDD);   // lane 2: column 8 + j
    r[4 + j] = _mm512_shuffle_f32x4(v13, w13, 0x88);   // lane 1: column 4 + j
    r[12 + j] = _mm512_shuffle_f32x4(v13, w13, 0xDD);  // lane 3: column 12 + j
  }
}

}  // namespace

#include "core/kernels/vector_f32/vector_ops_f32_simd.inc"

}  // namespace sp::kernels::avx512
