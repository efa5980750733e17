// AVX-VNNI depthwise integer convolution (compiled with -mavx2 -mfma -mavxvnni; only called when the CPU
// has AVX-VNNI): the shared body conv_s8_dw_simd.inc on ymm, 32-channel blocks, one VEX vpdpbusd per column
// quad (4 kernel rows of 8 channels). conv_s8_dw_vnni256_avx512vnni.cpp is the same file in EVEX form, for
// the tests on AVX-512 VNNI machines.
//
// Everything but the entry point is in an anonymous namespace; no std:: templates.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/conv_s8/conv_s8_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

#include "core/kernels/conv_s8/conv_s8_dw_ymm.inc"
#include "core/kernels/conv_s8/conv_s8_silu_avx2.inc"

constexpr bool kVnni = true;
constexpr int kTw = 2;  // 8 accumulators + 4 column vectors + unpack temporaries of 16 ymm registers

// acc += u8 quads x s8 weights (memory operand); %{vex%} is the asm template spelling of {vex}.
SP_DW_INLINE void dw_dot(VI& acc, const VI* col, int k, const int8_t* w) {
  __asm__("%{vex%} vpdpbusd %[wv], %[xv], %[av]"
          : [av] "+x"(acc)
          : [xv] "x"(col[k]), [wv] "m"(*reinterpret_cast<const __m256i*>(w)));
}

}  // namespace

#define SP_DW_ROWS_ENTRY conv_s8_dw_avxvnni_rows
#include "core/kernels/conv_s8/conv_s8_dw_simd.inc"
#undef SP_DW_ROWS_ENTRY

}  // namespace sp::kernels::conv_s8_internal
