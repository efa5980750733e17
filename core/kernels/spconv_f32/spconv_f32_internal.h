// Internal to the sparse float convolution: the plain-data plan that spconv_f32.cpp (baseline code) builds
// at creation and the ISA translation units (spconv_f32_avx2.cpp, spconv_f32_avx512.cpp) execute.
//
// Same rules as conv_f32_internal.h: only plain structs and declarations here (no inline functions, no
// templates), because an inline function instantiated in an AVX-512 translation unit may be the copy the
// linker keeps for baseline callers. Allocation, containers and threading live in spconv_f32.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "core/kernels/activation.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels::spconv_internal {

// ---- Layout ------------------------------------------------------------------------------------------
//
// A band of output rows (or, for a 1x1 stride-1 unpadded conv, a range of pixels) is computed from
// "planes": the input rows it needs, transposed to channel-major, zero padded, and split into stride
// phases. Phase (py, px) of input channel c holds, at plane row a and column b, the input pixel
// (stride_h * (oh0 + a) + py - pad_top, stride_w * b + px - pad_left), or 0 outside the image. A tap
// (y, x) of output pixel (oh0 + r, ow), with dy = y * dil_h and dx = x * dil_w, is then at
//     phase (dy % stride_h, dx % stride_w), row r + dy / stride_h, column ow + dx / stride_w,
// so with q = r * plane_w + ow ("flat position"), every tap of every pixel is q plus a constant offset:
// one column of the sparse matrix = one offset. Positions with ow >= out_w are computed and discarded
// (plane_w - out_w of every plane_w: a few percent), which lets a tile of 16 * V positions run across
// row ends. Planes are plane_stride floats apart (a multiple of 16, so a 1x1 conv's loads are aligned).

// Columns of a group that the same subset of its R output channels use: `mask` bit r = channel r.
struct SpRun {
  uint32_t mask = 0;
  int32_t count = 0;
};

// The columns of one group (R consecutive output channels) in one reduction chunk, stored run by run in one
// stream (chunk by chunk, group by group: the band kernel's order), per column 1 + popcount(mask) 32-bit
// words: the column's offset in bytes from the tile's position in the planes (an int32), then its weights in
// channel order. One pointer walks it, and the offset needs no scaling.
struct SpGroup {
  int run_begin = 0, run_count = 0;
  int64_t stream_begin = 0;  // into SparsePlan::stream
};

struct SparsePlan {
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  int phases_y = 1, phases_x = 1;
  bool flat = false;           // 1x1, stride 1, unpadded: planes are [c][pixel], a band is a pixel range
  int plane_w = 0;             // positions per plane row
  int max_row_off = 0;         // largest row offset of a tap: a band of r rows needs r + this plane rows
  int band_rows = 0;           // general: output rows per band (the largest; the planes are sized for it)
  int64_t band_pixels = 0;     // flat: pixels per band
  int64_t plane_stride = 0;    // floats between planes: >= band plane floats + one tile + 16, multiple of 16
  int64_t phase_stride = 0;    // in_c * plane_stride
  int r = 0, v = 0, tile = 0;  // group size, vectors per tile, positions per tile (lanes * v)
  Activation activation = Activation::kNone;
  // Planar sides (spconv_f32.h, PlanarLayout). in_planar: the input tensor is the planes (plane_stride =
  // its channel stride, plane_w = its row stride), so a band packs nothing. in_copy_stride > 0 (flat
  // convs): the input is planar with that channel stride, and a band copies its pixel range of each
  // plane into the packed planes, no transpose. out_planar: the epilogue stores into the output planes
  // (out_row_stride / out_channel_stride floats, out_halo of border).
  bool in_planar = false, out_planar = false;
  int64_t in_copy_stride = 0;
  int out_halo = 0;
  int64_t out_row_stride = 0, out_channel_stride = 0;
  int num_groups = 0;  // ceil(out_c / r); group g is output channels [g * r, g * r + r)
  int chunks = 1;      // reduction chunks: groups[k * num_groups + g] holds group g's columns of chunk k
  const SpGroup* groups = nullptr;
  const SpRun* runs = nullptr;
  const float* stream = nullptr;
  const float* bias = nullptr;   // num_groups * r floats (zero padded)
  const float* zeros = nullptr;  // >= in_c rounded up to 16 zeros: the pixel padding reads
};

// Scratch one band needs: the planes (phases * phase_stride floats), one output tile (tile_rows * tile
// floats, tile_rows = max(num_groups * r, out_c) rounded up to 16) and a staging block for edge pixels
// (16 * in_c rounded up to 4 floats). 64-byte aligned.
struct BandScratch {
  float* planes = nullptr;
  float* tile = nullptr;
  float* stage = nullptr;
};

// Computes band `band` with bands of `band_size` output rows (general) or pixels (flat), <= the plan's.
using SpconvBandFn = void (*)(const SparsePlan& plan, const ConvIO& io, int64_t band, int64_t band_size,
                              const BandScratch& scratch);

struct SpKernel {
  int r = 0, v = 0;
  SpconvBandFn fn = nullptr;
  // Cost model (ns; see spconv_f32.cpp): per tile and group, per tile and column, per tile and nonzero.
  double c_group = 0, c_col = 0, c_nz = 0;
};

// What one ISA offers: its micro-kernels by group size.
struct IsaSpconvKernels {
  const char* isa_name;
  int lanes;
  int num_kernels;
  SpKernel kernels[6];
  // Cost model (ns): the transposes per input float; the dense conv_f32 kernel per multiply-add and per
  // output (its epilogue), for est_sparse_over_dense.
  double c_in, c_mac, c_out;
};

extern const IsaSpconvKernels kAvx2SpconvKernels;
extern const IsaSpconvKernels kAvx512SpconvKernels;

// The portable reference (spconv_f32_scalar.cpp): per output channel, the nonzero weights as (input
// channel, tap, value) in reduction order, applied pixel by pixel straight from NHWC.
std::unique_ptr<Conv2dF32> create_sparse_conv2d_f32_scalar(const Conv2dDesc& desc, const float* weights,
                                                           const float* bias);

}  // namespace sp::kernels::spconv_internal
