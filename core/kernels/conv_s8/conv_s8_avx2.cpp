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

// silu_ps() on G vectors in lockstep, operation for operation (bit-identical): independent dependency
// chains side by side instead of one long chain per pixel, which left the epilogue latency-bound.
template <int G>
SP_INLINE void silu_lockstep(__m256 (&x)[G]) {
  constexpr int kRoundNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  __m256 n[G], t[G], p[G];
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x[g], _mm256_set1_ps(-88.0f)), _mm256_set1_ps(88.0f));
    n[g] = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(-1.44269504088896341f)), kRoundNearest);
    t[g] = _mm256_fmadd_ps(n[g], _mm256_set1_ps(0x1.62E430p-1f), xc);
  }
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) p[g] = _mm256_fnmadd_ps(t[g], _mm256_set1_ps(0x1.0F9F9Cp-7f), _mm256_set1_ps(0x1.573A1Ap-5f));
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) p[g] = _mm256_fnmadd_ps(t[g], p[g], _mm256_set1_ps(0x1.555A80p-3f));
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) p[g] = _mm256_fnmadd_ps(t[g], p[g], _mm256_set1_ps(0x1.FFFDC6p-2f));
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) p[g] = _mm256_fnmadd_ps(t[g], p[g], _mm256_set1_ps(0x1.FFFFF6p-1f));
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) p[g] = _mm256_fnmadd_ps(t[g], p[g], _mm256_set1_ps(1.0f));
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const __m256i ni = _mm256_max_epi32(_mm256_cvtps_epi32(n[g]), _mm256_set1_epi32(-126));
    const __m256 pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    __m256 prod = _mm256_mul_ps(p[g], pow2);
    __asm__("" : "+x"(prod));  // no FMA contraction with the add below
    p[g] = _mm256_add_ps(prod, _mm256_set1_ps(1.0f));
  }
  #pragma GCC unroll 8
  for (int g = 0; g < G; ++g) x[g] = _mm256_div_ps(x[g], p[g]);
}

template <int MR, int NV>
__attribute__((noinline)) void store_tile(const S8Plan& plan, const __m256i (&acc)[MR][NV], int m, void* out,
                                          int64_t ops, int64_t pixel0, int oc0, int count) {
  constexpr int G = 4;  // vectors per lockstep group
  const __m256 lo = _mm256_set1_ps(static_cast<float>(-plan.zy));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(255 - plan.zy));
  const __m256 inv_sy = _mm256_set1_ps(plan.inv_out_scale);
  const __m256i zy = _mm256_set1_epi32(plan.zy);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const float* scale = plan.out_f32 || plan.silu ? plan.dequant : plan.requant;
  const int items = m * NV;  // (pixel, vector) items in groups of G; a short last group repeats its last item
  for (int i0 = 0; i0 < items; i0 += G) {
    __m256 f[G];
    int jj[G], vv[G];
    #pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const int i = i0 + g < items ? i0 + g : items - 1;
      jj[g] = i / NV, vv[g] = i - jj[g] * NV;
      f[g] = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[jj[g]][vv[g]]), _mm256_load_ps(scale + oc0 + vv[g] * 8));
    }
    if (plan.silu) silu_lockstep<G>(f);
    #pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      if (i0 + g >= items) break;
      const int v = vv[g];
      const int64_t base = (pixel0 + jj[g]) * ops + oc0 + v * 8;
      const int left = count - v * 8;
      const int n = left < 8 ? left : 8;
      if (plan.out_f32) {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
        _mm256_maskstore_ps(static_cast<float*>(out) + base, mask, f[g]);
      } else {
        __m256 q = plan.silu ? _mm256_mul_ps(f[g], inv_sy) : f[g];
        q = _mm256_min_ps(_mm256_max_ps(q, lo), hi);
        const __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(q), zy);
        const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
        const __m128i b8 = _mm_packus_epi16(w16, w16);
        uint8_t* dst = static_cast<uint8_t*>(out) + base;
        if (n == 8) {
          _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), b8);
        } else {
          alignas(16) uint8_t tmp[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b8);
          for (int i = 0; i < n; ++i) dst[i] = tmp[i];
        }
      }
    }
  }
}

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
    __m256i acc[kMr][NV];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];

    const int16_t* w = wsub;
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

// ---- im2col path (small in_c) ------------------------------------------------------------------------
// Each output pixel's receptive field (K = kernel_h * kernel_w * in_c <= 64 bytes, (kh, kw, c) order) is
// copied into a K-contiguous row of a small stack buffer, then the dot products run over K/4 groups like
// a 1x1 convolution (weights packed to match at create time). Interior pixels copy with fixed-size
// over-reading loads (16 bytes per kernel row when pixels are packed and dilation_w == 1, else 8 bytes per
// tap; in_c <= 7), stored in increasing position order so that each store's tail is overwritten by the
// next; bytes past K are don't-care (their weights are 0). Pixels that touch the padding, or whose
// over-read could pass the end of the input, take a byte-by-byte path (zx for padded taps).

constexpr int kIm2colRow = 96;  // buffer bytes per pixel: K <= 64 plus the over-read tail

template <int MR, int NV>
void run_im2col_sub(const S8Plan& plan, const uint8_t* in, int64_t ips, void* out, int64_t ops, const int16_t* wsub,
                    int oc0, int count, int64_t p_begin, int64_t p_end) {
  const int k4 = plan.im2col_k4;
  const int in_c = plan.in_c, kh_n = plan.kernel_h, kw_n = plan.kernel_w;
  const int row_len = kw_n * in_c;
  const bool rows16 = ips == in_c && plan.dilation_w == 1 && row_len <= 16;
  const int64_t tap_step = static_cast<int64_t>(plan.dilation_w) * ips;
  const int64_t row_step = static_cast<int64_t>(plan.dilation_h) * plan.in_w * ips;
  const int iw_span = (kw_n - 1) * plan.dilation_w, ih_span = (kh_n - 1) * plan.dilation_h;
  const uint8_t* in_end = in + (static_cast<int64_t>(plan.in_h) * plan.in_w - 1) * ips + in_c;
  const int64_t tail = rows16 ? 16 : iw_span * ips + 8;  // bytes read from the last row's first tap
  const __m256i zxv = _mm256_set1_epi8(static_cast<char>(plan.zx));
  const __m256i shuf_lo = _mm256_set1_epi32(static_cast<int32_t>(0x80018000u));
  const __m256i shuf_hi = _mm256_set1_epi32(static_cast<int32_t>(0x80038002u));
  __m256i bias[NV];
  #pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bias[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(plan.bias + oc0 + v * 8));

  int oh = static_cast<int>(p_begin / plan.out_w);
  int ow = static_cast<int>(p_begin - static_cast<int64_t>(oh) * plan.out_w);
  alignas(32) uint8_t im[MR][kIm2colRow];
  for (int64_t p0 = p_begin; p0 < p_end; p0 += MR) {
    const int m = p_end - p0 < MR ? static_cast<int>(p_end - p0) : MR;
    for (int j = 0; j < m; ++j) {
      const int ih0 = oh * plan.stride_h - plan.pad_top;
      const int iw0 = ow * plan.stride_w - plan.pad_left;
      if (++ow == plan.out_w) ow = 0, ++oh;
      uint8_t* dst = im[j];
      const uint8_t* first = in + (static_cast<int64_t>(ih0) * plan.in_w + iw0) * ips;
      const bool inside = ih0 >= 0 && ih0 + ih_span < plan.in_h && iw0 >= 0 && iw0 + iw_span < plan.in_w &&
                          first + (kh_n - 1) * row_step + tail <= in_end;
      if (inside) {
        if (rows16) {
          for (int r = 0; r < kh_n; ++r)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + r * row_len),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(first + r * row_step)));
        } else {
          for (int r = 0; r < kh_n; ++r)
            for (int t = 0; t < kw_n; ++t) {
              uint64_t eight;
              std::memcpy(&eight, first + r * row_step + t * tap_step, 8);
              std::memcpy(dst + (r * kw_n + t) * in_c, &eight, 8);
            }
        }
      } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst), zxv);
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 32), zxv);
        for (int r = 0; r < kh_n; ++r) {
          const int ih = ih0 + r * plan.dilation_h;
          if (ih < 0 || ih >= plan.in_h) continue;
          for (int t = 0; t < kw_n; ++t) {
            const int iw = iw0 + t * plan.dilation_w;
            if (iw < 0 || iw >= plan.in_w) continue;
            const uint8_t* src = in + (static_cast<int64_t>(ih) * plan.in_w + iw) * ips;
            for (int c = 0; c < in_c; ++c) dst[(r * kw_n + t) * in_c + c] = src[c];
          }
        }
      }
    }
    for (int j = m; j < MR; ++j) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(im[j]), zxv);
      _mm256_store_si256(reinterpret_cast<__m256i*>(im[j] + 32), zxv);
    }

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
