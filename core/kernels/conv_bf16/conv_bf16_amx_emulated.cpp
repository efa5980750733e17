// AMX-BF16 convolution on the emulated tiles (baseline code): conv_bf16_amx_kernel.inc, the source
// conv_bf16_amx.cpp compiles for the CPU, with each tile operation run by this thread's TileMachine
// (core/kernels/amx/amx_emulator.h). For tests and SP_AMX=emulate; slow, never timed as AMX.
#include <cstdint>
#include <cstring>

#include "core/kernels/amx/amx_emulator.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"

namespace sp::kernels::conv_bf16_internal {
namespace {

struct Tiles {
  static void configure() { amx::ensure_engine_tiles_emulated(); }
  template <int T>
  static void load(const void* base, int64_t stride) {
    amx::thread_tile_machine().tileloadd(T, base, stride);
  }
  template <int T>
  static void store(void* base, int64_t stride) {
    amx::thread_tile_machine().tilestored(T, base, stride);
  }
  template <int C, int A, int B>
  static void dpbf16ps() {
    amx::thread_tile_machine().tdpbf16ps(C, A, B);
  }
};

#include "core/kernels/conv_bf16/conv_bf16_amx_kernel.inc"

}  // namespace

void conv_bf16_amx_emulated_task(const AmxBf16Plan& plan, const ConvIO& io, int nt_begin, int nt_end,
                                 int64_t p_begin, int64_t p_end) {
  run_task(plan, io, nt_begin, nt_end, p_begin, p_end);
}

}  // namespace sp::kernels::conv_bf16_internal
