#include "core/prune/silu_refit.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace sp::prune {

namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Output channels per task: fixed, so that the sums (and the result) do not depend on the thread count.
constexpr int64_t kBlockRows = 8;

float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

struct BlockResult {
  double before = 0, after = 0;  // summed squared errors
};

// Channels [r0, r0 + m) of the layer.
BlockResult refit_block(float* w, float* bias, const float* w0, const float* b0, int64_t m, int64_t k,
                        const Eigen::Map<const Eigen::MatrixXf>& X, const Eigen::Map<const Eigen::MatrixXf>& R,
                        const SiluRefitOptions& opt) {
  const int64_t n = X.cols();
  Eigen::Map<RowMajorF> W(w, m, k);
  Eigen::Map<Eigen::VectorXf> B(bias, m);
  Eigen::Map<const RowMajorF> W0(w0, m, k);
  Eigen::Map<const Eigen::VectorXf> B0(b0, m);

  // The target: what the float model's SiLU gives on its own inputs.
  Eigen::MatrixXf Y = W0 * R;
  Eigen::VectorXf w_step(m), b_step(m);
  for (int64_t o = 0; o < m; ++o) {
    w_step(o) = static_cast<float>(opt.step) * std::sqrt(W0.row(o).squaredNorm() / static_cast<float>(k));
    b_step(o) = static_cast<float>(opt.step) * std::sqrt(Y.row(o).squaredNorm() / static_cast<float>(n));
  }
  Y.colwise() += B0;
  Y = Y.unaryExpr([](float z) { return z * sigmoid(z); });

  const RowMajorF mask = (W.array() != 0.0f).cast<float>();
  RowMajorF mw = RowMajorF::Zero(m, k), vw = RowMajorF::Zero(m, k), best_w = W;
  Eigen::VectorXf mb = Eigen::VectorXf::Zero(m), vb = Eigen::VectorXf::Zero(m), best_b = B;
  std::vector<double> best(static_cast<size_t>(m), -1.0);
  Eigen::MatrixXf Z(m, n), D(m, n);
  BlockResult res;
  constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-12f;
  for (int it = 0; it <= opt.iterations; ++it) {
    Z.noalias() = W * X;
    Z.colwise() += B;
    std::vector<double> loss(static_cast<size_t>(m), 0.0);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t o = 0; o < m; ++o) {
        const float z = Z(o, j), s = sigmoid(z);
        const float e = z * s - Y(o, j);
        loss[static_cast<size_t>(o)] += double(e) * e;
        D(o, j) = e * s * (1.0f + z * (1.0f - s));  // error x SiLU'(z)
      }
    }
    for (int64_t o = 0; o < m; ++o) {
      const double l = loss[static_cast<size_t>(o)];
      if (it == 0) res.before += l;
      if (best[static_cast<size_t>(o)] < 0 || l < best[static_cast<size_t>(o)]) {
        best[static_cast<size_t>(o)] = l;
        best_w.row(o) = W.row(o);
        best_b(o) = B(o);
      }
    }
    if (it == opt.iterations) break;
    const RowMajorF gw = (D * X.transpose()).cwiseProduct(mask);
    const Eigen::VectorXf gb = D.rowwise().sum();
    const float t = static_cast<float>(it + 1);
    const float c1 = 1.0f - std::pow(kBeta1, t), c2 = 1.0f - std::pow(kBeta2, t);
    mw = kBeta1 * mw + (1 - kBeta1) * gw;
    vw = kBeta2 * vw + (1 - kBeta2) * gw.cwiseProduct(gw);
    mb = kBeta1 * mb + (1 - kBeta1) * gb;
    vb = kBeta2 * vb + (1 - kBeta2) * gb.cwiseProduct(gb);
    for (int64_t o = 0; o < m; ++o) {
      for (int64_t c = 0; c < k; ++c) {
        W(o, c) -= w_step(o) * (mw(o, c) / c1) / (std::sqrt(vw(o, c) / c2) + kEps) * mask(o, c);
      }
      B(o) -= b_step(o) * (mb(o) / c1) / (std::sqrt(vb(o) / c2) + kEps);
    }
  }
  W = best_w;
  B = best_b;
  for (double l : best) res.after += l;
  return res;
}

}  // namespace

SiluRefitResult silu_refit(std::span<float> w, std::span<float> bias, int64_t rows, std::span<const float> w0,
                           std::span<const float> b0, std::span<const float> x, std::span<const float> r, int64_t n,
                           const SiluRefitOptions& opt, ThreadPool* pool) {
  if (rows <= 0 || n <= 0 || w.size() % static_cast<size_t>(rows) != 0) throw Error("silu refit: bad shapes");
  const int64_t k = static_cast<int64_t>(w.size()) / rows;
  if (w0.size() != w.size() || bias.size() != static_cast<size_t>(rows) || b0.size() != bias.size() ||
      x.size() != static_cast<size_t>(k * n) || r.size() != x.size()) {
    throw Error("silu refit: bad shapes");
  }
  const Eigen::Map<const Eigen::MatrixXf> X(x.data(), k, n), R(r.data(), k, n);
  const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  std::vector<BlockResult> parts(static_cast<size_t>(blocks));
  auto run = [&](int64_t b) {
    const int64_t r0 = b * kBlockRows, m = std::min(kBlockRows, rows - r0);
    parts[static_cast<size_t>(b)] =
        refit_block(w.data() + r0 * k, bias.data() + r0, w0.data() + r0 * k, b0.data() + r0, m, k, X, R, opt);
  };
  if (pool) {
    pool->parallel_for_rethrowing(blocks, run);  // Eigen may throw std::bad_alloc
  } else {
    for (int64_t b = 0; b < blocks; ++b) run(b);
  }
  SiluRefitResult res;
  for (const BlockResult& p : parts) {
    res.error_before += p.before;
    res.error_after += p.after;
  }
  const double count = static_cast<double>(rows) * static_cast<double>(n);
  res.error_before /= count;
  res.error_after /= count;
  return res;
}

}  // namespace sp::prune
