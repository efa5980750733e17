#include "core/prune/one_shot.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "core/passes/passes.h"
#include "core/prune/wave_runner.h"
#include "core/thread_pool.h"

namespace sp::prune {

PruneMethod parse_prune_method(const std::string& name) {
  if (name == "obs") return PruneMethod::kObs;
  if (name == "admm") return PruneMethod::kAdmm;
  if (name == "magnitude") return PruneMethod::kMagnitude;
  throw Error("--prune-method: unknown method '" + name + "' (obs, admm or magnitude)");
}

const char* prune_method_name(PruneMethod m) {
  switch (m) {
    case PruneMethod::kObs: return "obs";
    case PruneMethod::kAdmm: return "admm";
    case PruneMethod::kMagnitude: return "magnitude";
  }
  return "?";
}

std::unique_ptr<HessianPruner> make_hessian_pruner(PruneMethod method, const Hessian& h, const ObsOptions& obs,
                                                   const AdmmOptions& admm, Isa isa) {
  switch (method) {
    case PruneMethod::kObs: return std::make_unique<ObsSolver>(h, obs);
    case PruneMethod::kAdmm: return std::make_unique<AdmmSolver>(h, admm, isa);
    case PruneMethod::kMagnitude: return nullptr;
  }
  return nullptr;
}

void prune_matrix(std::vector<float>& w, const ConvLayer& layer, double sparsity, PruneMethod method,
                  const PrunePattern& pattern, const HessianPruner* solver, double* obs_loss) {
  if (!layer.prunable_shape()) throw Error("pruning: conv '" + layer.name + "' is grouped and cannot be pruned");
  const std::string misfit = pattern.misfit(layer.out_channels, layer.in_channels);
  if (!misfit.empty()) throw Error("--pattern " + pattern.name() + ": conv '" + layer.name + "': " + misfit);
  double loss = 0;
  if (uses_hessian(method)) {
    if (!solver) throw Error(std::string("pruning: ") + prune_method_name(method) + " needs the layer's Hessian");
    loss = solver->prune(w, layer.out_channels, sparsity, pattern);
  } else {
    magnitude_prune(w, layer.out_channels, layer.cols(), sparsity, pattern);
  }
  if (obs_loss) *obs_loss = loss;
}

namespace {

// W · mean for every output channel; the mean patch spans all input channels (grouped convs read
// their group's slice of each tap).
std::vector<double> mean_output(const std::vector<float>& w, const ConvLayer& c, const std::vector<double>& mean) {
  const int64_t taps = c.kernel_h * c.kernel_w, cg = c.in_channels, all = cg * c.group, per_group = c.out_channels / c.group;
  if (static_cast<int64_t>(mean.size()) != taps * all) throw Error("pruning: mean patch does not match conv '" + c.name + "'");
  std::vector<double> y(static_cast<size_t>(c.out_channels), 0.0);
  for (int64_t o = 0; o < c.out_channels; ++o) {
    const int64_t first = (o / per_group) * cg;
    double s = 0;
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t k = 0; k < cg; ++k) s += double(w[static_cast<size_t>((o * taps + t) * cg + k)]) * mean[static_cast<size_t>(t * all + first + k)];
    }
    y[static_cast<size_t>(o)] = s;
  }
  return y;
}

// The convs whose output only a SiLU reads: the ones the engine fuses with it (passes::fuse_activations),
// so the ones whose next layer sees nothing but SiLU(Wx + b).
std::set<std::string> convs_into_silu(const Graph& graph) {
  Graph fused = graph;
  passes::fuse_activations(fused);
  std::set<std::string> out;
  for (const Node& n : fused.nodes) {
    if (!n.removed && n.op_type == "Conv" && n.attr_string("activation", "") == "silu") out.insert(n.name);
  }
  return out;
}

}  // namespace

std::vector<LayerResult> prune_one_shot(PrunableModel& model, Graph& graph, const std::vector<LayerTarget>& layers,
                                        const OneShotOptions& opt, const SessionOptions& session, size_t frames,
                                        const FrameFiller& fill, const ProgressFn& progress) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto say = [&](const std::string& msg) {
    if (!progress) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, "[%.0f s] ", std::chrono::duration<double>(Clock::now() - t0).count());
    progress(buf + msg);
  };
  std::map<std::string, double> target;
  std::vector<std::string> names;
  for (const auto& l : layers) {
    const ConvLayer& c = model.conv(l.conv);
    if (l.sparsity > 0) {
      // Checked before any work: a misfit found at layer 60 would waste the first 59.
      if (!c.prunable_shape()) throw Error("pruning: conv '" + c.name + "' is grouped and cannot be pruned");
      const std::string misfit = opt.pattern.misfit(c.out_channels, c.in_channels);
      if (!misfit.empty()) throw Error("--pattern " + opt.pattern.name() + ": conv '" + c.name + "': " + misfit);
    }
    target[l.conv] = l.sparsity;
    names.push_back(l.conv);
  }
  const bool hessians = uses_hessian(opt.method);
  const bool float_target = hessians && opt.float_target;
  const bool needs_reference = float_target || opt.bias_correction;
  const bool needs_data = hessians || opt.bias_correction;
  // The float model runs beside the pruned one, on the same frames, for its means and cross moments.
  const Graph reference = graph;
  std::vector<std::vector<std::string>> waves;
  if (needs_data) {
    waves = conv_waves(graph, names);
  } else {
    waves = {names};
  }
  std::unique_ptr<WaveRunner> runner;
  if (needs_data) runner = std::make_unique<WaveRunner>(graph, waves, session, frames, fill);
  std::map<std::string, LayerResult> results;
  std::unique_ptr<ThreadPool> refit_pool;  // silu_refit's, made when first needed
  const std::set<std::string> into_silu = opt.silu_refit && float_target ? convs_into_silu(graph) : std::set<std::string>{};
  for (size_t wi = 0; wi < waves.size(); ++wi) {
    const auto& wave = waves[wi];
    std::map<std::string, std::shared_ptr<const InputStatistics>> stats;
    if (needs_data) {
      std::vector<StatisticsRequest> req;
      for (const auto& n : wave) {
        const bool pruned = target[n] > 0;
        const bool refit = float_target && (pruned || (opt.refit_dense && model.conv(n).prunable_shape()));
        if (!pruned && !refit && !opt.bias_correction) continue;
        const bool silu = pruned && into_silu.count(n);
        req.push_back({n, (pruned && hessians) || refit ? opt.max_patches_per_frame : 0, opt.sampling_seed,
                       silu ? opt.max_patches_per_frame : 0});
      }
      stats = runner->gather(wi, graph, req, needs_reference ? &reference : nullptr);
    }
    int pruned_here = 0;
    for (const auto& n : wave) {
      const ConvLayer& c = model.conv(n);
      LayerResult r;
      r.conv = n;
      r.target = target[n];
      r.weights = c.weights();
      r.wave = static_cast<int>(wi + 1);
      std::vector<float> w = model.matrix(n);
      const std::vector<float> w0 = w;
      if (r.target > 0) {
        std::unique_ptr<HessianPruner> solver;
        Hessian h;
        if (hessians) {
          // With a re-fitted bias the mean is the bias's job: centered statistics.
          h = stats.at(n)->hessian(opt.bias_correction);
          if (float_target) refit_to_reference(w, c.out_channels, h, stats.at(n)->cross_moment(opt.bias_correction), opt.obs.damping);
          solver = make_hessian_pruner(opt.method, h, opt.obs, opt.admm, session.isa);
          r.damping = solver->damping_used();
          r.hessian_samples = h.samples;
        }
        const std::vector<float> dense = w;
        prune_matrix(w, c, r.target, opt.method, opt.pattern, solver.get(), &r.obs_loss);
        if (hessians) r.output_error = relative_output_error(dense, w, c.out_channels, h);
        const std::shared_ptr<const InputStatistics> st = stats.count(n) ? stats.at(n) : nullptr;
        if (st && st->kept_samples() > 0 && !model.bias(n).empty()) {
          std::vector<float> b = model.bias(n);
          const std::vector<float> b0 = b;
          if (!refit_pool) refit_pool = std::make_unique<ThreadPool>(resolve_thread_count(session.threads));
          const SiluRefitResult sr = silu_refit(w, b, c.out_channels, w0, b0, st->samples(), st->reference_samples(),
                                                st->kept_samples(), opt.silu, refit_pool.get(), session.isa);
          r.silu_error_before = sr.error_before;
          r.silu_error_after = sr.error_after;
          model.set_bias(n, b);
        }
        model.set_matrix(n, w);
        ++pruned_here;
      } else if (float_target && opt.refit_dense && c.prunable_shape()) {
        const Hessian h = stats.at(n)->hessian(opt.bias_correction);
        refit_to_reference(w, c.out_channels, h, stats.at(n)->cross_moment(opt.bias_correction), opt.obs.damping);
        r.hessian_samples = h.samples;
        model.set_matrix(n, w);
      }
      for (float v : w) r.zeros += v == 0.0f;
      std::vector<float> b = model.bias(n);
      if (opt.bias_correction && !b.empty()) {
        const std::vector<double> want = mean_output(w0, c, stats.at(n)->reference_mean_patch());
        const std::vector<double> have = mean_output(w, c, stats.at(n)->mean_patch());
        double ss = 0;
        for (size_t o = 0; o < b.size(); ++o) {
          const double shift = want[o] - have[o];
          b[o] = static_cast<float>(b[o] + shift);
          ss += shift * shift;
        }
        r.bias_shift_rms = std::sqrt(ss / static_cast<double>(b.size()));
        r.bias_corrected = true;
        model.set_bias(n, b);
      }
      set_conv_constants(graph, n, model.onnx_weights(n), model.bias(n));
      results[n] = r;
    }
    if (needs_data) {
      say("wave " + std::to_string(wi + 1) + "/" + std::to_string(waves.size()) + ": " + std::to_string(wave.size()) +
          " convs, " + std::to_string(pruned_here) + " pruned");
    }
  }
  std::vector<LayerResult> out;
  for (const auto& l : layers) out.push_back(results.at(l.conv));
  return out;
}

}  // namespace sp::prune
