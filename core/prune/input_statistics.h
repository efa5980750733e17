// What a conv sees on calibration data, gathered from its input activations frame by frame:
//  - the Hessian H = (1/N) Σ x xᵀ of its im2col patches x (K = kernel_h · kernel_w · channels in
//    (ky, kx, c) order, zero padding included), from at most `max_patches_per_frame` output pixels per
//    frame chosen at random with a fixed seed (the cost is K² per patch; a few thousand patches per
//    K already pin H down, and damping covers the rest);
//  - the mean patch over every output pixel of every frame (bias correction needs only means);
//  - optionally, for a REFERENCE activation of the same shape (what the float model feeds the same
//    conv on the same frame), the cross moment G = (1/N) Σ r xᵀ over the same sampled pixels and the
//    reference's mean patch: the statistics of the float-target objective ||W R - Ŵ X||².
// For a grouped conv the patch spans all input channels (means only; OBS needs group == 1).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"
#include "core/prune/obs.h"

namespace sp::prune {

struct ConvGeometry {
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_h() const { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
  int64_t patch_size() const { return kernel_h * kernel_w * channels; }
};

// One frame's activation: element (y, x, c) at data[(y * width + x) * pixel_stride + c * channel_stride]
// (NHWC: channel_stride 1, pixel_stride >= channels; NCHW: pixel_stride 1, channel_stride h * w).
struct ActivationView {
  const float* data = nullptr;
  int64_t height = 0, width = 0, channels = 0;
  int64_t pixel_stride = 0, channel_stride = 1;
};

class InputStatistics {
 public:
  // max_patches_per_frame <= 0: no Hessian (means only). The per-frame products run on `isa`'s float
  // matmul (the session's; results differ between ISAs by rounding only).
  InputStatistics(const ConvGeometry& geometry, int64_t max_patches_per_frame, uint64_t seed, Isa isa = best_isa());

  // Throws sp::Error when x (or the reference) does not have the geometry's size and channels.
  // Either every frame has a reference or none does.
  void add(const ActivationView& x, const ActivationView* reference = nullptr);

  // Also keep the first `per_frame` sampled patches of every frame (and the reference's at the same
  // pixels) as columns: for refits that need more than the second moments (silu_refit.h).
  void keep_samples(int64_t per_frame) { keep_per_frame_ = std::max<int64_t>(0, per_frame); }
  int64_t kept_samples() const { return kept_; }
  const std::vector<float>& samples() const { return kept_x_; }            // K x kept_samples(), column-major
  const std::vector<float>& reference_samples() const { return kept_r_; }  // same pixels, the reference

  const ConvGeometry& geometry() const { return geometry_; }
  bool has_hessian() const { return max_patches_ > 0; }
  int64_t frames() const { return frames_; }
  int64_t patches() const { return patches_; }  // Hessian samples
  bool has_reference() const { return reference_frames_ > 0; }
  // centered: the covariance E[x xᵀ] - E[x] E[x]ᵀ over the sampled patches (for a layer whose bias
  // is re-fitted afterwards, the mean is the bias's job). Throws sp::Error without a Hessian or samples.
  Hessian hessian(bool centered = false) const;
  // G = E[r xᵀ] (centered: minus E[r] E[x]ᵀ), K x K row-major. Throws sp::Error without a reference.
  std::vector<double> cross_moment(bool centered = false) const;
  std::vector<double> mean_patch() const;            // K values, (ky, kx, c) order, every output pixel
  std::vector<double> reference_mean_patch() const;  // same, of the reference

 private:
  ConvGeometry geometry_;
  int64_t max_patches_;
  uint64_t seed_;
  Isa isa_;
  int64_t frames_ = 0, reference_frames_ = 0, patches_ = 0, pixels_ = 0;
  int64_t keep_per_frame_ = 0, kept_ = 0;
  std::vector<float> kept_x_, kept_r_;
  std::vector<double> sum_xx_;     // K x K, lower triangle used
  std::vector<double> sum_rx_;     // K x K, column-major: Σ r xᵀ (with a reference)
  std::vector<double> sum_xs_, sum_rs_;  // K: Σ x and Σ r over the sampled patches
  std::vector<double> sum_x_, sum_r_;    // K: Σ over every output pixel
  std::vector<float> nhwc_, ref_nhwc_;   // the frame, densely NHWC
  std::vector<float> patch_, ref_patch_; // K x m patches, column-major
  std::vector<float> samples_t_;   // K x m, row-major: a frame's samples (or the reference's) transposed
  std::vector<float> frame_xx_;    // K x K row-major, this frame's products (float; summed in double)
};

}  // namespace sp::prune
