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

#include "core/kernels/conv_s8/conv_s8_amx_internal.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"

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

// n (1..3) bytes, zero-extended. A byte-masked load: a variable-length memcpy would be a libc call per
// tap and pixel (it was: the in_c % 4 != 0 layers ran at a fraction of the speed).
SP_INLINE int32_t load_partial(const uint8_t* p, int n) {
  return _mm_cvtsi128_si32(_mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1u), p));
}

// acc += u8 x s8 dot products of 4-byte groups. Inline asm rather than _mm512_dpbusd_epi32: GCC 12
// copies the tied accumulator around every intrinsic call (and spills it), halving the throughput.
SP_INLINE void dpbusd(__m512i& acc, __m512i x_u8, __m512i w_s8) {
  __asm__("vpdpbusd %[w], %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x_u8), [w] "v"(w_s8));
}

#include "core/kernels/conv_s8/conv_s8_silu_avx512.inc"
#include "core/kernels/conv_s8/conv_s8_tiles.inc"

template <int MR, int NV>
__attribute__((noinline)) void store_tile(const S8Plan& plan, const __m512i (&acc)[MR][NV], int m, void* out,
                                          int64_t ops, int64_t pixel0, int oc0, int count) {
  constexpr int G = 4;  // vectors per lockstep group
  __mmask16 masks[NV];
  for (int v = 0; v < NV; ++v) {
    const int left = count - v * 16;
    masks[v] = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (left > 0 ? left : 0)) - 1u);
  }
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-plan.zy));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - plan.zy));
  const __m512 inv_sy = _mm512_set1_ps(plan.inv_out_scale);
  const __m512i zy = _mm512_set1_epi32(plan.zy);
  const __m512 sy = _mm512_set1_ps(plan.out_scale), sr = _mm512_set1_ps(plan.residual_scale);
  const __m512i zr = _mm512_set1_epi32(plan.residual_zp);
  // The (pixel, vector) items in groups of G; a short last group repeats its last item (not stored twice).
  const int items = m * NV;
  const float* scale = plan.out_f32 || plan.silu || plan.residual ? plan.dequant : plan.requant;
  for (int i0 = 0; i0 < items; i0 += G) {
    __m512 f[G];
    int jj[G], vv[G];
    #pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const int i = i0 + g < items ? i0 + g : items - 1;
      jj[g] = i / NV, vv[g] = i - jj[g] * NV;
      f[g] = _mm512_mul_ps(_mm512_cvt_roundepi32_ps(acc[jj[g]][vv[g]], kRne), _mm512_load_ps(scale + oc0 + vv[g] * 16));
    }
    if (plan.silu) silu_lockstep<G>(f);
    #pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      if (i0 + g >= items) break;
      const int64_t base = (pixel0 + jj[g]) * ops + oc0 + vv[g] * 16;
      const __mmask16 mask = masks[vv[g]];
      if (plan.out_f32) {
        _mm512_mask_storeu_ps(static_cast<float*>(out) + base, mask, f[g]);
      } else {
        __m512 q;
        if (plan.residual) {  // (f + dequantized residual) / sy, as the unfused ops round it
          const uint8_t* rp = plan.residual_data + (pixel0 + jj[g]) * plan.residual_stride + oc0 + vv[g] * 16;
          const __m128i rb = mask == 0xFFFF ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(rp)) : _mm_maskz_loadu_epi8(mask, rp);
          __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepu8_epi32(rb), zr)), sr);
          __m512 fg = f[g];
          __asm__("" : "+v"(r), "+v"(fg));  // both products rounded, then the addition: never one FMA
          q = _mm512_div_ps(_mm512_add_ps(fg, r), sy);
        } else {
          q = plan.silu ? _mm512_mul_ps(f[g], inv_sy) : f[g];
        }
        q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
        const __m512i qi = _mm512_add_epi32(_mm512_cvt_roundps_epi32(q, kRne), zy);
        // vpmovdb to a register, then the store: the fused memory form of vpmovdb is slow on Zen 4.
        __m128i b8 = _mm512_cvtepi32_epi8(qi);
        __asm__("" : "+v"(b8));
        uint8_t* dst = static_cast<uint8_t*>(out) + base;
        if (mask == 0xFFFF)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b8);
        else
          _mm_mask_storeu_epi8(dst, mask, b8);
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

  DirectTiles<kMr> tiles(plan, in, ips, p_begin);
  for (int64_t p0 = p_begin; p0 < p_end; p0 += kMr) {
    const int m = p_end - p0 < kMr ? static_cast<int>(p_end - p0) : kMr;
    tiles.next(m);
    __m512i acc[kMr][NV];
    #pragma GCC unroll 8
    for (int j = 0; j < kMr; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];

    const int8_t* w = wblock;
    for (int tap = 0; tap < taps; ++tap) {
      const uint8_t* a[kMr];
      tiles.tap(tap, a);
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
    store_tile<kMr, NV>(plan, res, m, out, ops, p0, oc0, count);
  }
}

// ---- im2col path (small in_c) ------------------------------------------------------------------------
// Each output pixel's receptive field (K = kernel_h * kernel_w * in_c <= 64 bytes, (kh, kw, c) order) is
// gathered into one zmm with byte-masked merge loads: the register starts as zx everywhere (padded taps
// and the don't-care bytes past K), and each in-bounds segment of input bytes is loaded straight into
// its im2col position — the load address is shifted back by that position so that byte lanes line up,
// and masked-off lanes are never accessed (no fault, no over-read). A segment is a whole kernel row
// (kernel_w * in_c contiguous bytes) when pixels are packed (pixel stride == in_c) and dilation_w == 1,
// else one tap (in_c bytes). The rows of a micro-tile go to a small stack buffer, then the dot products
// run over K/4 groups exactly like a 1x1 convolution (weights packed to match at create time).

// Bytes per im2col row in the stack buffer: K <= 64, plus room for the 16-byte copies' over-read tail.
constexpr int kImRow = 128;

SP_INLINE uint64_t low_bits(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

template <int MR, int NV, int KH>  // KH: kernel_h, or 0 for any
void run_im2col(const S8Plan& plan, const uint8_t* in, int64_t ips, void* out, int64_t ops, int block,
                int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  const int8_t* wblock = plan.weights + block * plan.block_stride;
  const int k4 = plan.im2col_k4;
  const int in_c = plan.in_c, kh_n = KH > 0 ? KH : plan.kernel_h, kw_n = plan.kernel_w;
  const int row_len = kw_n * in_c;  // im2col bytes per kernel row
  const bool contiguous = ips == in_c && plan.dilation_w == 1;
  const int nseg = contiguous ? 1 : kw_n;
  const uint64_t seg_bits = low_bits(contiguous ? row_len : in_c);
  const uint64_t full_row = low_bits(row_len);
  const int64_t seg_step = static_cast<int64_t>(plan.dilation_w) * ips;  // input bytes between taps
  const int iw_span = (kw_n - 1) * plan.dilation_w;
  const __m512i zxv = _mm512_set1_epi8(static_cast<char>(plan.zx));
  // Contiguous rows: kernel row r starts r * dilation_h input rows down and lands at im2col byte r * row_len.
  const int64_t row_step = static_cast<int64_t>(plan.dilation_h) * plan.in_w * ips;
  const int64_t row_adv = row_step - row_len;
  // Interior pixels of packed rows of at most 16 bytes copy each kernel row with one 16-byte load and store,
  // in increasing position order so that a store's over-read tail is overwritten by the next row (bytes past
  // K are don't-care: their weights are 0). Several times cheaper than the byte-masked loads below, which
  // remain for pixels that touch the padding or whose over-read could pass the end of the input.
  const bool rows16 = contiguous && row_len <= 16;
  const int ih_span = (kh_n - 1) * plan.dilation_h;
  const uint8_t* in_end = in + (static_cast<int64_t>(plan.in_h) * plan.in_w - 1) * ips + in_c;
  __m512i bias[NV];
  #pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bias[v] = _mm512_load_si512(plan.bias + oc0 + v * 16);

  int oh = static_cast<int>(p_begin / plan.out_w);
  int ow = static_cast<int>(p_begin - static_cast<int64_t>(oh) * plan.out_w);
  alignas(64) uint8_t im[MR][kImRow];
  for (int64_t p0 = p_begin; p0 < p_end; p0 += MR) {
    const int m = p_end - p0 < MR ? static_cast<int>(p_end - p0) : MR;
    for (int j = 0; j < m; ++j) {
      const int ih0 = oh * plan.stride_h - plan.pad_top;
      const int iw0 = ow * plan.stride_w - plan.pad_left;
      if (++ow == plan.out_w) ow = 0, ++oh;
      if (rows16 && ih0 >= 0 && ih0 + ih_span < plan.in_h && iw0 >= 0 && iw0 + iw_span < plan.in_w) {
        const uint8_t* first = in + (static_cast<int64_t>(ih0) * plan.in_w + iw0) * ips;
        if (first + (kh_n - 1) * row_step + 16 <= in_end) {
          #pragma GCC unroll 8
          for (int r = 0; r < kh_n; ++r)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(im[j] + r * row_len),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(first + r * row_step)));
          continue;
        }
      }
      uint64_t cols = full_row;  // im2col bits of one kernel row whose taps are inside horizontally
      if (iw0 < 0 || iw0 + iw_span >= plan.in_w) {
        cols = 0;
        for (int kw = 0; kw < kw_n; ++kw) {
          const int iw = iw0 + kw * plan.dilation_w;
          if (iw >= 0 && iw < plan.in_w) cols |= low_bits(in_c) << (kw * in_c);
        }
      }
      // Independent zero-masked loads (no merge chain), OR'ed, then zx wherever no load landed.
      if (contiguous) {  // one load per kernel row
        const uintptr_t src0 = reinterpret_cast<uintptr_t>(in) +
                               static_cast<uintptr_t>((static_cast<int64_t>(ih0) * plan.in_w + iw0) * ips);
        uint64_t all = 0;
        __m512i xs[KH > 0 ? KH : 1];
        __m512i v = _mm512_setzero_si512();
        #pragma GCC unroll 8
        for (int r = 0; r < kh_n; ++r) {
          const int ih = ih0 + r * plan.dilation_h;
          const uint64_t mask = static_cast<unsigned>(ih) < static_cast<unsigned>(plan.in_h) ? cols << (r * row_len) : 0;
          all |= mask;
          const __m512i xr = _mm512_maskz_loadu_epi8(mask, reinterpret_cast<const void*>(src0 + static_cast<uintptr_t>(r * row_adv)));
          if constexpr (KH > 0) xs[r] = xr;
          else v = _mm512_or_si512(v, xr);
        }
        if constexpr (KH == 3) v = _mm512_ternarylogic_epi64(xs[0], xs[1], xs[2], 0xFE);
        else if constexpr (KH > 0) {
          v = xs[0];
          #pragma GCC unroll 8
          for (int r = 1; r < KH; ++r) v = _mm512_or_si512(v, xs[r]);
        }
        _mm512_store_si512(im[j], _mm512_mask_blend_epi8(all, zxv, v));
        continue;
      }
      const uintptr_t base = reinterpret_cast<uintptr_t>(in) + static_cast<uintptr_t>(static_cast<int64_t>(iw0) * ips);
      __m512i x[KH > 0 ? KH : 1];
      uint64_t all = 0;
      __m512i v = _mm512_setzero_si512();
      #pragma GCC unroll 8
      for (int r = 0; r < kh_n; ++r) {
        const int ih = ih0 + r * plan.dilation_h;
        const uintptr_t row = base + static_cast<uintptr_t>(static_cast<int64_t>(ih) * plan.in_w * ips);
        const bool row_in = static_cast<unsigned>(ih) < static_cast<unsigned>(plan.in_h);
        const int pos0 = r * row_len;
        __m512i xr = _mm512_setzero_si512();
        for (int s = 0; s < nseg; ++s) {
          const int pos = pos0 + s * in_c;
          const uint64_t mask = row_in ? ((seg_bits << (s * in_c)) & cols) << pos0 : 0;
          all |= mask;
          const uintptr_t src = row + static_cast<uintptr_t>(s * seg_step - pos);
          xr = _mm512_or_si512(xr, _mm512_maskz_loadu_epi8(mask, reinterpret_cast<const void*>(src)));
        }
        if constexpr (KH > 0) x[r] = xr;
        else v = _mm512_or_si512(v, xr);
      }
      if constexpr (KH > 0) {
        #pragma GCC unroll 8
        for (int r = 1; r < KH; ++r) x[0] = _mm512_or_si512(x[0], x[r]);
        v = x[0];
      }
      v = _mm512_mask_blend_epi8(all, zxv, v);
      _mm512_store_si512(im[j], v);
    }
    for (int j = m; j < MR; ++j) _mm512_store_si512(im[j], zxv);

    __m512i acc[MR][NV];
    #pragma GCC unroll 16
    for (int j = 0; j < MR; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];
    const int8_t* w = wblock;
    for (int g = 0; g < k4; ++g) {
      __m512i wv[NV];
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_load_si512(w + v * 64);
      #pragma GCC unroll 16
      for (int j = 0; j < MR; ++j) {
        const __m512i x = _mm512_set1_epi32(load_u32(im[j] + g * 4));
        #pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) dpbusd(acc[j][v], x, wv[v]);
      }
      w += NV * 64;
    }
    __m512i res[MR][NV];
    #pragma GCC unroll 16
    for (int j = 0; j < MR; ++j)
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) res[j][v] = acc[j][v];
    store_tile<MR, NV>(plan, res, m, out, ops, p0, oc0, count);
  }
}

}  // namespace

void conv_s8_avx512vnni_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                    int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end) {
  const int oc0 = block * kBlockChannels;
  const int count = plan.out_c - oc0 < kBlockChannels ? plan.out_c - oc0 : kBlockChannels;
  const bool k3 = plan.kernel_h == 3;
  switch ((count + 15) / 16) {
#define SP_IM2COL(MR, NV)                                                                                   \
  (k3 ? run_im2col<MR, NV, 3>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end)      \
      : run_im2col<MR, NV, 0>(plan, in, in_pixel_stride, out, out_pixel_stride, block, p_begin, p_end))
    case 1: SP_IM2COL(12, 1); break;
    case 2: SP_IM2COL(8, 2); break;
    case 3: SP_IM2COL(6, 3); break;
    default: SP_IM2COL(6, 4); break;
#undef SP_IM2COL
  }
}

// The AMX kernel's epilogue (conv_s8_amx_internal.h): its int32 tiles, stored to memory, go through this
// kernel's store_tile, so both round and clamp with the very same instructions.
void conv_s8_avx512vnni_store_acc(const S8Plan& plan, const int32_t* acc, int acc_ld, int m, int nv, void* out,
                                  int64_t out_pixel_stride, int64_t pixel0, int oc0, int count) {
  constexpr int kRows = 16;
  __m512i res[kRows][2];
  for (int j = 0; j < kRows; ++j)
    for (int v = 0; v < 2; ++v)
      res[j][v] = j < m && v < nv ? _mm512_loadu_si512(acc + static_cast<int64_t>(j) * acc_ld + v * 16) : _mm512_setzero_si512();
  if (nv == 2) {
    store_tile<kRows, 2>(plan, res, m, out, out_pixel_stride, pixel0, oc0, count);
  } else {
    __m512i one[kRows][1];
    for (int j = 0; j < kRows; ++j) one[j][0] = res[j][0];
    store_tile<kRows, 1>(plan, one, m, out, out_pixel_stride, pixel0, oc0, count);
  }
}

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
