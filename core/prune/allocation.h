// Per-layer sparsities for a global target, by damage per millisecond saved (the `sensitivity`
// profile) or by damage per weight removed (the `accuracy` profile). Pure search over numbers the
// caller measured: per layer, the damage of pruning it alone at a few sparsity levels, and its cost
// model.
//
// Global sparsity is measured over the prunable weights: Σ_l s_l · n_l / Σ_l n_l over the layers
// given (the convs that may be pruned; dense-kept ones are not in the sum).
//
// Greedy, from every layer dense: each step moves one layer up to one of its higher levels, the
// move with the least added damage per added millisecond saved (per added weight removed when a move
// saves no time, or always with kDamagePerWeight), until the target is reached; the last move stops
// part-way (the pruner can hit any sparsity), so the target is met exactly. Damage curves are first made non-decreasing (a noisy
// measure must not make a higher sparsity look free).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/prune/layer_cost.h"

namespace sp::prune {

struct LayerCurve {
  std::string conv;
  int64_t weights = 0;
  std::vector<double> levels;  // ascending sparsities in (0, 1)
  std::vector<double> damage;  // measured damage at each level (same size)
};

// What a move is worth. The global target counts weights, so per weight is the allocation that loses
// the least accuracy for it; per millisecond is the one that buys the most speed for its damage (it
// prunes the high-resolution layers, where a weight costs the most multiply-adds, and those are the
// sensitive ones).
enum class AllocationObjective { kDamagePerMsSaved, kDamagePerWeight };

struct AllocationStep {
  std::string conv;
  double from = 0, to = 0;
  double ratio = 0;  // the damage per ms saved or per weight removed that chose this move
};

struct Allocation {
  std::vector<double> sparsity;  // per layer, same order as the curves
  double global = 0;             // achieved, over the layers' weights
  double predicted_damage = 0;   // Σ of the layers' (interpolated) damages: an additive model
  double modelled_ms_saved = 0;  // Σ dense - sparse at the chosen sparsities
  std::vector<AllocationStep> steps;
};

// Throws sp::Error when the target is not in (0, 1) or cannot be reached with the levels given.
Allocation allocate_sparsity(const std::vector<LayerCurve>& layers, double target, const LayerCostModel& cost,
                             AllocationObjective objective = AllocationObjective::kDamagePerMsSaved);

}  // namespace sp::prune
