// AVX2 integer convolution (compiled with -mavx2 -mfma; only called when the CPU has them). The u8 input
// and the s8 weights are both used as int16 pairs (2 input channels per int32 lane) and multiplied with
// vpmaddwd, which is exact: |x * w| <= 255 * 128, and a pair sum fits int32 easily. (vpmaddubsw would be
// faster but its int16 pair sum saturates for u8 x s8.) The zero point is removed by the per-channel
// compensation folded into the packed bias, as in the VNNI kernel. Output channels in the 8 lanes of a
// ymm, sub-blocks of up to 16 channels (2 ymm), 6 output pixels per micro-tile.
//
// The epilogue mirrors silu_exact() (conv_s8_silu_avx2.inc) and the scalar requantization operation by
// operation, so the output is bit-identical to conv_s8_scalar.cpp: conversions use the MXCSR rounding
// (nearest even by default).
//
// Everything but the entry point is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/conv_s8/conv_s8_internal.h"

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_s8_internal {
namespace {

constexpr int kMr = kAvx2TilePixels;

SP_INLINE int32_t pair(const uint8_t* p) { return static_cast<int32_t>(p[0]) | (static_cast<int32_t>(p[1]) << 16); }

#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_store_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_im2col_avx2.inc"
#include "core/kernels/conv_s8/conv_s8_tiles.inc"

template <int NV>
void run_sub_block(const S8Plan& plan, const uint8_t* in, int64_t ips, void* out, int64_t ops, const int16_t* wsub,
                   int oc0, int count, int64_t p_begin, int64_t p_end) {
  const int full = plan.in_c / 2;
  const bool odd = (plan.in_c & 1) != 0;
  const int taps = plan.kernel_h * plan.kernel_w;
  // Byte indices for vpshufb (-1 = zero): each dword becomes (x0, 0, x1, 0) or (x2, 0, x3, 0).
  const __m256i shuf_lo = _mm256_set1_epi32(static_cast<int32_t>(0x80018000u));
  const __m256i shuf_hi = _mm256_set1_epi32(static_cast<int32_t>(0x80038002u));
  __m256i bias[NV];
  #pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bias[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(plan.bias + oc0 + v * 8));

  DirectTiles<kMr> tiles(plan, in, ips, p_begin);
  for (int64_t p0 = p_begin; p0 < p_end; p0 += kMr) {
    const int m = p_end - p0 < kMr ? static_cast<int>(p_end - p0) : kMr;
    tiles.next(m);
    __m256i acc[kMr][NV];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];

    const int16_t* w = wsub;
    for (int tap = 0; tap < taps; ++tap) {
      const uint8_t* a[kMr];
      tiles.tap(tap, a);
      // Two pairs (4 input channels) per step: one 4-byte broadcast, then vpshufb spreads bytes 0,1 and
      // 2,3 into the int16 halves of every lane (zero-extended: the shuffle zeroes the high bytes).
      int g = 0;
      for (; g + 1 < full; g += 2) {
        __m256i wa[NV], wb[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          wa[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + v * 16));
          wb[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + NV * 16 + v * 16));
        }
#pragma GCC unroll 8
        for (int j = 0; j < kMr; ++j) {
          int32_t four;
          __builtin_memcpy(&four, a[j] + g * 2, 4);
          const __m256i x4 = _mm256_set1_epi32(four);
          const __m256i xa = _mm256_shuffle_epi8(x4, shuf_lo);
          const __m256i xb = _mm256_shuffle_epi8(x4, shuf_hi);
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) {
            acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(xa, wa[v]));
            acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(xb, wb[v]));
          }
        }
        w += 2 * NV * 16;
      }
      for (; g < full; ++g) {
        __m256i wv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) wv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + v * 16));
#pragma GCC unroll 8
        for (int j = 0; j < kMr; ++j) {
          const __m256i x = _mm256_set1_epi32(pair(a[j] + g * 2));
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(x, wv[v]));
        }
        w += NV * 16;
      }
      if (odd) {
        __m256i wv[NV];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) wv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + v * 16));
        #pragma GCC unroll 8
        for (int j = 0; j < kMr; ++j) {
          const __m256i x = _mm256_set1_epi32(static_cast<int32_t>(a[j][full * 2]));
          #pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(x, wv[v]));
        }
        w += NV * 16;
      }
    }
    // A copy for the out-of-line epilogue, so the accumulators stay in registers in the hot loop.
    __m256i res[kMr][NV];
#pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) res[j][v] = acc[j][v];
    store_tile<kMr, NV>(plan, res, m, out, ops, p0, oc0, count);
  }
}

// ---- im2col path (small in_c): the gather of conv_s8_im2col_avx2.inc, then vpmaddwd over K/4 groups ----

template <int MR, int NV>
void run_im2col_sub(const S8Plan& plan, const uint8_t* in, int64_t ips, void* out, int64_t ops, const int16_t* wsub,
                    int oc0, int count, int64_t p_begin, int64_t p_end) {
  const int k4 = plan.im2col_k4;
  const __m256i shuf_lo = _mm256_set1_epi32(static_cast<int32_t>(0x80018000u));
  const __m256i shuf_hi = _mm256_set1_epi32(static_cast<int32_t>(0x80038002u));
  __m256i bias[NV];
  #pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bias[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(plan.bias + oc0 + v * 8));

  Im2colGather gather(plan, in, ips, p_begin);
  alignas(32) uint8_t im[MR][kIm2colRow];
  for (int64_t p0 = p_begin; p0 < p_end; p0 += MR) {
    const int m = p_end - p0 < MR ? static_cast<int>(p_end - p0) : MR;
    gather.next<MR>(im, m);

    __m256i acc[MR][NV];
    #pragma GCC unroll 16
    for (int j = 0; j < MR; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];
    const int16_t* w = wsub;
    for (int g = 0; g < k4; ++g) {
      __m256i wa[NV], wb[NV];
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        wa[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + v * 16));
        wb[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + NV * 16 + v * 16));
      }
      #pragma GCC unroll 16
      for (int j = 0; j < MR; ++j) {
        int32_t four;
        __builtin_memcpy(&four, im[j] + g * 4, 4);
        const __m256i x4 = _mm256_set1_epi32(four);
        const __m256i xa = _mm256_shuffle_epi8(x4, shuf_lo);
        const __m256i xb = _mm256_shuffle_epi8(x4, shuf_hi);
        #pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(xa, wa[v]));
          acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(xb, wb[v]));
        }
      }
      w += 2 * NV * 16;
    }
    __m256i res[MR][NV];
    #pragma GCC unroll 16
    for (int j = 0; j < MR; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) res[j][v] = acc[j][v];
    store_tile<MR, NV>(plan, res, m, out, ops, p0, oc0, count);
  }
}

}  // namespace

void conv_s8_avx2_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                              int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  const int64_t sub_stride = static_cast<int64_t>(plan.im2col_k4) * 2 * 64;  // bytes
  for (int sb = 0; sb * 16 < count; ++sb) {
    const int sc = count - sb * 16 < 16 ? count - sb * 16 : 16;
    const int16_t* wsub = reinterpret_cast<const int16_t*>(plan.weights + block * plan.block_stride + sb * sub_stride);
    if (sc > 8)
      run_im2col_sub<6, 2>(plan, in, in_pixel_stride, out, out_pixel_stride, wsub, oc0 + sb * 16, sc, p_begin, p_end);
    else
      run_im2col_sub<8, 1>(plan, in, in_pixel_stride, out, out_pixel_stride, wsub, oc0 + sb * 16, sc, p_begin, p_end);
  }
}

void conv_s8_avx2_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                       int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  const int64_t sub_stride = static_cast<int64_t>(plan.kernel_h) * plan.kernel_w * plan.k2 * 64;  // bytes
  for (int sb = 0; sb * 16 < count; ++sb) {
    const int sc = count - sb * 16 < 16 ? count - sb * 16 : 16;
    const int16_t* wsub = reinterpret_cast<const int16_t*>(plan.weights + block * plan.block_stride + sb * sub_stride);
    if (sc > 8)
      run_sub_block<2>(plan, in, in_pixel_stride, out, out_pixel_stride, wsub, oc0 + sb * 16, sc, p_begin, p_end);
    else
      run_sub_block<1>(plan, in, in_pixel_stride, out, out_pixel_stride, wsub, oc0 + sb * 16, sc, p_begin, p_end);
  }
}

}  // namespace sp::kernels::conv_s8_internal
