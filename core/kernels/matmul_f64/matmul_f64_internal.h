// Per-ISA entry points behind matmul_f64.h; only matmul_f64.cpp (the dispatcher, which has validated the
// shapes and returned early on empty ones: m, n, k >= 1) and the tests include this.
//   scalar::  matmul_f64_scalar.cpp  the reference: c[i][j] += a[i][p] * b[p][j] in p order, unfused
//   avx2::    matmul_f64_avx2.cpp    4-wide, FMA
//   avx512::  matmul_f64_avx512.cpp  8-wide, FMA
#pragma once

#include <cstdint>

namespace sp::kernels {
namespace scalar {
void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k);
}
namespace avx2 {
void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k);
}
namespace avx512 {
void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k);
}
}  // namespace sp::kernels
