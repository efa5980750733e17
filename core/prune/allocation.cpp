#include "core/prune/allocation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace sp::prune {
namespace {

// Damage at sparsity s on the curve (0 at 0), linear between levels.
double damage_at(const std::vector<double>& levels, const std::vector<double>& damage, double s) {
  double x0 = 0, y0 = 0;
  for (size_t i = 0; i < levels.size(); ++i) {
    if (s <= levels[i]) return y0 + (damage[i] - y0) * (s - x0) / (levels[i] - x0);
    x0 = levels[i];
    y0 = damage[i];
  }
  return y0;
}

}  // namespace

Allocation allocate_sparsity(const std::vector<LayerCurve>& layers, double target, const LayerCostModel& cost,
                             AllocationObjective objective) {
  const bool per_ms = objective == AllocationObjective::kDamagePerMsSaved;
  if (!(target > 0 && target < 1)) throw Error("pruning: target sparsity " + std::to_string(target) + " is not in (0, 1)");
  double total = 0;
  std::vector<std::vector<double>> dmg(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerCurve& c = layers[l];
    if (c.levels.size() != c.damage.size() || c.levels.empty() || c.weights <= 0) {
      throw Error("pruning: bad sensitivity curve for conv '" + c.conv + "'");
    }
    double prev = 0, best = 0;
    for (size_t i = 0; i < c.levels.size(); ++i) {
      if (!(c.levels[i] > prev && c.levels[i] < 1)) throw Error("pruning: sensitivity levels of '" + c.conv + "' are not ascending in (0, 1)");
      prev = c.levels[i];
      best = std::max(best, std::isfinite(c.damage[i]) ? c.damage[i] : std::numeric_limits<double>::max());
      dmg[l].push_back(best);
    }
    total += static_cast<double>(c.weights);
  }
  const double goal = target * total;
  std::vector<int> at(layers.size(), -1);  // level index, -1 = dense
  auto level = [&](size_t l, int i) { return i < 0 ? 0.0 : layers[l].levels[static_cast<size_t>(i)]; };
  auto dam = [&](size_t l, int i) { return i < 0 ? 0.0 : dmg[l][static_cast<size_t>(i)]; };
  auto saved = [&](size_t l, double s) { return cost.dense_ms(layers[l].conv) - cost.sparse_ms(layers[l].conv, s); };
  Allocation a;
  a.sparsity.assign(layers.size(), 0.0);
  double removed = 0;
  while (removed < goal) {
    // The best move; per ms, a move that saves no time ranks after every move that does, by damage per weight.
    struct Move {
      size_t layer = 0;
      int to = -1;
      bool saves = false;
      double ratio = std::numeric_limits<double>::infinity();
    } best;
    bool found = false;
    for (size_t l = 0; l < layers.size(); ++l) {
      for (int j = at[l] + 1; j < static_cast<int>(layers[l].levels.size()); ++j) {
        const double dd = dam(l, j) - dam(l, at[l]);
        const double ds = saved(l, level(l, j)) - saved(l, level(l, at[l]));
        const double dw = (level(l, j) - level(l, at[l])) * static_cast<double>(layers[l].weights);
        const bool saves = per_ms && ds > 1e-9;
        const double ratio = saves ? dd / ds : dd / dw;
        if (!found || (saves && !best.saves) || (saves == best.saves && ratio < best.ratio)) {
          best = {l, j, saves, ratio};
          found = true;
        }
      }
    }
    if (!found) {
      throw Error("pruning: target sparsity " + std::to_string(target) + " is out of reach of the sensitivity levels");
    }
    const size_t l = best.layer;
    const double from = level(l, at[l]), to = level(l, best.to);
    const double w = static_cast<double>(layers[l].weights);
    double s = to;
    if (removed + (to - from) * w > goal) s = from + (goal - removed) / w;  // stop part-way: exactly the target
    removed += (s - from) * w;
    a.steps.push_back({layers[l].conv, from, s, best.ratio});
    a.sparsity[l] = s;
    at[l] = s < to ? at[l] : best.to;
    if (s < to) break;
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    a.predicted_damage += damage_at(layers[l].levels, dmg[l], a.sparsity[l]);
    a.modelled_ms_saved += saved(l, a.sparsity[l]);
  }
  a.global = removed / total;
  return a;
}

}  // namespace sp::prune
