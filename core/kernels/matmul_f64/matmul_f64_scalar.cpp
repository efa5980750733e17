// The reference and the fallback: plain loops, products summed in k order.
#include "core/kernels/matmul_f64/matmul_f64_internal.h"

namespace sp::kernels::scalar {

void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    double* ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) ci[j] = 0.0;
    for (int64_t p = 0; p < k; ++p) {
      const double aip = a[i * lda + p];
      const double* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

}  // namespace sp::kernels::scalar
