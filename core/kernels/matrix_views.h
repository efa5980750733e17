// Argument checks for kernels on 2-D strided views (rows x cols, row r at p + r * ld), shared by the
// float kernels (vector_f32) and the double matmul (matmul_f64): one wording of each error, one
// treatment of empty and degenerate shapes.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace sp::kernels::views {

[[noreturn]] inline void fail(const char* fn, const std::string& what) { throw Error(std::string(fn) + ": " + what); }

// A rows x cols view with leading dimension ld is valid when the rows do not overlap.
inline void check_view(const char* fn, const char* name, const void* p, int64_t ld, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) {
    fail(fn, "negative shape " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  if (rows == 0 || cols == 0) return;
  if (p == nullptr) fail(fn, std::string("null pointer for ") + name);
  if (rows > 1 && ld < cols) {
    fail(fn, std::string("leading dimension of ") + name + " (" + std::to_string(ld) + ") is less than cols (" +
                 std::to_string(cols) + ")");
  }
}

// C[m x n] = A[m x k] * B[k x n]: validates the views, writes C's zeros itself when k = 0 (an empty
// sum), and gives single-row views their natural leading dimension. Returns whether a kernel still has
// to run (m, n, k >= 1).
template <class T>
bool prepare_matmul(const char* fn, const T* a, int64_t& lda, const T* b, int64_t& ldb, T* c, int64_t& ldc, int64_t m,
                    int64_t n, int64_t k) {
  if (m < 0 || n < 0 || k < 0) {
    fail(fn, "negative shape m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  check_view(fn, "c", c, ldc, m, n);
  if (m == 0 || n == 0) return false;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = T{0};
    }
    return false;
  }
  check_view(fn, "a", a, lda, m, k);
  check_view(fn, "b", b, ldb, k, n);
  if (m == 1) lda = k;
  if (k == 1) ldb = n;
  if (m == 1) ldc = n;
  return true;
}

}  // namespace sp::kernels::views
