// `optimize --prune S`: one-shot pruning of a float pose model without retraining (core/prune/):
// OBS (SparseGPT's formulation) or magnitude, layer by layer in model order on calibration frames
// letterboxed as inference does, with per-layer sparsities uniform or chosen by label-free pose
// damage per millisecond saved. The first conv and the pose head's branches stay dense unless asked.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "app/calibration_frames.h"
#include "core/graph.h"
#include "models/pose_model.h"

namespace sp::app {

struct PruneOptions {
  double sparsity = 0;                 // global target over the prunable weights, (0, 0.99]
  std::string method = "obs";          // obs | admm | magnitude
  std::string pattern = "unstructured";
  std::string profile = "uniform";     // uniform | sensitivity | accuracy
  bool prune_first = false;
  bool prune_head = false;
  bool bias_correction = false;
  bool float_target = false;
  bool silu_refit = false;
  bool mirror = false;
  // The Hessians' pixel draw (core/prune/layer_inputs.h): 0 the standard one; others measure the spread.
  uint64_t sampling_seed = 0;
};

struct PruneResult {
  std::string bytes;              // the pruned float model
  nlohmann::ordered_json report;  // the "pruning" object of the --report JSON
  std::string summary;            // one line for stderr
};

// Throws sp::Error (one line) for a bad option.
void check_prune_options(const PruneOptions& o);
// Throws sp::Error (one line) when the model is quantized or has no conv pruning could touch: checked
// before anything pose-specific, so such a model gets that message rather than a pose one.
void check_prunable(const std::string& model_bytes, const std::string& origin);
// `graph` is `model_bytes` imported. Throws sp::Error (one line) for a model that cannot be pruned
// as asked (quantized, no prunable conv, a pattern that does not fit a layer, not a pose model).
PruneResult prune_pose_model(const std::string& model_bytes, const std::string& origin, const Graph& graph,
                             const CalibrationFrames& calib, const PruneOptions& o, const models::PoseModelOptions& po,
                             int in_w, int in_h);

}  // namespace sp::app
