// The dense and sparse kernels of one convolution op, for either kernel interface (Conv2dF32, Conv2dS8),
// and the rule that decides which of them an op creator builds (core/kernel_plan.h).
#pragma once

#include <cstdint>
#include <memory>

#include "core/kernel_plan.h"
#include "core/ops/op.h"

namespace sp {

// Which kernels a conv op builds: too few zeros (or no sparse kernel) -> dense only; otherwise what the
// mode says, both under auto (the session then times them and keeps one).
struct KernelsToBuild {
  bool dense = true, sparse = false;
};

inline KernelsToBuild kernels_to_build(KernelMode mode, const ConvSparsity& s) {
  if (!s.candidate || mode == KernelMode::kDense) return {true, false};
  if (mode == KernelMode::kSparse) return {false, true};
  return {true, true};
}

template <class Kernel>
struct DualKernel {
  std::unique_ptr<Kernel> dense, sparse;
  const Kernel& active() const { return dense ? *dense : *sparse; }  // before the choice: dense
  bool undecided() const { return dense && sparse; }
  void keep(bool keep_sparse) {
    if (keep_sparse) dense.reset();
    else sparse.reset();
  }
};

// Geometry fields the float and integer descriptors share, for fingerprints.
template <class Desc>
uint64_t hash_conv_geometry(const Desc& d, uint64_t seed) {
  const int64_t f[] = {d.in_h,      d.in_w,       d.in_c,    d.out_c,    d.kernel_h,   d.kernel_w,
                       d.stride_h,  d.stride_w,   d.dilation_h, d.dilation_w, d.pad_top, d.pad_left,
                       d.pad_bottom, d.pad_right, d.groups,  static_cast<int64_t>(d.activation)};
  return hash_bytes(f, sizeof f, seed);
}

}  // namespace sp
