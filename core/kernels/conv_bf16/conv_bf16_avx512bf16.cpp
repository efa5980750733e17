// AVX-512 BF16 kernels of the bf16 convolution (compiled with -mavx512bf16 on top of the AVX-512 flags;
// only called when the CPU has AVX512_BF16). Layouts in conv_bf16_internal.h.
//
// The direct kernel is conv_f32_avx512.cpp's implicit GEMM with bf16 pairs: output channels in the 16
// lanes of a zmm register (plus one ymm for an 8-channel tail), a micro-tile of MR output pixels x the
// block's channels in fp32 accumulators, and per input-channel pair one broadcast dword of the converted
// input against the block's weight-pair vectors through vdpbf16ps (src1 = weights, src2 = input: the
// order the instruction model's NaN rule assumes). The input was padded spatially when it was converted,
// so no tap is ever tested: border and row-wrapping tiles run the same loop as interior ones, each pixel
// with its own input pointer. The epilogue is the float kernel's (conv_f32_epilogue_avx512.inc).
//
// As in the float kernels, everything but the exported table is in an anonymous namespace and no std::
// templates are used, so no AVX-512 instantiation can be shared with baseline code.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_bf16/conv_bf16_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_ps() placeholder, which
// -Wuninitialized reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_bf16_internal {
namespace {

constexpr int kLanes = 16;

SP_INLINE int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

#include "core/kernels/conv_f32/conv_f32_epilogue_avx512.inc"

// ---- Input conversion ------------------------------------------------------------------------------------

// n floats -> (n + 1) / 2 pairs with vcvtne2ps2bf16 (the instruction puts its second operand in the lower
// half); an odd n ends with a zero element (masked loads read +0).
SP_INLINE void convert_span(const float* s, uint32_t* d, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 lo = _mm512_loadu_ps(s + i), hi = _mm512_loadu_ps(s + i + 16);
    _mm512_storeu_si512(d + i / 2, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
  const int left = static_cast<int>(n - i);
  if (left == 0) return;
  const __mmask16 m0 = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(left > 16 ? (1u << (left - 16)) - 1u : 0u);
  const __m512 lo = _mm512_maskz_loadu_ps(m0, s + i), hi = _mm512_maskz_loadu_ps(m1, s + i + 16);
  const __mmask16 pairs = static_cast<__mmask16>((1u << ((left + 1) / 2)) - 1u);
  _mm512_mask_storeu_epi32(d + i / 2, pairs, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

void convert_rows(const Bf16InputPlan& p, const float* input, int64_t ips, int row_begin, int row_end) {
  const int64_t pp = p.pixel_pairs;
  // Dense rows with whole pairs: a row's floats map one-to-one onto its pairs (not when pixels hold
  // extra pairs, as the AMX kernel's buffer does).
  const bool dense = ips == static_cast<int64_t>(p.groups) * p.ic_g && p.ic_g % 2 == 0 &&
                     pp == static_cast<int64_t>(p.groups) * p.pairs_per_group;
  for (int ih = row_begin; ih < row_end; ++ih) {
    const float* src = input + static_cast<int64_t>(ih) * p.in_w * ips;
    uint32_t* dst = p.buffer + (static_cast<int64_t>(ih + p.pad_top) * p.padded_w + p.pad_left) * pp;
    if (dense) {
      convert_span(src, dst, p.cols * ips);
      continue;
    }
    for (int iw = 0; iw < p.cols; ++iw)
      for (int g = 0; g < p.groups; ++g)
        convert_span(src + iw * ips + g * p.ic_g, dst + iw * pp + g * p.pairs_per_group, p.ic_g);
  }
}

// ---- Direct convolution ----------------------------------------------------------------------------------

// acc[j][v] = vdpbf16ps(acc[j][v], w[k][v], a[j][k]) over pairs k in [0, n): one broadcast pair per pixel
// against NZ zmm weight vectors (panel 0) and, when HALF, one ymm vector (panel 1).
template <int MR, int NZ, bool HALF>
SP_INLINE void accumulate(__m512 (&acc)[MR][NZ > 0 ? NZ : 1], __m256 (&acch)[MR], const uint32_t* const (&a)[MR],
                          const uint32_t* wz, const uint32_t* wh, int n) {
  for (int k = 0; k < n; ++k) {
    __m512i wv[NZ > 0 ? NZ : 1];
#pragma GCC unroll 8
    for (int v = 0; v < NZ; ++v) wv[v] = _mm512_load_si512(wz + v * kLanes);
    __m256i whv = _mm256_setzero_si256();
    if (HALF) whv = _mm256_load_si256(reinterpret_cast<const __m256i*>(wh));
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j) {
      if (NZ > 0) {
        const __m512i x = _mm512_set1_epi32(static_cast<int>(a[j][k]));
#pragma GCC unroll 8
        for (int v = 0; v < NZ; ++v) acc[j][v] = _mm512_dpbf16_ps(acc[j][v], (__m512bh)wv[v], (__m512bh)x);
        if (HALF) acch[j] = _mm256_dpbf16_ps(acch[j], (__m256bh)whv, (__m256bh)_mm512_castsi512_si256(x));
      } else {
        acch[j] = _mm256_dpbf16_ps(acch[j], (__m256bh)whv, (__m256bh)_mm256_set1_epi32(static_cast<int>(a[j][k])));
      }
    }
    wz += NZ * kLanes;
    wh += 8;
  }
}

// The epilogue of one tile. It gets a copy of the accumulators so their address does not escape the hot
// loop (the compiler could then keep them in memory).
template <int MR, int NZ, bool HALF>
SP_INLINE void store(const Bf16DirectPlan& pl, const __m512 (&acc)[MR][NZ > 0 ? NZ : 1], const __m256 (&acch)[MR],
                     int m, float* o, const float* rr, int64_t ops, int64_t rps, bool full, __mmask16 tail_mask) {
  __m512 acc_out[MR][NZ > 0 ? NZ : 1];
  __m256 acch_out[MR];
#pragma GCC unroll 32
  for (int j = 0; j < MR; ++j) {
#pragma GCC unroll 8
    for (int v = 0; v < NZ; ++v) acc_out[j][v] = acc[j][v];
    acch_out[j] = acch[j];
  }
  switch (pl.activation) {
    case Activation::kNone:
      store_tile<Activation::kNone, MR, NZ, HALF>(acc_out, acch_out, m, o, ops, rr, rps, full, tail_mask);
      break;
    case Activation::kRelu:
      store_tile<Activation::kRelu, MR, NZ, HALF>(acc_out, acch_out, m, o, ops, rr, rps, full, tail_mask);
      break;
    case Activation::kSigmoid:
      store_tile<Activation::kSigmoid, MR, NZ, HALF>(acc_out, acch_out, m, o, ops, rr, rps, full, tail_mask);
      break;
    case Activation::kSilu:
      store_tile<Activation::kSilu, MR, NZ, HALF>(acc_out, acch_out, m, o, ops, rr, rps, full, tail_mask);
      break;
  }
}

// Pairs per pixel a flat tile converts at a time: MR x 256 x 4 bytes <= 12 KiB of stack, in L1.
constexpr int kFlatChunk = 256;

template <int MR, int NZ, bool HALF>
void direct_block(const Bf16DirectPlan& pl, const ConvIO& io, const Bf16Block& blk, int64_t p_begin, int64_t p_end) {
  constexpr int kZ = NZ > 0 ? NZ : 1;
  const int pairs = pl.pairs_per_group;
  const int64_t pp = pl.pixel_pairs;
  const int64_t ops = io.out_pixel_stride;
  const int64_t rps = io.residual_pixel_stride;
  const uint32_t* in = pl.input + static_cast<int64_t>(blk.group) * pairs;
  float* out = io.output + blk.oc_begin;
  const float* res = io.residual ? io.residual + blk.oc_begin : nullptr;
  const uint32_t* wz_blk = pl.weights + blk.weight_offset;
  const uint32_t* wh_blk = pl.weights + blk.weight_offset2;
  const float* bias = pl.bias + blk.bias_offset;
  // Valid lanes of the last vector (the ymm one when HALF): only it can be partial.
  const int tail = HALF ? blk.oc_count - NZ * kLanes : blk.oc_count - (NZ - 1) * kLanes;
  const bool full = tail == (HALF ? 8 : kLanes);
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  const int64_t wz_tap = static_cast<int64_t>(pairs) * NZ * kLanes;
  const int64_t wh_tap = static_cast<int64_t>(pairs) * 8;
  const int out_w = pl.out_w, kh = pl.kernel_h, kw = pl.kernel_w;
  const int64_t sx = static_cast<int64_t>(pl.stride_w) * pp;          // one output column, in pairs
  const int64_t sy = static_cast<int64_t>(pl.stride_h) * pl.padded_w * pp;  // one output row
  const int64_t ty = static_cast<int64_t>(pl.dilation_h) * pl.padded_w * pp;  // one kernel row
  const int64_t tx = static_cast<int64_t>(pl.dilation_w) * pp;                // one kernel column
  // One group, no horizontal dilation: a kernel row's kw taps are kw * pairs contiguous pairs.
  const bool merge_kw = pp == pairs && pl.dilation_w == 1;

  __m512 bz[kZ];
#pragma GCC unroll 8
  for (int v = 0; v < NZ; ++v) bz[v] = _mm512_loadu_ps(bias + v * kLanes);
  const __m256 bh = HALF ? _mm256_loadu_ps(bias + NZ * kLanes) : _mm256_setzero_ps();

  for (int64_t p = p_begin; p < p_end; p += MR) {
    const int m = static_cast<int>(min_i64(MR, p_end - p));
    __m512 acc[MR][kZ];
    __m256 acch[MR];
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j) {
#pragma GCC unroll 8
      for (int v = 0; v < NZ; ++v) acc[j][v] = bz[v];
      acch[j] = bh;
    }

    if (pl.flat) {
      // Convert the tile's pixels chunk by chunk into L1 and reduce over them right away.
      alignas(64) uint32_t tile[MR][kFlatChunk];
      for (int c0 = 0; c0 < pairs; c0 += kFlatChunk) {
        const int n = pairs - c0 < kFlatChunk ? pairs - c0 : kFlatChunk;
        const int floats = pl.ic_g - 2 * c0 < 2 * n ? pl.ic_g - 2 * c0 : 2 * n;
        const uint32_t* a[MR];
        const uint32_t* last = tile[0];  // pixels past the tile repeat the last one
#pragma GCC unroll 32
        for (int j = 0; j < MR; ++j) {
          if (j < m) {
            convert_span(io.input + (p + j) * io.in_pixel_stride + 2 * c0, tile[j], floats);
            last = tile[j];
          }
          a[j] = last;
        }
        accumulate<MR, NZ, HALF>(acc, acch, a, wz_blk + static_cast<int64_t>(c0) * NZ * kLanes,
                                 wh_blk + static_cast<int64_t>(c0) * 8, n);
      }
      store<MR, NZ, HALF>(pl, acc, acch, m, out + p * ops, res ? res + p * rps : nullptr, ops, rps, full, tail_mask);
      continue;
    }

    // Each pixel's window corner in the padded input; pixels past the tile repeat the last one.
    const uint32_t* a0[MR];
    {
      const int oh = static_cast<int>(p / out_w);  // < 2^30 pixels (checked in create)
      int ow = static_cast<int>(p - static_cast<int64_t>(oh) * out_w);
      const uint32_t* row = in + oh * sy;
      const uint32_t* last = row;
#pragma GCC unroll 32
      for (int j = 0; j < MR; ++j) {
        if (j < m) {
          last = row + ow * sx;
          if (++ow == out_w) {
            ow = 0;
            row += sy;
          }
        }
        a0[j] = last;
      }
    }

    const uint32_t* wz = wz_blk;
    const uint32_t* wh = wh_blk;
    if (merge_kw) {
      for (int y = 0; y < kh; ++y) {
        const uint32_t* a[MR];
#pragma GCC unroll 32
        for (int j = 0; j < MR; ++j) a[j] = a0[j] + y * ty;
        accumulate<MR, NZ, HALF>(acc, acch, a, wz, wh, pairs * kw);
        wz += wz_tap * kw;
        wh += wh_tap * kw;
      }
    } else {
      for (int y = 0; y < kh; ++y) {
        for (int x = 0; x < kw; ++x) {
          const uint32_t* a[MR];
#pragma GCC unroll 32
          for (int j = 0; j < MR; ++j) a[j] = a0[j] + y * ty + x * tx;
          accumulate<MR, NZ, HALF>(acc, acch, a, wz, wh, pairs);
          wz += wz_tap;
          wh += wh_tap;
        }
      }
    }

    store<MR, NZ, HALF>(pl, acc, acch, m, out + p * ops, res ? res + p * rps : nullptr, ops, rps, full, tail_mask);
  }
}

// Pixels per micro-tile for each block width (nr = 8 * index): 24 accumulators of 32 registers, at least
// 12 so that vdpbf16ps's latency is covered with two issued per cycle.
constexpr int kMr[9] = {0, 12, 12, 12, 12, 8, 8, 6, 6};

void direct_task(const Bf16DirectPlan& plan, const ConvIO& io, int block, int64_t p_begin, int64_t p_end) {
  const Bf16Block& blk = plan.blocks[block];
  switch (blk.nr) {
    case 8: direct_block<kMr[1], 0, true>(plan, io, blk, p_begin, p_end); break;
    case 16: direct_block<kMr[2], 1, false>(plan, io, blk, p_begin, p_end); break;
    case 24: direct_block<kMr[3], 1, true>(plan, io, blk, p_begin, p_end); break;
    case 32: direct_block<kMr[4], 2, false>(plan, io, blk, p_begin, p_end); break;
    case 40: direct_block<kMr[5], 2, true>(plan, io, blk, p_begin, p_end); break;
    case 48: direct_block<kMr[6], 3, false>(plan, io, blk, p_begin, p_end); break;
    case 56: direct_block<kMr[7], 3, true>(plan, io, blk, p_begin, p_end); break;
    case 64: direct_block<kMr[8], 4, false>(plan, io, blk, p_begin, p_end); break;
    default: break;
  }
}

// ---- The bare instructions, for the tests ------------------------------------------------------------

void dot_lanes(const float* acc, const uint32_t* w, const uint32_t* x, float* out, int n) {
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(n - i >= 16 ? 0xFFFFu : (1u << (n - i)) - 1u);
    const __m512 a = _mm512_maskz_loadu_ps(m, acc + i);
    const __m512i wv = _mm512_maskz_loadu_epi32(m, w + i);
    const __m512i xv = _mm512_maskz_loadu_epi32(m, x + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_dpbf16_ps(a, (__m512bh)wv, (__m512bh)xv));
  }
}

void round_lanes(const float* x, uint16_t* out, int n) {
  for (int i = 0; i < n; i += 32) {
    const int left = n - i;
    const __mmask16 m0 = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
    const __mmask16 m1 = static_cast<__mmask16>(left >= 32 ? 0xFFFFu : left > 16 ? (1u << (left - 16)) - 1u : 0u);
    const __m512 lo = _mm512_maskz_loadu_ps(m0, x + i);
    const __m512 hi = _mm512_maskz_loadu_ps(m1, x + i + 16);
    const __m512i r = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
    _mm512_mask_storeu_epi16(out + i, static_cast<__mmask32>(m0) | (static_cast<__mmask32>(m1) << 16), r);
  }
}

}  // namespace

extern const IsaBf16Kernels kAvx512Bf16Kernels = {
    "avx512bf16",  64,           {kMr[0], kMr[1], kMr[2], kMr[3], kMr[4], kMr[5], kMr[6], kMr[7], kMr[8]},
    &convert_rows, &direct_task, &dot_lanes, &round_lanes,
};

}  // namespace sp::kernels::conv_bf16_internal
