// Internal to the float convolution: the plain-data plans that conv_f32.cpp (baseline code) builds in
// create() and the ISA translation units (conv_f32_avx2.cpp, conv_f32_avx512.cpp) execute.
//
// Rules that keep one binary safe on every x86-64: this header holds only plain structs and function
// declarations — no inline functions and no templates — because an inline function instantiated in an
// AVX-512 translation unit may be the copy the linker keeps for baseline callers too. All allocation,
// std:: containers and threading live in conv_f32.cpp; the ISA files only see raw pointers.
#pragma once

#include <cstdint>
#include <string>

#include "core/kernels/activation.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels::conv_internal {

// ---- Direct (implicit-GEMM) convolution --------------------------------------------------------------
//
// Output pixels x output channels, reduced over (kh, kw, ic). Output channels live in the vector lanes:
// a block is `nr` channels (a multiple of 8) of one group; a micro-tile is `mr` consecutive output pixels
// (row-major, so a tile may wrap to the next row) times one block, accumulated in registers.
//
// A block's packed weights are one or two panels, each [kh][kw][ic_g][width] so the micro-kernel reads
// them strictly sequentially: panel 0 holds the first nr rounded down to the ISA's panel granule (16 for
// AVX-512: whole zmm vectors), panel 1 the remaining 8 channels if any (one ymm vector). Channels past the
// group's end are zero.

struct OcBlock {
  int group = 0;
  int oc_begin = 0;            // first output channel of the block (absolute channel index)
  int oc_count = 0;            // valid channels, <= nr
  int nr = 0;                  // channels computed: oc_count rounded up to 8
  int mr = 0;                  // pixels per micro-tile for this block
  int64_t weight_offset = 0;   // floats into DirectPlan::weights: panel 0
  int64_t weight_offset2 = 0;  // panel 1 (unused when nr is a multiple of the panel granule)
  int64_t bias_offset = 0;     // floats into DirectPlan::bias (nr floats, zero padded)
};

// The sliding-window geometry both plans share, copied once from the Conv2dDesc.
struct ConvWindow {
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
};

struct DirectPlan : ConvWindow {
  int ic_g = 0;  // input channels per group (the reduction length per tap)
  // Output rows [oh_lo, oh_hi) and columns [ow_lo, ow_hi) whose taps all land inside the input.
  int oh_lo = 0, oh_hi = 0, ow_lo = 0, ow_hi = 0;
  // 1x1, stride 1, no padding, same size: output pixel p reads input pixel p, whatever the row.
  bool flat = false;
  Activation activation = Activation::kNone;
  const float* weights = nullptr;  // 64-byte aligned, blocks at OcBlock::weight_offset
  const float* bias = nullptr;     // 64-byte aligned, per block
  const float* zeros = nullptr;    // >= ic_g zero floats, stands in for padded taps
  const OcBlock* blocks = nullptr;
  int num_blocks = 0;
};

// Computes output pixels [p_begin, p_end) (row-major over out_h x out_w) of block `block`.
// p_begin must be a multiple of the block's mr (only the last tile of the image may be partial).
using DirectTaskFn = void (*)(const DirectPlan& plan, const ConvIO& io, int block, int64_t p_begin, int64_t p_end);

// ---- Depthwise convolution (groups == in_c == out_c) -----------------------------------------------
//
// Channels in the vector lanes; weights packed [kh][kw][channels rounded up to the lane count].

struct DepthwisePlan : ConvWindow {
  int channels = 0;
  int ow_lo = 0, ow_hi = 0;  // output columns whose taps all land inside the input width
  int channels_padded = 0;   // channels rounded up to the lane count (row length of the packed weights)
  Activation activation = Activation::kNone;
  const float* weights = nullptr;  // 64-byte aligned
  const float* bias = nullptr;     // channels_padded floats, zero padded
};

// Computes output rows [row_begin, row_end) for channel vectors [cv_begin, cv_end).
using DepthwiseTaskFn = void (*)(const DepthwisePlan& plan, const ConvIO& io, int row_begin, int row_end, int cv_begin,
                                 int cv_end);

// What one ISA offers the dispatcher.
struct IsaConvKernels {
  const char* isa_name;  // "avx2", "avx512"
  int lanes;             // floats per full vector (depthwise channel padding)
  int panel_granule;     // see OcBlock: 16 for AVX-512, 8 for AVX2
  int max_nr;            // widest block, in channels (a multiple of 8)
  int mr[9];             // pixels per micro-tile for nr = 8 * i (i = 1..max_nr / 8)
  DirectTaskFn direct;
  DepthwiseTaskFn depthwise;
};

extern const IsaConvKernels kAvx2ConvKernels;
extern const IsaConvKernels kAvx512ConvKernels;

// The portable reference (conv_f32_scalar.cpp): plain loops over OIHW weights. Also the fallback on CPUs
// without AVX2.
std::unique_ptr<Conv2dF32> create_conv2d_f32_scalar(const Conv2dDesc& desc, const float* weights, const float* bias);

// Validates a descriptor (throws sp::Error with a one-line message); shared by every path.
void validate_conv2d_desc(const Conv2dDesc& desc);
// Checks the pointers and pixel strides of one run (throws sp::Error).
void validate_conv_io(const Conv2dDesc& desc, const ConvIO& io);
// The shape part of a kernel's name(): prefix + kernel, stride (and dilation), e.g. "conv3x3s2",
// "spconv3x3s1x2", "dwconv3x3s1d2". Shared by the float, sparse float and bf16 convolutions.
std::string shape_name(const char* prefix, const Conv2dDesc& desc);

}  // namespace sp::kernels::conv_internal
