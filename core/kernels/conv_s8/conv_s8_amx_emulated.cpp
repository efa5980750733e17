// AMX-INT8 convolution on the emulated tiles (baseline code): conv_s8_amx_kernel.inc, the very source
// conv_s8_amx.cpp compiles for the CPU, with each tile operation executed by this thread's TileMachine
// (core/kernels/amx/amx_emulator.h, an exact model of the instructions). For the unit tests on any
// machine and for whole sessions under SP_AMX=emulate; it is slow, and never timed as AMX.
#include <cstdint>

#include "core/kernels/amx/amx_emulator.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"

namespace sp::kernels::conv_s8_internal {
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
  static void dpbusd() {
    amx::thread_tile_machine().tdpbusd(C, A, B);
  }
};

#include "core/kernels/conv_s8/conv_s8_amx_kernel.inc"

}  // namespace

void conv_s8_amx_emulated_task(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                               int64_t out_pixel_stride, int nt_begin, int nt_end, int64_t p_begin, int64_t p_end) {
  run_task(plan, in, in_pixel_stride, out, out_pixel_stride, nt_begin, nt_end, p_begin, p_end);
}

}  // namespace sp::kernels::conv_s8_internal
