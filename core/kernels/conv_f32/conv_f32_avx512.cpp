// AVX-512 float convolution kernels (compiled with -mavx512f/bw/vl/dq -mfma; only called when the CPU
// has them). Output channels in the 16 lanes of a zmm register; see conv_f32_internal.h for the layouts.
//
// Everything but the exported table is in an anonymous namespace, and no std:: templates are used: an
// AVX-512 instantiation of a shared inline function could otherwise be picked by the linker for baseline
// code.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_f32/conv_f32_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their _mm512_undefined_ps() placeholder, which
// -Wuninitialized reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_internal {
namespace {

constexpr int kLanes = 16;

SP_INLINE int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// Activations and the tile store: shared with the bf16 kernel.
#include "core/kernels/conv_f32/conv_f32_epilogue_avx512.inc"

// ---- Direct convolution ---------------------------------------------------------------------------------

// acc[j][v] += a[j][c] * w[c][v] over c in [0, ic): one broadcast per pixel and input channel against NZ
// zmm weight vectors (panel 0) and, when HALF, one more ymm vector (panel 1). On Zen 4 a ymm FMA costs
// half a zmm FMA, so an 8-channel tail costs half a 16-channel one.
template <int MR, int NZ, bool HALF>
SP_INLINE void accumulate(__m512 (&acc)[MR][NZ > 0 ? NZ : 1], __m256 (&acch)[MR], const float* const (&a)[MR],
                          const float* wz, const float* wh, int ic) {
  for (int c = 0; c < ic; ++c) {
    __m512 wv[NZ > 0 ? NZ : 1];
#pragma GCC unroll 8
    for (int v = 0; v < NZ; ++v) wv[v] = _mm512_load_ps(wz + v * kLanes);
    __m256 whv = _mm256_setzero_ps();
    if (HALF) whv = _mm256_load_ps(wh);
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j) {
      if (NZ > 0) {
        const __m512 x = _mm512_set1_ps(a[j][c]);
#pragma GCC unroll 8
        for (int v = 0; v < NZ; ++v) acc[j][v] = _mm512_fmadd_ps(x, wv[v], acc[j][v]);
        if (HALF) acch[j] = _mm256_fmadd_ps(_mm512_castps512_ps256(x), whv, acch[j]);
      } else {
        acch[j] = _mm256_fmadd_ps(_mm256_set1_ps(a[j][c]), whv, acch[j]);
      }
    }
    wz += NZ * kLanes;
    wh += 8;
  }
}

template <int MR, int NZ, bool HALF>
void direct_block(const DirectPlan& pl, const ConvIO& io, const OcBlock& blk, int64_t p_begin, int64_t p_end) {
  constexpr int kZ = NZ > 0 ? NZ : 1;
  const int ic = pl.ic_g;
  const int64_t ips = io.in_pixel_stride;
  const int64_t ops = io.out_pixel_stride;
  const int64_t rps = io.residual_pixel_stride;
  const float* in = io.input + static_cast<int64_t>(blk.group) * ic;
  float* out = io.output + blk.oc_begin;
  const float* res = io.residual ? io.residual + blk.oc_begin : nullptr;
  const float* wz_blk = pl.weights + blk.weight_offset;
  const float* wh_blk = pl.weights + blk.weight_offset2;
  const float* bias = pl.bias + blk.bias_offset;
  // Valid lanes of the last vector (the ymm one when HALF): only it can be partial.
  const int tail = HALF ? blk.oc_count - NZ * kLanes : blk.oc_count - (NZ - 1) * kLanes;
  const bool full = tail == (HALF ? 8 : kLanes);
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  const int64_t wz_tap = static_cast<int64_t>(ic) * NZ * kLanes;
  const int64_t wh_tap = static_cast<int64_t>(ic) * 8;
  const int in_h = pl.in_h, in_w = pl.in_w, out_w = pl.out_w;
  const int kh = pl.kernel_h, kw = pl.kernel_w;
  const int sh = pl.stride_h, sw = pl.stride_w, dh = pl.dilation_h, dw = pl.dilation_w;
  // Pixel stride == channels (so groups == 1) and no horizontal dilation: [kw][ic] of a row is contiguous.
  const bool merge_kw = ips == ic && dw == 1;

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
      const float* a[MR];
#pragma GCC unroll 32
      for (int j = 0; j < MR; ++j) a[j] = in + (p + (j < m ? j : m - 1)) * ips;
      accumulate<MR, NZ, HALF>(acc, acch, a, wz_blk, wh_blk, ic);
    } else {
      const int oh = static_cast<int>(p) / out_w;  // < 2^30 pixels (checked in create)
      const int ow = static_cast<int>(p) - oh * out_w;
      const float* wz = wz_blk;
      const float* wh = wh_blk;
      if (m == MR && oh >= pl.oh_lo && oh < pl.oh_hi && ow >= pl.ow_lo && ow + MR <= pl.ow_hi) {
        // Interior: MR pixels of one row, every tap inside the input.
        const float* base = in + (static_cast<int64_t>(oh * sh - pl.pad_top) * in_w + (ow * sw - pl.pad_left)) * ips;
        const int64_t sx = static_cast<int64_t>(sw) * ips;
        if (merge_kw) {
          // Dense rows: the kw taps of one kernel row are kw * ic contiguous floats, one long reduction.
          for (int y = 0; y < kh; ++y) {
            const float* t = base + static_cast<int64_t>(y) * dh * in_w * ips;
            const float* a[MR];
#pragma GCC unroll 32
            for (int j = 0; j < MR; ++j) a[j] = t + j * sx;
            accumulate<MR, NZ, HALF>(acc, acch, a, wz, wh, ic * kw);
            wz += wz_tap * kw;
            wh += wh_tap * kw;
          }
        } else {
          for (int y = 0; y < kh; ++y) {
            for (int x = 0; x < kw; ++x) {
              const float* t = base + (static_cast<int64_t>(y) * dh * in_w + static_cast<int64_t>(x) * dw) * ips;
              const float* a[MR];
#pragma GCC unroll 32
              for (int j = 0; j < MR; ++j) a[j] = t + j * sx;
              accumulate<MR, NZ, HALF>(acc, acch, a, wz, wh, ic);
              wz += wz_tap;
              wh += wh_tap;
            }
          }
        }
      } else {
        // Border or row-wrapping tile: per-pixel tap validity; missing taps read zeros.
        int ih0[MR], iw0[MR];
        int r = oh, col = ow;
#pragma GCC unroll 32
        for (int j = 0; j < MR; ++j) {
          if (j < m) {
            ih0[j] = r * sh - pl.pad_top;
            iw0[j] = col * sw - pl.pad_left;
            if (++col == out_w) {
              col = 0;
              ++r;
            }
          } else {
            ih0[j] = -(1 << 29);  // never valid
            iw0[j] = 0;
          }
        }
        for (int y = 0; y < kh; ++y) {
          for (int x = 0; x < kw; ++x) {
            const float* a[MR];
            bool any = false;
#pragma GCC unroll 32
            for (int j = 0; j < MR; ++j) {
              const int ih = ih0[j] + y * dh, iw = iw0[j] + x * dw;
              const bool ok = static_cast<unsigned>(ih) < static_cast<unsigned>(in_h) &&
                              static_cast<unsigned>(iw) < static_cast<unsigned>(in_w);
              a[j] = ok ? in + (static_cast<int64_t>(ih) * in_w + iw) * ips : pl.zeros;
              any |= ok;
            }
            if (any) accumulate<MR, NZ, HALF>(acc, acch, a, wz, wh, ic);
            wz += wz_tap;
            wh += wh_tap;
          }
        }
      }
    }

    // The epilogue gets a copy: handing it `acc` itself would let the accumulators' address escape and
    // the compiler may then keep them in memory through the hot loop.
    __m512 acc_out[MR][kZ];
    __m256 acch_out[MR];
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j) {
#pragma GCC unroll 8
      for (int v = 0; v < NZ; ++v) acc_out[j][v] = acc[j][v];
      acch_out[j] = acch[j];
    }
    float* o = out + p * ops;
    const float* rr = res ? res + p * rps : nullptr;
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
}

// Pixels per micro-tile for each block width (nr = 8 * index): about 24 accumulator registers of 32.
constexpr int kMr[9] = {0, 12, 8, 12, 12, 8, 8, 6, 6};

void direct_task(const DirectPlan& plan, const ConvIO& io, int block, int64_t p_begin, int64_t p_end) {
  const OcBlock& blk = plan.blocks[block];
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

// ---- Depthwise ------------------------------------------------------------------------------------------
//
// Channels in the lanes. For each output row, pixels go four at a time through every channel vector, so
// the input patch of the four pixels (kh rows x a few pixels x all channels) stays in L1 across channel
// vectors and the weights (kh * kw vectors per channel vector) stay in L1 across pixels. Only the last
// channel vector may be partial (masked loads/stores); padding taps are skipped per pixel.

template <int KW, bool kFull, Activation kAct>
SP_INLINE void dw_four(const DepthwisePlan& pl, const float* in_c, int64_t ips, const float* wc, __m512 bias,
                       __mmask16 mask, int ih0, int y0, int y1, int iw, int64_t sx, float* o, int64_t ops,
                       const float* rr, int64_t rps, int kw_rt) {
  const int kw = KW > 0 ? KW : kw_rt;
  const int64_t wstride = pl.channels_padded;
  __m512 acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
  for (int y = y0; y < y1; ++y) {
    const float* row = in_c + static_cast<int64_t>(ih0 + y * pl.dilation_h) * pl.in_w * ips;
    const float* wy = wc + static_cast<int64_t>(y) * kw * wstride;
#pragma GCC unroll 8
    for (int x = 0; x < kw; ++x) {
      const __m512 wv = _mm512_load_ps(wy + x * wstride);
      const float* q = row + static_cast<int64_t>(iw + x * pl.dilation_w) * ips;
      if (kFull) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q), wv, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + sx), wv, acc1);
        acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 2 * sx), wv, acc2);
        acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 3 * sx), wv, acc3);
      } else {
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q), wv, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q + sx), wv, acc1);
        acc2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q + 2 * sx), wv, acc2);
        acc3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q + 3 * sx), wv, acc3);
      }
    }
  }
  const __m512 accs[4] = {acc0, acc1, acc2, acc3};
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    __m512 val = activate(kAct, accs[i]);
    if (kFull) {
      if (rr) val = _mm512_add_ps(val, _mm512_loadu_ps(rr + i * rps));
      _mm512_storeu_ps(o + i * ops, val);
    } else {
      if (rr) val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(mask, rr + i * rps));
      _mm512_mask_storeu_ps(o + i * ops, mask, val);
    }
  }
}

template <int KW, Activation kAct>
void depthwise_rows(const DepthwisePlan& pl, const ConvIO& io, int row_begin, int row_end, int cv_begin, int cv_end) {
  const int in_h = pl.in_h, in_w = pl.in_w, out_w = pl.out_w, kh = pl.kernel_h, kw = KW > 0 ? KW : pl.kernel_w;
  const int sh = pl.stride_h, sw = pl.stride_w, dh = pl.dilation_h, dw = pl.dilation_w;
  const int64_t ips = io.in_pixel_stride, ops = io.out_pixel_stride, rps = io.residual_pixel_stride;
  const int64_t wstride = pl.channels_padded;
  const int64_t sx = static_cast<int64_t>(sw) * ips;
  for (int oh = row_begin; oh < row_end; ++oh) {
    const int ih0 = oh * sh - pl.pad_top;
    int y0 = 0, y1 = kh;
    while (y0 < kh && ih0 + y0 * dh < 0) ++y0;
    while (y1 > y0 && ih0 + (y1 - 1) * dh >= in_h) --y1;
    float* out_row = io.output + static_cast<int64_t>(oh) * out_w * ops;
    const float* res_row = io.residual ? io.residual + static_cast<int64_t>(oh) * out_w * rps : nullptr;
    int ow = 0;
    while (ow < out_w) {
      if (ow >= pl.ow_lo && ow + 4 <= pl.ow_hi) {
        // Four interior pixels, every channel vector.
        const int iw = ow * sw - pl.pad_left;
        for (int cv = cv_begin; cv < cv_end; ++cv) {
          const int c = cv * kLanes;
          const int left = pl.channels - c;
          const __m512 bias = _mm512_load_ps(pl.bias + c);
          float* o = out_row + static_cast<int64_t>(ow) * ops + c;
          const float* rr = res_row ? res_row + static_cast<int64_t>(ow) * rps + c : nullptr;
          if (left >= kLanes) {
            dw_four<KW, true, kAct>(pl, io.input + c, ips, pl.weights + c, bias, 0xFFFF, ih0, y0, y1, iw, sx, o, ops,
                                    rr, rps, kw);
          } else {
            dw_four<KW, false, kAct>(pl, io.input + c, ips, pl.weights + c, bias,
                                     static_cast<__mmask16>((1u << left) - 1u), ih0, y0, y1, iw, sx, o, ops, rr, rps,
                                     kw);
          }
        }
        ow += 4;
      } else {
        // One border pixel: taps outside the input are skipped.
        const int iw0 = ow * sw - pl.pad_left;
        for (int cv = cv_begin; cv < cv_end; ++cv) {
          const int c = cv * kLanes;
          const int left = pl.channels - c;
          const __mmask16 mask =
              left >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
          __m512 acc = _mm512_load_ps(pl.bias + c);
          for (int y = y0; y < y1; ++y) {
            const float* row = io.input + c + static_cast<int64_t>(ih0 + y * dh) * in_w * ips;
            for (int x = 0; x < kw; ++x) {
              const int iw = iw0 + x * dw;
              if (static_cast<unsigned>(iw) >= static_cast<unsigned>(in_w)) continue;
              const __m512 wv = _mm512_load_ps(pl.weights + c + (y * kw + x) * wstride);
              acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, row + static_cast<int64_t>(iw) * ips), wv, acc);
            }
          }
          __m512 val = activate(kAct, acc);
          float* o = out_row + static_cast<int64_t>(ow) * ops + c;
          if (res_row)
            val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(mask, res_row + static_cast<int64_t>(ow) * rps + c));
          _mm512_mask_storeu_ps(o, mask, val);
        }
        ++ow;
      }
    }
  }
}

template <int KW>
void depthwise_act(const DepthwisePlan& pl, const ConvIO& io, int r0, int r1, int cv0, int cv1) {
  switch (pl.activation) {
    case Activation::kNone: depthwise_rows<KW, Activation::kNone>(pl, io, r0, r1, cv0, cv1); break;
    case Activation::kRelu: depthwise_rows<KW, Activation::kRelu>(pl, io, r0, r1, cv0, cv1); break;
    case Activation::kSigmoid: depthwise_rows<KW, Activation::kSigmoid>(pl, io, r0, r1, cv0, cv1); break;
    case Activation::kSilu: depthwise_rows<KW, Activation::kSilu>(pl, io, r0, r1, cv0, cv1); break;
  }
}

void depthwise_task(const DepthwisePlan& pl, const ConvIO& io, int row_begin, int row_end, int cv_begin, int cv_end) {
  if (pl.kernel_w == 3) {
    depthwise_act<3>(pl, io, row_begin, row_end, cv_begin, cv_end);
  } else {
    depthwise_act<0>(pl, io, row_begin, row_end, cv_begin, cv_end);
  }
}

}  // namespace

extern const IsaConvKernels kAvx512ConvKernels = {
    "avx512",     kLanes,          16, 64, {kMr[0], kMr[1], kMr[2], kMr[3], kMr[4], kMr[5], kMr[6], kMr[7], kMr[8]},
    &direct_task, &depthwise_task,
};

}  // namespace sp::kernels::conv_internal
