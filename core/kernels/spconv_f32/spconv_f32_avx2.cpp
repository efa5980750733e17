// AVX2 + FMA sparse float convolution (compiled with -mavx2 -mfma; only called when the CPU has them):
// 8 pixels per ymm. The band kernel is spconv_f32_kernels.inc and the vector primitives are
// spconv_f32_vector.inc, both shared with spconv_f32_avx512.cpp; this file supplies the 8-pixel
// transposes between NHWC and the channel planes (pack_block, unpack_block) and the planar output's
// partial loads and stores.
//
// Everything but the exported table is in an anonymous namespace (see conv_f32_internal.h on ODR).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/spconv_f32/spconv_f32_internal.h"

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::spconv_internal {
namespace {

#include "core/kernels/conv_f32/activation_avx2.inc"

constexpr int kLanes = 8;
using Vec = __m256;
#define SP_SPCONV_V(op) _mm256_##op
#include "core/kernels/spconv_f32/spconv_f32_vector.inc"
#undef SP_SPCONV_V

// Two pixels' quads per register (one per 128-bit lane), then transpose4_in_lanes: 4 channels x 8 pixels.

// The first n (1..4) lanes of a quad mask for vmaskmovps (which never touches masked-out floats).
SP_INLINE __m128i quad_mask(int n) { return _mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3)); }

// As in spconv_f32_avx512.cpp: pixel j's quad goes to lane j / 4 of register j % 4.
SP_INLINE void pack_block(uintptr_t base, int64_t pstride, uint32_t lanes, int c0, int cn, float* dst, int64_t stride) {
  const bool full = lanes == 0xFFu;
  for (int c = 0; c < cn; c += 4) {
    const int n = cn - c;
    uintptr_t a = base + static_cast<uintptr_t>(c0 + c) * sizeof(float);
    __m256 r[4];
    if (full && n >= 4) {
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k, a += pstride) r[k] = _mm256_castps128_ps256(_mm_loadu_ps(at(a)));
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k, a += pstride) r[k] = _mm256_insertf128_ps(r[k], _mm_loadu_ps(at(a)), 1);
    } else {
      const __m128i qm = quad_mask(n);
      auto quad = [&](int j) {
        return ((lanes >> j) & 1) ? _mm_maskload_ps(at(a + j * pstride), qm) : _mm_setzero_ps();
      };
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) r[k] = _mm256_insertf128_ps(_mm256_castps128_ps256(quad(k)), quad(4 + k), 1);
    }
    transpose4_in_lanes(r[0], r[1], r[2], r[3]);
    float* d = dst + static_cast<int64_t>(c) * stride;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      if (k < n) _mm256_storeu_ps(d + k * stride, r[k]);
  }
}

// As in spconv_f32_avx512.cpp; a partial quad (n < 4) is stored float by float (masked stores are slow on
// some AMD parts; this is only the channel tail).
SP_INLINE void unpack_block(const float* src, int64_t stride, int c0, int cn, uintptr_t dst_base, uintptr_t res_base,
                            int64_t ops, int64_t rps, uint32_t lanes) {
  const bool full = lanes == 0xFFu;
  for (int c = 0; c < cn; c += 4) {
    const int n = cn - c;
    const float* s = src + static_cast<int64_t>(c) * stride;  // rows up to cn rounded up to 4 exist
    __m256 r[4] = {_mm256_loadu_ps(s), _mm256_loadu_ps(s + stride), _mm256_loadu_ps(s + 2 * stride),
                   _mm256_loadu_ps(s + 3 * stride)};
    transpose4_in_lanes(r[0], r[1], r[2], r[3]);
    uintptr_t d = dst_base + static_cast<uintptr_t>(c0 + c) * sizeof(float);
    if (full && n >= 4 && !res_base) {
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k, d += ops) _mm_storeu_ps(const_cast<float*>(at(d)), _mm256_castps256_ps128(r[k]));
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k, d += ops) _mm_storeu_ps(const_cast<float*>(at(d)), _mm256_extractf128_ps(r[k], 1));
      continue;
    }
    const __m128i qm = quad_mask(n);
    uintptr_t rr = res_base ? res_base + static_cast<uintptr_t>(c0 + c) * sizeof(float) : 0;
#pragma GCC unroll 2
    for (int l = 0; l < 2; ++l)
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k, d += ops, rr += rps) {
        if (!((lanes >> (4 * l + k)) & 1)) continue;
        __m128 q = l == 0 ? _mm256_castps256_ps128(r[k]) : _mm256_extractf128_ps(r[k], 1);
        if (res_base) q = _mm_add_ps(q, n >= 4 ? _mm_loadu_ps(at(rr)) : _mm_maskload_ps(at(rr), qm));
        float* p = const_cast<float*>(at(d));
        if (n >= 4) {
          _mm_storeu_ps(p, q);
        } else {
          alignas(16) float tmp[4];
          _mm_store_ps(tmp, q);
          for (int i = 0; i < n; ++i) p[i] = tmp[i];
        }
      }
  }
}

// kLanes floats at a byte address, only the lanes in `lanes` touched (the others read as zero; they may
// lie outside any buffer). Used where a planar output row starts or ends inside a vector; full vectors
// take plain loads and stores. Float by float through a spilled vector: vmaskmovps stores are microcoded
// on AMD parts (measured on Zen 4: with them the planar output made whole models 20 % slower).
SP_INLINE __m256 load_lanes(uintptr_t a, uint32_t lanes) {
  alignas(32) float v[kLanes] = {};
  for (int j = 0; j < kLanes; ++j)
    if ((lanes >> j) & 1) v[j] = at(a)[j];
  return _mm256_load_ps(v);
}
SP_INLINE void store_lanes(uintptr_t a, __m256 x, uint32_t lanes) {
  alignas(32) float v[kLanes];
  _mm256_store_ps(v, x);
  float* p = const_cast<float*>(at(a));
  for (int j = 0; j < kLanes; ++j)
    if ((lanes >> j) & 1) p[j] = v[j];
}

#include "core/kernels/spconv_f32/spconv_f32_kernels.inc"

}  // namespace

// Groups of R output channels x V ymm of pixels: R * V accumulators + V input vectors + 1 weight <= 16.
// Measured on all YOLO11n-pose shapes: R = 2 and 6 win most unstructured layers, R = 4 most block-pruned
// ones, R = 1 one-channel outputs; R = 3 hardly ever won and is not built.
extern const IsaSpconvKernels kAvx2SpconvKernels = {
    "avx2",
    kLanes,
    4,
    {
        {1, 8, &band_kernel<1, 8>, 35.5, 1.58, 1.56},
        {2, 4, &band_kernel<2, 4>, 36.9, 0.89, 0.47},
        {4, 2, &band_kernel<4, 2>, 39.4, 0.56, 0.28},
        {6, 2, &band_kernel<6, 2>, 55.6, 0.72, 0.26},
    },
    0.168,
    0.0210,
    0.435,
};

}  // namespace sp::kernels::spconv_internal
