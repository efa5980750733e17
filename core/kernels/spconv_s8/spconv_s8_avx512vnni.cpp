// Sparse integer convolution, AVX-512 VNNI (compiled with -mavx512f/bw/vl/dq -mavx512vnni; only called
// when the CPU has them): 16 output pixels per zmm, one vpdpbusd per nonzero 4-channel unit and vector
// (u8 cells x broadcast s8 weights), the micro-kernel of spconv_s8_kernel.inc. The epilogue mirrors
// conv_s8_scalar.cpp operation for operation (explicit round-to-nearest-even conversions, the shared
// silu_ps of conv_s8_silu_avx512.inc, no contractible multiply-adds), so the output is bit-identical.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/spconv_s8/spconv_s8_internal.h"

// GCC 12's AVX-512 intrinsics start some results from _mm512_undefined_*(), which its flow analysis
// reports as uninitialized once inlined (as in conv_s8_avx512vnni.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::spconv_s8_internal {
namespace {

#include "core/kernels/conv_s8/conv_s8_silu_avx512.inc"

constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

// 16x16 byte transposes inside each 128-bit lane: r[c] holds channel c of 16 pixels per lane; on return
// d[j] holds the 16 channels of pixel j of each lane.
SP_INLINE void transpose_bytes_in_lanes(const __m512i (&r)[16], __m512i (&d)[16]) {
  __m512i a[16], b[16], c[16];
  #pragma GCC unroll 16
  for (int i = 0; i < 8; ++i) {  // a[i]: channel pair i, pixels 0-7; a[8 + i]: pixels 8-15
    a[i] = _mm512_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    a[8 + i] = _mm512_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)  // b[8h + 2k + l]: channel quad k, pixels 8h + 4l + 0..3
    #pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      b[8 * h + 2 * k] = _mm512_unpacklo_epi16(a[8 * h + 2 * k], a[8 * h + 2 * k + 1]);
      b[8 * h + 2 * k + 1] = _mm512_unpackhi_epi16(a[8 * h + 2 * k], a[8 * h + 2 * k + 1]);
    }
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)  // c[8h + 4l + 2m + n]: channel octet m, pixels 8h + 4l + 2n + 0..1
    #pragma GCC unroll 16
    for (int l = 0; l < 2; ++l)
      #pragma GCC unroll 16
      for (int m = 0; m < 2; ++m) {
        const __m512i x = b[8 * h + 4 * m + l], y = b[8 * h + 4 * m + 2 + l];
        c[8 * h + 4 * l + 2 * m] = _mm512_unpacklo_epi32(x, y);
        c[8 * h + 4 * l + 2 * m + 1] = _mm512_unpackhi_epi32(x, y);
      }
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)
    #pragma GCC unroll 16
    for (int l = 0; l < 2; ++l)
      #pragma GCC unroll 16
      for (int n = 0; n < 2; ++n) {
        const __m512i x = c[8 * h + 4 * l + n], y = c[8 * h + 4 * l + 2 + n];
        d[8 * h + 4 * l + 2 * n] = _mm512_unpacklo_epi64(x, y);
        d[8 * h + 4 * l + 2 * n + 1] = _mm512_unpackhi_epi64(x, y);
      }
}

// 16x16 dword transpose: r[c] holds channel c of pixels 0..15; on return d[j] holds the 16 channels of
// pixel j.
SP_INLINE void transpose_dwords(const __m512i (&r)[16], __m512i (&d)[16]) {
  __m512i t[16], u[16];
  #pragma GCC unroll 16
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  #pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {  // u[4i + k], lane L: channels 4i..4i+3 of pixel 4L + k
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  #pragma GCC unroll 16
  for (int k = 0; k < 4; ++k) {  // 4x4 transpose of 128-bit lanes
    const __m512i v0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44), v1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44), v3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
    d[k] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    d[4 + k] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
    d[8 + k] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    d[12 + k] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
  }
}

struct V {
  using Acc = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kBytes = 64;
  static constexpr int kMaxAcc = 16;
  static constexpr int kChunk = 64;

  static SP_INLINE Acc zero() { return _mm512_setzero_si512(); }
  static SP_INLINE Acc set1(int32_t v) { return _mm512_set1_epi32(v); }
  static SP_INLINE Acc load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static SP_INLINE Acc add(Acc a, Acc b) { return _mm512_add_epi32(a, b); }
  // Inline asm rather than _mm512_dpbusd_epi32: GCC 12 copies the tied accumulator around the intrinsic
  // (see conv_s8_avx512vnni.cpp).
  static SP_INLINE void dot(Acc& acc, Acc x_u8, Acc w_s8) {
    __asm__("vpdpbusd %[w], %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x_u8), [w] "v"(w_s8));
  }

  template <int MR>
  static SP_INLINE void epilogue_u8(const Acc (&acc)[MR], float scale, const SpPlan& p, uint8_t* row) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_set1_ps(static_cast<float>(-p.zy)), hi = _mm512_set1_ps(static_cast<float>(255 - p.zy));
    const __m512 inv = _mm512_set1_ps(p.inv_out_scale);
    const __m512i zy = _mm512_set1_epi32(p.zy);
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m512 f = _mm512_mul_ps(_mm512_cvt_roundepi32_ps(acc[r], kRne), s);
      if (p.silu) f = _mm512_mul_ps(silu_ps(f), inv);
      f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
      const __m512i q = _mm512_add_epi32(_mm512_cvt_roundps_epi32(f, kRne), zy);
      _mm_store_si128(reinterpret_cast<__m128i*>(row + r * 16), _mm512_cvtepi32_epi8(q));
    }
  }

  template <int MR>
  static SP_INLINE void epilogue_f32(const Acc (&acc)[MR], float scale, bool silu, float* row) {
    const __m512 s = _mm512_set1_ps(scale);
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m512 f = _mm512_mul_ps(_mm512_cvt_roundepi32_ps(acc[r], kRne), s);
      if (silu) f = silu_ps(f);
      _mm512_store_ps(row + r * 16, f);
    }
  }

  template <int R>
  static void store_u8(const uint8_t (&rows)[16][R], int npix, const int64_t* pix, int nch, uint8_t* out,
                       int64_t ops) {
    const __mmask16 mask = static_cast<__mmask16>((1u << nch) - 1u);
    for (int j0 = 0; j0 < npix; j0 += 64) {
      __m512i r[16], d[16];
      #pragma GCC unroll 16
      for (int c = 0; c < 16; ++c) r[c] = _mm512_load_si512(rows[c] + j0);
      transpose_bytes_in_lanes(r, d);
      #pragma GCC unroll 4
      for (int lane = 0; lane < 4; ++lane)
        #pragma GCC unroll 16
        for (int j = 0; j < 16; ++j) {
          const int64_t px = pix[j0 + lane * 16 + j];
          if (px < 0) continue;
          __m128i x;
          switch (lane) {  // the lane index of vextracti32x4 is an immediate
            case 0: x = _mm512_castsi512_si128(d[j]); break;
            case 1: x = _mm512_extracti32x4_epi32(d[j], 1); break;
            case 2: x = _mm512_extracti32x4_epi32(d[j], 2); break;
            default: x = _mm512_extracti32x4_epi32(d[j], 3); break;
          }
          if (nch == 16)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + px * ops), x);
          else
            _mm_mask_storeu_epi8(out + px * ops, mask, x);
        }
    }
  }

  template <int R>
  static void store_f32(const float (&rows)[16][R], int npix, const int64_t* pix, int nch, float* out, int64_t ops) {
    const __mmask16 mask = static_cast<__mmask16>((1u << nch) - 1u);
    for (int j0 = 0; j0 < npix; j0 += 16) {
      __m512i r[16], d[16];
      #pragma GCC unroll 16
      for (int c = 0; c < 16; ++c) r[c] = _mm512_castps_si512(_mm512_load_ps(rows[c] + j0));
      transpose_dwords(r, d);
      #pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) {
        const int64_t px = pix[j0 + j];
        if (px >= 0) _mm512_mask_storeu_ps(out + px * ops, mask, _mm512_castsi512_ps(d[j]));
      }
    }
  }
};

#include "core/kernels/spconv_s8/spconv_s8_kernel.inc"

}  // namespace

void spconv_s8_avx512vnni_tiles(const SpPlan& plan, const uint8_t* packed, void* out, int64_t out_pixel_stride,
                                int tile_pixels, int64_t tile_begin, int64_t tile_end, int oc_begin, int oc_end) {
  dispatch_tiles(plan, packed, out, out_pixel_stride, tile_pixels, tile_begin, tile_end, oc_begin, oc_end);
}

}  // namespace sp::kernels::spconv_s8_internal
