// matmul_f64 (core/kernels/matmul_f64): every ISA of this CPU against the scalar reference on random
// shapes that end every register tile and k panel partially, with padded leading dimensions; k = 0, and
// the shape errors. The vector variants fuse each multiply-add (the reference does not), so they agree to
// within the sum's rounding bound, not bitwise.
#include "core/kernels/matmul_f64/matmul_f64.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"

namespace sp::kernels {
namespace {

struct Shape {
  int64_t m, n, k;
};

std::vector<Isa> vector_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

TEST(MatmulF64, EveryIsaMatchesTheReference) {
  if (vector_isas().empty()) GTEST_SKIP() << "this CPU has neither AVX2 nor AVX-512: only the reference runs";
  std::mt19937_64 rng(81);
  std::normal_distribution<double> gauss(0.0, 1.0);
  // Tiles: 6 x 8 (AVX2), 12 x 16 (AVX-512); k panels of 256 (AVX2) and 128 (AVX-512) rows of B.
  std::vector<Shape> shapes = {{1, 1, 1}, {12, 16, 128}, {13, 17, 129}, {6, 8, 256}, {7, 9, 257}, {64, 576, 576}, {3, 1000, 5}};
  std::uniform_int_distribution<int64_t> dim(1, 70), deep(1, 600);
  for (int i = 0; i < 20; ++i) shapes.push_back({dim(rng), dim(rng), deep(rng)});
  for (const Shape& s : shapes) {
    const int64_t lda = s.k + 3, ldb = s.n + 5, ldc = s.n + 2;
    std::vector<double> a(static_cast<size_t>(s.m * lda)), b(static_cast<size_t>(s.k * ldb));
    for (double& v : a) v = gauss(rng);
    for (double& v : b) v = gauss(rng);
    std::vector<double> want(static_cast<size_t>(s.m * ldc), -7.0);
    matmul_f64(a.data(), lda, b.data(), ldb, want.data(), ldc, s.m, s.n, s.k, Isa::kScalar);
    for (Isa isa : vector_isas()) {
      std::vector<double> got(want.size(), -7.0);
      matmul_f64(a.data(), lda, b.data(), ldb, got.data(), ldc, s.m, s.n, s.k, isa);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < ldc; ++j) {
          const size_t at = static_cast<size_t>(i * ldc + j);
          if (j >= s.n) {  // padding between rows is never written
            ASSERT_EQ(got[at], -7.0) << isa_name(isa) << " " << s.m << "x" << s.n << "x" << s.k;
            continue;
          }
          double bound = 0;
          for (int64_t p = 0; p < s.k; ++p) bound += std::abs(a[static_cast<size_t>(i * lda + p)] * b[static_cast<size_t>(p * ldb + j)]);
          bound *= 2.0 * static_cast<double>(s.k) * 1.2e-16;
          ASSERT_NEAR(got[at], want[at], bound) << isa_name(isa) << " " << s.m << "x" << s.n << "x" << s.k << " at " << i << "," << j;
        }
      }
    }
  }
}

// The same product through different m and n: each element's sum is the same (the solvers rely on it
// only for determinism, but a tile-dependent order would show here).
TEST(MatmulF64, ElementsDoNotDependOnTheTiling) {
  std::mt19937_64 rng(82);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const int64_t m = 29, n = 37, k = 300;
  std::vector<double> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
  for (double& v : a) v = gauss(rng);
  for (double& v : b) v = gauss(rng);
  for (Isa isa : vector_isas()) {
    std::vector<double> whole(static_cast<size_t>(m * n)), row(static_cast<size_t>(n)), col(static_cast<size_t>(m));
    matmul_f64(a.data(), k, b.data(), n, whole.data(), n, m, n, k, isa);
    for (int64_t i = 0; i < m; i += 7) {
      matmul_f64(a.data() + i * k, k, b.data(), n, row.data(), n, 1, n, k, isa);
      for (int64_t j = 0; j < n; ++j) ASSERT_EQ(row[static_cast<size_t>(j)], whole[static_cast<size_t>(i * n + j)]) << isa_name(isa);
    }
    for (int64_t j = 0; j < n; j += 5) {
      matmul_f64(a.data(), k, b.data() + j, n, col.data(), 1, m, 1, k, isa);
      for (int64_t i = 0; i < m; ++i) ASSERT_EQ(col[static_cast<size_t>(i)], whole[static_cast<size_t>(i * n + j)]) << isa_name(isa);
    }
  }
}

TEST(MatmulF64, EmptySumsAndBadShapes) {
  std::vector<double> c(6, 5.0), buf(16, 1.0);
  for (Isa isa : {Isa::kScalar, best_isa()}) {
    matmul_f64(buf.data(), 1, buf.data(), 3, c.data(), 3, 2, 3, 0, isa);
    for (double v : c) EXPECT_EQ(v, 0.0);
    EXPECT_THROW(matmul_f64(buf.data(), 2, buf.data(), 4, c.data(), 4, 2, 4, 3, isa), Error);  // lda < k
    EXPECT_THROW(matmul_f64(buf.data(), 3, buf.data(), 2, c.data(), 4, 2, 4, 3, isa), Error);  // ldb < n
    EXPECT_THROW(matmul_f64(buf.data(), 3, buf.data(), 3, c.data(), 3, -1, 3, 3, isa), Error);
    EXPECT_THROW(matmul_f64(nullptr, 3, buf.data(), 3, c.data(), 3, 2, 3, 3, isa), Error);
  }
}

}  // namespace
}  // namespace sp::kernels
