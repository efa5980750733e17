// The measurements behind the `sensitivity` profile: each prunable conv pruned ALONE (from the float
// model's inputs) at a few sparsity levels around the target, the damage of each such model measured
// by the caller (the command measures pose agreement with the float model; nothing here knows about
// poses), giving the per-layer damage curves allocation.h turns into per-layer sparsities.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/prune/allocation.h"
#include "core/prune/layer_inputs.h"
#include "core/prune/one_shot.h"
#include "core/prune/prunable_model.h"

namespace sp::prune {

// Damage of a candidate model (the float model with one conv pruned), >= 0.
using GraphDamageFn = std::function<double(const Graph& candidate)>;

// The levels each layer is measured at: the target and steps of 0.1 around it (target - 0.2 .. target
// + 0.2), kept in [0.05, 0.99]: the allocation moves layers within ±0.2 of uniform, where the single-
// layer damages say something about the pruned model (far from it they do not add up).
std::vector<double> sensitivity_levels(double target);

struct SensitivityOptions {
  PruneMethod method = PruneMethod::kObs;
  PrunePattern pattern;
  ObsOptions obs;
  AdmmOptions admm;
  int64_t max_patches_per_frame = 1024;
  uint64_t sampling_seed = 0;  // StatisticsRequest::sampling_seed
  std::vector<double> levels;
};

// Frames 0..frames-1 of `fill` feed the float model's Hessians (OBS and ADMM). `graph` is left as given.
std::vector<LayerCurve> measure_layer_damage(const PrunableModel& model, Graph& graph, const std::vector<std::string>& convs,
                                             const SensitivityOptions& options, const SessionOptions& session,
                                             size_t frames, const FrameFiller& fill, const GraphDamageFn& damage,
                                             const ProgressFn& progress = {});

}  // namespace sp::prune
