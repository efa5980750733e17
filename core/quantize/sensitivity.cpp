#include "core/quantize/sensitivity.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <map>
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

std::vector<ConvDamage> measure_conv_damages(const std::vector<std::string>& convs, const DamageFn& damage,
                                             const ProgressFn& progress) {
  std::vector<ConvDamage> out;
  char buf[256];
  for (size_t i = 0; i < convs.size(); ++i) {
    out.push_back({convs[i], damage({convs[i]})});
    if (progress) {
      std::snprintf(buf, sizeof buf, "sensitivity %zu/%zu: %s damage %.4f", i + 1, convs.size(), convs[i].c_str(),
                    out.back().damage);
      progress(buf);
    }
  }
  return out;
}

SensitivityResult choose_float_convs(const std::vector<std::string>& convs, const DamageFn& damage, double max_drop,
                                     int per_step, const ProgressFn& progress) {
  SensitivityResult r;
  char buf[256];
  r.per_conv = measure_conv_damages(convs, damage, progress);
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

namespace {

// Damage removed per extra millisecond; a conv that costs (almost) nothing to keep out ranks first.
double value_per_ms(const ConvCost& c) { return c.damage / std::max(c.ms_extra, 1e-3); }

std::vector<ConvCost> by_value(const std::vector<ConvCost>& costs) {
  std::vector<ConvCost> order = costs;
  std::stable_sort(order.begin(), order.end(), [](const ConvCost& a, const ConvCost& b) { return value_per_ms(a) > value_per_ms(b); });
  return order;
}

template <typename... Args>
void say(LatencyAwareResult& r, const ProgressFn& progress, const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  r.log.emplace_back(buf);
  if (progress) progress(buf);
}

}  // namespace

LatencyAwareResult choose_fastest_within(const std::vector<std::string>& convs, const std::vector<ConvCost>& costs,
                                         const DamageFn& damage, const LatencyFn& latency, double max_damage,
                                         int per_step, const ProgressFn& progress) {
  LatencyAwareResult r;
  r.all_int8_damage = r.damage = damage(convs);
  say(r, progress, "all int8: damage %.4f", r.damage);
  const std::vector<ConvCost> order = by_value(costs);
  size_t next = 0;
  while (r.damage > max_damage && next < order.size()) {
    std::string moved;
    for (int k = 0; k < std::max(per_step, 1) && next < order.size(); ++k, ++next) {
      r.kept_out.push_back(order[next].conv);
      moved += (moved.empty() ? "" : ", ") + order[next].conv;
    }
    const std::vector<std::string> int8 = without(convs, r.kept_out);
    r.damage = damage(int8);
    say(r, progress, "keep out +[%s]: damage %.4f", moved.c_str(), r.damage);
  }
  r.goal_met = r.damage <= max_damage;
  if (r.goal_met && !r.kept_out.empty()) {
    // Back to int8 where the model still fits, the convs that cost the most time first.
    std::vector<std::string> tries = r.kept_out;
    std::map<std::string, double> extra;
    for (const auto& c : costs) extra[c.conv] = c.ms_extra;
    std::stable_sort(tries.begin(), tries.end(), [&](const std::string& a, const std::string& b) { return extra[a] > extra[b]; });
    for (const std::string& c : tries) {
      std::vector<std::string> out;
      for (const auto& k : r.kept_out)
        if (k != c) out.push_back(k);
      const double d = damage(without(convs, out));
      if (d <= max_damage) {
        r.kept_out = out;
        r.damage = d;
        say(r, progress, "back to int8 %s: damage %.4f (still fits)", c.c_str(), d);
      }
    }
  }
  r.all_int8_ms = latency(convs);
  r.latency_ms = r.kept_out.empty() ? r.all_int8_ms : latency(without(convs, r.kept_out));
  return r;
}

LatencyAwareResult choose_most_accurate_within(const std::vector<std::string>& convs, const std::vector<ConvCost>& costs,
                                               const DamageFn& damage, const LatencyFn& latency, double target_ms,
                                               const ProgressFn& progress) {
  LatencyAwareResult r;
  r.all_int8_ms = r.latency_ms = latency(convs);
  r.all_int8_damage = r.damage = damage(convs);
  say(r, progress, "all int8: damage %.4f, %.2f ms", r.damage, r.latency_ms);
  if (r.all_int8_ms > target_ms) return r;  // nothing is faster than every conv int8
  // Spend the budget on the most damage removed per ms, as predicted by each conv's own cost.
  double budget = target_ms - r.all_int8_ms;
  std::vector<ConvCost> chosen;
  for (const ConvCost& c : by_value(costs)) {
    if (c.damage <= 0) continue;
    const double ms = std::max(c.ms_extra, 0.0);
    if (ms > budget) continue;
    budget -= ms;
    chosen.push_back(c);
  }
  // Measure; while too slow, drop the kept-out conv that removes the least damage per ms.
  for (;;) {
    std::vector<std::string> out;
    for (const auto& c : chosen) out.push_back(c.conv);
    r.kept_out = out;
    r.latency_ms = out.empty() ? r.all_int8_ms : latency(without(convs, out));
    say(r, progress, "%zu convs kept out: %.2f ms", out.size(), r.latency_ms);
    if (r.latency_ms <= target_ms || chosen.empty()) break;
    chosen.pop_back();  // by_value order: the last is the least valuable
  }
  r.damage = r.kept_out.empty() ? r.all_int8_damage : damage(without(convs, r.kept_out));
  r.goal_met = r.latency_ms <= target_ms;
  return r;
}

}  // namespace sp::quant
