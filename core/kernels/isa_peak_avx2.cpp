// AVX2 peak loops (compiled with -mavx2 -mfma). Inline asm keeps each instruction exactly as written:
// 12 independent accumulators cover the latency (4-5 cycles) times the 2 issue ports of FMA / vpmaddwd.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak_internal.h"

namespace sp::kernels::isa_peak_internal {
namespace {
constexpr int kAcc = 12;
volatile int sink;
}  // namespace

double f32_fma_avx2(int64_t iters) {
  __m256 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  // acc += a * b: grows by ~1e-3 per iteration, finite and normal (no slow denormal paths).
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) __asm__("vfmadd231ps %[b], %[a], %[acc]" : [acc] "+x"(acc[i]) : [a] "x"(a), [b] "x"(b));
  }
  __m256 s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm256_add_ps(s, acc[i]);
  sink = _mm256_movemask_ps(s);
  return static_cast<double>(iters) * kAcc * 8 * 2;
}

double int8_dot_avx2(int64_t iters) {
  __m256i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_set1_epi32(i);
  const __m256i x = _mm256_set1_epi32(0x00FF0001), w = _mm256_set1_epi32(0xFF80007F);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) {
      __m256i t;
      __asm__("vpmaddwd %[w], %[x], %[t]\n\tvpaddd %[t], %[acc], %[acc]"
              : [acc] "+x"(acc[i]), [t] "=&x"(t)
              : [x] "x"(x), [w] "x"(w));
    }
  }
  __m256i s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm256_add_epi32(s, acc[i]);
  sink = _mm256_movemask_epi8(s);
  return static_cast<double>(iters) * kAcc * 16 * 2;  // 16 int16 products per vpmaddwd
}

}  // namespace sp::kernels::isa_peak_internal
