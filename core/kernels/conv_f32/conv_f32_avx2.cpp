// AVX2 + FMA float convolution kernels (compiled with -mavx2 -mfma -mf16c; only called when the CPU has
// them). Output channels in the 8 lanes of a ymm register; see conv_f32_internal.h for the layouts.
//
// Everything but the exported table is in an anonymous namespace, and no std:: templates are used: an
// AVX2 instantiation of a shared inline function could otherwise be picked by the linker for baseline code.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_f32/conv_f32_internal.h"

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_internal {
namespace {

constexpr int kLanes = 8;

SP_INLINE int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// Lane mask for _mm256_maskload_ps: the first n lanes (0..8).
SP_INLINE __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Stores the first n lanes (masked stores are slow on some AMD parts; this is only the channel tail).
SP_INLINE void store_partial(float* dst, __m256 v, int n) {
  alignas(32) float tmp[kLanes];
  _mm256_store_ps(tmp, v);
  for (int i = 0; i < n; ++i) dst[i] = tmp[i];
}

#include "core/kernels/conv_f32/activation_avx2.inc"

// ---- Direct convolution ---------------------------------------------------------------------------------

template <int MR, int NRV>
SP_INLINE void accumulate(__m256 (&acc)[MR][NRV], const float* const (&a)[MR], const float* w, int ic) {
  for (int c = 0; c < ic; ++c) {
    __m256 wv[NRV];
#pragma GCC unroll 8
    for (int v = 0; v < NRV; ++v) wv[v] = _mm256_load_ps(w + v * kLanes);
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j) {
      const __m256 x = _mm256_broadcast_ss(a[j] + c);
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc[j][v] = _mm256_fmadd_ps(x, wv[v], acc[j][v]);
    }
    w += NRV * kLanes;
  }
}

// Epilogue of one tile: activation, residual, store (the channel tail lane by lane). Out of line so the
// hot loop keeps a clean register allocation.
template <Activation kAct, int MR, int NRV>
__attribute__((noinline)) void store_tile(const __m256 (&acc)[MR][NRV], int m, float* o, int64_t ops, const float* rr,
                                          int64_t rps, int tail, __m256i tail_mask) {
#pragma GCC unroll 32
  for (int j = 0; j < MR; ++j) {
    if (j < m) {
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) {
        __m256 val = activate(kAct, acc[j][v]);
        if (v < NRV - 1 || tail == kLanes) {
          if (rr) val = _mm256_add_ps(val, _mm256_loadu_ps(rr + v * kLanes));
          _mm256_storeu_ps(o + v * kLanes, val);
        } else {
          if (rr) val = _mm256_add_ps(val, _mm256_maskload_ps(rr + v * kLanes, tail_mask));
          store_partial(o + v * kLanes, val, tail);
        }
      }
    }
    o += ops;
    if (rr) rr += rps;
  }
}

template <int MR, int NRV>
void direct_block(const DirectPlan& pl, const ConvIO& io, const OcBlock& blk, int64_t p_begin, int64_t p_end) {
  constexpr int kNr = NRV * kLanes;
  const int ic = pl.ic_g;
  const int64_t ips = io.in_pixel_stride;
  const int64_t ops = io.out_pixel_stride;
  const int64_t rps = io.residual_pixel_stride;
  const float* in = io.input + static_cast<int64_t>(blk.group) * ic;
  float* out = io.output + blk.oc_begin;
  const float* res = io.residual ? io.residual + blk.oc_begin : nullptr;
  const float* wblk = pl.weights + blk.weight_offset;  // one panel: nr is a multiple of 8
  const float* bias = pl.bias + blk.bias_offset;
  const int tail = blk.oc_count - (NRV - 1) * kLanes;  // valid lanes of the last vector, 1..8
  const __m256i tail_mask = first_lanes(tail);
  const int64_t wtap = static_cast<int64_t>(ic) * kNr;
  const int in_h = pl.in_h, in_w = pl.in_w, out_w = pl.out_w;
  const int kh = pl.kernel_h, kw = pl.kernel_w;
  const int sh = pl.stride_h, sw = pl.stride_w, dh = pl.dilation_h, dw = pl.dilation_w;
  // Pixel stride == channels (so groups == 1) and no horizontal dilation: [kw][ic] of a row is contiguous.
  const bool merge_kw = ips == ic && dw == 1;

  for (int64_t p = p_begin; p < p_end; p += MR) {
    const int m = static_cast<int>(min_i64(MR, p_end - p));
    __m256 acc[MR][NRV];
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc[j][v] = _mm256_load_ps(bias + v * kLanes);

    if (pl.flat) {
      const float* a[MR];
#pragma GCC unroll 32
      for (int j = 0; j < MR; ++j) a[j] = in + (p + (j < m ? j : m - 1)) * ips;
      accumulate<MR, NRV>(acc, a, wblk, ic);
    } else {
      const int oh = static_cast<int>(p) / out_w;
      const int ow = static_cast<int>(p) - oh * out_w;
      if (m == MR && oh >= pl.oh_lo && oh < pl.oh_hi && ow >= pl.ow_lo && ow + MR <= pl.ow_hi) {
        const float* base = in + (static_cast<int64_t>(oh * sh - pl.pad_top) * in_w + (ow * sw - pl.pad_left)) * ips;
        const int64_t sx = static_cast<int64_t>(sw) * ips;
        const float* w = wblk;
        if (merge_kw) {
          // Dense rows: the kw taps of one kernel row are kw * ic contiguous floats, one long reduction.
          for (int y = 0; y < kh; ++y) {
            const float* t = base + static_cast<int64_t>(y) * dh * in_w * ips;
            const float* a[MR];
#pragma GCC unroll 32
            for (int j = 0; j < MR; ++j) a[j] = t + j * sx;
            accumulate<MR, NRV>(acc, a, w, ic * kw);
            w += wtap * kw;
          }
        } else {
          for (int y = 0; y < kh; ++y) {
            for (int x = 0; x < kw; ++x) {
              const float* t = base + (static_cast<int64_t>(y) * dh * in_w + static_cast<int64_t>(x) * dw) * ips;
              const float* a[MR];
#pragma GCC unroll 32
              for (int j = 0; j < MR; ++j) a[j] = t + j * sx;
              accumulate<MR, NRV>(acc, a, w, ic);
              w += wtap;
            }
          }
        }
      } else {
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
            ih0[j] = -(1 << 29);
            iw0[j] = 0;
          }
        }
        const float* w = wblk;
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
            if (any) accumulate<MR, NRV>(acc, a, w, ic);
            w += wtap;
          }
        }
      }
    }

    // The epilogue gets a copy: handing it `acc` itself lets the accumulators' address escape, and the
    // compiler then keeps them in memory through the hot loop (2.3x slower).
    __m256 acc_out[MR][NRV];
#pragma GCC unroll 32
    for (int j = 0; j < MR; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc_out[j][v] = acc[j][v];
    float* o = out + p * ops;
    const float* rr = res ? res + p * rps : nullptr;
    switch (pl.activation) {
      case Activation::kNone:
        store_tile<Activation::kNone, MR, NRV>(acc_out, m, o, ops, rr, rps, tail, tail_mask);
        break;
      case Activation::kRelu:
        store_tile<Activation::kRelu, MR, NRV>(acc_out, m, o, ops, rr, rps, tail, tail_mask);
        break;
      case Activation::kSigmoid:
        store_tile<Activation::kSigmoid, MR, NRV>(acc_out, m, o, ops, rr, rps, tail, tail_mask);
        break;
      case Activation::kSilu:
        store_tile<Activation::kSilu, MR, NRV>(acc_out, m, o, ops, rr, rps, tail, tail_mask);
        break;
    }
  }
}

// Pixels per micro-tile for each block width (nr = 8 * index): 12 accumulators of the 16 ymm registers.
constexpr int kMr[4] = {0, 12, 6, 4};

void direct_task(const DirectPlan& plan, const ConvIO& io, int block, int64_t p_begin, int64_t p_end) {
  const OcBlock& blk = plan.blocks[block];
  switch (blk.nr) {
    case 8: direct_block<kMr[1], 1>(plan, io, blk, p_begin, p_end); break;
    case 16: direct_block<kMr[2], 2>(plan, io, blk, p_begin, p_end); break;
    case 24: direct_block<kMr[3], 3>(plan, io, blk, p_begin, p_end); break;
    default: break;
  }
}

// ---- Depthwise ------------------------------------------------------------------------------------------
//
// Channels in the lanes. For each output row, pixels go four at a time through every channel vector, so
// the input patch of the four pixels stays in L1 across channel vectors and the weights stay in L1 across
// pixels. Only the last channel vector may be partial; padding taps are skipped per pixel.

SP_INLINE __m256 load_ch(const float* p, bool full, __m256i mask) {
  return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

SP_INLINE void store_ch(float* p, __m256 v, bool full, int n) {
  if (full) {
    _mm256_storeu_ps(p, v);
  } else {
    store_partial(p, v, n);
  }
}

template <int KW, bool kFull, Activation kAct>
SP_INLINE void dw_four(const DepthwisePlan& pl, const float* in_c, int64_t ips, const float* wc, __m256 bias,
                       __m256i mask, int n, int ih0, int y0, int y1, int iw, int64_t sx, float* o, int64_t ops,
                       const float* rr, int64_t rps, int kw_rt) {
  const int kw = KW > 0 ? KW : kw_rt;
  const int64_t wstride = pl.channels_padded;
  __m256 acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
  for (int y = y0; y < y1; ++y) {
    const float* row = in_c + static_cast<int64_t>(ih0 + y * pl.dilation_h) * pl.in_w * ips;
    const float* wy = wc + static_cast<int64_t>(y) * kw * wstride;
#pragma GCC unroll 8
    for (int x = 0; x < kw; ++x) {
      const __m256 wv = _mm256_load_ps(wy + x * wstride);
      const float* q = row + static_cast<int64_t>(iw + x * pl.dilation_w) * ips;
      acc0 = _mm256_fmadd_ps(load_ch(q, kFull, mask), wv, acc0);
      acc1 = _mm256_fmadd_ps(load_ch(q + sx, kFull, mask), wv, acc1);
      acc2 = _mm256_fmadd_ps(load_ch(q + 2 * sx, kFull, mask), wv, acc2);
      acc3 = _mm256_fmadd_ps(load_ch(q + 3 * sx, kFull, mask), wv, acc3);
    }
  }
  const __m256 accs[4] = {acc0, acc1, acc2, acc3};
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    __m256 val = activate(kAct, accs[i]);
    if (rr) val = _mm256_add_ps(val, load_ch(rr + i * rps, kFull, mask));
    store_ch(o + i * ops, val, kFull, n);
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
        const int iw = ow * sw - pl.pad_left;
        for (int cv = cv_begin; cv < cv_end; ++cv) {
          const int c = cv * kLanes;
          const int left = pl.channels - c;
          const __m256 bias = _mm256_load_ps(pl.bias + c);
          float* o = out_row + static_cast<int64_t>(ow) * ops + c;
          const float* rr = res_row ? res_row + static_cast<int64_t>(ow) * rps + c : nullptr;
          if (left >= kLanes) {
            dw_four<KW, true, kAct>(pl, io.input + c, ips, pl.weights + c, bias, first_lanes(kLanes), kLanes, ih0, y0,
                                    y1, iw, sx, o, ops, rr, rps, kw);
          } else {
            dw_four<KW, false, kAct>(pl, io.input + c, ips, pl.weights + c, bias, first_lanes(left), left, ih0, y0, y1,
                                     iw, sx, o, ops, rr, rps, kw);
          }
        }
        ow += 4;
      } else {
        const int iw0 = ow * sw - pl.pad_left;
        for (int cv = cv_begin; cv < cv_end; ++cv) {
          const int c = cv * kLanes;
          const int left = pl.channels - c;
          const bool full = left >= kLanes;
          const int n = full ? kLanes : left;
          const __m256i mask = first_lanes(n);
          __m256 acc = _mm256_load_ps(pl.bias + c);
          for (int y = y0; y < y1; ++y) {
            const float* row = io.input + c + static_cast<int64_t>(ih0 + y * dh) * in_w * ips;
            for (int x = 0; x < kw; ++x) {
              const int iw = iw0 + x * dw;
              if (static_cast<unsigned>(iw) >= static_cast<unsigned>(in_w)) continue;
              const __m256 wv = _mm256_load_ps(pl.weights + c + (y * kw + x) * wstride);
              acc = _mm256_fmadd_ps(load_ch(row + static_cast<int64_t>(iw) * ips, full, mask), wv, acc);
            }
          }
          __m256 val = activate(kAct, acc);
          if (res_row) val = _mm256_add_ps(val, load_ch(res_row + static_cast<int64_t>(ow) * rps + c, full, mask));
          store_ch(out_row + static_cast<int64_t>(ow) * ops + c, val, full, n);
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

extern const IsaConvKernels kAvx2ConvKernels = {
    "avx2", kLanes, 8, 24, {kMr[0], kMr[1], kMr[2], kMr[3], 0, 0, 0, 0, 0}, &direct_task, &depthwise_task,
};

}  // namespace sp::kernels::conv_internal
