#include "core/prune/sensitivity.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"

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

namespace {

// Runs f(0) .. f(n - 1) on up to `threads` threads (this one included); rethrows the first exception.
void parallel_levels(size_t n, int threads, const std::function<void(size_t)>& f) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < n;) {
      try {
        f(k);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads && static_cast<size_t>(t) < n; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& h : helpers) h.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::vector<LayerCurve> measure_layer_damage(const PrunableModel& model, Graph& graph, const std::vector<std::string>& convs,
                                             const SensitivityOptions& opt, const SessionOptions& session, size_t frames,
                                             const FrameFiller& fill, const GraphDamageFn& damage, const ProgressFn& progress) {
  std::map<std::string, std::shared_ptr<const InputStatistics>> stats;
  if (uses_hessian(opt.method)) {
    std::vector<StatisticsRequest> req;
    for (const auto& c : convs) req.push_back({c, opt.max_patches_per_frame, opt.sampling_seed});
    stats = gather_input_statistics(graph, req, session, frames, fill);
  }
  const int threads = session.threads > 0 ? session.threads : static_cast<int>(std::thread::hardware_concurrency());
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
    // The levels' prunes are independent (one solver, const), so they run side by side on the session's
    // threads; the damages, which run the model on those threads, follow one by one.
    std::vector<std::vector<float>> pruned(opt.levels.size(), w0);
    parallel_levels(pruned.size(), threads, [&](size_t k) {
      prune_matrix(pruned[k], c, opt.levels[k], opt.method, opt.pattern, solver.get());
    });
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
