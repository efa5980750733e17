// Sparse integer 2-D convolution: the same operation, semantics and output bits as create_conv2d_s8
// (conv_s8.h: u8 NHWC input with zero point, s8 OIHW weights, int32 bias, requantized u8 or float output,
// optional SiLU, round half to even), but the weights are compressed once at creation and the kernels
// only execute their nonzero blocks, so the time scales with the number of nonzero blocks.
//
// Format (details in spconv_s8_internal.h and README.md): the skip unit is a group of input channels of
// one tap of one output channel — 4 along K for the VNNI kernels (one vpdpbusd dword), 2 along K for AVX2
// (one vpmaddwd int16 pair); a unit is skipped when all its weights are zero. Output pixels are in the
// vector lanes (16 per zmm, 8 per ymm): each nonzero unit is one broadcast weight multiplied into a run of
// pixels of an input repacked once per run into per-unit planes. Zeros scattered inside units save
// nothing: prune in 4-along-K blocks (2-along-K is enough for AVX2).
//
// Groups of 1, 2 or 4 output channels share one list of nonzero units (their union), chosen from the
// weights at creation: one load of input cells then feeds the whole group, which is what makes 4x4 blocks
// (4 output x 4 input channels of one tap) run at dense speed per executed unit on VNNI.
//
// Same contract as Conv2dS8: any kernel, stride, dilation, padding (padded taps read zx), pixel strides
// above the channel counts; depthwise (groups == in_c == out_c) is not sparse here: it throws sp::Error
// (stays on the dense kernel). run() is reentrant; it packs the input into a workspace of the calling
// thread (and of the pool's threads) that every sparse convolution on that thread reuses: it grows to the
// largest request (about 256 KiB per band) and is freed at thread exit.
#pragma once

#include <cstdint>
#include <memory>

#include "core/cpu_features.h"
#include "core/kernels/conv_s8/conv_s8.h"

namespace sp::kernels {

struct SparseConvS8Options {
  // Output pixels per micro-tile (a multiple of the ISA's vector lanes), or 0 for the kernel's default.
  // Exposed for benchmarks; the default was chosen by measurement (README.md).
  int tile_pixels = 0;
  // Input channels per skip unit: 0 = the ISA's own (4 for the VNNI kernels and kScalar, 2 for AVX2).
  // kScalar runs either; the SIMD kernels only their own (anything else is an sp::Error).
  int unit = 0;
  // Output channels per group sharing one list of nonzero units (1, 2 or 4), or 0 to choose from the
  // weights: a group executes every unit where any of its channels is nonzero, and one load of input cells
  // serves all its channels, so blocks pay when the pruning pattern zeroes the same units in consecutive
  // output channels (README.md). Tiles must fit the registers: out_block * tile vectors <= 16 (zmm) or 8.
  int out_block = 0;
  // Large inputs are packed and consumed in bands of about this many packed bytes, so that the cells are
  // still in cache when read; 0 = the default (256 KiB).
  int64_t band_bytes = 0;
};

// isa: kAvx512Vnni (and kAmx, which has it) run the AVX-512 VNNI kernel (vpdpbusd zmm), kAvxVnni the
// AVX-VNNI one (VEX vpdpbusd ymm), kAvx2 and kAvx512 the AVX2 vpmaddwd one, kScalar a portable
// implementation of the same compressed format. name() says which, with the group and unit sizes, e.g.
// "spconv3x3s1-s8-u8-b4x4-avx512vnni" (groups of 4 output channels, units of 4 input channels).
// Throws sp::Error for a descriptor it cannot run (including depthwise) or an ISA the CPU lacks.
std::unique_ptr<Conv2dS8> create_sparse_conv2d_s8(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                  const int32_t* bias, Isa isa,
                                                  const SparseConvS8Options& options = {});

// What the sparse kernel for `isa` would execute on these weights, for the per-layer dense/sparse choice.
struct SparseConvS8Stats {
  int64_t weights = 0;       // out_c * in_c * kernel_h * kernel_w
  int64_t zero_weights = 0;  // exact zeros among them
  int64_t units = 0;         // skip units (of the ISA's size, channel tail padded) in the dense tensor
  int64_t nonzero_units = 0; // units with a nonzero weight: what the kernel executes
  double weight_sparsity() const { return weights ? static_cast<double>(zero_weights) / weights : 0.0; }
  double unit_sparsity() const { return units ? 1.0 - static_cast<double>(nonzero_units) / units : 0.0; }
};
SparseConvS8Stats sparse_conv2d_s8_stats(const Conv2dS8Desc& desc, const int8_t* weights_oihw, Isa isa);

}  // namespace sp::kernels
