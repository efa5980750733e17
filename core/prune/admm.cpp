#include "core/prune/admm.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/kernels/matmul_f64/matmul_f64.h"

namespace sp::prune {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// keep = 0 for the `remove` groups of smallest Σ v², 1 elsewhere.
void choose_mask(const RowMajorD& v, const PrunePattern& p, int64_t remove, std::vector<std::pair<double, int64_t>>& sal,
                 std::vector<uint8_t>& keep) {
  std::fill(keep.begin(), keep.end(), uint8_t{1});
  remove_smallest_groups(v.data(), v.rows(), v.cols(), p, remove, sal, [&](int64_t i) { keep[static_cast<size_t>(i)] = 0; });
}

// out = a * h for a rows x n and h n x n, both row-major (the solvers' one heavy operation).
void times_h(const RowMajorD& a, const double* h, RowMajorD& out, Isa isa) {
  out.resize(a.rows(), a.cols());
  kernels::matmul_f64(a.data(), a.cols(), h, a.cols(), out.data(), out.cols(), a.rows(), a.cols(), a.cols(), isa);
}

void apply_mask(RowMajorD& m, std::span<const uint8_t> keep) {
  double* d = m.data();
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) d[i] = 0.0;
  }
}

}  // namespace

AdmmSolver::AdmmSolver(const Hessian& h, const AdmmOptions& options, Isa isa) : n_(h.n), options_(options), isa_(isa) {
  if (!(options.damping > 0) || !(options.rho > 0)) throw Error("pruning: ADMM damping and rho must be positive");
  if (options.ramp_iterations < 1 || options.settle_iterations < 0 || options.refit_iterations < 0) {
    throw Error("pruning: ADMM needs at least one ramp iteration");
  }
  const double scale = checked_damping_scale(h);
  Eigen::Map<const RowMajorD> H(h.h.data(), h.n, h.n);
  damping_used_ = with_escalating_damping(options.damping, [&](double damping) {
    Eigen::MatrixXd Hd = H;
    Hd.diagonal().array() += damping * scale;
    const Eigen::VectorXd d = Hd.diagonal().array().sqrt();
    const Eigen::VectorXd inv_d = d.cwiseInverse();
    Eigen::MatrixXd Hn = inv_d.asDiagonal() * Hd * inv_d.asDiagonal();
    Hn = 0.5 * (Hn + Hn.transpose());
    if (Eigen::LLT<Eigen::MatrixXd>(Hn).info() != Eigen::Success) return false;
    Eigen::MatrixXd A = Hn;
    A.diagonal().array() += options.rho;
    Eigen::LLT<Eigen::MatrixXd> llt(A);
    if (llt.info() != Eigen::Success) return false;
    const Eigen::MatrixXd inv = llt.solve(Eigen::MatrixXd::Identity(h.n, h.n));
    if (!inv.allFinite()) return false;
    scale_.assign(d.data(), d.data() + d.size());
    h_unit_.resize(static_cast<size_t>(h.n * h.n));
    inverse_.resize(static_cast<size_t>(h.n * h.n));
    Eigen::Map<RowMajorD>(h_unit_.data(), h.n, h.n) = Hn;
    Eigen::Map<RowMajorD>(inverse_.data(), h.n, h.n) = 0.5 * (inv + inv.transpose());
    return true;
  });
}

double AdmmSolver::prune(std::span<float> w, int64_t rows, double sparsity, const PrunePattern& p) const {
  const int64_t n = n_;
  check_weight_shape(w, rows, n, p);
  Eigen::Map<const Eigen::VectorXd> d(scale_.data(), n);
  const RowMajorD target = Eigen::Map<const RowMajorF>(w.data(), rows, n).cast<double>() * d.asDiagonal();
  RowMajorD pull;  // the least-squares step's fixed part
  times_h(target, h_unit_.data(), pull, isa_);
  const int64_t groups = (rows / p.rows) * (n / p.cols);
  const int64_t total = groups_to_remove(groups, sparsity);
  const double rho = options_.rho;
  RowMajorD x = target, z = target, u = RowMajorD::Zero(rows, n), v(rows, n), step(rows, n);
  std::vector<uint8_t> keep(static_cast<size_t>(rows * n), 1);
  std::vector<std::pair<double, int64_t>> sal;
  const int ramp = options_.ramp_iterations, steps = ramp + options_.settle_iterations;
  for (int it = 0; it < steps; ++it) {
    if (it > 0) {
      step = pull + rho * (z - u);
      times_h(step, inverse_.data(), x, isa_);
    }
    v = x + u;
    if (it < ramp) {
      // Cubic ramp (Zhu & Gupta's gradual pruning): most weights go early, while the others can
      // still adapt; the last steps remove few.
      const double t = static_cast<double>(it + 1) / ramp;
      const double s = sparsity * (1.0 - (1.0 - t) * (1.0 - t) * (1.0 - t));
      const int64_t remove = it + 1 == ramp ? total : std::min(total, groups_to_remove(groups, s));
      choose_mask(v, p, remove, sal, keep);
    }
    z = v;
    apply_mask(z, keep);
    u += x - z;
  }
  const std::vector<double> refit =
      masked_least_squares(h_unit_, n, {target.data(), static_cast<size_t>(target.size())}, {z.data(), static_cast<size_t>(z.size())},
                           keep, rows, options_.refit_iterations, isa_);
  const Eigen::Map<const RowMajorD> result(refit.data(), rows, n);
  const RowMajorD delta = result - target;
  RowMajorD delta_h;
  times_h(delta, h_unit_.data(), delta_h, isa_);
  const double loss = 0.5 * (delta_h.array() * delta.array()).sum();
  Eigen::Map<RowMajorF> out(w.data(), rows, n);
  out = (result * d.cwiseInverse().asDiagonal()).cast<float>();
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) w[i] = 0.0f;
  }
  return loss;
}

std::vector<double> masked_least_squares(std::span<const double> h, int64_t n, std::span<const double> w,
                                         std::span<const double> start, std::span<const uint8_t> keep, int64_t rows,
                                         int iterations, Isa isa) {
  const size_t size = static_cast<size_t>(rows * n);
  if (static_cast<int64_t>(h.size()) != n * n || w.size() != size || start.size() != size || keep.size() != size) {
    throw Error("pruning: least-squares operands do not match");
  }
  Eigen::Map<const RowMajorD> W(w.data(), rows, n);
  RowMajorD x = Eigen::Map<const RowMajorD>(start.data(), rows, n);
  apply_mask(x, keep);
  // Per row: gradient of ½ (x - w)ᵀ H (x - w) is (x - w) H; the residual is its negative on the mask.
  RowMajorD r;
  times_h(W - x, h.data(), r, isa);
  apply_mask(r, keep);
  RowMajorD p = r, ap(rows, n);
  Eigen::VectorXd rs = r.rowwise().squaredNorm();
  const Eigen::VectorXd rs0 = rs;
  for (int it = 0; it < iterations; ++it) {
    if ((rs.array() <= 1e-16 * rs0.array()).all()) break;
    times_h(p, h.data(), ap, isa);
    apply_mask(ap, keep);
    const Eigen::VectorXd pap = (p.array() * ap.array()).rowwise().sum();
    Eigen::VectorXd alpha(rows), beta(rows);
    for (int64_t i = 0; i < rows; ++i) alpha(i) = pap(i) > 0 && rs(i) > 1e-16 * rs0(i) ? rs(i) / pap(i) : 0.0;
    x += alpha.asDiagonal() * p;
    r -= alpha.asDiagonal() * ap;
    const Eigen::VectorXd next = r.rowwise().squaredNorm();
    // A row that has converged (alpha 0) keeps a zero direction rather than one that grows.
    for (int64_t i = 0; i < rows; ++i) beta(i) = alpha(i) != 0.0 && rs(i) > 0 ? next(i) / rs(i) : 0.0;
    p = r + beta.asDiagonal() * p;
    rs = next;
  }
  return {x.data(), x.data() + x.size()};
}

}  // namespace sp::prune
