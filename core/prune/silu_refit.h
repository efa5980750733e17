// Refitting a pruned conv through the SiLU that follows it. OBS and ADMM fit the conv's linear output
// (Ŵx against the target W₀x_ref), every sampled pixel alike; what the next layer reads is SiLU(Ŵx + b),
// which hardly changes where the pre-activation is well below zero. This refit keeps the mask (zeros stay
// zero) and moves the remaining weights and the bias so that SiLU(Ŵx + b̂) matches SiLU(W₀x_ref + b₀) on the
// sampled pixels: full-batch Adam, each output channel on its own (they do not interact), and each keeps
// its best iterate, so no channel ends worse than it started on those pixels.
//
// It needs many pixels: each channel has up to K free weights, and with ~5 samples per weight (128 per
// frame, 40 frames at 320) it lowered the label-free damage on the calibration frames but cost 0.012
// pose AP on the dev set; with the Hessian's own 1024 per frame it gained 0.010-0.014 (docs/PRUNING.md).
#pragma once

#include <cstdint>
#include <span>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace sp::prune {

struct SiluRefitOptions {
  int iterations = 60;
  // Adam's step, relative to each output channel's RMS weight (and, for the bias, to the RMS of that
  // channel's target pre-activation).
  double step = 3e-3;
};

struct SiluRefitResult {
  double error_before = 0, error_after = 0;  // mean squared SiLU-output error on the samples
};

// w: rows x k (row-major), pruned; bias: rows. w0, b0: the float conv. x: the pruned model's inputs, r: the
// float model's, both k x n column-major (one sampled patch per column). The products run on `isa`'s float
// kernels, in fixed blocks of channels, samples and weight columns spread over `pool` (null: this
// thread): the result does not depend on the pool's size, and differs between ISAs by rounding only.
SiluRefitResult silu_refit(std::span<float> w, std::span<float> bias, int64_t rows, std::span<const float> w0,
                           std::span<const float> b0, std::span<const float> x, std::span<const float> r, int64_t n,
                           const SiluRefitOptions& options = {}, ThreadPool* pool = nullptr,
                           Isa isa = best_isa());

}  // namespace sp::prune
