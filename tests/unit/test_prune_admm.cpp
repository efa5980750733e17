// ADMM pruning (core/prune/admm.h): the masked least squares against a direct solve, exact sparsity
// and whole groups for every pattern, a lower output error than OBS and magnitude on correlated
// inputs, the degenerate Hessians OBS also handles, and the sparsity edges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/prune/admm.h"
#include "core/prune/obs.h"
#include "tests/unit/prune_test_data.h"

namespace sp::prune {
namespace {

int64_t zeros(const std::vector<float>& w) { return std::count(w.begin(), w.end(), 0.0f); }

// For each row, the exact minimiser of (x - w)ᵀ H (x - w) over the kept entries: H_SS x_S = (H w)_S,
// solved by a plain Cholesky factorisation (independent of the conjugate gradients under test).
std::vector<double> direct_masked_solve(const Hessian& h, const std::vector<double>& w, const std::vector<uint8_t>& keep,
                                        int64_t rows) {
  const int64_t n = h.n;
  auto H = [&](int64_t i, int64_t j) { return h.h[static_cast<size_t>(i * n + j)]; };
  std::vector<double> out(w.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> s;
    for (int64_t j = 0; j < n; ++j) {
      if (keep[static_cast<size_t>(r * n + j)]) s.push_back(j);
    }
    const size_t m = s.size();
    std::vector<double> L(m * m, 0.0), b(m, 0.0);
    for (size_t i = 0; i < m; ++i) {
      for (int64_t k = 0; k < n; ++k) b[i] += H(s[i], k) * w[static_cast<size_t>(r * n + k)];
    }
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j <= i; ++j) {
        double v = H(s[i], s[j]);
        for (size_t k = 0; k < j; ++k) v -= L[i * m + k] * L[j * m + k];
        L[i * m + j] = i == j ? std::sqrt(v) : v / L[j * m + j];
      }
    }
    std::vector<double> y(m);
    for (size_t i = 0; i < m; ++i) {
      double v = b[i];
      for (size_t k = 0; k < i; ++k) v -= L[i * m + k] * y[k];
      y[i] = v / L[i * m + i];
    }
    for (size_t i = m; i-- > 0;) {
      double v = y[i];
      for (size_t k = i + 1; k < m; ++k) v -= L[k * m + i] * out[static_cast<size_t>(r * n + s[k])];
      out[static_cast<size_t>(r * n + s[i])] = v / L[i * m + i];
    }
  }
  return out;
}

TEST(MaskedLeastSquares, MatchesADirectSolvePerRow) {
  const int64_t rows = 6, n = 40;
  Hessian h = correlated_hessian(n, 400, n, 0.2f, 31);
  for (int64_t i = 0; i < n; ++i) h.h[static_cast<size_t>(i * n + i)] += 0.05;  // well posed
  const std::vector<float> wf = gaussian(static_cast<size_t>(rows * n), 32);
  const std::vector<double> w(wf.begin(), wf.end());
  std::vector<uint8_t> keep(w.size());
  std::mt19937 rng(33);
  for (auto& k : keep) k = rng() % 3 != 0;
  for (int64_t j = 0; j < n; ++j) keep[static_cast<size_t>(2 * n + j)] = 0;  // one row loses everything
  const std::vector<double> want = direct_masked_solve(h, w, keep, rows);
  const std::vector<double> zero(w.size(), 0.0);
  const std::vector<double> got = masked_least_squares(h.h, n, w, zero, keep, rows, 500);
  for (size_t i = 0; i < w.size(); ++i) {
    if (!keep[i]) {
      EXPECT_EQ(got[i], 0.0) << i;
    }
    // CG stops at a residual 1e-8 of its start: the error is within the condition number times that.
    EXPECT_NEAR(got[i], want[i], 1e-6 * (1 + std::abs(want[i]))) << i;
  }
  // Everything kept: w itself. Started at the answer: no step moves it.
  const std::vector<uint8_t> all(w.size(), 1);
  const std::vector<double> same = masked_least_squares(h.h, n, w, zero, all, rows, 500);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(same[i], w[i], 1e-7);
  EXPECT_EQ(masked_least_squares(h.h, n, w, want, keep, rows, 0), want);
  EXPECT_THROW(masked_least_squares(h.h, n, w, zero, keep, rows + 1, 10), Error);
}

// ADMM's layer-wide mask and exact refit reconstruct the output better than OBS's one pass (and far
// better than magnitude) on strongly correlated inputs, at the same exact sparsity.
TEST(Admm, BeatsObsAndMagnitudeOnCorrelatedInputs) {
  const int64_t rows = 32, K = 96;
  Hessian h = correlated_hessian(K, 2000, 24, 0.05f, 7);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 11);
  ObsSolver obs(h, {});
  AdmmSolver admm(h, {});
  for (const char* name : {"unstructured", "block-k4", "block-o4", "block-o2k4"}) {
    const PrunePattern p = PrunePattern::parse(name);
    for (double s : {0.5, 0.7}) {
      std::vector<float> a = w0, o = w0, m = w0;
      admm.prune(a, rows, s, p);
      obs.prune(o, rows, s, p);
      magnitude_prune(m, rows, K, s, p);
      const double e_admm = relative_output_error(w0, a, rows, h), e_obs = relative_output_error(w0, o, rows, h),
                   e_mag = relative_output_error(w0, m, rows, h);
      EXPECT_LT(e_admm, e_obs) << name << " at " << s;
      EXPECT_LT(e_admm, 0.5 * e_mag) << name << " at " << s;
      const int64_t groups = rows / p.rows * (K / p.cols);
      EXPECT_EQ(zero_groups(a, rows, K, p), groups_to_remove(groups, s)) << name;
      EXPECT_EQ(zeros(a), zeros(o)) << name;
      EXPECT_EQ(zeros(a), zero_groups(a, rows, K, p) * p.group_size()) << name;
    }
  }
  std::vector<float> w = w0;
  EXPECT_THROW(admm.prune(w, rows, 0.5, PrunePattern::parse("block-o5")), Error);  // 32 rows
  EXPECT_THROW(admm.prune(w, rows + 1, 0.5, {}), Error);
}

// The solver's products run on the session's ISA (kernels::matmul_f64): each vector ISA reaches the
// reference's mask and objective up to rounding (its multiply-adds are fused, the reference's are not).
TEST(Admm, EveryIsaReachesTheReferencesResult) {
  const int64_t rows = 24, K = 80;
  const Hessian h = correlated_hessian(K, 1500, 20, 0.05f, 51);
  const std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 52);
  std::vector<float> want = w0;
  const double want_loss = AdmmSolver(h, {}, Isa::kScalar).prune(want, rows, 0.5, {});
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    std::vector<float> got = w0;
    const double loss = AdmmSolver(h, {}, isa).prune(got, rows, 0.5, {});
    EXPECT_NEAR(loss, want_loss, 1e-6 * want_loss) << isa_name(isa);
    int64_t same_mask = 0;
    for (size_t i = 0; i < got.size(); ++i) same_mask += (got[i] == 0.0f) == (want[i] == 0.0f);
    EXPECT_EQ(same_mask, static_cast<int64_t>(got.size())) << isa_name(isa);
    EXPECT_EQ(zeros(got), zeros(want)) << isa_name(isa);
  }
}

// The returned loss is the objective reached: ½ tr(ΔW H_damped ΔWᵀ), checked from the outside.
TEST(Admm, ReportsTheObjectiveReached) {
  const int64_t rows = 8, K = 48;
  const Hessian h = correlated_hessian(K, 600, 16, 0.1f, 41);
  const std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 42);
  AdmmSolver admm(h, {});
  std::vector<float> w = w0;
  const double loss = admm.prune(w, rows, 0.6, {});
  double mean_diag = 0;
  for (int64_t i = 0; i < K; ++i) mean_diag += h.h[static_cast<size_t>(i * K + i)] / K;
  double want = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j) {
        const double hij = h.h[static_cast<size_t>(i * K + j)] + (i == j ? admm.damping_used() * mean_diag : 0.0);
        want += 0.5 * (w[static_cast<size_t>(r * K + i)] - w0[static_cast<size_t>(r * K + i)]) * hij *
                (w[static_cast<size_t>(r * K + j)] - w0[static_cast<size_t>(r * K + j)]);
      }
  EXPECT_NEAR(loss, want, 1e-4 * want);
}

TEST(Admm, DegenerateHessiansAndSparsityEdges) {
  const int64_t rows = 8, K = 64;
  Hessian h = correlated_hessian(K, 20, 20, 0.0f, 21);  // rank <= 20, feature 5 never fires
  for (int64_t j = 0; j < K; ++j) {
    h.h[static_cast<size_t>(5 * K + j)] = 0;
    h.h[static_cast<size_t>(j * K + 5)] = 0;
  }
  const std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 2);
  AdmmSolver admm(h, {});
  std::vector<float> w = w0, mag = w0;
  admm.prune(w, rows, 0.5, {});
  magnitude_prune(mag, rows, K, 0.5, {});
  for (float v : w) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(zeros(w), rows * K / 2);
  EXPECT_LT(relative_output_error(w0, w, rows, h), relative_output_error(w0, mag, rows, h));
  // All-zero statistics still factor; non-finite ones are refused.
  Hessian zero{K, std::vector<double>(static_cast<size_t>(K * K), 0.0), 10};
  std::vector<float> wz = w0;
  AdmmSolver(zero, {}).prune(wz, rows, 0.25, {});
  EXPECT_EQ(zeros(wz), rows * K / 4);
  Hessian nan = zero;
  nan.h[3] = std::nan("");
  EXPECT_THROW(AdmmSolver(nan, {}), Error);
  // Nothing to remove: the weights come back as they were (the refit's fixed point); all: all zero.
  const Hessian good = correlated_hessian(16, 200, 16, 0.1f, 1);
  const std::vector<float> small = gaussian(4 * 16, 3);
  AdmmSolver s(good, {});
  std::vector<float> e = small;
  s.prune(e, 4, 0.0, {});
  for (size_t i = 0; i < e.size(); ++i) EXPECT_NEAR(e[i], small[i], 1e-5) << i;
  s.prune(e, 4, 1.0, {});
  EXPECT_EQ(zeros(e), 4 * 16);
  EXPECT_THROW(s.prune(e, 4, 1.5, {}), Error);
  AdmmOptions bad;
  bad.rho = 0;
  EXPECT_THROW(AdmmSolver(good, bad), Error);
}

}  // namespace
}  // namespace sp::prune
