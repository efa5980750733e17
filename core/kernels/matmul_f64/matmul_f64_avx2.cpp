// AVX2 + FMA double matmul: the 4-lane abstraction matmul_tile.inc needs. Built with the AVX2 flags and
// only called after run-time detection; internal linkage but for the entry point.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/matmul_f64/matmul_f64_internal.h"

namespace sp::kernels::avx2 {
namespace {

constexpr int64_t kW = 4;
constexpr int kMR = 6;  // tile 6 x 8: 12 accumulators + 2 B vectors + 1 broadcast of 16 ymm
using V = __m256d;
using Mask = __m256i;

inline Mask vmask(int64_t n) {
  alignas(64) static const int64_t kTable[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 4 - n));
}
inline V vload(const double* p) { return _mm256_loadu_pd(p); }
inline void vstore(double* p, V v) { _mm256_storeu_pd(p, v); }
inline V vload_mask(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
inline void vstore_mask(double* p, V v, Mask m) { _mm256_maskstore_pd(p, m, v); }
inline V vzero() { return _mm256_setzero_pd(); }
inline V vbroadcast(const double* p) { return _mm256_broadcast_sd(p); }
inline V vfmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }

#include "core/kernels/matmul_tile.inc"

}  // namespace

void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k) {
  matmul_panels<double>(a, lda, b, ldb, c, ldc, m, n, k);
}

}  // namespace sp::kernels::avx2
