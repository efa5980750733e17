#include "core/kernels/matmul_f64/matmul_f64.h"

#include "core/kernels/matmul_f64/matmul_f64_internal.h"
#include "core/kernels/matrix_views.h"

namespace sp::kernels {

void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, Isa isa) {
  if (!views::prepare_matmul("matmul_f64", a, lda, b, ldb, c, ldc, m, n, k)) return;
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
    case Isa::kAvx2: return avx2::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
    default: return scalar::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
  }
}

}  // namespace sp::kernels
