#include "models/model_choice.h"

#include <algorithm>

namespace sp::models {

// Measured (bench/compare_int8.js, 640, 2 threads, one run each; docs/INT8.md):
//   Zen 4: int8 avx512vnni 19.9 ms vs fp32 38.0 ms; int8 avx2 40.8 ms vs fp32 38.0 ms.
//   Zen 5: int8 avx512vnni 16.0 ms vs fp32 26.8 ms; int8 avx2 42.7 ms vs fp32 26.8 ms;
//          with the AVX-VNNI kernels (256-bit vpdpbusd), `sparsepose bench --isa avxvnni`, alternating pairs,
//          quiet: int8 24.8 / 28.6 ms vs fp32 (AVX2 float kernels) 46.7 / 49.9 ms (0.53-0.57x).
// Without a u8 x s8 dot-product instruction the exact int8 product costs more than a float FMA
// (vpmaddwd on widened operands), so only the VNNI-class ISAs pay; AMX runs at least the VNNI kernels.
bool int8_pays_on(Isa isa) { return isa == Isa::kAvx512Vnni || isa == Isa::kAvxVnni || isa == Isa::kAmx; }

const char* bundled_model(EngineChoice engine, Isa isa) {
  const bool int8 = engine == EngineChoice::kInt8 || (engine == EngineChoice::kAuto && int8_pays_on(isa));
  return int8 ? kBundledInt8Model : kBundledFloatModel;
}

bool has_quantized_activations(const Graph& g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_type == "QuantizeLinear"; });
}

}  // namespace sp::models
