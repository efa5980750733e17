#include "core/quantize/sensitivity.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>

namespace sp::quant {

std::vector<std::string> without(const std::vector<std::string>& convs, const std::vector<std::string>& float_convs) {
  std::set<std::string> drop(float_convs.begin(), float_convs.end());
  std::vector<std::string> out;
  for (const auto& c : convs) {
    if (!drop.count(c)) out.push_back(c);
  }
  return out;
}

SensitivityResult choose_float_convs(const std::vector<std::string>& convs, const DamageFn& damage, double max_drop,
                                     int per_step, const ProgressFn& progress) {
  SensitivityResult r;
  char buf[256];
  for (size_t i = 0; i < convs.size(); ++i) {
    r.per_conv.push_back({convs[i], damage({convs[i]})});
    if (progress) {
      std::snprintf(buf, sizeof buf, "sensitivity %zu/%zu: %s damage %.4f", i + 1, convs.size(), convs[i].c_str(),
                    r.per_conv.back().damage);
      progress(buf);
    }
  }
  std::vector<size_t> order(convs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return r.per_conv[a].damage > r.per_conv[b].damage; });
  r.damage_before = r.damage_after = damage(convs);
  if (progress) {
    std::snprintf(buf, sizeof buf, "all %zu convs int8: damage %.4f (max %.4f)", convs.size(), r.damage_before, max_drop);
    progress(buf);
  }
  size_t next = 0;
  while (r.damage_after > max_drop && next < order.size()) {
    FallbackStep step;
    for (int k = 0; k < std::max(per_step, 1) && next < order.size(); ++k) {
      step.moved_to_float.push_back(convs[order[next++]]);
      r.float_convs.push_back(step.moved_to_float.back());
    }
    std::vector<std::string> int8 = without(convs, r.float_convs);
    step.damage = int8.empty() ? 0.0 : damage(int8);
    r.damage_after = step.damage;
    r.steps.push_back(step);
    if (progress) {
      std::string moved;
      for (const auto& c : step.moved_to_float) moved += (moved.empty() ? "" : ", ") + c;
      std::snprintf(buf, sizeof buf, "float +[%s]: %zu float, damage %.4f", moved.c_str(), r.float_convs.size(), step.damage);
      progress(buf);
    }
  }
  return r;
}

}  // namespace sp::quant
