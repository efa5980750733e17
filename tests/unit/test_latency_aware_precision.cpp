// Latency-aware precision search (core/quantize/sensitivity.h) on synthetic models whose damage and
// latency are known exactly: damage adds up over the int8 convs, latency over the kept-out convs.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/quantize/sensitivity.h"

namespace sp::quant {
namespace {

struct SyntheticModel {
  std::vector<std::string> convs;
  std::map<std::string, double> damage_of, extra_ms;
  double base_ms = 10.0;
  double overhead_ms = 0.0;  // per kept-out conv, not in the predicted costs (boundary ops, say)
  int damage_calls = 0, latency_calls = 0;

  std::vector<std::string> kept_out(const std::vector<std::string>& int8) const {
    std::set<std::string> in(int8.begin(), int8.end());
    std::vector<std::string> out;
    for (const auto& c : convs)
      if (!in.count(c)) out.push_back(c);
    return out;
  }
  DamageFn damage() {
    return [this](const std::vector<std::string>& int8) {
      ++damage_calls;
      double d = 0;
      for (const auto& c : int8) d += damage_of.at(c);
      return d;
    };
  }
  LatencyFn latency() {
    return [this](const std::vector<std::string>& int8) {
      ++latency_calls;
      double ms = base_ms;
      for (const auto& c : kept_out(int8)) ms += extra_ms.at(c) + overhead_ms;
      return ms;
    };
  }
  std::vector<ConvCost> costs() const {
    std::vector<ConvCost> out;
    for (const auto& c : convs) out.push_back({c, damage_of.at(c), extra_ms.at(c)});
    return out;
  }
  void add(const std::string& name, double damage, double ms) {
    convs.push_back(name);
    damage_of[name] = damage;
    extra_ms[name] = ms;
  }
};

// The fastest kept-out set within max_damage, by brute force (small models only).
double brute_force_fastest(const SyntheticModel& m, double max_damage) {
  const size_t n = m.convs.size();
  double best = 1e300;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    double d = 0, ms = m.base_ms;
    for (size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) ms += m.extra_ms.at(m.convs[i]) + m.overhead_ms;
      else d += m.damage_of.at(m.convs[i]);
    }
    if (d <= max_damage) best = std::min(best, ms);
  }
  return best;
}

TEST(LatencyAwarePrecision, KeepsOutTheCheapDamagingConvsNotTheExpensiveOnes) {
  // A hurts most but costs 10 ms to keep out; B and C together hurt as much and cost almost nothing.
  // The accuracy-only rule (most damaging first) would keep A out; the latency-aware one must not.
  SyntheticModel m;
  m.add("A", 0.040, 10.0);
  m.add("B", 0.025, 0.2);
  m.add("C", 0.025, 0.3);
  m.add("D", 0.005, 0.1);
  auto r = choose_fastest_within(m.convs, m.costs(), m.damage(), m.latency(), 0.046, 1);
  EXPECT_TRUE(r.goal_met);
  EXPECT_LE(r.damage, 0.046 + 1e-12);
  EXPECT_EQ(std::count(r.kept_out.begin(), r.kept_out.end(), "A"), 0) << "the expensive conv stays int8";
  EXPECT_NEAR(r.latency_ms, brute_force_fastest(m, 0.046), 1e-9);
  EXPECT_NEAR(r.all_int8_damage, 0.095, 1e-12);
}

TEST(LatencyAwarePrecision, GivesBackConvsTheGreedyStepDidNotNeed) {
  // Two per step: the second conv of the last step is not needed and must go back to int8.
  SyntheticModel m;
  m.add("A", 0.030, 0.1);
  m.add("B", 0.001, 0.01);  // ranks high (cheap) but removes little
  m.add("C", 0.010, 5.0);
  auto r = choose_fastest_within(m.convs, m.costs(), m.damage(), m.latency(), 0.012, 2);
  EXPECT_TRUE(r.goal_met);
  EXPECT_LE(r.damage, 0.012 + 1e-12);
  EXPECT_NEAR(r.latency_ms, brute_force_fastest(m, 0.012), 1e-9);
}

TEST(LatencyAwarePrecision, FastestWithinAlwaysFitsWhenAnythingFits) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dmg(0.0, 0.02), ms(0.01, 3.0);
  for (int trial = 0; trial < 200; ++trial) {
    SyntheticModel m;
    const int n = 3 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) m.add(std::string(1, static_cast<char>('a' + i)), dmg(rng), ms(rng));  // (GCC 12 -Wrestrict false positive on "c" + to_string)
    const double max_damage = dmg(rng) * 2;
    auto r = choose_fastest_within(m.convs, m.costs(), m.damage(), m.latency(), max_damage, 1 + trial % 3);
    ASSERT_TRUE(r.goal_met) << "keeping every conv out always fits (damage 0)";
    EXPECT_LE(r.damage, max_damage + 1e-12);
    // Never slower than keeping every conv out, never faster than the optimum.
    double all_out = m.base_ms;
    for (const auto& c : m.convs) all_out += m.extra_ms.at(c);
    EXPECT_LE(r.latency_ms, all_out + 1e-9);
    EXPECT_GE(r.latency_ms, brute_force_fastest(m, max_damage) - 1e-9);
  }
}

TEST(LatencyAwarePrecision, MostAccurateWithinMeetsTheMeasuredTarget) {
  SyntheticModel m;
  m.add("A", 0.030, 2.0);
  m.add("B", 0.020, 0.5);
  m.add("C", 0.010, 0.5);
  m.add("D", 0.001, 3.0);
  m.overhead_ms = 0.4;  // the measured cost exceeds the predicted one: the search must measure, not trust
  auto r = choose_most_accurate_within(m.convs, m.costs(), m.damage(), m.latency(), 12.6);
  EXPECT_TRUE(r.goal_met);
  EXPECT_LE(r.latency_ms, 12.6 + 1e-9);
  EXPECT_NEAR(r.latency_ms, m.latency()(without(m.convs, r.kept_out)), 1e-12) << "reported latency is the measured one";
  EXPECT_LT(r.damage, r.all_int8_damage) << "the spare time bought some accuracy";
}

TEST(LatencyAwarePrecision, UnreachableTargetReturnsTheFastestModel) {
  SyntheticModel m;
  m.add("A", 0.03, 1.0);
  m.add("B", 0.02, 1.0);
  auto r = choose_most_accurate_within(m.convs, m.costs(), m.damage(), m.latency(), 5.0);  // all int8 takes 10 ms
  EXPECT_FALSE(r.goal_met);
  EXPECT_TRUE(r.kept_out.empty());
  EXPECT_DOUBLE_EQ(r.latency_ms, 10.0);
  EXPECT_DOUBLE_EQ(r.damage, r.all_int8_damage);
}

TEST(LatencyAwarePrecision, NoConvsToKeepOutIsAValidAnswer) {
  SyntheticModel m;
  m.add("A", 0.001, 1.0);
  auto r = choose_fastest_within(m.convs, m.costs(), m.damage(), m.latency(), 0.01);
  EXPECT_TRUE(r.goal_met);
  EXPECT_TRUE(r.kept_out.empty());
  EXPECT_DOUBLE_EQ(r.latency_ms, 10.0);
}

}  // namespace
}  // namespace sp::quant
