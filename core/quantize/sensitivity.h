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

// 1. damage of each conv alone; 2. damage D of all convs int8; 3. while D > max_drop and convs
// remain, move the `per_step` most damaging remaining convs (highest single-conv damage first, graph
// order on ties) to float and re-measure D.
SensitivityResult choose_float_convs(const std::vector<std::string>& convs, const DamageFn& damage, double max_drop,
                                     int per_step = 2, const ProgressFn& progress = {});

// The convs of `convs` not in `float_convs`, order kept.
std::vector<std::string> without(const std::vector<std::string>& convs, const std::vector<std::string>& float_convs);

}  // namespace sp::quant
