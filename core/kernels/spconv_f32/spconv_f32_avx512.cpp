// AVX-512 sparse float convolution (compiled with -mavx512f/bw/vl/dq -mfma; only called when the CPU has
// them): 16 pixels per zmm. The band kernel is spconv_f32_kernels.inc and the vector primitives are
// spconv_f32_vector.inc, both shared with spconv_f32_avx2.cpp; this file supplies the 16-pixel transposes
// between NHWC and the channel planes (pack_block, unpack_block: four pixels' quads per register, placed
// with mask-register loads and stores, which AVX2 does not have) and the planar output's masked stores.
//
// Everything but the exported table is in an anonymous namespace (see conv_f32_internal.h on ODR).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/spconv_f32/spconv_f32_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_ps() placeholder (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::spconv_internal {
namespace {

#include "core/kernels/conv_f32/activation_avx512.inc"

constexpr int kLanes = 16;
using Vec = __m512;
#define SP_SPCONV_V(op) _mm512_##op
#include "core/kernels/spconv_f32/spconv_f32_vector.inc"
#undef SP_SPCONV_V

// Lane L of the four registers from pixels 4L .. 4L + 3 (quads at a, a + pstride, ...). Templates keep
// the lane index a compile-time constant, as vinsertf32x4 / vextractf32x4 need.
template <int L>
SP_INLINE void insert_quads(__m512 (&r)[4], uintptr_t a, int64_t pstride) {
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m128 q = _mm_loadu_ps(at(a + (4 * L + k) * pstride));
    r[k] = L == 0 ? _mm512_castps128_ps512(q) : _mm512_insertf32x4(r[k], q, L);
  }
}

template <int L>
SP_INLINE void insert_quads_masked(__m512 (&r)[4], uintptr_t a, int64_t pstride, uint32_t lanes, __mmask8 qm) {
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int j = 4 * L + k;
    const __m128 q = _mm_maskz_loadu_ps(((lanes >> j) & 1) ? qm : static_cast<__mmask8>(0), at(a + j * pstride));
    r[k] = L == 0 ? _mm512_castps128_ps512(q) : _mm512_insertf32x4(r[k], q, L);
  }
}

// Pixel j of the block is at byte address base + j * pstride (only the pixels in `lanes` exist; the
// others read as zero and are never touched); channels [c0, c0 + cn) -> cn rows of 16 positions,
// `stride` floats apart. Pixel j's quad goes to lane j / 4 of register j % 4.
SP_INLINE void pack_block(uintptr_t base, int64_t pstride, uint32_t lanes, int c0, int cn, float* dst, int64_t stride) {
  const bool full = lanes == 0xFFFFu;
  for (int c = 0; c < cn; c += 4) {
    const int n = cn - c;
    const uintptr_t a = base + static_cast<uintptr_t>(c0 + c) * sizeof(float);
    __m512 r[4];
    if (full && n >= 4) {
      insert_quads<0>(r, a, pstride);
      insert_quads<1>(r, a, pstride);
      insert_quads<2>(r, a, pstride);
      insert_quads<3>(r, a, pstride);
    } else {
      const __mmask8 qm = static_cast<__mmask8>(n >= 4 ? 0xF : (1u << n) - 1u);
      insert_quads_masked<0>(r, a, pstride, lanes, qm);
      insert_quads_masked<1>(r, a, pstride, lanes, qm);
      insert_quads_masked<2>(r, a, pstride, lanes, qm);
      insert_quads_masked<3>(r, a, pstride, lanes, qm);
    }
    transpose4_in_lanes(r[0], r[1], r[2], r[3]);
    float* d = dst + static_cast<int64_t>(c) * stride;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      if (k < n) _mm512_storeu_ps(d + k * stride, r[k]);
  }
}

// Positions 4L .. 4L + 3 (lane L of the four registers) to their pixels at d + j * ops, plus the residual
// at rr + j * rps when rr != 0, for the positions in `lanes` (all when kFull) and the first n channels.
template <int L, bool kFull>
SP_INLINE void extract_quads(const __m512 (&r)[4], uintptr_t d, uintptr_t rr, int64_t ops, int64_t rps, uint32_t lanes,
                             __mmask8 qm) {
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int j = 4 * L + k;
    float* p = const_cast<float*>(at(d + j * ops));
    const __m128 q = _mm512_extractf32x4_ps(r[k], L);
    if (kFull) {
      _mm_storeu_ps(p, q);
    } else if ((lanes >> j) & 1) {
      _mm_mask_storeu_ps(p, qm, rr ? _mm_add_ps(q, _mm_maskz_loadu_ps(qm, at(rr + j * rps))) : q);
    }
  }
}

// Rows [c0, c0 + cn) of 16 positions (`stride` floats apart; rows up to c0 + cn rounded up to 4 exist)
// -> position j's pixel at byte address dst_base + j * ops, for the positions in `lanes`, adding the
// residual at res_base + j * rps unless res_base is 0. After the in-lane transpose, position j is lane
// j / 4 of register j % 4.
SP_INLINE void unpack_block(const float* src, int64_t stride, int c0, int cn, uintptr_t dst_base, uintptr_t res_base,
                            int64_t ops, int64_t rps, uint32_t lanes) {
  const bool full = lanes == 0xFFFFu;
  for (int c = 0; c < cn; c += 4) {
    const int n = cn - c;
    const float* s = src + static_cast<int64_t>(c) * stride;
    __m512 r[4] = {_mm512_loadu_ps(s), _mm512_loadu_ps(s + stride), _mm512_loadu_ps(s + 2 * stride),
                   _mm512_loadu_ps(s + 3 * stride)};
    transpose4_in_lanes(r[0], r[1], r[2], r[3]);
    const uintptr_t d = dst_base + static_cast<uintptr_t>(c0 + c) * sizeof(float);
    const uintptr_t rr = res_base ? res_base + static_cast<uintptr_t>(c0 + c) * sizeof(float) : 0;
    const __mmask8 qm = static_cast<__mmask8>(n >= 4 ? 0xF : (1u << n) - 1u);
    if (full && n >= 4 && !res_base) {
      extract_quads<0, true>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<1, true>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<2, true>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<3, true>(r, d, rr, ops, rps, lanes, qm);
    } else {
      extract_quads<0, false>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<1, false>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<2, false>(r, d, rr, ops, rps, lanes, qm);
      extract_quads<3, false>(r, d, rr, ops, rps, lanes, qm);
    }
  }
}

// kLanes floats at a byte address, only the lanes in `lanes` touched (mask registers suppress the others'
// faults, so lanes may lie outside any buffer).
SP_INLINE __m512 load_lanes(uintptr_t a, uint32_t lanes) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>(lanes), at(a));
}
SP_INLINE void store_lanes(uintptr_t a, __m512 v, uint32_t lanes) {
  _mm512_mask_storeu_ps(const_cast<float*>(at(a)), static_cast<__mmask16>(lanes), v);
}

#include "core/kernels/spconv_f32/spconv_f32_kernels.inc"

}  // namespace

// Groups of R output channels x V zmm of pixels: R * V accumulators + V input vectors + 1 weight <= 32.
// Measured on all YOLO11n-pose shapes (bench/bench_spconv_f32.cpp): R = 6 wins most unstructured layers,
// R = 8 most layers pruned in blocks of 4 or 8 output channels, R = 5 some at 90 %, R = 1 one-channel
// outputs. R = 2, 3, 7 never won and are not built (R = 7 and 8 need 127 / 255 pattern cases).
extern const IsaSpconvKernels kAvx512SpconvKernels = {
    "avx512",
    kLanes,
    5,
    {
        {1, 8, &band_kernel<1, 8>, 35.0, 2.33, 2.32},
        {4, 6, &band_kernel<4, 6>, 151.0, 2.72, 0.77},
        {5, 5, &band_kernel<5, 5>, 135.0, 2.38, 0.59},
        {6, 4, &band_kernel<6, 4>, 157.0, 2.04, 0.47},
        {8, 3, &band_kernel<8, 3>, 145.0, 1.96, 0.41},
    },
    0.178,
    0.0109,
    0.232,
};

}  // namespace sp::kernels::spconv_internal
