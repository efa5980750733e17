// Synthetic pruning problems shared by the pruning tests: Gaussian weights and the Hessians of
// inputs with known correlation.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/prune/obs.h"

namespace sp::prune {

inline std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// N samples of K strongly correlated features: x = A z with z ~ N(0, I) of rank `rank` (<= K), plus
// a little independent noise when `noise` > 0. Returns the Hessian (1/N) Σ x xᵀ.
inline Hessian correlated_hessian(int64_t K, int64_t N, int64_t rank, float noise, uint32_t seed) {
  std::vector<float> A = gaussian(static_cast<size_t>(K * rank), seed);
  std::vector<float> z = gaussian(static_cast<size_t>(rank * N), seed + 1);
  std::vector<float> e = gaussian(static_cast<size_t>(K * N), seed + 2, noise);
  Hessian h;
  h.n = K;
  h.samples = N;
  h.h.assign(static_cast<size_t>(K * K), 0.0);
  std::vector<double> x(static_cast<size_t>(K));
  for (int64_t s = 0; s < N; ++s) {
    for (int64_t k = 0; k < K; ++k) {
      double v = e[static_cast<size_t>(k * N + s)];
      for (int64_t r = 0; r < rank; ++r) v += A[static_cast<size_t>(k * rank + r)] * z[static_cast<size_t>(r * N + s)];
      x[static_cast<size_t>(k)] = v;
    }
    for (int64_t i = 0; i < K; ++i) {
      for (int64_t j = 0; j < K; ++j) h.h[static_cast<size_t>(i * K + j)] += x[static_cast<size_t>(i)] * x[static_cast<size_t>(j)] / static_cast<double>(N);
    }
  }
  return h;
}

}  // namespace sp::prune
