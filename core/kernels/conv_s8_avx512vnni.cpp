// AVX-512 VNNI integer convolution (compiled with -mavx512f/bw/vl/dq -mavx512vnni; only called when the
// CPU has them). vpdpbusd multiplies the u8 input directly by the s8 weights, 4 input channels per
// int32 lane; the zero point is removed by the per-channel compensation folded into the packed bias
// (see conv_s8_internal.h). Output channels in the 16 lanes of a zmm, up to 4 zmm per block, 6 output
// pixels per micro-tile.
//
// The epilogue mirrors the scalar reference's float operations one for one (conversions with explicit
// round-to-nearest-even, no multiply-add pairs the compiler could contract into FMA), so the output is
// bit-identical to conv_s8_scalar.cpp.
//
// Everything but the entry point is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/conv_s8_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_s8_internal {
namespace {

constexpr int kMr = kVnniTilePixels;
constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

SP_INLINE int32_t load_u32(const uint8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

SP_INLINE int32_t load_partial(const uint8_t* p, int n) {
  int32_t v = 0;
  __builtin_memcpy(&v, p, static_cast<unsigned>(n));
  return v;
}

// acc += u8 x s8 dot products of 4-byte groups. Inline asm rather than _mm512_dpbusd_epi32: GCC 12
// copies the tied accumulator around every intrinsic call (and spills it), halving the throughput.
SP_INLINE void dpbusd(__m512i& acc, __m512i x_u8, __m512i w_s8) {
  __asm__("vpdpbusd %[w], %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x_u8), [w] "v"(w_s8));
}

#include "core/kernels/conv_s8_silu_avx512.inc"

template <int NV>
__attribute__((noinline)) void store_tile(const S8Plan& plan, const __m512i (&acc)[kMr][NV], int m, void* out,
                                          int64_t ops, int64_t pixel0, int oc0, int count) {
  __mmask16 masks[NV];
  for (int v = 0; v < NV; ++v) {
    const int left = count - v * 16;
    masks[v] = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (left > 0 ? left : 0)) - 1u);
  }
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-plan.zy));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - plan.zy));
  const __m512 inv_sy = _mm512_set1_ps(plan.inv_out_scale);
  const __m512i zy = _mm512_set1_epi32(plan.zy);
  for (int j = 0; j < m; ++j) {
    const int64_t base = (pixel0 + j) * ops + oc0;
    for (int v = 0; v < NV; ++v) {
      const __m512 f0 = _mm512_cvt_roundepi32_ps(acc[j][v], kRne);
      if (plan.out_f32) {
        __m512 f = _mm512_mul_ps(f0, _mm512_load_ps(plan.dequant + oc0 + v * 16));
        if (plan.silu) f = silu_ps(f);
        _mm512_mask_storeu_ps(static_cast<float*>(out) + base + v * 16, masks[v], f);
      } else {
        __m512 f;
        if (plan.silu) {
          f = silu_ps(_mm512_mul_ps(f0, _mm512_load_ps(plan.dequant + oc0 + v * 16)));
          f = _mm512_mul_ps(f, inv_sy);
        } else {
          f = _mm512_mul_ps(f0, _mm512_load_ps(plan.requant + oc0 + v * 16));
        }
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvt_roundps_epi32(f, kRne), zy);
        _mm_mask_storeu_epi8(static_cast<uint8_t*>(out) + base + v * 16, masks[v], _mm512_cvtepi32_epi8(q));
      }
    }
  }
}

template <int NV>
void run_block(const S8Plan& plan, const uint8_t* in, int64_t ips, void* out, int64_t ops, int block,
               int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  const int8_t* wblock = plan.weights + block * plan.block_stride;
  const int full = plan.in_c / 4;
  const int rem = plan.in_c - full * 4;
  const int taps = plan.kernel_h * plan.kernel_w;
  __m512i bias[NV];
  #pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bias[v] = _mm512_load_si512(plan.bias + oc0 + v * 16);

  for (int64_t p0 = p_begin; p0 < p_end; p0 += kMr) {
    const int m = p_end - p0 < kMr ? static_cast<int>(p_end - p0) : kMr;
    int ih0[kMr], iw0[kMr];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j) {
      const int64_t p = p0 + (j < m ? j : 0);
      const int oh = static_cast<int>(p / plan.out_w);
      const int ow = static_cast<int>(p - static_cast<int64_t>(oh) * plan.out_w);
      ih0[j] = oh * plan.stride_h - plan.pad_top;
      iw0[j] = ow * plan.stride_w - plan.pad_left;
    }
    __m512i acc[kMr][NV];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];

    const int8_t* w = wblock;
    for (int tap = 0; tap < taps; ++tap) {
      const int kh = tap / plan.kernel_w;
      const int kw = tap - kh * plan.kernel_w;
      const uint8_t* a[kMr];
      #pragma GCC unroll 8
      for (int j = 0; j < kMr; ++j) {
        const int ih = ih0[j] + kh * plan.dilation_h;
        const int iw = iw0[j] + kw * plan.dilation_w;
        a[j] = (ih >= 0 && ih < plan.in_h && iw >= 0 && iw < plan.in_w)
                   ? in + (static_cast<int64_t>(ih) * plan.in_w + iw) * ips
                   : plan.zx_pixel;
      }
      for (int g = 0; g < full; ++g) {
        __m512i wv[NV];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_load_si512(w + v * 64);
        #pragma GCC unroll 8
        for (int j = 0; j < kMr; ++j) {
          const __m512i x = _mm512_set1_epi32(load_u32(a[j] + g * 4));
          #pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) dpbusd(acc[j][v], x, wv[v]);
        }
        w += NV * 64;
      }
      if (rem) {
        __m512i wv[NV];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_load_si512(w + v * 64);
        #pragma GCC unroll 8
        for (int j = 0; j < kMr; ++j) {
          const __m512i x = _mm512_set1_epi32(load_partial(a[j] + full * 4, rem));
          #pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) dpbusd(acc[j][v], x, wv[v]);
        }
        w += NV * 64;
      }
    }
    // A copy for the out-of-line epilogue: taking the address of `acc` itself would keep the
    // accumulators in memory through the hot loop.
    __m512i res[kMr][NV];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) res[j][v] = acc[j][v];
    store_tile<NV>(plan, res, m, out, ops, p0, oc0, count);
  }
}

}  // namespace

void conv_s8_avx512vnni_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                             int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  switch ((count + 15) / 16) {
    case 1: run_block<1>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end); break;
    case 2: run_block<2>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end); break;
    case 3: run_block<3>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end); break;
    default: run_block<4>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end); break;
  }
}

}  // namespace sp::kernels::conv_s8_internal
