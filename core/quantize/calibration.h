// The arithmetic of post-training quantization, as pure functions: activation ranges from a histogram
// (min/max, percentile, KL-divergence "entropy" thresholds as TensorRT chooses them), the uint8
// per-tensor activation parameters and the int8 per-output-channel weight parameters of the QDQ
// contract (see core/quantize/qdq_writer.h). No graph, no I/O: everything here is unit-tested on
// synthetic data with known answers (tests/unit/test_calibration.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sp::quant {

enum class CalibMethod { kMinMax, kPercentile, kEntropy };
CalibMethod parse_calib_method(const std::string& name);  // "minmax" | "percentile" | "entropy"; throws sp::Error
const char* calib_method_name(CalibMethod m);

// A histogram over [-limit, limit] with an even number of equal bins, so that 0 is a bin edge: the
// positive and negative halves can be read off exactly (one-signed tensors) and folded into |x|
// (two-signed tensors) without re-binning. The exact observed min and max are kept beside it.
struct Histogram {
  double limit = 0;                 // > 0 once set up; max(|min|, |max|) of the first pass
  std::vector<uint64_t> counts;     // 2 * half_bins bins; bin b covers [-limit + b*w, -limit + (b+1)*w)
  double min = 0, max = 0;          // exact observed extremes (from the first pass)

  Histogram() = default;
  Histogram(double observed_min, double observed_max, int half_bins = 2048);
  int half_bins() const { return static_cast<int>(counts.size() / 2); }
  double bin_width() const { return counts.empty() ? 0 : 2 * limit / static_cast<double>(counts.size()); }
  void add(std::span<const float> values);
  uint64_t total() const;
};

struct Range {
  float lo = 0, hi = 0;
};

// [min, max] as observed.
Range range_minmax(const Histogram& h);
// Clips (100 - percentile)% of the values at each tail: hi is the smallest upper bin edge with at
// most that many values above it (lo alike), then kept inside [min, max]. percentile in (50, 100].
Range range_percentile(const Histogram& h, double percentile);
// KL-divergence threshold selection (TensorRT's entropy calibration, Migacz 2017).
//  - One-signed tensors (min >= -0.1 * max, e.g. SiLU outputs whose min is -0.278): the high
//    threshold is chosen by KL on the positive half with 255 quantized levels (uint8 puts nearly all
//    its levels there) and lo = min is kept: clipping the short negative tail buys nothing.
//  - Two-signed tensors: KL on |x| with 128 levels (half of uint8 each side, as TensorRT's symmetric
//    int8), threshold t, range [max(min, -t), min(max, t)].
// Mirror cases (max <= -0.1 * min) are handled on the negative half.
Range range_entropy(const Histogram& h);
Range compute_range(const Histogram& h, CalibMethod method, double percentile);

// The KL search itself on a one-sided histogram `bins` (bin 0 starts at 0): returns how many bins to
// keep (the threshold is its upper edge). Candidates run from `levels` to bins.size(); for each the
// clipped reference P (outliers added to its last bin) is compared with Q, the unclipped bins merged
// into `levels` chunks and spread back over P's non-empty bins; both are smoothed (eps 1e-4 in empty
// bins, else an outlier bin next to an empty one makes KL infinite); the smallest KL(P||Q) wins
// (first on ties). As in TensorRT the threshold cannot go below levels/bins of the histogram's span
// (with 2048 bins per side: max/8 for 255 levels, max/16 for 128).
size_t kl_threshold_bins(std::span<const uint64_t> bins, int levels);

// uint8 asymmetric per-tensor parameters.
struct ActivationQParams {
  float scale = 1.0f;
  uint8_t zero_point = 0;
};
// The range is first widened to include 0; scale = (hi - lo) / 255; a range of (near) zero width
// (a constant-zero tensor) gets scale 1/255, so no division by zero anywhere downstream;
// zp = clamp(round(-lo / scale), 0, 255).
ActivationQParams activation_qparams(Range r);
// The image input: exactly 1/255 and 0, so letterboxed 8-bit pixels / 255 are represented exactly.
ActivationQParams image_qparams();

// int8 symmetric per-output-channel weights, zero point 0.
struct QuantizedWeights {
  std::vector<float> scales;  // [O]
  std::vector<int8_t> q;      // [O * per_channel], in [-127, 127]
};
// Smallest weight scale: a channel of zeros gets this, never 0.
inline constexpr float kMinWeightScale = 1e-8f;
// s_w[o] = max|W[o]| / 127 (at least kMinWeightScale, and at least what keeps the int32 bias of that
// channel within 2^30 when `bias` and input_scale are given: a zero-weight channel with a real bias
// would otherwise overflow int32); q = clamp(round_half_even(W / s_w), -127, 127).
QuantizedWeights quantize_weights_per_channel(std::span<const float> w, int64_t out_channels,
                                              std::span<const float> bias = {}, float input_scale = 0);

// Bias for the int32 accumulator: scale[o] = float(double(s_x) * s_w[o]); q[o] = round(b[o] / scale[o]).
struct QuantizedBias {
  std::vector<float> scales;
  std::vector<int32_t> q;
};
QuantizedBias quantize_bias(std::span<const float> bias, float input_scale, std::span<const float> weight_scales);

}  // namespace sp::quant
