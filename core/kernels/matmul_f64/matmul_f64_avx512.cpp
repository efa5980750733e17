// AVX-512 F double matmul: the 8-lane abstraction matmul_tile.inc needs, opmask tails. Built with the
// AVX-512 flags and only called after run-time detection; internal linkage but for the entry point.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/matmul_f64/matmul_f64_internal.h"

// GCC 12's AVX-512 intrinsics self-initialise their undefined placeholders, which -Wuninitialized
// reports wherever they are inlined (GCC bug 105593, fixed in 12.3 / 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sp::kernels::avx512 {
namespace {

constexpr int64_t kW = 8;
constexpr int kMR = 12;  // tile 12 x 16: 24 accumulators + 2 B vectors + broadcasts of 32 zmm
using V = __m512d;
using Mask = __mmask8;

inline Mask vmask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
inline V vload(const double* p) { return _mm512_loadu_pd(p); }
inline void vstore(double* p, V v) { _mm512_storeu_pd(p, v); }
inline V vload_mask(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
inline void vstore_mask(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
inline V vzero() { return _mm512_setzero_pd(); }
inline V vbroadcast(const double* p) { return _mm512_set1_pd(*p); }
inline V vfmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }

#include "core/kernels/matmul_tile.inc"

}  // namespace

void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k) {
  matmul_panels<double>(a, lda, b, ldb, c, ldc, m, n, k);
}

}  // namespace sp::kernels::avx512
