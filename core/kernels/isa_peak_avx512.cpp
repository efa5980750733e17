// AVX-512 peak loops (compiled with the AVX-512 flags): zmm versions of the AVX2 ones, 16 accumulators.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::isa_peak_internal {
namespace {
constexpr int kAcc = 16;
volatile float sink_f;
volatile int sink_i;
}  // namespace

double f32_fma_avx512(int64_t iters) {
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) __asm__("vfmadd231ps %[b], %[a], %[acc]" : [acc] "+v"(acc[i]) : [a] "v"(a), [b] "v"(b));
  }
  __m512 s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_ps(s, acc[i]);
  sink_f = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * kAcc * 16 * 2;
}

double int8_dot_avx512(int64_t iters) {
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i x = _mm512_set1_epi32(0x00FF0001), w = _mm512_set1_epi32(static_cast<int>(0xFF80007Fu));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) {
      __m512i t;
      __asm__("vpmaddwd %[w], %[x], %[t]\n\tvpaddd %[t], %[acc], %[acc]"
              : [acc] "+v"(acc[i]), [t] "=&v"(t)
              : [x] "v"(x), [w] "v"(w));
    }
  }
  __m512i s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_epi32(s, acc[i]);
  sink_i = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iters) * kAcc * 32 * 2;  // 32 int16 products per vpmaddwd
}

}  // namespace sp::kernels::isa_peak_internal
