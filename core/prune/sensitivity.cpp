#include "core/prune/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/prune/wave_runner.h"
#include "core/thread_pool.h"

namespace sp::prune {

std::vector<double> sensitivity_levels(double target) {
  std::vector<double> out;
  for (int k = -2; k <= 2; ++k) {
    double s = std::round((target + 0.1 * k) * 1000) / 1000;
    s = std::clamp(s, 0.05, 0.99);
    if (out.empty() || s > out.back() + 1e-9) out.push_back(s);
  }
  return out;
}

std::vector<LayerCurve> measure_layer_damage(const PrunableModel& model, Graph& graph, const std::vector<std::string>& convs,
                                             const SensitivityOptions& opt, const SessionOptions& session, size_t frames,
                                             const FrameFiller& fill, const GraphDamageFn& damage, const ProgressFn& progress,
                                             const DamageFrames* damage_frames) {
  std::map<std::string, std::shared_ptr<const InputStatistics>> stats;
  if (uses_hessian(opt.method)) {
    std::vector<StatisticsRequest> req;
    for (const auto& c : convs) req.push_back({c, opt.max_patches_per_frame, opt.sampling_seed});
    stats = gather_input_statistics(graph, req, session, frames, fill);
  }
  // The layers in model order (node order is topological), so that the float model's cached
  // activations move forward one conv at a time: one wave per conv.
  std::map<std::string, size_t> node_of;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!graph.nodes[n].removed) node_of.emplace(graph.nodes[n].name, n);
  }
  std::vector<size_t> order(convs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return node_of.at(convs[a]) < node_of.at(convs[b]); });
  std::unique_ptr<WaveRunner> runner;
  if (damage_frames && damage_frames->count > 0) {
    std::vector<std::vector<std::string>> waves;
    for (size_t i : order) waves.push_back({convs[i]});
    runner = std::make_unique<WaveRunner>(graph, waves, session, damage_frames->count, damage_frames->fill, size_t{6} << 30,
                                          damage_frames->kept);
  }
  // The levels' prunes of a layer run side by side on these threads (the damages run the model on the
  // session's own).
  ThreadPool pool(resolve_thread_count(session.threads));
  std::vector<LayerCurve> curves(convs.size());
  for (size_t step = 0; step < order.size(); ++step) {
    const size_t i = order[step];
    const ConvLayer& c = model.conv(convs[i]);
    // The float model's activations up to this conv: what none of the convs from here on changes.
    if (runner) runner->gather(step, graph, {}, nullptr);
    LayerCurve curve;
    curve.conv = c.name;
    curve.weights = c.weights();
    curve.levels = opt.levels;
    const std::vector<float> w0 = model.matrix(c.name);
    const std::vector<float> onnx0 = model.onnx_weights(c.name);
    std::unique_ptr<HessianPruner> solver;
    if (uses_hessian(opt.method)) solver = make_hessian_pruner(opt.method, stats.at(c.name)->hessian(), opt.obs, opt.admm, session.isa);
    // The levels' prunes are independent (one solver, const); the damages follow one by one.
    std::vector<std::vector<float>> pruned(opt.levels.size(), w0);
    pool.parallel_for_rethrowing(static_cast<int64_t>(pruned.size()), [&](int64_t k) {
      prune_matrix(pruned[k], c, opt.levels[k], opt.method, opt.pattern, solver.get());
    });
    // The levels differ only in weights: one cut shape, so whether it reads the image is asked once.
    const bool cut_reads_image = runner && reads_image(runner->cut_at_frontier(graph), damage_frames->kept);
    for (const std::vector<float>& w : pruned) {
      set_conv_constants(graph, c.name, matrix_to_onnx(w, c.out_channels, c.in_channels, c.kernel_h, c.kernel_w), {});
      double d = 0;
      try {
        Graph cut;
        DamageCandidate candidate;
        candidate.graph = &graph;
        if (runner) {
          cut = runner->cut_at_frontier(graph);
          candidate.graph = &cut;
          candidate.feed = [&](Session& s, size_t frame) { runner->feed_frontier(s, frame); };
          candidate.reads_image = cut_reads_image;
        }
        d = damage(candidate);
      } catch (...) {
        set_conv_constants(graph, c.name, onnx0, {});
        throw;
      }
      curve.damage.push_back(std::max(0.0, d));
    }
    set_conv_constants(graph, c.name, onnx0, {});
    if (progress) {
      std::string msg = "sensitivity " + std::to_string(step + 1) + "/" + std::to_string(convs.size()) + ": " + c.name + " damage";
      char buf[32];
      for (double d : curve.damage) {
        std::snprintf(buf, sizeof buf, " %.4f", d);
        msg += buf;
      }
      progress(msg);
    }
    curves[i] = std::move(curve);
  }
  return curves;
}

}  // namespace sp::prune
