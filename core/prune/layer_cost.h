// What a conv costs, dense and sparse, so that per-layer sparsities can be weighed against the time
// they save. Before pruning, MeasuredDenseCostModel times the DENSE convs on this CPU and MODELS sparse
// as dense x (1 - s) (ideal zero skipping, an upper bound of the saving), and says so: the sparse time
// of a layer depends on where its zeros fall, which is not known until it is pruned. After pruning,
// measure_pruned_kernels() times the real sparse kernels of the pruned model against the dense ones.
#pragma once

#include <map>
#include <string>

#include "core/graph.h"
#include "core/kernel_plan.h"
#include "core/session.h"

namespace sp::prune {

class LayerCostModel {
 public:
  virtual ~LayerCostModel() = default;
  virtual double dense_ms(const std::string& conv) const = 0;
  virtual double sparse_ms(const std::string& conv, double sparsity) const = 0;
  // true when sparse_ms is an estimate rather than a measurement (reports flag it).
  virtual bool sparse_modelled() const = 0;
  virtual std::string description() const = 0;
};

class MeasuredDenseCostModel : public LayerCostModel {
 public:
  // Times every conv of `graph` in a profiled float Session (options.profile forced on): `runs` runs
  // after one warm-up, each conv's time the minimum over runs (robust to other processes).
  // options.outputs may cut the graph (e.g. before a decode tail that only runs at the export size).
  static MeasuredDenseCostModel measure(const Graph& graph, SessionOptions options, int runs);
  // Known times, for tests and for plugging in numbers measured elsewhere.
  explicit MeasuredDenseCostModel(std::map<std::string, double> dense_ms, std::string how = "given");

  double dense_ms(const std::string& conv) const override;  // 0 for a conv that was not timed
  double sparse_ms(const std::string& conv, double sparsity) const override { return dense_ms(conv) * (1.0 - sparsity); }
  bool sparse_modelled() const override { return true; }
  std::string description() const override;
  const std::map<std::string, double>& times() const { return dense_; }

 private:
  std::map<std::string, double> dense_;
  std::string how_;
};

// The pruned model's convs timed dense against sparse on this CPU, by the engine's own per-layer choice
// (--kernels auto at session creation, no plan cache): the times of every candidate (>= kSparseMinZeros
// zero weights) and which kernel the engine keeps.
struct PrunedKernelTimes {
  struct Layer {
    DenseSparseTiming timing;  // ms, best of the engine's alternating runs
    bool sparse = false;       // the engine keeps the sparse kernel
  };
  std::map<std::string, Layer> candidates;  // by conv node name; convs with fewer zeros are not timed
  std::string description;
};
PrunedKernelTimes measure_pruned_kernels(const Graph& pruned, SessionOptions options);

}  // namespace sp::prune
