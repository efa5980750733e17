// Double-precision matrix product for the pruning solvers (core/prune: ADMM's least-squares steps and
// conjugate gradients run in double on n x n Hessians). Eigen is built for the baseline ISA (SSE2, two
// doubles per instruction); these are the engine's register-tiled matmul (core/kernels/matmul_tile.inc)
// instantiated for double on AVX2 and AVX-512, with a scalar reference.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"

namespace sp::kernels {

// C[m x n] = A[m x k] * B[k x n], row-major with leading dimensions; C must not alias A or B. k = 0 gives
// zeros. The float family of `isa` (sp::float_isa) picks the variant; each sums every element's products
// in k order (FMA on AVX2/AVX-512), so the result does not depend on m, n or the leading dimensions.
void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, Isa isa);

}  // namespace sp::kernels
