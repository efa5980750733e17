// Sparse float 2-D convolution: the same contract as conv_f32.h (NHWC with pixel strides, batch 1, fused
// bias + activation + residual, parallel over a ThreadPool, created once and run many times), so the engine
// can hold a dense or a sparse Conv2dF32 per layer. Weights are compressed once at creation and exact zeros
// are never multiplied.
//
// How (measurements in core/kernels/spconv_f32/README.md): the reduction runs with *pixels* in the vector lanes, as in
// XNNPACK's f32-spmm, because an unstructured zero is a single scalar and only a pixel-vectorised product
// lets one scalar weight be skipped. Each band of output rows is first transposed from NHWC into
// zero-padded channel planes (split into stride phases, so a stride-2 conv reads contiguous vectors too);
// then every nonzero weight is one broadcast-FMA over a tile of 16 * V pixels, and the tile is transposed
// back to NHWC in the epilogue. Output channels are taken in groups of R; inside a group the input
// columns (input channel x tap) are sorted by which of the R channels use them, so one vector load of the
// input feeds every nonzero of that column ("register tiling for unstructured sparsity"): a 70 % sparse
// layer still gets ~2 FMAs per load with R = 6, and whole-block patterns (R output channels x 1) get R.
//
// Between two sparse layers the transposes can be skipped: either side may be a planar tensor instead of
// NHWC (PlanarLayout below).
//
// Depthwise and grouped convolutions are accepted (correct) but are not what this is for: keep them dense.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels {

// ---- Planar ("CHW") tensors: chaining sparse layers without the transposes ---------------------------------
//
// The transposes between NHWC and the channel planes are ~28 % of the sparse time (README). Two sparse
// layers in a row can skip them: the first writes its output channel-major, in exactly the layout the
// second reads as its planes. Channel ch's plane is (h + 2 * halo) rows of row_stride = w + 2 * halo
// floats, the image in the middle and a border of `halo` zeros around it (the second layer's padding);
// planes are channel_stride floats apart. A producer writes every float of every plane's rows, halo
// included, so a buffer needs no clearing; the gap after each plane and the tail are never written and
// their contents only ever reach positions the kernels discard.
struct PlanarLayout {
  int h = 0, w = 0, c = 0, halo = 0;
  int64_t row_stride = 0;      // w + 2 * halo
  int64_t channel_stride = 0;  // floats from one plane to the next (a multiple of 16)
  int64_t floats = 0;          // the buffer: c planes and the tail the vector reads of a plane's end may reach
  // Float offset of pixel (y, x) of channel ch; y and x may be in the halo ([-halo, h + halo)).
  int64_t index(int ch, int y, int x) const {
    return ch * channel_stride + (static_cast<int64_t>(y) + halo) * row_stride + x + halo;
  }
};
PlanarLayout planar_layout(int h, int w, int c, int halo);

// Whether the ISA's sparse kernels have planar sides (the vector ones; not the scalar reference).
bool sparse_conv_planar_supported(Isa isa);

// The halo with which a sparse conv can read its input planar (its padding), or -1: only stride 1 with
// the same padding on all four sides (1x1 convs copy each band's range, 3x3 and larger read the planes in
// place). A strided conv splits its rows by phase: copying the phases out of planar rows was measured
// slower than its NHWC pack on most YOLO layers (README), so it reads NHWC.
int sparse_conv_planar_input_halo(const Conv2dDesc& desc);

// Format options. The defaults pick everything from the weights; the fields exist for benchmarks and tests.
struct SparseConvOptions {
  // Output channels per register group (R above): 0 picks per layer from the zero pattern (a cost model
  // over groups, columns and nonzeros, fitted by measurement); otherwise one of the sizes the ISA offers
  // (sparse_conv_group_sizes).
  int oc_group = 0;
  // -1: that side is NHWC (ConvIO's pixel strides). >= 0: it is a planar tensor, planar_layout(h, w, c,
  // halo), whose buffer ConvIO points at, with pixel stride 0. The input's halo must be
  // sparse_conv_planar_input_halo(desc); a residual has the output's layout. Vector ISAs only.
  int planar_input_halo = -1;
  int planar_output_halo = -1;
  // The reduction (input channels) is cut into this many chunks, each run through every group of a tile
  // before the next, so the input a tile's columns read stays in L1 while the groups re-read it (the
  // partial sums wait in the tile buffer). 0: the kernel's choice from the tile's input and the weight
  // stream (spconv_f32.cpp, reduction_chunks; at most 2); n >= 1: n (at most in_c).
  int reduction_chunks = 0;
};

// What the engine needs to decide dense vs sparse before creating anything (cheap: one pass over the
// weights). Fractions are of the layer's weights (zero_fraction) or of its blocks (the rest). Blocks are
// taken per tap: "oc" blocks are n consecutive output channels x 1 (same input channel and tap), "k"
// blocks are 4 consecutive input channels x 1 (same output channel and tap), the reduction-axis block the
// int8 VNNI kernels want. A channel count that n does not divide leaves a partial last block, counted
// zero only if all its weights are zero.
struct SparsityStats {
  int64_t weights = 0;
  double zero_fraction = 0;
  double zero_oc4 = 0, zero_oc8 = 0, zero_oc16 = 0;
  double zero_k4 = 0;
  double zero_rows = 0;     // output channels with every weight zero
  double zero_columns = 0;  // (input channel, tap) columns with every output channel's weight zero
  // Estimated time of the sparse kernel relative to the dense one on this ISA (< 1: sparse expected
  // faster), from the fitted cost model (~15 % median error). A hint: the engine measures.
  double est_sparse_over_dense = 0;
  std::string to_string() const;
};

// weights: ONNX layout OIHW (I = in_c / groups); bias: out_c floats or null.
SparsityStats sparsity_stats(const Conv2dDesc& desc, const float* weights, Isa isa = best_isa());

// The output-channel group sizes the ISA's micro-kernels exist for (for SparseConvOptions::oc_group).
// Writes up to `max` sizes and returns how many there are.
int sparse_conv_group_sizes(Isa isa, int* sizes, int max);

// The group size create_sparse_conv2d_f32 picks for oc_group = 0 (the cost model; 0 for the scalar
// reference, which has no groups). A caller that creates the same conv again with other options (planar
// sides) passes it as oc_group: the same kernel, without evaluating the model again (its column counts
// per candidate group size are most of a sparse conv's creation time).
int sparse_conv_default_group(const Conv2dDesc& desc, const float* weights, Isa isa);

// The cost model's pick and its estimate for each group size of the ISA (the same order as
// sparse_conv_group_sizes), relative to the pick's (1 for the pick, >= 1 for the others); pick 0 and no
// estimates for the scalar reference. For choosing which sizes are worth timing on this CPU.
struct SparseGroupEstimates {
  int pick = 0;  // sparse_conv_default_group
  std::vector<std::pair<int, double>> relative;
};
SparseGroupEstimates sparse_conv_group_estimates(const Conv2dDesc& desc, const float* weights, Isa isa);

// Throws sp::Error (one line) for a descriptor it cannot run, missing weights, an ISA the CPU lacks or an
// oc_group the ISA has no kernel for.
std::unique_ptr<Conv2dF32> create_sparse_conv2d_f32(const Conv2dDesc& desc, const float* weights, const float* bias,
                                                    Isa isa, const SparseConvOptions& options = {});

}  // namespace sp::kernels
