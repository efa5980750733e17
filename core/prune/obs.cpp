#include "core/prune/obs.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/error.h"

namespace sp::prune {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

int64_t select_smallest(std::vector<std::pair<double, int64_t>>& s, int64_t count) {
  count = std::clamp<int64_t>(count, 0, static_cast<int64_t>(s.size()));
  if (count > 0 && count < static_cast<int64_t>(s.size())) std::nth_element(s.begin(), s.begin() + count, s.end());
  return count;
}

int64_t groups_to_remove(int64_t groups, double sparsity) {
  if (!(sparsity >= 0 && sparsity <= 1)) throw Error("pruning: sparsity " + std::to_string(sparsity) + " is not in [0, 1]");
  return std::clamp<int64_t>(std::llround(sparsity * static_cast<double>(groups)), 0, groups);
}

double checked_damping_scale(const Hessian& h) {
  if (h.n <= 0 || static_cast<int64_t>(h.h.size()) != h.n * h.n) throw Error("pruning: Hessian is not square");
  Eigen::Map<const RowMajorD> H(h.h.data(), h.n, h.n);
  if (!H.allFinite()) throw Error("pruning: Hessian has non-finite values (non-finite activations?)");
  const double mean_diag = H.diagonal().mean();
  return mean_diag > 0 ? mean_diag : 1.0;
}

double with_escalating_damping(double damping, const std::function<bool(double)>& factor) {
  for (int attempt = 0; attempt < 4; ++attempt, damping *= 10) {
    if (factor(damping)) return damping;
  }
  throw Error("pruning: the Hessian cannot be factored even with damping " + std::to_string(damping / 10));
}

void check_weight_shape(std::span<const float> w, int64_t rows, int64_t cols, const PrunePattern& p) {
  if (rows <= 0 || cols <= 0 || static_cast<int64_t>(w.size()) != rows * cols) {
    throw Error("pruning: weight matrix of " + std::to_string(w.size()) + " values is not " + std::to_string(rows) +
                " x " + std::to_string(cols));
  }
  if (rows % p.rows != 0 || cols % p.cols != 0) {
    throw Error("pruning: pattern " + p.name() + " does not tile a " + std::to_string(rows) + " x " +
                std::to_string(cols) + " weight matrix");
  }
}

ObsSolver::ObsSolver(const Hessian& h, const ObsOptions& options) : n_(h.n), block_cols_(options.block_cols) {
  if (options.block_cols < 1) throw Error("pruning: column block must be at least 1");
  if (!(options.damping > 0)) throw Error("pruning: damping must be positive");
  const double scale = checked_damping_scale(h);
  Eigen::Map<const RowMajorD> H(h.h.data(), h.n, h.n);
  damping_used_ = with_escalating_damping(options.damping, [&](double damping) {
    Eigen::MatrixXd Hd = H;
    Hd.diagonal().array() += damping * scale;
    Eigen::LLT<Eigen::MatrixXd> llt(Hd);
    if (llt.info() != Eigen::Success) return false;
    Eigen::MatrixXd inv = llt.solve(Eigen::MatrixXd::Identity(h.n, h.n));
    inv = 0.5 * (inv + inv.transpose());  // symmetric to rounding before the second factorisation
    Eigen::LLT<Eigen::MatrixXd> llt_inv(inv);
    if (llt_inv.info() != Eigen::Success) return false;
    Eigen::MatrixXd U = llt_inv.matrixU();
    if (!U.allFinite() || (U.diagonal().array() <= 0).any()) return false;
    u_.assign(U.data(), U.data() + U.size());
    return true;
  });
}

double ObsSolver::prune(std::span<float> w, int64_t rows, double sparsity, const PrunePattern& p) const {
  const int64_t n = n_;
  check_weight_shape(w, rows, n, p);
  Eigen::Map<const Eigen::MatrixXd> U(u_.data(), n, n);
  Eigen::MatrixXd W = Eigen::Map<const RowMajorF>(w.data(), rows, n).cast<double>();
  const int64_t group_rows = rows / p.rows;
  const int64_t total = groups_to_remove(group_rows * (n / p.cols), sparsity);
  const int64_t block = (block_cols_ + p.cols - 1) / p.cols * p.cols;  // whole groups per block
  std::vector<uint8_t> mask(static_cast<size_t>(rows * n), 0);         // column-major, 1 = removed
  Eigen::MatrixXd err(rows, block);
  std::vector<std::pair<double, int64_t>> sal;
  int64_t removed = 0;
  double loss = 0;
  for (int64_t i1 = 0; i1 < n; i1 += block) {
    const int64_t i2 = std::min(n, i1 + block), cnt = i2 - i1;
    // This block's share of the layer's groups, by cumulative rounding over columns.
    const int64_t want = std::llround(static_cast<double>(total) * static_cast<double>(i2) / static_cast<double>(n)) - removed;
    sal.clear();
    for (int64_t gc = i1 / p.cols; gc < i2 / p.cols; ++gc) {
      for (int64_t gr = 0; gr < group_rows; ++gr) {
        double s = 0;
        for (int64_t c = gc * p.cols; c < (gc + 1) * p.cols; ++c) {
          const double d = U(c, c);
          for (int64_t r = gr * p.rows; r < (gr + 1) * p.rows; ++r) s += W(r, c) * W(r, c) / (d * d);
        }
        sal.emplace_back(s, gc * group_rows + gr);
      }
    }
    const int64_t take = select_smallest(sal, want);
    for (int64_t k = 0; k < take; ++k) {
      const int64_t gc = sal[static_cast<size_t>(k)].second / group_rows, gr = sal[static_cast<size_t>(k)].second % group_rows;
      for (int64_t c = gc * p.cols; c < (gc + 1) * p.cols; ++c) {
        for (int64_t r = gr * p.rows; r < (gr + 1) * p.rows; ++r) mask[static_cast<size_t>(c * rows + r)] = 1;
      }
    }
    removed += take;
    for (int64_t i = i1; i < i2; ++i) {
      const double d = U(i, i);
      for (int64_t r = 0; r < rows; ++r) {
        const bool gone = mask[static_cast<size_t>(i * rows + r)] != 0;
        const double e = gone ? W(r, i) / d : 0.0;
        loss += e * e / 2;
        err(r, i - i1) = e;
      }
      // Compensate the remaining weights of this block; column i itself becomes exactly q.
      W.block(0, i, rows, i2 - i).noalias() -= err.col(i - i1) * U.row(i).segment(i, i2 - i);
      for (int64_t r = 0; r < rows; ++r) {
        if (mask[static_cast<size_t>(i * rows + r)]) W(r, i) = 0.0;
      }
    }
    if (i2 < n) W.rightCols(n - i2).noalias() -= err.leftCols(cnt) * U.block(i1, i2, cnt, n - i2);
  }
  Eigen::Map<RowMajorF> out(w.data(), rows, n);
  out = W.cast<float>();
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t r = 0; r < rows; ++r) {
      if (mask[static_cast<size_t>(c * rows + r)]) out(r, c) = 0.0f;
    }
  }
  return loss;
}

void refit_to_reference(std::span<float> w, int64_t rows, const Hessian& h, std::span<const double> cross, double damping) {
  const int64_t n = h.n;
  if (static_cast<int64_t>(w.size()) != rows * n || static_cast<int64_t>(cross.size()) != n * n) {
    throw Error("pruning: reference statistics do not match the layer");
  }
  Eigen::Map<const RowMajorD> H(h.h.data(), n, n), G(cross.data(), n, n);
  const double mean_diag = H.diagonal().mean();
  Eigen::MatrixXd Hd = H;
  Hd.diagonal().array() += damping * (mean_diag > 0 ? mean_diag : 1.0);
  Eigen::LLT<Eigen::MatrixXd> llt(Hd);
  if (llt.info() != Eigen::Success) throw Error("pruning: the Hessian cannot be factored for the reference refit");
  Eigen::MatrixXd W = Eigen::Map<const RowMajorF>(w.data(), rows, n).cast<double>();
  const Eigen::MatrixXd A = W * (G - H);                      // rows x n
  const Eigen::MatrixXd V = W + llt.solve(A.transpose()).transpose();  // (H + δ)⁻¹ symmetric
  if (!V.allFinite()) throw Error("pruning: the reference refit is not finite");
  Eigen::Map<RowMajorF>(w.data(), rows, n) = V.cast<float>();
}

void magnitude_prune(std::span<float> w, int64_t rows, int64_t cols, double sparsity, const PrunePattern& p) {
  check_weight_shape(w, rows, cols, p);
  std::vector<std::pair<double, int64_t>> sal;
  const int64_t total = groups_to_remove(rows / p.rows * (cols / p.cols), sparsity);
  remove_smallest_groups(w.data(), rows, cols, p, total, sal, [&](int64_t i) { w[static_cast<size_t>(i)] = 0.0f; });
}

double relative_output_error(std::span<const float> reference, std::span<const float> pruned, int64_t rows, const Hessian& h) {
  if (static_cast<int64_t>(reference.size()) != rows * h.n || pruned.size() != reference.size()) {
    throw Error("pruning: weight matrices do not match the Hessian");
  }
  Eigen::Map<const RowMajorD> H(h.h.data(), h.n, h.n);
  Eigen::MatrixXd W = Eigen::Map<const RowMajorF>(reference.data(), rows, h.n).cast<double>();
  Eigen::MatrixXd D = W - Eigen::Map<const RowMajorF>(pruned.data(), rows, h.n).cast<double>();
  const double energy = ((W * H).array() * W.array()).sum();
  const double error = ((D * H).array() * D.array()).sum();
  return energy > 0 ? error / energy : 0.0;
}

int64_t zero_groups(std::span<const float> w, int64_t rows, int64_t cols, const PrunePattern& p) {
  check_weight_shape(w, rows, cols, p);
  int64_t zeros = 0;
  for (int64_t gr = 0; gr < rows / p.rows; ++gr) {
    for (int64_t gc = 0; gc < cols / p.cols; ++gc) {
      bool all = true;
      for (int64_t r = gr * p.rows; r < (gr + 1) * p.rows && all; ++r) {
        for (int64_t c = gc * p.cols; c < (gc + 1) * p.cols && all; ++c) all = w[static_cast<size_t>(r * cols + c)] == 0.0f;
      }
      zeros += all;
    }
  }
  return zeros;
}

}  // namespace sp::prune
