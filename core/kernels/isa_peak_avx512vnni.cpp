// AVX-512 VNNI peak loop (compiled with the AVX-512 VNNI flags): vpdpbusd zmm, 64 u8 x s8 MACs per
// instruction, 16 independent accumulators.
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
volatile int sink;
}  // namespace

double int8_dot_avx512vnni(int64_t iters) {
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i x = _mm512_set1_epi32(0x01FF7F03), w = _mm512_set1_epi32(static_cast<int>(0x80017FFFu));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) __asm__("vpdpbusd %[w], %[x], %[acc]" : [acc] "+v"(acc[i]) : [x] "v"(x), [w] "v"(w));
  }
  __m512i s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_epi32(s, acc[i]);
  sink = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iters) * kAcc * 64 * 2;
}

}  // namespace sp::kernels::isa_peak_internal
