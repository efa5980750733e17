// One-shot pruning of one layer's weight matrix, as pure arithmetic (no graph, no I/O):
//  - magnitude: remove the groups of smallest squared norm;
//  - OBS in the SparseGPT formulation (Frantar & Alistarh 2023, after Optimal Brain Surgeon and
//    Optimal Brain Compression): minimise ||W X - Ŵ X||² for the layer inputs X seen on calibration
//    data, through H = X Xᵀ. Columns are visited left to right in blocks of `block_cols`; at the start
//    of each block the groups to remove are chosen by OBS saliency w² / [U]_jj² (U the upper Cholesky
//    factor of H⁻¹, so [U]_jj² is the inverse-Hessian diagonal with the earlier columns eliminated),
//    and as each column is removed the still-free weights to its right absorb its error
//    (W[:, j:] -= (w_j - q_j) / U_jj · U[j, j:]), lazily batched across blocks.
// W is [rows = output channels] x [cols = K], row-major, K in the pattern's column order (see pattern.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "core/prune/pattern.h"

namespace sp::prune {

// H = (1/samples) Σ x xᵀ over calibration patches x (n = K), symmetric, row-major n x n.
struct Hessian {
  int64_t n = 0;
  std::vector<double> h;
  int64_t samples = 0;
};

struct ObsOptions {
  // Dampening λ: H + λ · mean(diag H) · I before inversion (SparseGPT's 1 %), so a rank-deficient H
  // (fewer patches than K, dead input channels, zero padding taps) still inverts; raised tenfold up
  // to three times if the Cholesky factorisation still fails.
  double damping = 0.01;
  int block_cols = 128;  // SparseGPT's column block: mask choice and lazy update granularity
};

// Shared by the Hessian pruners (OBS, ADMM).
// Throws sp::Error (one line) unless h is a finite n x n matrix; returns the scale damping is relative to:
// mean(diag H), or 1 for an all-zero H (a layer whose input is always zero has no scale of its own).
double checked_damping_scale(const Hessian& h);
// Calls factor(d) with d = damping, then tenfold up to three times, until it returns true (H + d · scale · I
// factored); returns that d, or throws "the Hessian cannot be factored even with damping …".
double with_escalating_damping(double damping, const std::function<bool(double)>& factor);
// Throws sp::Error unless w holds rows x cols values and the pattern tiles that matrix.
void check_weight_shape(std::span<const float> w, int64_t rows, int64_t cols, const PrunePattern& pattern);

// Moves the `count` smallest (saliency, index) pairs to the front, ties broken by index so that results
// never depend on the selection algorithm; returns count clamped to [0, s.size()], how many are in front.
int64_t select_smallest(std::vector<std::pair<double, int64_t>>& s, int64_t count);

// The `count` groups of the pattern with the smallest Σ x² over the row-major rows x cols matrix m
// (ties: the lower group index first, so the choice never depends on the selection algorithm); calls
// remove(i) for the flat index i of every element of each. Magnitude pruning and ADMM's projection.
// `scratch` is reused between calls. The shape must fit (check_weight_shape).
template <class T, class Remove>
void remove_smallest_groups(const T* m, int64_t rows, int64_t cols, const PrunePattern& p, int64_t count,
                            std::vector<std::pair<double, int64_t>>& scratch, Remove remove) {
  const int64_t group_cols = cols / p.cols;
  scratch.clear();
  for (int64_t gr = 0; gr < rows / p.rows; ++gr) {
    for (int64_t gc = 0; gc < group_cols; ++gc) {
      double s = 0;
      for (int64_t r = gr * p.rows; r < (gr + 1) * p.rows; ++r) {
        for (int64_t c = gc * p.cols; c < (gc + 1) * p.cols; ++c) s += double(m[r * cols + c]) * double(m[r * cols + c]);
      }
      scratch.emplace_back(s, gr * group_cols + gc);
    }
  }
  count = select_smallest(scratch, count);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t gr = scratch[static_cast<size_t>(k)].second / group_cols, gc = scratch[static_cast<size_t>(k)].second % group_cols;
    for (int64_t r = gr * p.rows; r < (gr + 1) * p.rows; ++r) {
      for (int64_t c = gc * p.cols; c < (gc + 1) * p.cols; ++c) remove(r * cols + c);
    }
  }
}

// How many groups of `groups` a sparsity removes: round(sparsity * groups), the same for every method,
// so every layer's sparsity is exact to one group.
int64_t groups_to_remove(int64_t groups, double sparsity);

// A layer pruner that works from the layer's Hessian (OBS, ADMM): built once per layer, then any
// number of prunes (the sensitivity pass prunes the same layer at several sparsities).
class HessianPruner {
 public:
  virtual ~HessianPruner() = default;
  virtual double damping_used() const = 0;
  // Prunes w (rows x n, row-major) in place to exactly groups_to_remove(groups, sparsity) zero groups
  // of the pattern (the removed weights exactly 0.0f) and updates the others. rows % pattern.rows and
  // n % pattern.cols must be 0 (sp::Error otherwise). Returns the method's loss (see each method).
  virtual double prune(std::span<float> w, int64_t rows, double sparsity, const PrunePattern& pattern) const = 0;
};

// The OBS solver of one layer: H damped, inverted and factored once.
class ObsSolver final : public HessianPruner {
 public:
  // Throws sp::Error (one line) if H is not n x n, not finite, or cannot be factored even damped.
  ObsSolver(const Hessian& h, const ObsOptions& options);
  int64_t n() const { return n_; }
  double damping_used() const override { return damping_used_; }

  // Each column block removes its share of the groups (cumulative rounding: block sparsities differ
  // by at most one group from the layer's). Returns the OBS loss: Σ over removed weights of the
  // predicted increase of ½||W X - Ŵ X||² / samples.
  double prune(std::span<float> w, int64_t rows, double sparsity, const PrunePattern& pattern) const override;

 private:
  int64_t n_ = 0;
  int block_cols_ = 128;
  double damping_used_ = 0;
  std::vector<double> u_;  // upper Cholesky factor of (H + damping)⁻¹, column-major n x n
};

// The dense weights that best reproduce a reference layer's outputs from the inputs this layer
// actually gets: argmin_V ||W R - V X||² + ridge, i.e. V = W + W (G - H)(H + δ I)⁻¹ with H = E[x xᵀ],
// G = E[r xᵀ] (K x K row-major) and δ = damping · mean(diag H). With R = X it returns W unchanged.
// Pruning V with OBS on H then minimises ||W R - Ŵ X||²: each layer also makes up for what the
// already pruned layers before it changed in its inputs, instead of only for its own removals.
void refit_to_reference(std::span<float> w, int64_t rows, const Hessian& h, std::span<const double> cross, double damping);

// Magnitude pruning: zeroes the groups_to_remove(groups, sparsity) groups of smallest Σ w² over the
// whole layer (ties: the earlier group first). Nothing else changes.
void magnitude_prune(std::span<float> w, int64_t rows, int64_t cols, double sparsity, const PrunePattern& pattern);

// tr(ΔW H ΔWᵀ) / tr(W H Wᵀ), ΔW = reference - pruned: the layer's output error on the calibration
// inputs relative to its output energy (0 when W H Wᵀ has zero trace).
double relative_output_error(std::span<const float> reference, std::span<const float> pruned, int64_t rows,
                             const Hessian& h);

// Groups of the pattern whose weights are all exactly zero.
int64_t zero_groups(std::span<const float> w, int64_t rows, int64_t cols, const PrunePattern& pattern);

}  // namespace sp::prune
