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
#include "core/session.h"

namespace sp::prune {

// A candidate model: the float model with one conv pruned. With the damage frames' float activations
// cached (DamageFrames), `graph` is cut at the float model's frontier before that conv: its inputs
// after the image are float values that `feed` copies into a session of it for each damage frame
// (0, 1, ... as DamageFrames::fill numbers them), and only what depends on them is computed.
struct DamageCandidate {
  const Graph* graph = nullptr;
  std::function<void(Session& session, size_t frame)> feed;  // empty: a whole graph, nothing to feed
  bool reads_image = true;  // false: nothing left in `graph` reads the image, no need to fill it
};
// Damage of a candidate model, >= 0.
using GraphDamageFn = std::function<double(const DamageCandidate& candidate)>;

// The frames the damage function runs, so that the float model's activations on them can be cached
// and each candidate run from where it first differs (about half a forward pass saved per candidate).
// The cut candidates give the damage function bit-identical outputs. `kept`: output values the
// candidate graphs must still compute with their producers (WaveRunner's `kept`: the pose head's).
struct DamageFrames {
  size_t count = 0;
  FrameFiller fill;
  std::vector<std::string> kept;
};

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
// Without `damage_frames` every candidate is the whole graph.
std::vector<LayerCurve> measure_layer_damage(const PrunableModel& model, Graph& graph, const std::vector<std::string>& convs,
                                             const SensitivityOptions& options, const SessionOptions& session,
                                             size_t frames, const FrameFiller& fill, const GraphDamageFn& damage,
                                             const ProgressFn& progress = {}, const DamageFrames* damage_frames = nullptr);

}  // namespace sp::prune
