// Pose-aware precision: which convs to keep in float. Pure search logic over a damage function the
// caller provides (the command measures pose agreement with the float model); see cmd_optimize.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sp::quant {

struct ConvDamage {
  std::string conv;
  double damage = 0;  // 1 - agreement with only this conv quantized
};

struct FallbackStep {
  std::vector<std::string> moved_to_float;  // this step's convs
  double damage = 0;                        // of the model after this step
};

struct SensitivityResult {
  std::vector<ConvDamage> per_conv;          // graph order
  std::vector<std::string> float_convs;      // kept float, in the order they were moved
  double damage_before = 0;                  // every candidate conv int8
  double damage_after = 0;                   // with float_convs kept float
  std::vector<FallbackStep> steps;
};

// damage(int8_convs) -> damage of the model with exactly those convs int8.
using DamageFn = std::function<double(const std::vector<std::string>& int8_convs)>;
using ProgressFn = std::function<void(const std::string& message)>;

// The damage of each conv alone int8 (the rest float), graph order.
std::vector<ConvDamage> measure_conv_damages(const std::vector<std::string>& convs, const DamageFn& damage,
                                             const ProgressFn& progress = {});

// 1. damage of each conv alone; 2. damage D of all convs int8; 3. while D > max_drop and convs
// remain, move the `per_step` most damaging remaining convs (highest single-conv damage first, graph
// order on ties) to float and re-measure D.
SensitivityResult choose_float_convs(const std::vector<std::string>& convs, const DamageFn& damage, double max_drop,
                                     int per_step = 2, const ProgressFn& progress = {});

// ---- Latency-aware precision ------------------------------------------------------------------------
// A conv kept out of int8 (float or bf16: the caller's DamageFn/LatencyFn build the model that way) buys
// back accuracy at a price in time on this CPU. These choose which convs to keep out by the damage each
// removes per millisecond it costs (single-conv damage / measured time difference), re-measuring the
// whole model as they go: the caller's functions measure, these only search.

struct ConvCost {
  std::string conv;
  double damage = 0;    // damage with only this conv int8 (SensitivityResult::per_conv)
  double ms_extra = 0;  // its time kept out of int8 minus its int8 time, measured on this CPU
};

struct LatencyAwareResult {
  std::vector<std::string> kept_out;  // convs kept out of int8, in the order they were chosen
  double damage = 0;                  // of the chosen model
  double latency_ms = 0;              // of the chosen model (LatencyFn)
  double all_int8_damage = 0, all_int8_ms = 0;
  bool goal_met = false;
  std::vector<std::string> log;       // one line per step, for the report
};

// latency(int8_convs) -> measured latency in ms of the model with exactly those convs int8.
using LatencyFn = std::function<double(const std::vector<std::string>& int8_convs)>;

// --max-drop: the fastest model whose damage is <= max_damage. Keeps out the convs with the most damage
// per extra ms, `per_step` at a time, until the model fits; then tries each kept-out conv back in int8,
// the most expensive first, and leaves it there when the model still fits (the greedy overshoots).
// goal_met is false when even every conv kept out does not fit (the result is then that model).
LatencyAwareResult choose_fastest_within(const std::vector<std::string>& convs, const std::vector<ConvCost>& costs,
                                         const DamageFn& damage, const LatencyFn& latency, double max_damage,
                                         int per_step = 2, const ProgressFn& progress = {});

// --target-ms: the least damaged model whose measured latency is <= target_ms. Spends the time budget
// (target - all-int8 latency) on the convs with the most damage per extra ms, predicted by their
// ms_extra, then measures and drops the least valuable kept-out conv until the measured latency fits.
// goal_met is false when the all-int8 model itself is slower than the target (the result is then that,
// the fastest model found).
LatencyAwareResult choose_most_accurate_within(const std::vector<std::string>& convs, const std::vector<ConvCost>& costs,
                                               const DamageFn& damage, const LatencyFn& latency, double target_ms,
                                               const ProgressFn& progress = {});

// The convs of `convs` not in `float_convs`, order kept.
std::vector<std::string> without(const std::vector<std::string>& convs, const std::vector<std::string>& float_convs);

}  // namespace sp::quant
