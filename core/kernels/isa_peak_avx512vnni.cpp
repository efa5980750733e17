// AVX-512 VNNI peak loop (compiled with the AVX-512 VNNI flags): vpdpbusd zmm, 64 u8 x s8 MACs per
// instruction, 10 independent accumulators.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::isa_peak_internal {
namespace {
volatile int sink_i;
}  // namespace

// Ten accumulators as ten named variables in ONE asm statement: an array of vectors, even with one asm
// per element, is kept in memory by GCC and the loop then measures store-forwarding, not the ALU.
#define SP_PEAK_ACC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)

double int8_dot_avx512vnni(int64_t iters) {
#define SP_DECL(i) __m512i a##i = _mm512_set1_epi32(i);
  SP_PEAK_ACC(SP_DECL)
#undef SP_DECL
  const __m512i x = _mm512_set1_epi32(0x01FF7F03), w = _mm512_set1_epi32(static_cast<int>(0x80017FFFu));
  int64_t n = iters;
  for (int64_t it = 0; it < n; ++it) {
#define SP_STEP(i) "vpdpbusd %[w], %[x], %[a" #i "]\n\t"
#define SP_OUT(i) [a##i] "+v"(a##i),
    __asm__(SP_PEAK_ACC(SP_STEP) : SP_PEAK_ACC(SP_OUT)[n] "+r"(n) : [x] "v"(x), [w] "v"(w));
#undef SP_STEP
#undef SP_OUT
  }
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(_mm512_add_epi32(a6, a7), _mm512_add_epi32(a8, a9))));
  sink_i = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iters) * 10 * 64 * 2;
}

}  // namespace sp::kernels::isa_peak_internal
