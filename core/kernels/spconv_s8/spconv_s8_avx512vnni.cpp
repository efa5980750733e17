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

// The cells of input rows [ih0, ih1) (unit 4, stride_w 1 or 2): 16 pixels x 16 channel groups at a
// time, loaded per pixel (byte-masked: channels past in_c read as 0), transposed, stored per group into
// its plane (stride 2: even and odd pixels to their column phases).
void pack_rows(const SpPlan& p, const uint8_t* in, int64_t ips, uint8_t* packed, int row0, int ih0, int ih1) {
  if (p.stride_w > 2 || p.unit != 4) return spconv_s8_pack_rows(p, in, ips, packed, row0, ih0, ih1);
  const int64_t phase_planes = static_cast<int64_t>(p.groups) * p.plane_cells;
  const __m512i even_odd = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  uint32_t* const cells = reinterpret_cast<uint32_t*>(packed);
  for (int ih = ih0; ih < ih1; ++ih) {
    const int r = ih + p.pad_top;
    const int64_t row_base = static_cast<int64_t>(r % p.stride_h) * p.stride_w * phase_planes +
                             static_cast<int64_t>(r / p.stride_h - row0) * p.wq;
    const uint8_t* src_row = in + static_cast<int64_t>(ih) * p.in_w * ips;
    for (int g0 = 0; g0 < p.groups; g0 += 16) {
      const int ng = p.groups - g0 < 16 ? p.groups - g0 : 16;
      const int nbytes = p.in_c - g0 * 4 < 64 ? p.in_c - g0 * 4 : 64;
      const __mmask64 bytes = nbytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << nbytes) - 1;
      for (int iw0 = 0; iw0 < p.in_w; iw0 += 16) {
        const int np = p.in_w - iw0 < 16 ? p.in_w - iw0 : 16;
        __m512i x[16], d[16];
        #pragma GCC unroll 16
        for (int j = 0; j < 16; ++j)
          x[j] = _mm512_maskz_loadu_epi8(j < np ? bytes : 0, src_row + static_cast<int64_t>(iw0 + j) * ips + g0 * 4);
        transpose_dwords(x, d);
        const int c0 = iw0 + p.pad_left;
        uint32_t* dst = cells + row_base + static_cast<int64_t>(g0) * p.plane_cells;
        if (p.stride_w == 1) {
          const __mmask16 m = static_cast<__mmask16>((1u << np) - 1u);
          for (int g = 0; g < ng; ++g) _mm512_mask_storeu_epi32(dst + g * p.plane_cells + c0, m, d[g]);
        } else {  // lanes j of parity k go to column phase (c0 + k) % 2 from column (c0 + k) / 2
          const __mmask8 m0 = static_cast<__mmask8>((1u << ((np + 1) / 2)) - 1u), m1 = static_cast<__mmask8>((1u << (np / 2)) - 1u);
          uint32_t* d0 = dst + ((c0 % 2) * phase_planes + c0 / 2);
          uint32_t* d1 = dst + (((c0 + 1) % 2) * phase_planes + (c0 + 1) / 2);
          for (int g = 0; g < ng; ++g) {
            const __m512i v = _mm512_permutexvar_epi32(even_odd, d[g]);
            _mm256_mask_storeu_epi32(d0 + g * p.plane_cells, m0, _mm512_castsi512_si256(v));
            _mm256_mask_storeu_epi32(d1 + g * p.plane_cells, m1, _mm512_extracti64x4_epi64(v, 1));
          }
        }
      }
    }
  }
}

struct V {
  using Acc = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kBytes = 64;
  static constexpr int kMaxAcc = 16;
  static constexpr int kRegs = 32;
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
      // vpmovdb to a register, then the store: the fused memory form is slow on Zen 4 (conv_s8_avx512vnni.cpp).
      __m128i b8 = _mm512_cvtepi32_epi8(q);
      __asm__("" : "+v"(b8));
      _mm_store_si128(reinterpret_cast<__m128i*>(row + r * 16), b8);
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

void spconv_s8_avx512vnni_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                                int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end,
                                int oc_begin, int oc_end) {
  dispatch_tiles(plan, segment, q_origin, out, out_pixel_stride, tile_pixels, tile_begin, tile_end, oc_begin, oc_end);
}

void spconv_s8_avx512vnni_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                                    int row0, int ih_begin, int ih_end) {
  pack_rows(plan, in, in_pixel_stride, segment, row0, ih_begin, ih_end);
}

}  // namespace sp::kernels::spconv_s8_internal
