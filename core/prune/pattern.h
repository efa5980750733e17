// Sparsity patterns: which weights are removed together. A pattern is a rectangular tile of the
// layer's weight matrix W [O x K], K in (ky, kx, c) order — tap-major, input channel fastest, the
// order the NHWC kernels read — so that a tile of 1 x 4 is four consecutive input channels of one
// tap (one VNNI dword, skippable as a whole by the int8 kernels) and a tile of 4 x 1 is one weight
// position across four consecutive output channels. New kernel-friendly shapes are new tiles.
#pragma once

#include <cstdint>
#include <string>

namespace sp::prune {

struct PrunePattern {
  int rows = 1;  // consecutive output channels per group
  int cols = 1;  // consecutive input channels (of one kernel tap) per group

  int group_size() const { return rows * cols; }
  bool unstructured() const { return rows == 1 && cols == 1; }
  // "unstructured", "block-k4", "block-o4", "block-o4k4".
  std::string name() const;
  // Accepts the names above: "unstructured", "block-kN", "block-oN", "block-oRkC" with N, R, C in
  // 1..64. Throws sp::Error (one line) otherwise.
  static PrunePattern parse(const std::string& text);
  // Empty when every group of a layer with `out_channels` outputs and `in_channels` input channels
  // (per group of a conv) lies whole inside the weight matrix; otherwise why not, e.g.
  // "51 output channels are not a multiple of 4". Groups never straddle two kernel taps.
  std::string misfit(int64_t out_channels, int64_t in_channels) const;
};

}  // namespace sp::prune
