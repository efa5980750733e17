// AVX-512 BF16 kernels of the bf16 convolution (compiled with -mavx512bf16 on top of the AVX-512 flags;
// only called when the CPU has AVX512_BF16).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_bf16/conv_bf16_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::conv_bf16_internal {
namespace {

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
    const __m512i r = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // lower half from the second operand
    _mm512_mask_storeu_epi16(out + i, static_cast<__mmask32>(m0) | (static_cast<__mmask32>(m1) << 16), r);
  }
}

}  // namespace

extern const IsaBf16Kernels kAvx512Bf16Kernels = {
    "avx512bf16", 64, {0, 0, 0, 0, 0, 0, 0, 0, 0}, nullptr, nullptr, &dot_lanes, &round_lanes,
};

}  // namespace sp::kernels::conv_bf16_internal
