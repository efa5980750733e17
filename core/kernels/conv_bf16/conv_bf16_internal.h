// Internal to the bf16 convolution: the numerics model of the bf16 dot-product instructions, the portable
// reference built on it, and the plain-data plans that conv_bf16.cpp (baseline code) builds and the ISA
// translation units execute.
//
// As in conv_f32_internal.h: only plain structs and declarations here — no inline functions, no templates
// (an inline function instantiated in an AVX-512 translation unit may be the copy the linker keeps for
// baseline callers). Allocation, std:: containers and threading live in the baseline .cpp files.
#pragma once

#include <cstdint>
#include <memory>

#include "core/kernels/activation.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels::conv_bf16_internal {

// ---- The instruction model ---------------------------------------------------------------------------
//
// A pair is one uint32: element 0 (input channel 2k) in bits 15:0, element 1 (channel 2k+1) in bits
// 31:16 — the order both vdpbf16ps and tdpbf16ps read from a dword. make_fp32(b) = b << 16 (exact).
//
// VDPBF16PS (Intel SDM vol. 2C; checked on this Zen 5 by ConvBf16.ModelMatchesVdpbf16ps), per fp32 lane i:
//     // FP32 FMA with daz in, ftz out and RNE rounding. MXCSR neither consulted nor updated.
//     srcdest.fp32[i] += make_fp32(src1.bfloat16[2*i+1]) * make_fp32(t.bfloat[1])
//     srcdest.fp32[i] += make_fp32(src1.bfloat16[2*i+0]) * make_fp32(t.bfloat[0])
//   "Round to nearest even rounding mode is used when doing each accumulation of the FMA. Output denormals
//   are always flushed to zero and input denormals are always treated as zero. MXCSR is not consulted nor
//   updated." NaN priority (SDM Table 5-1): src1 low, src2 low, src1 high, src2 high, srcdest — which is
//   what two FMAs in that order give when each returns the first NaN of (multiplicand, multiplier,
//   addend). So: the odd (high) element first, two roundings per pair (not one), the accumulator's own
//   denormals read as zero too.
// TDPBF16PS (AMX-BF16; SDM pseudocode, not verified on hardware here — this CPU has no AMX), per output
//   (m, n) and instruction: two partial sums starting at +0, temp.fp32[2n+0] += a[2k+0] * b[2k+0] and
//   temp.fp32[2n+1] += a[2k+1] * b[2k+1] for each pair k of the instruction's K ("FP32 FMA with
//   DAZ=FTZ=1, RNE rounding"), then tmpf32 := temp.fp32[2n] + temp.fp32[2n+1] and
//   dest := dest + tmpf32 (each "DAZ=FTZ=1, RNE rounding"). So: no pair order at all, even and odd
//   chains kept apart over a whole instruction and joined once.
// Both are instances of Bf16DotModel; a kernel for another instruction sets its own fields. An AMX kernel
// plugs into create_conv2d_bf16 (conv_bf16.cpp) for Isa::kAmx and is tested against
// create_conv2d_bf16_reference with the model of what its instruction does.

struct Bf16DotModel {
  enum class Sum : uint8_t {
    kChained,       // every product one FMA into the accumulator, pair by pair (vdpbf16ps)
    kSplitEvenOdd,  // per step: even/odd partial sums from +0, then acc + (even + odd) (tdpbf16ps)
  };
  Sum sum = Sum::kChained;
  // kChained: the pair's high (odd) element is added before the low (even) one.
  // kSplitEvenOdd: the join is odd + even instead of even + odd (matters only for NaN payloads).
  bool high_first = true;
  int pairs_per_step = 1;          // kSplitEvenOdd: pairs one instruction reduces (tdpbf16ps: K/4 <= 16)
  bool step_ends_at_tap = false;   // kSplitEvenOdd: a step never spans two taps (it ends early at a tap end)
  int tap_pairs_multiple = 1;      // each tap's pairs are padded with zero pairs to a multiple of this
  bool daz = true;                 // denormal operands (bf16 and the fp32 accumulator) read as a zero of their sign
  bool ftz = true;                 // a result tiny after rounding (unbounded exponent) becomes a zero of its sign
};

extern const Bf16DotModel kVdpbf16psModel;   // the default: what the AVX-512 BF16 kernel computes
extern const Bf16DotModel kTdpbf16psSdmModel;  // AMX per the SDM pseudocode, 16 pairs per step, steps per tap

// One modelled fp32 step a * b + c: NaN operands first (the first of a, b, c, made quiet), then DAZ,
// then inf * 0 or inf - inf give the default NaN 0xFFC00000, else one RNE rounding of the exact value
// and FTZ. Used for the adds of kSplitEvenOdd as fma(x, 1, y).
float model_fma(const Bf16DotModel& m, float a, float b, float c);

// A running dot product of one output value: begin with the bias, feed pairs in reduction order, end.
struct Bf16DotState {
  float acc = 0;
  float even = 0, odd = 0;  // kSplitEvenOdd partial sums
  int in_step = 0;          // pairs in the current kSplitEvenOdd step
};
void dot_begin(Bf16DotState& s, float acc);
// w: the weight pair (src1 of the instruction), x: the activation pair (src2).
void dot_pair(const Bf16DotModel& m, Bf16DotState& s, uint32_t w, uint32_t x);
void dot_end_step(const Bf16DotModel& m, Bf16DotState& s);  // closes a partial kSplitEvenOdd step
float dot_end(const Bf16DotModel& m, Bf16DotState& s);

// The portable reference: for every output pixel and channel, dot_begin(bias), then for each tap
// (kh, kw row-major; outside the image: zero pairs) its pairs in channel order (an odd channel count per
// group: a zero channel 2k+1; then zero pairs up to tap_pairs_multiple; dot_end_step at the tap end if
// step_ends_at_tap), dot_end; then activation(acc) (libm exp for sigmoid/SiLU), then + residual.
std::unique_ptr<Conv2dF32> create_conv2d_bf16_reference(const Conv2dDesc& desc, const float* weights,
                                                        const float* bias, const Bf16DotModel& model);

// ---- Packed operands of the ISA kernels --------------------------------------------------------------
//
// Input (Bf16InputPlan): every run() of a non-flat plan (see Bf16DirectPlan::flat) first converts the float
// input into a scratch buffer of pairs, NHWC, with the spatial padding stored as zero pixels, so the kernels
// never test a tap:
//   - padded_h x padded_w pixels: padded row r holds input row r - pad_top (columns likewise); the size is
//     exactly what the output needs, (out_h - 1) * stride_h + (kernel_h - 1) * dilation_h + 1 rows, so
//     input rows/columns no output reads are not converted;
//   - pixel stride groups * pairs_per_group uint32; group g's pairs start at g * pairs_per_group; an odd
//     channel count per group ends with a zero channel;
//   - padding pixels are zeroed once at creation and never written again.
// Weights: output channels in blocks of nr (as conv_f32: up to max_nr channels of one group, in steps of
// 8), each block one or two panels [kh][kw][pair][width] of uint32 pairs read strictly sequentially:
// panel 0 holds the block's first nr rounded down to 16 channels (whole zmm vectors; also exactly the rows
// of an AMX B tile, 16 columns of one pair), panel 1 the remaining 8 (one ymm vector). Channels past the
// block's end are zero. The bias is fp32, nr floats per block, zero padded.

struct Bf16InputPlan {
  int in_w = 0;                    // the input's width (its row stride is in_w * in_pixel_stride)
  int rows = 0, cols = 0;          // input rows / columns some output reads: these are converted
  int groups = 1, ic_g = 0;        // ic_g: input channels per group
  int pairs_per_group = 0;         // ceil(ic_g / 2)
  int pad_top = 0, pad_left = 0;   // where input pixel (0, 0) sits in the padded buffer
  int padded_h = 0, padded_w = 0;
  int64_t pixel_pairs = 0;         // groups * pairs_per_group (the AMX kernel: more, the rest zero)
  uint32_t* buffer = nullptr;      // padded_h * padded_w * pixel_pairs, 64-byte aligned
};

// Converts input rows [row_begin, row_end) (of plan.rows), columns [0, plan.cols), into plan.buffer.
using Bf16ConvertRowsFn = void (*)(const Bf16InputPlan& plan, const float* input, int64_t in_pixel_stride,
                                   int row_begin, int row_end);

struct Bf16Block {
  int group = 0;
  int oc_begin = 0;            // first output channel (absolute)
  int oc_count = 0;            // valid channels, <= nr
  int nr = 0;                  // channels computed: oc_count rounded up to 8
  int mr = 0;                  // output pixels per micro-tile
  int64_t weight_offset = 0;   // uint32 into Bf16DirectPlan::weights: panel 0
  int64_t weight_offset2 = 0;  // panel 1 (unused when nr is a multiple of 16)
  int64_t bias_offset = 0;     // floats into Bf16DirectPlan::bias
};

struct Bf16DirectPlan {
  int out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int padded_w = 0;
  int ic_g = 0;  // input channels per group
  int pairs_per_group = 0;
  int64_t pixel_pairs = 0;
  // 1x1, stride 1, no padding, one group: output pixel p reads input pixel p only. The kernel then reads
  // the float input itself and converts each micro-tile's pixels as it goes (no conversion pass, no
  // buffer): `input` is unused.
  bool flat = false;
  Activation activation = Activation::kNone;
  const uint32_t* input = nullptr;    // the converted input (Bf16InputPlan::buffer)
  const uint32_t* weights = nullptr;  // 64-byte aligned, blocks at Bf16Block::weight_offset
  const float* bias = nullptr;        // 64-byte aligned
  const Bf16Block* blocks = nullptr;
  int num_blocks = 0;
};

// Computes output pixels [p_begin, p_end) (row-major) of block `block`; io.input is read only when the
// plan is flat. p_begin is a multiple of the block's mr.
using Bf16DirectTaskFn = void (*)(const Bf16DirectPlan& plan, const ConvIO& io, int block, int64_t p_begin,
                                  int64_t p_end);

struct IsaBf16Kernels {
  const char* isa_name;  // "avx512bf16"
  int max_nr;            // widest block (a multiple of 16)
  int mr[9];             // pixels per micro-tile for nr = 8 * i
  Bf16ConvertRowsFn convert;
  Bf16DirectTaskFn direct;
  // The bare instructions over arrays, so tests can hold the model against the hardware:
  // out[i] = one dot step on lane i (acc[i], weight pair w[i], activation pair x[i]); and
  // out[i] = the ISA's fp32 -> bf16 conversion of x[i].
  void (*dot_lanes)(const float* acc, const uint32_t* w, const uint32_t* x, float* out, int n);
  void (*round_lanes)(const float* x, uint16_t* out, int n);
};

extern const IsaBf16Kernels kAvx512Bf16Kernels;  // conv_bf16_avx512bf16.cpp

// The portable converter (bf16_round per value): what every ISA's `convert` must produce.
void convert_rows_scalar(const Bf16InputPlan& plan, const float* input, int64_t in_pixel_stride, int row_begin,
                         int row_end);

// ---- The emulation on the float kernels ----------------------------------------------------------------
//
// Input: the same padded geometry, as floats holding bf16 values, pixel stride groups * 2 * pairs_per_group
// floats, and each pair stored high element first, so that a float kernel summing channels in order with
// one FMA per product adds them in vdpbf16ps's order (plan.buffer is unused).
void convert_rows_emulated(const Bf16InputPlan& plan, float* buffer, const float* input, int64_t in_pixel_stride,
                           int row_begin, int row_end);

// Each path on its own, for tests that want one whatever this CPU would choose.
std::unique_ptr<Conv2dF32> create_conv2d_bf16_native(const Conv2dDesc& desc, const float* weights,
                                                     const float* bias, const IsaBf16Kernels& kernels);
// float_isa: Isa::kAvx512 or Isa::kAvx2 (the float kernels that run it).
std::unique_ptr<Conv2dF32> create_conv2d_bf16_emulated(const Conv2dDesc& desc, const float* weights,
                                                       const float* bias, Isa float_isa);

}  // namespace sp::kernels::conv_bf16_internal
