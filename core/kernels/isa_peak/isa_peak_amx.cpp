// AMX peak loop (compiled with the AMX flags; only called when the CPU's tiles are usable): tdpbusd,
// 16 x 16 x 64 = 16384 u8 x s8 MACs per instruction, into six independent accumulator tiles so the
// loop is bound by the TMUL unit's throughput, not by one accumulator's latency.
#include <cstdint>

#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/isa_peak/isa_peak_internal.h"

namespace sp::kernels::isa_peak_internal {
namespace {
volatile int32_t sink_amx;
}  // namespace

double int8_dot_amx(int64_t iters) {
  amx::ensure_engine_tiles_hw();
  alignas(64) int8_t a[16 * 64], b[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) a[i] = static_cast<int8_t>(i % 7), b[i] = static_cast<int8_t>(i % 5 - 2);
  // A in tmm4, B in tmm6, accumulators tmm0-3, tmm5, tmm7 (all tiles are 16 x 64 in the engine's config).
  __asm__ volatile(
      "tileloadd (%0,%2,1), %%tmm4\n\t"
      "tileloadd (%1,%2,1), %%tmm6\n\t"
      "tilezero %%tmm0\n\ttilezero %%tmm1\n\ttilezero %%tmm2\n\t"
      "tilezero %%tmm3\n\ttilezero %%tmm5\n\ttilezero %%tmm7\n\t"
      :
      : "r"(a), "r"(b), "r"(int64_t{64})
      : "memory");
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile(
        "tdpbusd %tmm6, %tmm4, %tmm0\n\t"
        "tdpbusd %tmm6, %tmm4, %tmm1\n\t"
        "tdpbusd %tmm6, %tmm4, %tmm2\n\t"
        "tdpbusd %tmm6, %tmm4, %tmm3\n\t"
        "tdpbusd %tmm6, %tmm4, %tmm5\n\t"
        "tdpbusd %tmm6, %tmm4, %tmm7\n\t");
  }
  alignas(64) int32_t c[16 * 16];
  __asm__ volatile("tilestored %%tmm7, (%0,%1,1)" : : "r"(c), "r"(int64_t{64}) : "memory");
  sink_amx = c[0];
  return static_cast<double>(iters) * 6 * (16.0 * 16 * 64) * 2;
}

}  // namespace sp::kernels::isa_peak_internal
