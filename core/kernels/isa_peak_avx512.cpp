// AVX-512 peak loops (compiled with the AVX-512 flags): zmm versions of the AVX2 ones.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::isa_peak_internal {
namespace {
volatile float sink_f;
volatile int sink_i;
}  // namespace

// Ten accumulators as ten named variables in ONE asm statement: an array of vectors, even with one asm
// per element, is kept in memory by GCC and the loop then measures store-forwarding, not the ALU.
#define SP_PEAK_ACC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)

double f32_fma_avx512(int64_t iters) {
#define SP_DECL(i) __m512 a##i = _mm512_set1_ps(static_cast<float>(i));
  SP_PEAK_ACC(SP_DECL)
#undef SP_DECL
  // acc += a * b: grows by ~1e-3 per iteration, finite and normal (no slow denormal paths).
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  int64_t n = iters;
  for (int64_t it = 0; it < n; ++it) {
#define SP_STEP(i) "vfmadd231ps %[b], %[a], %[a" #i "]\n\t"
#define SP_OUT(i) [a##i] "+v"(a##i),
    __asm__(SP_PEAK_ACC(SP_STEP) : SP_PEAK_ACC(SP_OUT)[n] "+r"(n) : [a] "v"(a), [b] "v"(b));
#undef SP_STEP
#undef SP_OUT
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9))));
  sink_f = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 10 * 16 * 2;
}

double int8_dot_avx512(int64_t iters) {
#define SP_DECL(i) __m512i a##i = _mm512_set1_epi32(i);
  SP_PEAK_ACC(SP_DECL)
#undef SP_DECL
  const __m512i x = _mm512_set1_epi32(0x00FF0001), w = _mm512_set1_epi32(static_cast<int>(0xFF80007Fu));
  __m512i t0, t1;
  int64_t n = iters;
  for (int64_t it = 0; it < n; ++it) {
    // Two temporaries alternate (renaming removes the false dependencies).
#define SP_OUT(i) [a##i] "+v"(a##i),
    __asm__("vpmaddwd %[w], %[x], %[t0]\n\tvpaddd %[t0], %[a0], %[a0]\n\t"
            "vpmaddwd %[w], %[x], %[t1]\n\tvpaddd %[t1], %[a1], %[a1]\n\t"
            "vpmaddwd %[w], %[x], %[t0]\n\tvpaddd %[t0], %[a2], %[a2]\n\t"
            "vpmaddwd %[w], %[x], %[t1]\n\tvpaddd %[t1], %[a3], %[a3]\n\t"
            "vpmaddwd %[w], %[x], %[t0]\n\tvpaddd %[t0], %[a4], %[a4]\n\t"
            "vpmaddwd %[w], %[x], %[t1]\n\tvpaddd %[t1], %[a5], %[a5]\n\t"
            "vpmaddwd %[w], %[x], %[t0]\n\tvpaddd %[t0], %[a6], %[a6]\n\t"
            "vpmaddwd %[w], %[x], %[t1]\n\tvpaddd %[t1], %[a7], %[a7]\n\t"
            "vpmaddwd %[w], %[x], %[t0]\n\tvpaddd %[t0], %[a8], %[a8]\n\t"
            "vpmaddwd %[w], %[x], %[t1]\n\tvpaddd %[t1], %[a9], %[a9]\n\t" : SP_PEAK_ACC(SP_OUT)[t0] "=&v"(t0), [t1] "=&v"(t1), [n] "+r"(n) : [x] "v"(x), [w] "v"(w));
#undef SP_OUT
  }
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(_mm512_add_epi32(a6, a7), _mm512_add_epi32(a8, a9))));
  sink_i = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iters) * 10 * 32 * 2;  // 32 int16 products per vpmaddwd
}

}  // namespace sp::kernels::isa_peak_internal
