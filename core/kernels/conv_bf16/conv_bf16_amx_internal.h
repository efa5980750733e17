// Internal to the AMX-BF16 convolution (tdpbf16ps): the plain-data plan conv_bf16_amx_plan.cpp (baseline
// code) builds, and the entry points of the translation units that execute it. Plain structs and
// declarations only (see conv_f32_internal.h).
//
// Layout. Every run converts the float input into the bf16 pair buffer of conv_bf16_internal.h
// (Bf16InputPlan: spatial padding stored as zero pixels) with one difference: a pixel holds its pairs
// rounded up to a multiple of 16 (64 bytes, one A-tile row), the extra pairs zero. So for each tap
// (kh, kw) and each 16 pairs of it, an A tile of 16 output pixels of one output row comes straight
// from that buffer through tileloadd's row stride (stride_w pixels); tiles that wrap an output row or
// pass its last pixel are gathered, 64 bytes per tap and step, into a per-thread scratch. B tiles are
// packed once: [n tile][step][16 pairs][16 channels] uint32 pairs, zero past in_c and out_c.
//
// Numerics: C starts as the bias (a zero-stride load) and every step is one tdpbf16ps, in tap order,
// each tap's pairs padded with zero pairs to whole steps of 16: exactly conv_bf16_internal's
// kTdpbf16psSdmModel with tap_pairs_multiple = 16 (kTdpbf16psAmxModel below), which the tests hold the
// kernel to bit for bit through the emulator. This is NOT vdpbf16ps's order (the AVX-512 BF16 kernel):
// tdpbf16ps keeps even and odd products in separate sums per instruction, so AMX-BF16 results differ
// from the AVX-512 BF16 ones in the last bits.
#pragma once

#include <cstdint>
#include <memory>

#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels::conv_bf16_internal {

// The instruction model of this kernel's reduction (definition in conv_bf16_amx_plan.cpp).
extern const Bf16DotModel kTdpbf16psAmxModel;

// The epilogue: fp32 accumulators of m pixels (rows acc_ld floats apart) x count (<= 32) channels,
// activation, + residual (null: none), stored to out (pixels ops floats apart).
using AmxBf16StoreFn = void (*)(Activation act, const float* acc, int acc_ld, int m, int count, float* out,
                                int64_t ops, const float* residual, int64_t rps);

struct AmxBf16Plan {
  int out_h = 0, out_w = 0, out_c = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  bool linear = false;       // 1x1, stride 1, no padding: output pixel p reads buffer pixel p
  int padded_w = 0;          // the converted buffer's row length (pixels)
  int64_t pixel_pairs = 0;   // uint32 per buffer pixel: in_c / 2 rounded up to 16
  int chunks = 0;            // pixel_pairs / 16: steps per tap
  int ksteps = 0;            // taps * chunks
  int n_tiles = 0;           // ceil(out_c / 16)
  Activation activation = Activation::kNone;
  const uint32_t* input = nullptr;    // the converted, padded input (written by run() before the tasks)
  const uint32_t* weights = nullptr;  // [n_tiles][ksteps][16][16] pairs, 64-byte aligned
  const float* bias = nullptr;        // (n_tiles + 1) * 16 floats, zero padded
  AmxBf16StoreFn store = nullptr;
};

// Output pixels [p_begin, p_end) x channel tiles [nt_begin, nt_end) (nt_begin even); io for the output
// and the residual. conv_bf16_amx.cpp: the CPU's tiles; conv_bf16_amx_emulated.cpp: the emulator. One
// source: conv_bf16_amx_kernel.inc.
void conv_bf16_amx_task(const AmxBf16Plan& plan, const ConvIO& io, int nt_begin, int nt_end, int64_t p_begin,
                        int64_t p_end);
void conv_bf16_amx_emulated_task(const AmxBf16Plan& plan, const ConvIO& io, int nt_begin, int nt_end,
                                 int64_t p_begin, int64_t p_end);

// The float kernels' AVX-512 epilogue (conv_f32_epilogue_avx512.inc) on stored tiles
// (conv_bf16_amx_store_avx512.cpp).
void conv_bf16_amx_store_avx512(Activation act, const float* acc, int acc_ld, int m, int count, float* out,
                                int64_t ops, const float* residual, int64_t rps);

enum class AmxBf16Backend { kHardware, kEmulated };
// groups == 1 only. kHardware needs usable AMX; kEmulated needs AVX-512 (the epilogue). Throws sp::Error.
std::unique_ptr<Conv2dF32> create_conv2d_bf16_amx(const Conv2dDesc& desc, const float* weights, const float* bias,
                                                  AmxBf16Backend backend);

}  // namespace sp::kernels::conv_bf16_internal
