// One-shot pruning of one layer by ADMM with a gradually growing mask (Boža, "Fast and Effective
// Weight Update for Pruned Large Language Models", TMLR 2024), on the same objective as OBS:
// minimise tr((Ŵ - W) H (Ŵ - W)ᵀ) = ||W X - Ŵ X||² / samples subject to the pattern's sparsity.
//
// Why beside OBS: SparseGPT fixes each column block's mask before it sees how the columns to its
// right will compensate, and never revisits a decision; its kept weights are then not the least-
// squares optimum for its own mask either (each column is frozen once passed). ADMM splits the
// problem into a least-squares step on all weights (one n x n inverse, then a matrix product per
// iteration) and a projection onto the sparse set, and lets the mask change while the sparsity
// ramps up (cubic schedule, as gradual magnitude pruning), so a weight removed early can come back
// when its neighbours take over. It ends with the exact least-squares weights for the final mask.
//
// Everything runs in coordinates where H has a unit diagonal (w_j · sqrt(H_jj)): there the
// projection's "smallest magnitude" is Wanda's saliency |w_j| · ||x_j||, and one ρ suits every layer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "core/prune/obs.h"
#include "core/prune/pattern.h"

namespace sp::prune {

struct AdmmOptions {
  double damping = 0.01;  // as ObsOptions::damping: H + damping · mean(diag H) · I
  double rho = 1.0;       // ADMM penalty, relative to H's unit diagonal
  int ramp_iterations = 60;   // the sparsity grows from 0 to the target over these (mask re-chosen each one)
  int settle_iterations = 40; // then the mask stays and ADMM converges on it
  // Conjugate-gradient steps (at most) of the final least squares on the mask. After the settle
  // iterations ADMM is within ~1 % of that optimum in the objective (measured on YOLO11n-pose's convs:
  // 200 steps gained 0.1-1 %), so a few dozen steps take most of what is left at a fifth of the cost.
  int refit_iterations = 40;
};

class AdmmSolver final : public HessianPruner {
 public:
  // Throws sp::Error (one line) if H is not n x n, not finite, or cannot be factored even damped
  // (the damping is raised tenfold up to three times, as OBS does).
  // The n x n products run on `isa`'s kernels (kernels::matmul_f64; callers with a session pass its ISA):
  // the result differs between ISAs by rounding only.
  AdmmSolver(const Hessian& h, const AdmmOptions& options, Isa isa = best_isa());
  int64_t n() const { return n_; }
  double damping_used() const override { return damping_used_; }

  // The layer-wide mask (no column blocks); returns ½ tr(ΔW H_damped ΔWᵀ), the objective reached.
  double prune(std::span<float> w, int64_t rows, double sparsity, const PrunePattern& pattern) const override;

 private:
  int64_t n_ = 0;
  AdmmOptions options_;
  Isa isa_;
  double damping_used_ = 0;
  std::vector<double> scale_;      // sqrt of the damped H's diagonal
  std::vector<double> h_unit_;     // D⁻¹ H_damped D⁻¹, row-major n x n
  std::vector<double> inverse_;    // (h_unit + ρ I)⁻¹, row-major n x n
};

// The least-squares weights for a fixed mask: for each row r, minimises (ŵ - w)ᵀ H (ŵ - w) over the
// entries whose mask is 1 (the others stay exactly 0), by conjugate gradients started at `start`.
// H is row-major n x n, symmetric positive definite; w, start and the result are rows x n row-major.
// Stops when every row's residual has shrunk by 1e-8 or after `iterations` steps.
std::vector<double> masked_least_squares(std::span<const double> h, int64_t n, std::span<const double> w,
                                         std::span<const double> start, std::span<const uint8_t> keep, int64_t rows,
                                         int iterations, Isa isa = best_isa());

}  // namespace sp::prune
