// AMX-INT8 convolution on the CPU's tiles (compiled with -mamx-tile -mamx-int8 -mamx-bf16 and the
// AVX-512 VNNI flags; only called when cpu_features says AMX is usable, i.e. the CPU has it and Linux
// granted the process its tile data). The micro-kernel is conv_s8_amx_kernel.inc, shared with the
// emulated build in conv_s8_amx_emulated.cpp; this file only maps its tile operations to instructions.
#include <cstdint>

#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

// GCC 12's _tile_loadd / _tile_stored / _tile_dpbusd are macros that paste the tile number into the
// asm text (so it cannot be a template parameter) and declare no memory clobber (so the compiler may move
// the gather's or the epilogue's plain loads and stores across them). The same instructions written out,
// with the tile numbers as "i" operands printed by %c and "memory" on the loads and stores.
struct Tiles {
  static void configure() { amx::ensure_engine_tiles_hw(); }
  template <int T>
  static inline __attribute__((always_inline)) void load(const void* base, int64_t stride) {
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm%c2" : : "r"(base), "r"(stride), "i"(T) : "memory");
  }
  template <int T>
  static inline __attribute__((always_inline)) void store(void* base, int64_t stride) {
    __asm__ volatile("tilestored %%tmm%c2, (%0,%1,1)" : : "r"(base), "r"(stride), "i"(T) : "memory");
  }
  template <int C, int A, int B>
  static inline __attribute__((always_inline)) void dpbusd() {
    __asm__ volatile("tdpbusd %%tmm%c2, %%tmm%c1, %%tmm%c0" : : "i"(C), "i"(A), "i"(B));  // AT&T: src2, src1, dst
  }
};

#include "core/kernels/conv_s8/conv_s8_amx_kernel.inc"

}  // namespace

void conv_s8_amx_task(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                      int64_t out_pixel_stride, int nt_begin, int nt_end, int64_t p_begin, int64_t p_end) {
  run_task(plan, in, in_pixel_stride, out, out_pixel_stride, nt_begin, nt_end, p_begin, p_end);
}

}  // namespace sp::kernels::conv_s8_internal
