#include "core/prune/input_statistics.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/kernels/vector_f32/vector_ops_f32.h"

namespace sp::prune {
namespace {

void check_view(const ConvGeometry& g, const ActivationView& x) {
  if (x.height != g.in_h || x.width != g.in_w || x.channels != g.channels || !x.data) {
    throw Error("pruning: conv input is " + std::to_string(x.channels) + "x" + std::to_string(x.height) + "x" +
                std::to_string(x.width) + ", expected " + std::to_string(g.channels) + "x" + std::to_string(g.in_h) +
                "x" + std::to_string(g.in_w));
  }
}

// The frame, densely NHWC: every patch is then kernel_h * kernel_w contiguous runs of C values.
void to_nhwc(const ConvGeometry& g, const ActivationView& x, std::vector<float>& out) {
  const int64_t C = g.channels;
  out.resize(static_cast<size_t>(g.in_h * g.in_w * C));
  for (int64_t p = 0; p < g.in_h * g.in_w; ++p) {
    const float* src = x.data + p * x.pixel_stride;
    float* dst = out.data() + p * C;
    if (x.channel_stride == 1) {
      std::copy(src, src + C, dst);
    } else {
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c * x.channel_stride];
    }
  }
}

// Output pixel o's patch (zero padding), (ky, kx, c) order.
void patch_of(const ConvGeometry& g, const std::vector<float>& nhwc, int64_t o, float* dst) {
  const int64_t C = g.channels, ow = g.out_w(), oy = o / ow, ox = o % ow;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
    for (int64_t kx = 0; kx < g.kernel_w; ++kx, dst += C) {
      const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
      if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
        std::fill(dst, dst + C, 0.0f);
      } else {
        const float* src = nhwc.data() + (iy * g.in_w + ix) * C;
        std::copy(src, src + C, dst);
      }
    }
  }
}

// Adds, per tap, the sum over every output pixel of the input pixel that tap reads.
void add_pixel_sums(const ConvGeometry& g, const std::vector<float>& nhwc, std::vector<double>& sum) {
  const int64_t C = g.channels;
  std::vector<double> row(static_cast<size_t>(C));
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t oy = 0; oy < g.out_h(); ++oy) {
        const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
        if (iy < 0 || iy >= g.in_h) continue;
        for (int64_t ox = 0; ox < g.out_w(); ++ox) {
          const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
          if (ix < 0 || ix >= g.in_w) continue;
          const float* src = nhwc.data() + (iy * g.in_w + ix) * C;
          for (int64_t c = 0; c < C; ++c) row[static_cast<size_t>(c)] += src[c];
        }
      }
      double* acc = sum.data() + (ky * g.kernel_w + kx) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += row[static_cast<size_t>(c)];
    }
  }
}

// sum += Σ over the m samples (K values each, one after another) in double.
void add_sample_sums(const std::vector<float>& samples, int64_t K, int64_t m, std::vector<double>& sum) {
  for (int64_t i = 0; i < m; ++i) {
    const float* x = samples.data() + i * K;
    for (int64_t k = 0; k < K; ++k) sum[static_cast<size_t>(k)] += x[k];
  }
}

}  // namespace

InputStatistics::InputStatistics(const ConvGeometry& g, int64_t max_patches_per_frame, uint64_t seed, Isa isa)
    : geometry_(g), max_patches_(std::max<int64_t>(0, max_patches_per_frame)), seed_(seed), isa_(isa) {
  if (g.in_h <= 0 || g.in_w <= 0 || g.channels <= 0 || g.kernel_h <= 0 || g.kernel_w <= 0 || g.stride_h <= 0 ||
      g.stride_w <= 0 || g.dilation_h <= 0 || g.dilation_w <= 0 || g.out_h() <= 0 || g.out_w() <= 0) {
    throw Error("pruning: invalid convolution geometry");
  }
  const size_t k = static_cast<size_t>(g.patch_size());
  sum_x_.assign(k, 0.0);
  sum_r_.assign(k, 0.0);
  sum_xs_.assign(k, 0.0);
  sum_rs_.assign(k, 0.0);
  if (max_patches_ > 0) sum_xx_.assign(k * k, 0.0);
}

void InputStatistics::add(const ActivationView& x, const ActivationView* ref) {
  const ConvGeometry& g = geometry_;
  check_view(g, x);
  if (ref) check_view(g, *ref);
  if (frames_ > 0 && (ref != nullptr) != (reference_frames_ > 0)) {
    throw Error("pruning: every frame needs a reference activation, or none");
  }
  const int64_t K = g.patch_size(), pixels = g.out_h() * g.out_w();
  to_nhwc(g, x, nhwc_);
  add_pixel_sums(g, nhwc_, sum_x_);
  if (ref) {
    to_nhwc(g, *ref, ref_nhwc_);
    add_pixel_sums(g, ref_nhwc_, sum_r_);
    ++reference_frames_;
  }
  pixels_ += pixels;
  ++frames_;
  if (max_patches_ == 0) return;

  // A fixed-seed random subset of output pixels (partial Fisher-Yates with a 64-bit LCG: the same
  // pixels on every platform and standard library, and for the reference).
  const int64_t m = std::min(pixels, max_patches_);
  std::vector<int64_t> idx(static_cast<size_t>(pixels));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  if (m < pixels) {
    uint64_t state = seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(frames_) * 0xD1B54A32D192ED03ull + 1;
    for (int64_t i = 0; i < m; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const int64_t j = i + static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(pixels - i));
      std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
    }
  }
  patch_.resize(static_cast<size_t>(K * m));
  for (int64_t i = 0; i < m; ++i) patch_of(g, nhwc_, idx[static_cast<size_t>(i)], patch_.data() + i * K);
  // This frame's products run on the engine's float matmul (Eigen here is built for SSE2 only): the
  // samples as rows (m x K, as sampled) times the same samples transposed (K x m); each element sums
  // its m products in sample order, so F is exactly symmetric. Summed over frames in double.
  add_sample_sums(patch_, K, m, sum_xs_);
  samples_t_.resize(static_cast<size_t>(K * m));
  kernels::nhwc_to_nchw_f32(patch_.data(), static_cast<int>(K), m, K, samples_t_.data(), isa_);  // K x m
  frame_xx_.resize(static_cast<size_t>(K * K));
  kernels::matmul_f32(samples_t_.data(), m, patch_.data(), K, frame_xx_.data(), K, K, K, m, isa_);
  for (int64_t c = 0; c < K; ++c) {
    for (int64_t r = c; r < K; ++r) sum_xx_[static_cast<size_t>(c * K + r)] += frame_xx_[static_cast<size_t>(r * K + c)];
  }
  const int64_t keep = std::min(m, keep_per_frame_);  // the first of a random draw: random too
  kept_x_.insert(kept_x_.end(), patch_.begin(), patch_.begin() + keep * K);
  if (ref) {
    ref_patch_.resize(static_cast<size_t>(K * m));
    for (int64_t i = 0; i < m; ++i) patch_of(g, ref_nhwc_, idx[static_cast<size_t>(i)], ref_patch_.data() + i * K);
    kept_r_.insert(kept_r_.end(), ref_patch_.begin(), ref_patch_.begin() + keep * K);
    add_sample_sums(ref_patch_, K, m, sum_rs_);
    // (r, c) = Σ_i r_i[r] x_i[c]: the reference's samples transposed times this model's as rows.
    kernels::nhwc_to_nchw_f32(ref_patch_.data(), static_cast<int>(K), m, K, samples_t_.data(), isa_);
    kernels::matmul_f32(samples_t_.data(), m, patch_.data(), K, frame_xx_.data(), K, K, K, m, isa_);
    if (sum_rx_.empty()) sum_rx_.assign(static_cast<size_t>(K * K), 0.0);
    for (int64_t r = 0; r < K; ++r) {
      for (int64_t c = 0; c < K; ++c) sum_rx_[static_cast<size_t>(c * K + r)] += frame_xx_[static_cast<size_t>(r * K + c)];
    }
  }
  patches_ += m;
  kept_ += keep;
}

Hessian InputStatistics::hessian(bool centered) const {
  if (max_patches_ == 0) throw Error("pruning: these statistics have no Hessian");
  if (patches_ == 0) throw Error("pruning: no calibration patch was seen");
  const int64_t K = geometry_.patch_size();
  Hessian h;
  h.n = K;
  h.samples = patches_;
  h.h.resize(static_cast<size_t>(K * K));
  const double inv = 1.0 / static_cast<double>(patches_);
  for (int64_t c = 0; c < K; ++c) {
    for (int64_t r = c; r < K; ++r) {
      double v = sum_xx_[static_cast<size_t>(c * K + r)] * inv;  // column-major lower (r >= c)
      if (centered) v -= sum_xs_[static_cast<size_t>(r)] * inv * sum_xs_[static_cast<size_t>(c)] * inv;
      h.h[static_cast<size_t>(r * K + c)] = v;
      h.h[static_cast<size_t>(c * K + r)] = v;
    }
  }
  return h;
}

std::vector<double> InputStatistics::cross_moment(bool centered) const {
  if (sum_rx_.empty() || patches_ == 0) throw Error("pruning: these statistics have no reference");
  const int64_t K = geometry_.patch_size();
  const double inv = 1.0 / static_cast<double>(patches_);
  std::vector<double> g(static_cast<size_t>(K * K));
  for (int64_t i = 0; i < K; ++i) {    // row: reference feature
    for (int64_t j = 0; j < K; ++j) {  // column: input feature
      double v = sum_rx_[static_cast<size_t>(j * K + i)] * inv;
      if (centered) v -= sum_rs_[static_cast<size_t>(i)] * inv * sum_xs_[static_cast<size_t>(j)] * inv;
      g[static_cast<size_t>(i * K + j)] = v;
    }
  }
  return g;
}

std::vector<double> InputStatistics::mean_patch() const {
  std::vector<double> m(sum_x_.size(), 0.0);
  if (pixels_ == 0) return m;
  for (size_t i = 0; i < m.size(); ++i) m[i] = sum_x_[i] / static_cast<double>(pixels_);
  return m;
}

std::vector<double> InputStatistics::reference_mean_patch() const {
  if (reference_frames_ == 0) throw Error("pruning: these statistics have no reference");
  std::vector<double> m(sum_r_.size(), 0.0);
  for (size_t i = 0; i < m.size(); ++i) m[i] = sum_r_[i] / static_cast<double>(pixels_);
  return m;
}

}  // namespace sp::prune
