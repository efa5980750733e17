#include "core/prune/layer_cost.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"

namespace sp::prune {

MeasuredDenseCostModel::MeasuredDenseCostModel(std::map<std::string, double> dense_ms, std::string how)
    : dense_(std::move(dense_ms)), how_(std::move(how)) {}

MeasuredDenseCostModel MeasuredDenseCostModel::measure(const Graph& graph, SessionOptions options, int runs) {
  if (runs < 1) throw Error("pruning: timing needs at least one run");
  options.profile = true;
  options.nhwc_input = true;
  Session s(graph, options);
  const Shape& in = s.input_shape(0);
  std::fill(s.input_data(0), s.input_data(0) + shape_numel(in), 0.5f);  // dense kernels do not look at values
  s.run();
  std::map<std::string, double> best;
  for (int r = 0; r < runs; ++r) {
    s.reset_profile();
    s.run();
    for (const OpProfile& p : s.profile()) {
      if (p.op_type != "Conv") continue;
      auto it = best.find(p.node);
      if (it == best.end()) best[p.node] = p.total_ms;
      else it->second = std::min(it->second, p.total_ms);
    }
  }
  return MeasuredDenseCostModel(best, "dense: each conv timed on this CPU (" + std::string(isa_name(s.isa())) + ", " +
                                          std::to_string(s.threads()) + " threads, min of " + std::to_string(runs) +
                                          " runs); sparse: MODELLED as dense x (1 - sparsity), no sparse kernel measured");
}

double MeasuredDenseCostModel::dense_ms(const std::string& conv) const {
  auto it = dense_.find(conv);
  return it == dense_.end() ? 0.0 : it->second;
}

std::string MeasuredDenseCostModel::description() const { return how_; }

PrunedKernelTimes measure_pruned_kernels(const Graph& pruned, SessionOptions options) {
  options.kernels = KernelMode::kAuto;
  options.kernel_cache = false;  // time now, on this model; leave no plan file behind
  options.profile = true;        // the profile carries each candidate's timing
  options.nhwc_input = true;
  Session s(pruned, options);
  PrunedKernelTimes out;
  for (const OpProfile& p : s.profile()) {
    if (p.op_type != "Conv" || p.choice != "timed") continue;
    out.candidates[p.node] = {{p.dense_ms, p.sparse_ms}, p.sparse};
  }
  out.description = "each conv with >= " + std::to_string(static_cast<int>(kSparseMinZeros * 100)) +
                    " % zero weights timed dense against sparse by the engine (float kernels, " + std::string(isa_name(s.isa())) +
                    ", " + std::to_string(s.threads()) + " threads, best of alternating runs)";
  return out;
}

}  // namespace sp::prune
