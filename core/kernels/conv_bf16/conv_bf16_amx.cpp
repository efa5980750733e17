// AMX-BF16 convolution on the CPU's tiles (compiled with the AMX flags; only called when AMX is usable).
// The micro-kernel is conv_bf16_amx_kernel.inc, shared with the emulated build
// (conv_bf16_amx_emulated.cpp); this file maps its tile operations to instructions — written out as asm
// for the reasons given in conv_s8/conv_s8_amx.cpp (GCC 12's macros paste the tile number into the asm
// text and declare no memory clobber).
#include <cstdint>
#include <cstring>

#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"

namespace sp::kernels::conv_bf16_internal {
namespace {

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
  static inline __attribute__((always_inline)) void dpbf16ps() {
    __asm__ volatile("tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0" : : "i"(C), "i"(A), "i"(B));  // AT&T: src2, src1, dst
  }
};

#include "core/kernels/conv_bf16/conv_bf16_amx_kernel.inc"

}  // namespace

void conv_bf16_amx_task(const AmxBf16Plan& plan, const ConvIO& io, int nt_begin, int nt_end, int64_t p_begin,
                        int64_t p_end) {
  run_task(plan, io, nt_begin, nt_end, p_begin, p_end);
}

}  // namespace sp::kernels::conv_bf16_internal
