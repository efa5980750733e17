// One-shot pruning of a whole model, layer by layer in model order (SparseGPT's sequential scheme):
// each conv's statistics come from the model whose earlier convs are already pruned (and
// bias-corrected), gathered wave by wave (layer_inputs.h). Optionally each conv's bias is then
// re-fitted so that its mean output on the calibration frames matches the float model's:
// b' = b + W · E[x_float] - Ŵ · E[x_pruned] (OBS then works on centered statistics: with a free bias
// the mean is not the weights' job). Optionally (float_target) OBS or ADMM aims at the float model's outputs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/prune/admm.h"
#include "core/prune/layer_inputs.h"
#include "core/prune/obs.h"
#include "core/prune/pattern.h"
#include "core/prune/prunable_model.h"
#include "core/prune/silu_refit.h"
#include "core/session.h"

namespace sp::prune {

enum class PruneMethod { kObs, kAdmm, kMagnitude };
PruneMethod parse_prune_method(const std::string& name);  // "obs" | "admm" | "magnitude"; throws sp::Error
const char* prune_method_name(PruneMethod m);
// OBS and ADMM prune from each layer's Hessian (calibration data); magnitude needs none.
inline bool uses_hessian(PruneMethod m) { return m != PruneMethod::kMagnitude; }

// The method's pruner for one layer's Hessian (damping, ρ … from the options; its products on `isa`, the
// session's); nullptr for magnitude.
std::unique_ptr<HessianPruner> make_hessian_pruner(PruneMethod method, const Hessian& h, const ObsOptions& obs,
                                                   const AdmmOptions& admm, Isa isa);

struct LayerTarget {
  std::string conv;
  double sparsity = 0;  // 0: not pruned (still bias-corrected when that is on)
};

struct OneShotOptions {
  PruneMethod method = PruneMethod::kObs;
  PrunePattern pattern;
  ObsOptions obs;
  AdmmOptions admm;
  bool bias_correction = false;
  // OBS towards the float model's outputs (refit_to_reference before pruning) instead of towards this
  // layer's own dense output on its drifted inputs; needs the float model run beside the pruned one.
  bool float_target = false;
  // With float_target: the listed convs that are not pruned (target 0, ungrouped) are refitted too,
  // dense, so the layers kept dense after pruned ones (the head) also make up for their drifted inputs.
  // Not offered by the CLI: measured at stop 20 (admm 50 %, accuracy profile; the head and the layers
  // the profile kept dense refitted) it cost 0.054 pose AP on the dev set (box unchanged): a least-squares fit over random pixels, background
  // mostly, is not what the keypoint outputs need (docs/PRUNING.md).
  bool refit_dense = false;
  // With float_target: after pruning, each conv followed by a SiLU is refitted through it (silu_refit.h)
  // on the pixels its Hessian samples (all of them: with fewer the refit overfits, silu_refit.h).
  bool silu_refit = false;
  SiluRefitOptions silu;
  // Hessian patches per frame and conv (output pixels drawn at random): K² work each. At 640 the
  // largest maps have 25600 pixels; 1024 per frame x 32+ frames gives >= 28 patches per column for
  // the widest conv here (K = 1152) and keeps the Hessians to about a second per frame.
  int64_t max_patches_per_frame = 1024;
  // Which pixels the Hessians sample (StatisticsRequest::sampling_seed): 0, the standard draw, or another.
  uint64_t sampling_seed = 0;
};

struct LayerResult {
  std::string conv;
  double target = 0;            // sparsity asked
  int64_t weights = 0, zeros = 0;
  double output_error = -1;     // relative_output_error on the layer's calibration inputs; -1: not measured
  double obs_loss = 0;
  double damping = 0;           // the damping OBS used (0 for magnitude)
  int64_t hessian_samples = 0;
  bool bias_corrected = false;
  double silu_error_before = -1, silu_error_after = -1;  // silu_refit's; -1: not refitted
  double bias_shift_rms = 0;    // RMS of b' - b over output channels
  int wave = 0;
};

// Prunes (and corrects) `layers` of `model` in place; `graph` is the same model imported (its conv
// constants are updated as it goes). Frames 0..frames-1 come from `fill`. Layers with a target must
// be ungrouped and fit the pattern (sp::Error otherwise). Magnitude without bias correction reads no
// frame at all.
std::vector<LayerResult> prune_one_shot(PrunableModel& model, Graph& graph, const std::vector<LayerTarget>& layers,
                                        const OneShotOptions& options, const SessionOptions& session, size_t frames,
                                        const FrameFiller& fill, const ProgressFn& progress = {});

// Prunes one layer's matrix (O x K) with the method: OBS and ADMM need `solver`.
void prune_matrix(std::vector<float>& w, const ConvLayer& layer, double sparsity, PruneMethod method,
                  const PrunePattern& pattern, const HessianPruner* solver, double* obs_loss = nullptr);

}  // namespace sp::prune
