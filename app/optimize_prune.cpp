#include "app/optimize_prune.h"

#include <cstdio>
#include <map>
#include <set>
#include <span>

#include <opencv2/core.hpp>

#include "app/optimize_common.h"
#include "app/pose_head_convs.h"
#include "core/error.h"
#include "core/onnx_import.h"
#include "core/prune/allocation.h"
#include "core/prune/layer_cost.h"
#include "core/prune/one_shot.h"
#include "core/prune/pattern.h"
#include "core/prune/prunable_model.h"
#include "core/prune/sensitivity.h"
#include "models/pose_head.h"
#include "imaging/preprocess.h"

namespace sp::app {
namespace {

using namespace sp::prune;

constexpr double kMaxSparsity = 0.99;
// Sensitivity: each layer alone at five levels, its pose damage on this many frames (the measure is
// smooth, as for int8), and the float model's Hessians for those prunes from this many frames. The
// accuracy profile spends three times the frames: ranking layers by damage per weight puts the wide
// layers' small damages against each other, where 8 frames are noisy (obs 50 %: 0.506 pose AP with 8,
// 0.512 with 24; the pass takes ~3x as long).
constexpr int kSensitivityDamageFrames = 8;
constexpr int kAccuracyDamageFrames = 24;
constexpr int kSensitivityHessianFrames = 16;
// The pruned model's own damage against the float model, reported (one evaluation).
constexpr int kReportDamageFrames = 16;
constexpr int kTimingRuns = 5;

std::string role_of(const ConvLayer& c, const std::set<std::string>& head) {
  if (c.after_outputs) return "decode tail";
  if (!c.prunable_shape()) return "grouped";
  if (c.reads_graph_input) return "first";
  if (head.count(c.name)) return "head";
  return "body";
}

// The graph up to the head outputs (what PoseModel runs): the exported decode tail is built for the
// export size only (its anchors are constants), so at another --imgsz it cannot even be shaped, and it
// holds nothing to prune.
Graph up_to(const Graph& graph, const std::vector<std::string>& outputs) {
  Graph g = graph;
  g.outputs.clear();
  for (const auto& name : outputs) g.outputs.push_back(g.find_value(name));
  g.remove_dead_nodes();
  return g;
}

bool selected(const std::string& role, const PruneOptions& o) {
  return role == "body" || (role == "first" && o.prune_first) || (role == "head" && o.prune_head);
}

}  // namespace

void check_prune_options(const PruneOptions& o) {
  if (!(o.sparsity > 0 && o.sparsity <= kMaxSparsity)) {
    throw Error("--prune: sparsity must be in (0, 0.99], got " + std::to_string(o.sparsity));
  }
  parse_prune_method(o.method);
  PrunePattern::parse(o.pattern);
  if (o.profile != "uniform" && o.profile != "sensitivity" && o.profile != "accuracy") {
    throw Error("--sparsity-profile: unknown profile '" + o.profile + "' (uniform, sensitivity or accuracy)");
  }
  if (o.silu_refit && (!o.float_target || !uses_hessian(parse_prune_method(o.method)))) {
    throw Error("--silu-refit needs --float-target and --prune-method obs or admm (it fits the float model's outputs)");
  }
}

void check_prunable(const std::string& model_bytes, const std::string& origin) {
  PrunableModel::from_bytes(model_bytes, origin);
}

PruneResult prune_pose_model(const std::string& model_bytes, const std::string& origin, const Graph& graph,
                             const CalibrationFrames& calib, const PruneOptions& o, const models::PoseModelOptions& po,
                             int in_w, int in_h) {
  const auto t_start = OptimizeClock::now();
  check_prune_options(o);
  const PruneMethod method = parse_prune_method(o.method);
  const PrunePattern pattern = PrunePattern::parse(o.pattern);
  PrunableModel pm = PrunableModel::from_bytes(model_bytes, origin);
  std::optional<models::PoseHead> head = models::find_pose_head(graph);
  if (!head) throw Error(origin + ": not a pose model (no YOLO pose head found)");
  pm.mark_tail(head->output_names());
  const std::set<std::string> head_convs = pose_head_convs(graph, *head);

  // Which convs may be pruned; the pattern must fit every one of them before any work starts.
  std::map<std::string, std::string> role;
  std::vector<std::string> chosen;
  int64_t prunable_weights = 0;
  std::map<std::string, int> role_count;
  for (const ConvLayer& c : pm.convs()) {
    role[c.name] = role_of(c, head_convs);
    ++role_count[role[c.name]];
    if (!selected(role[c.name], o)) continue;
    const std::string misfit = pattern.misfit(c.out_channels, c.in_channels);
    if (!misfit.empty()) throw Error("--pattern " + pattern.name() + ": conv '" + c.name + "' (" + role[c.name] + "): " + misfit);
    chosen.push_back(c.name);
    prunable_weights += c.weights();
  }
  // Zeros the float model already has (BN folding leaves some exact zeros): pruning removes them first,
  // for free, so a layer's final zeros are max(its target's, these).
  std::map<std::string, int64_t> zeros_before;
  int64_t prunable_zeros_before = 0;
  for (const ConvLayer& c : pm.convs()) {
    int64_t z = 0;
    for (float v : pm.matrix(c.name)) z += v == 0.0f;
    zeros_before[c.name] = z;
    if (selected(role[c.name], o) && c.prunable_shape()) prunable_zeros_before += z;
  }
  if (chosen.empty()) {
    throw Error(origin + ": no prunable convolution left (" + std::to_string(role_count["first"]) + " first, " +
                std::to_string(role_count["head"]) + " head, " + std::to_string(role_count["grouped"]) +
                " grouped; --prune-first / --prune-head allow the first two)");
  }

  SessionOptions so;
  so.threads = po.threads;
  so.isa = po.isa;
  so.input_hw = {in_h, in_w};
  so.kernels = KernelMode::kDense;  // statistics only: no start-up timing of sparse kernels
  std::vector<const cv::Mat*> all_frames = spread(calib.frames, calib.frames.size());
  // Mirror images: twice the patches for the Hessians and refits at no cost in calibration data
  // (people are left-right symmetric; Ultralytics trains with flips).
  std::vector<cv::Mat> mirrored;
  if (o.mirror) {
    mirrored.resize(calib.frames.size());
    for (size_t i = 0; i < calib.frames.size(); ++i) cv::flip(calib.frames[i], mirrored[i], 1);
    for (const cv::Mat& m : mirrored) all_frames.push_back(&m);
  }
  imaging::Preprocessor pre;
  const size_t input_floats = static_cast<size_t>(in_w) * in_h * 3;
  auto filler = [&](const std::vector<const cv::Mat*>& frames) -> FrameFiller {
    return [&pre, frames, in_w, in_h, input_floats](size_t i, float* dst) {
      pre.run(*frames.at(i), in_w, in_h, std::span<float>(dst, input_floats), imaging::TensorLayout::NHWC);
    };
  };
  auto t0 = OptimizeClock::now();
  auto say = [&](const std::string& msg) { std::fprintf(stderr, "  [%.0f s] %s\n", seconds_since(t_start), msg.c_str()); };

  // Per-layer time on this CPU for the sparsity allocation (dense measured, sparse modelled: where a layer's
  // zeros fall is not known before it is pruned; the report adds the measured kernels after pruning).
  SessionOptions timed = so;
  timed.outputs = head->output_names();  // what PoseModel runs: the head outputs, decoded in C++
  const MeasuredDenseCostModel cost = MeasuredDenseCostModel::measure(graph, timed, kTimingRuns);
  const double t_timing = seconds_since(t0);

  OneShotOptions opt;
  opt.method = method;
  opt.pattern = pattern;
  opt.bias_correction = o.bias_correction;
  opt.float_target = o.float_target;
  opt.silu_refit = o.silu_refit;
  opt.sampling_seed = o.sampling_seed;
  // sensitivity and accuracy: per-layer sparsities from each layer's damage curve, by damage per ms saved
  // or per weight removed (allocation.h).
  const bool by_curves = o.profile != "uniform";
  const bool per_weight = o.profile == "accuracy";
  const int curve_frames = per_weight ? kAccuracyDamageFrames : kSensitivityDamageFrames;
  PoseDamage damage(graph, po, spread(calib.frames, by_curves ? curve_frames : kReportDamageFrames));

  // Per-layer targets.
  std::map<std::string, double> target;
  for (const auto& c : chosen) target[c] = o.sparsity;
  std::vector<LayerCurve> curves;
  Allocation alloc;
  double t_sens = 0;
  SensitivityOptions sopt;
  if (by_curves) {
    t0 = OptimizeClock::now();
    sopt.method = method;
    sopt.pattern = pattern;
    sopt.obs = opt.obs;
    sopt.admm = opt.admm;
    sopt.max_patches_per_frame = opt.max_patches_per_frame;
    sopt.sampling_seed = opt.sampling_seed;
    sopt.levels = sensitivity_levels(o.sparsity);
    const auto hframes = spread(calib.frames, kSensitivityHessianFrames);
    std::fprintf(stderr, "prune sensitivity: %zu convs x %zu levels, damage on %zu frames at %dx%d\n", chosen.size(),
                 sopt.levels.size(), damage.frames(), in_w, in_h);
    Graph work = graph;
    size_t done = 0;
    // The candidates run from the float model's cached activations on the damage frames.
    DamageFrames cached;
    cached.count = damage.frames();
    cached.fill = filler(damage.frame_list());
    cached.kept = head->output_names();
    curves = measure_layer_damage(pm, work, chosen, sopt, so, hframes.size(), filler(hframes),
                                  [&](const DamageCandidate& c) { return damage(c); },
                                  [&](const std::string& msg) {
                                    if (++done % 16 == 0 || done == chosen.size()) say(msg);
                                  }, &cached);
    alloc = allocate_sparsity(curves, o.sparsity, cost,
                              per_weight ? AllocationObjective::kDamagePerWeight : AllocationObjective::kDamagePerMsSaved);
    for (size_t i = 0; i < chosen.size(); ++i) target[chosen[i]] = alloc.sparsity[i];
    t_sens = seconds_since(t0);
  }

  // The pass: every chosen conv at its target; with bias correction, every other conv before the
  // outputs too (target 0: its bias absorbs the mean shift of its pruned inputs).
  std::vector<LayerTarget> layers;
  for (const ConvLayer& c : pm.convs()) {
    if (target.count(c.name)) layers.push_back({c.name, target[c.name]});
    else if (o.bias_correction && role[c.name] != "decode tail" && role[c.name] != "first") layers.push_back({c.name, 0.0});
  }
  t0 = OptimizeClock::now();
  Graph work = up_to(graph, head->output_names());
  std::fprintf(stderr, "prune: %s %s, %zu convs to %.3f%s on %zu frames at %dx%d\n", prune_method_name(method),
               pattern.name().c_str(), chosen.size(), o.sparsity, by_curves ? (" (" + o.profile + " profile)").c_str() : "",
               all_frames.size(), in_w, in_h);
  size_t waves_done = 0;
  std::vector<LayerResult> results = prune_one_shot(pm, work, layers, opt, so, all_frames.size(), filler(all_frames),
                                                    [&](const std::string& msg) {
                                                      if (++waves_done % 10 == 0) say(msg);
                                                    });
  const double t_prune = seconds_since(t0);
  t0 = OptimizeClock::now();
  const std::string pruned_bytes = pm.write("sparsepose.pruning", "");
  const Graph pruned = load_onnx_bytes(pruned_bytes.data(), pruned_bytes.size(), "pruned model");
  const double final_damage = damage(pruned, false);  // the whole model: PoseModel finds the head by its consumers
  const double t_check = seconds_since(t0);
  // The sparse time measured: the pruned convs timed dense against sparse, as `--kernels auto` does at run time.
  t0 = OptimizeClock::now();
  const PrunedKernelTimes kernel_times = measure_pruned_kernels(up_to(pruned, head->output_names()), timed);
  const double t_kernels = seconds_since(t0);

  // Report.
  int64_t zeros = 0;
  double dense_ms = 0, sparse_ms = 0;                   // modelled (dense measured, sparse = dense x (1 - s))
  double measured_dense_ms = 0, measured_kept_ms = 0;  // the timed convs, dense vs the kernel the engine keeps
  std::map<std::string, const LayerResult*> by_conv;
  for (const auto& r : results) by_conv[r.conv] = &r;
  std::map<std::string, const LayerCurve*> curve_of;
  for (const auto& c : curves) curve_of[c.conv] = &c;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  int layers_pruned = 0;
  for (const ConvLayer& c : pm.convs()) {
    nlohmann::ordered_json e;
    e["conv"] = c.name;
    e["role"] = role[c.name];
    e["shape"] = {c.out_channels, c.in_channels * c.group, c.kernel_h, c.kernel_w};
    e["group"] = c.group;
    e["weights"] = c.weights();
    const LayerResult* r = by_conv.count(c.name) ? by_conv[c.name] : nullptr;
    const bool pruned = r && r->target > 0;
    const int64_t z = r ? r->zeros : zeros_before[c.name];
    const double s = static_cast<double>(z) / static_cast<double>(c.weights());
    e["pruned"] = pruned;
    e["target"] = r ? r->target : 0.0;
    e["zeros_before"] = zeros_before[c.name];
    e["zeros"] = z;
    e["sparsity"] = s;
    e["pattern"] = pruned ? pattern.name() : "dense";
    e["damage"] = r && r->output_error >= 0 ? nlohmann::ordered_json(r->output_error) : nlohmann::ordered_json();
    if (curve_of.count(c.name)) e["pose_damage"] = {{"levels", curve_of[c.name]->levels}, {"damage", curve_of[c.name]->damage}};
    const double d_ms = cost.dense_ms(c.name), s_ms = cost.sparse_ms(c.name, pruned ? s : 0.0);
    e["dense_ms"] = d_ms;
    e["sparse_ms"] = s_ms;
    e["sparse_ms_modelled"] = cost.sparse_modelled();
    if (auto k = kernel_times.candidates.find(c.name); k != kernel_times.candidates.end()) {
      e["kernel_timing"] = {{"dense_ms", k->second.timing.dense_ms},
                            {"sparse_ms", k->second.timing.sparse_ms},
                            {"kept", k->second.sparse ? "sparse" : "dense"}};
      measured_dense_ms += k->second.timing.dense_ms;
      measured_kept_ms += k->second.sparse ? k->second.timing.sparse_ms : k->second.timing.dense_ms;
    } else {
      e["kernel_timing"] = nullptr;  // fewer zeros than kSparseMinZeros: the engine runs it dense untimed
    }
    if (r) {
      e["wave"] = r->wave;
      if (pruned && uses_hessian(method)) {
        e["hessian_samples"] = r->hessian_samples;
        e["damping"] = r->damping;
      }
      e["bias_corrected"] = r->bias_corrected;
      if (r->bias_corrected) e["bias_shift_rms"] = r->bias_shift_rms;
      if (r->silu_error_before >= 0) e["silu_refit"] = {{"error_before", r->silu_error_before}, {"error_after", r->silu_error_after}};
    }
    per.push_back(e);
    if (selected(role[c.name], o)) zeros += z;
    layers_pruned += pruned;
    dense_ms += d_ms;
    sparse_ms += pruned ? s_ms : d_ms;
  }
  const double achieved = static_cast<double>(zeros) / static_cast<double>(prunable_weights);

  PruneResult res;
  nlohmann::ordered_json note;
  note["method"] = prune_method_name(method);
  note["pattern"] = pattern.name();
  note["profile"] = o.profile;
  note["target"] = o.sparsity;
  note["sparsity"] = achieved;
  note["prunable_weights"] = prunable_weights;
  note["zeros"] = zeros;
  note["layers_pruned"] = layers_pruned;
  note["first_pruned"] = o.prune_first;
  note["head_pruned"] = o.prune_head;
  note["bias_correction"] = o.bias_correction;
  note["float_target"] = o.float_target;
  note["silu_refit"] = o.silu_refit;
  if (o.sampling_seed != 0) note["sampling_seed"] = o.sampling_seed;
  note["frames"] = calib.frames.size();
  note["calib_source"] = calib.source_kind;
  note["imgsz"] = in_w;
  res.bytes = pm.write("sparsepose.pruning", note.dump());

  nlohmann::ordered_json& r = res.report;
  r["target"] = o.sparsity;
  r["sparsity"] = achieved;
  r["sparsity_definition"] = "exact zeros / weights over the prunable convs: ungrouped convs with float weights that feed the head "
                             "outputs, minus the first conv and the head's branch convs unless --prune-first / --prune-head; "
                             "zeros the float model already had (zeros_before) are pruned first and counted";
  r["prunable_weights"] = prunable_weights;
  r["zeros"] = zeros;
  r["zeros_before"] = prunable_zeros_before;
  r["layers_pruned"] = layers_pruned;
  r["method"] = prune_method_name(method);
  r["pattern"] = pattern.name();
  r["profile"] = o.profile;
  r["prune_first"] = o.prune_first;
  r["prune_head"] = o.prune_head;
  r["bias_correction"] = o.bias_correction;
  r["frames"] = all_frames.size();
  r["sampling_seed"] = o.sampling_seed;
  if (method == PruneMethod::kAdmm) {
    r["admm"] = {{"damping", opt.admm.damping},
                 {"damping_definition", "H + damping * mean(diag H) * I"},
                 {"rho", opt.admm.rho},
                 {"rho_definition", "relative to H's unit diagonal (columns scaled by sqrt(diag H))"},
                 {"ramp_iterations", opt.admm.ramp_iterations},
                 {"settle_iterations", opt.admm.settle_iterations},
                 {"refit_iterations", opt.admm.refit_iterations},
                 {"max_patches_per_frame", opt.max_patches_per_frame}};
  }
  if (method == PruneMethod::kObs) {
    r["obs"] = {{"damping", opt.obs.damping},
                {"damping_definition", "H + damping * mean(diag H) * I"},
                {"block_cols", opt.obs.block_cols},
                {"max_patches_per_frame", opt.max_patches_per_frame}};
  }
  r["pose_damage"] = final_damage;
  r["pose_damage_frames"] = damage.frames();
  r["metrics"] = {
      {"damage", "per layer: ||W X - Ŵ X||² / ||W X||² on the layer's calibration inputs (OBS and ADMM; null for magnitude)"},
      {"pose_damage", "1 - weighted mean, over every anchor where the float model sees a person (score >= 0.25), of "
                      "OKS(float, pruned) * (1 - |score difference|), weight = float score: a proxy for keypoint AP "
                      "points, not AP"}};
  r["cost_model"] = {{"description", cost.description()},
                     {"sparse_ms_modelled", cost.sparse_modelled()},
                     {"dense_ms_total", dense_ms},
                     {"sparse_ms_total", sparse_ms}};
  int kept_sparse = 0;
  for (const auto& [name, k] : kernel_times.candidates) kept_sparse += k.sparse;
  r["kernel_timing"] = {{"description", kernel_times.description},
                        {"convs_timed", kernel_times.candidates.size()},
                        {"convs_kept_sparse", kept_sparse},
                        {"dense_ms_total", measured_dense_ms},
                        {"kept_ms_total", measured_kept_ms}};
  if (by_curves) {
    const char* ratio = per_weight ? "damage_per_weight" : "damage_per_ms";
    nlohmann::ordered_json steps = nlohmann::ordered_json::array();
    for (const auto& st : alloc.steps) steps.push_back({{"conv", st.conv}, {"from", st.from}, {"to", st.to}, {ratio, st.ratio}});
    r["sensitivity"] = {{"levels", sopt.levels},
                        {"damage_frames", curve_frames},
                        {"hessian_frames", kSensitivityHessianFrames},
                        {"predicted_damage", alloc.predicted_damage},
                        {"modelled_ms_saved", alloc.modelled_ms_saved},
                        {"steps", steps}};
  }
  r["layers"] = per;
  r["timings_s"] = {{"timing", t_timing}, {"sensitivity", t_sens}, {"prune", t_prune}, {"check", t_check}, {"kernel_timing", t_kernels}, {"total", seconds_since(t_start)}};

  char buf[512];
  std::snprintf(buf, sizeof buf,
                "prune: %s %s %s, %d convs pruned, sparsity %.4f of %lld prunable weights (target %.3f), pose damage %.4f "
                "on %zu frames, modelled time %.1f -> %.1f ms, measured %zu timed convs %.2f -> %.2f ms (%d sparse), %.1f s",
                prune_method_name(method), pattern.name().c_str(), o.profile.c_str(), layers_pruned, achieved,
                static_cast<long long>(prunable_weights), o.sparsity, final_damage, damage.frames(), dense_ms, sparse_ms,
                kernel_times.candidates.size(), measured_dense_ms, measured_kept_ms, kept_sparse, seconds_since(t_start));
  res.summary = buf;
  return res;
}

}  // namespace sp::app
