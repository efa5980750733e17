// AVX2 + FMA variants of the non-convolution float kernels: the 8-lane vector abstraction below, and the
// kernel bodies shared with AVX-512 in vector_ops_f32_simd.inc. Tails use vmaskmovps.
//
// Built with -mavx2 -mfma -mf16c and only called after run-time detection. Everything but the entry
// points has internal linkage, and no std:: function templates are used: an inline template
// instantiated here would be compiled with AVX2 and the linker could keep this copy for baseline code.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/vector_f32/vector_ops_f32_internal.h"

namespace sp::kernels::avx2 {
namespace {

constexpr int64_t kW = 8;
constexpr int kMR = 6;  // matmul tile 6 x 16: 12 accumulators + 2 B vectors + 1 broadcast of 16 ymm
using V = __m256;
using Mask = __m256i;

inline Mask vmask(int64_t n) {
  alignas(64) static const int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - n));
}
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V vload_mask(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
inline V vload_mask_or(const float* p, Mask m, V fill) {
  return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
inline void vstore_mask(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
inline V vkeep(V v, Mask m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
inline V vset1(float s) { return _mm256_set1_ps(s); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline V vfmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vfnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
inline V vrcp(V x) { return _mm256_rcp_ps(x); }
inline V vround(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V vldexp(V v, V n) {
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(v, _mm256_castsi256_ps(e));
}
// Horizontal max / sum over the 8 lanes, in every lane.
inline V vallmax(V v) {
  v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_max_ps(v, _mm256_permute_ps(v, 0x4E));
  return _mm256_max_ps(v, _mm256_permute_ps(v, 0xB1));
}
inline V vallsum(V v) {
  v = _mm256_add_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_add_ps(v, _mm256_permute_ps(v, 0x4E));
  return _mm256_add_ps(v, _mm256_permute_ps(v, 0xB1));
}
// 8 x 8 transpose: unpack pairs of rows, shuffle to 4-element columns per 128-bit half, swap halves.
inline void vtranspose(V* r) {
  const V t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const V t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const V t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const V t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const V u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const V u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const V u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const V u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

}  // namespace

#include "core/kernels/vector_f32/vector_ops_f32_simd.inc"

}  // namespace sp::kernels::avx2
