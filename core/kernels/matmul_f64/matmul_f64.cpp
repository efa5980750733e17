#include "core/kernels/matmul_f64/matmul_f64.h"

#include <string>

#include "core/error.h"
#include "core/kernels/matmul_f64/matmul_f64_internal.h"

namespace sp::kernels {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("matmul_f64: " + what); }

void check_view(const char* name, const double* p, int64_t ld, int64_t rows, int64_t cols) {
  if (p == nullptr) fail(std::string("null pointer for ") + name);
  if (rows > 1 && ld < cols) {
    fail(std::string("leading dimension of ") + name + " (" + std::to_string(ld) + ") is less than cols (" +
         std::to_string(cols) + ")");
  }
}

}  // namespace

void matmul_f64(const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, Isa isa) {
  if (m < 0 || n < 0 || k < 0) {
    fail("negative shape m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  if (m == 0 || n == 0) return;
  check_view("c", c, ldc, m, n);
  if (k == 0) {  // empty sum
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0.0;
    }
    return;
  }
  check_view("a", a, lda, m, k);
  check_view("b", b, ldb, k, n);
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
    case Isa::kAvx2: return avx2::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
    default: return scalar::matmul_f64(a, lda, b, ldb, c, ldc, m, n, k);
  }
}

}  // namespace sp::kernels
