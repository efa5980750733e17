#include "core/prune/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>

#include "core/error.h"
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
                                             const FrameFiller& fill, const GraphDamageFn& damage, const ProgressFn& progress) {
  std::map<std::string, std::shared_ptr<const InputStatistics>> stats;
  if (uses_hessian(opt.method)) {
    std::vector<StatisticsRequest> req;
    for (const auto& c : convs) req.push_back({c, opt.max_patches_per_frame, opt.sampling_seed});
    stats = gather_input_statistics(graph, req, session, frames, fill);
  }
  // The levels' prunes of a layer run side by side on these threads (the damages run the model on the
  // session's own).
  ThreadPool pool(resolve_thread_count(session.threads));
  std::vector<LayerCurve> curves;
  for (size_t i = 0; i < convs.size(); ++i) {
    const ConvLayer& c = model.conv(convs[i]);
    LayerCurve curve;
    curve.conv = c.name;
    curve.weights = c.weights();
    curve.levels = opt.levels;
    const std::vector<float> w0 = model.matrix(c.name);
    const std::vector<float> onnx0 = model.onnx_weights(c.name);
    std::unique_ptr<HessianPruner> solver;
    if (uses_hessian(opt.method)) solver = make_hessian_pruner(opt.method, stats.at(c.name)->hessian(), opt.obs, opt.admm);
    // The levels' prunes are independent (one solver, const); the damages follow one by one. A worker
    // must not throw, so the first error is carried back to this thread.
    std::vector<std::vector<float>> pruned(opt.levels.size(), w0);
    std::exception_ptr error;
    std::mutex error_mutex;
    pool.parallel_for(static_cast<int64_t>(pruned.size()), [&](int64_t k) {
      try {
        prune_matrix(pruned[k], c, opt.levels[k], opt.method, opt.pattern, solver.get());
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    for (const std::vector<float>& w : pruned) {
      set_conv_constants(graph, c.name, matrix_to_onnx(w, c.out_channels, c.in_channels, c.kernel_h, c.kernel_w), {});
      double d = 0;
      try {
        d = damage(graph);
      } catch (...) {
        set_conv_constants(graph, c.name, onnx0, {});
        throw;
      }
      curve.damage.push_back(std::max(0.0, d));
    }
    set_conv_constants(graph, c.name, onnx0, {});
    if (progress) {
      std::string msg = "sensitivity " + std::to_string(i + 1) + "/" + std::to_string(convs.size()) + ": " + c.name + " damage";
      char buf[32];
      for (double d : curve.damage) {
        std::snprintf(buf, sizeof buf, " %.4f", d);
        msg += buf;
      }
      progress(msg);
    }
    curves.push_back(std::move(curve));
  }
  return curves;
}

}  // namespace sp::prune
