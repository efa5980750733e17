#include "core/quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace sp::quant {

CalibMethod parse_calib_method(const std::string& name) {
  if (name == "minmax") return CalibMethod::kMinMax;
  if (name == "percentile") return CalibMethod::kPercentile;
  if (name == "entropy") return CalibMethod::kEntropy;
  throw Error("unknown calibration method '" + name + "' (expected minmax, percentile or entropy)");
}

const char* calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kMinMax: return "minmax";
    case CalibMethod::kPercentile: return "percentile";
    case CalibMethod::kEntropy: return "entropy";
  }
  return "?";
}

Histogram::Histogram(double observed_min, double observed_max, int half_bins) : min(observed_min), max(observed_max) {
  if (half_bins < 1) throw Error("histogram needs at least one bin per side");
  limit = std::max(std::fabs(observed_min), std::fabs(observed_max));
  // A constant-zero tensor still gets a valid (arbitrary) span so add() never divides by zero.
  if (!(limit > 0) || !std::isfinite(limit)) limit = 1.0;
  counts.assign(static_cast<size_t>(2 * half_bins), 0);
}

void Histogram::add(std::span<const float> values) {
  if (counts.empty()) return;
  const double inv_w = static_cast<double>(counts.size()) / (2 * limit);
  const int64_t last = static_cast<int64_t>(counts.size()) - 1;
  for (float x : values) {
    if (std::isnan(x)) continue;
    int64_t b = static_cast<int64_t>(std::floor((static_cast<double>(x) + limit) * inv_w));
    counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, last))]++;
  }
}

uint64_t Histogram::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

Range range_minmax(const Histogram& h) { return {static_cast<float>(h.min), static_cast<float>(h.max)}; }

namespace {

Range clamp_to_observed(const Histogram& h, double lo, double hi) {
  lo = std::clamp(lo, h.min, h.max);
  hi = std::clamp(hi, h.min, h.max);
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

double edge(const Histogram& h, size_t b) { return -h.limit + static_cast<double>(b) * h.bin_width(); }

}  // namespace

Range range_percentile(const Histogram& h, double percentile) {
  if (!(percentile > 50 && percentile <= 100)) {
    throw Error("--percentile must be in (50, 100], got " + std::to_string(percentile));
  }
  const double tail = static_cast<double>(h.total()) * (100.0 - percentile) / 100.0;
  const size_t n = h.counts.size();
  if (n == 0) return range_minmax(h);
  double acc = 0;
  size_t top = n;  // bins [top, n) are clipped
  while (top > 0 && acc + static_cast<double>(h.counts[top - 1]) <= tail) acc += static_cast<double>(h.counts[--top]);
  acc = 0;
  size_t bottom = 0;  // bins [0, bottom) are clipped
  while (bottom < n && acc + static_cast<double>(h.counts[bottom]) <= tail) acc += static_cast<double>(h.counts[bottom++]);
  if (bottom >= top) return range_minmax(h);  // everything clipped: nothing sensible to keep
  return clamp_to_observed(h, edge(h, bottom), edge(h, top));
}

namespace {

// Smoothing as MXNet's _smooth_distribution, but proportional: empty bins get eps, the others are
// scaled by (1 - eps * empties) instead of losing a constant (which can turn a tiny outlier bin
// negative). Keeps KL(P || Q) finite where Q has a hole P fills. False when the distribution is empty.
bool smooth_distribution(std::vector<double>& d, double eps = 1e-4) {
  double total = 0;
  size_t zeros = 0;
  for (double x : d) {
    total += x;
    zeros += x <= 0;
  }
  if (total <= 0 || eps * static_cast<double>(zeros) >= 0.5) return false;
  const double keep = 1.0 - eps * static_cast<double>(zeros);
  for (double& x : d) x = x <= 0 ? eps : x / total * keep;
  return true;
}

}  // namespace

size_t kl_threshold_bins(std::span<const uint64_t> bins, int levels) {
  const size_t n = bins.size();
  if (levels < 1 || n <= static_cast<size_t>(levels)) return n;
  // Suffix sums: the mass beyond candidate i, added to P's last bin.
  std::vector<double> beyond(n + 1, 0.0);
  for (size_t j = n; j-- > 0;) beyond[j] = beyond[j + 1] + static_cast<double>(bins[j]);
  if (beyond[0] <= 0) return n;
  std::vector<double> chunk_sum(static_cast<size_t>(levels)), p, q;
  std::vector<int> chunk_nonzero(static_cast<size_t>(levels));
  double best = std::numeric_limits<double>::infinity();
  size_t best_i = n;
  for (size_t i = static_cast<size_t>(levels); i <= n; ++i) {
    // P: the first i bins, everything beyond folded into the last one (what clipping does).
    p.assign(bins.begin(), bins.begin() + static_cast<std::ptrdiff_t>(i));
    p[i - 1] += beyond[i];
    // Q: the first i bins without the outliers, merged into `levels` chunks, each chunk's mass
    // spread evenly over the bins where P is non-empty (MXNet's and TensorRT's construction).
    std::fill(chunk_sum.begin(), chunk_sum.end(), 0.0);
    std::fill(chunk_nonzero.begin(), chunk_nonzero.end(), 0);
    for (size_t j = 0; j < i; ++j) {
      size_t c = j * static_cast<size_t>(levels) / i;
      chunk_sum[c] += static_cast<double>(bins[j]);
      chunk_nonzero[c] += p[j] > 0;
    }
    q.assign(i, 0.0);
    for (size_t j = 0; j < i; ++j) {
      size_t c = j * static_cast<size_t>(levels) / i;
      if (p[j] > 0) q[j] = chunk_sum[c] / chunk_nonzero[c];
    }
    if (!smooth_distribution(p) || !smooth_distribution(q)) continue;
    double kl = 0;
    for (size_t j = 0; j < i; ++j) kl += p[j] * std::log(p[j] / q[j]);
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i;
}

Range range_entropy(const Histogram& h) {
  const size_t half = static_cast<size_t>(h.half_bins());
  if (half == 0 || h.max <= h.min) return range_minmax(h);
  const double w = h.bin_width();
  if (h.max > 0 && h.min >= -0.1 * h.max) {
    std::span<const uint64_t> pos(h.counts.data() + half, half);
    size_t keep = kl_threshold_bins(pos, 255);
    return clamp_to_observed(h, h.min, static_cast<double>(keep) * w);
  }
  if (h.min < 0 && h.max <= -0.1 * h.min) {
    std::vector<uint64_t> neg(h.counts.rend() - static_cast<std::ptrdiff_t>(half), h.counts.rend());
    size_t keep = kl_threshold_bins(neg, 255);
    return clamp_to_observed(h, -static_cast<double>(keep) * w, h.max);
  }
  std::vector<uint64_t> folded(half);
  for (size_t b = 0; b < half; ++b) folded[b] = h.counts[half + b] + h.counts[half - 1 - b];
  double t = static_cast<double>(kl_threshold_bins(folded, 128)) * w;
  return clamp_to_observed(h, -t, t);
}

Range compute_range(const Histogram& h, CalibMethod method, double percentile) {
  switch (method) {
    case CalibMethod::kMinMax: return range_minmax(h);
    case CalibMethod::kPercentile: return range_percentile(h, percentile);
    case CalibMethod::kEntropy: return range_entropy(h);
  }
  return range_minmax(h);
}

ActivationQParams activation_qparams(Range r) {
  double lo = std::min<double>(r.lo, 0.0), hi = std::max<double>(r.hi, 0.0);
  ActivationQParams p;
  double scale = (hi - lo) / 255.0;
  if (!(scale > 1e-12) || !std::isfinite(scale)) {
    p.scale = 1.0f / 255.0f;
    p.zero_point = 0;
    return p;
  }
  p.scale = static_cast<float>(scale);
  double zp = std::nearbyint(-lo / static_cast<double>(p.scale));
  p.zero_point = static_cast<uint8_t>(std::clamp(zp, 0.0, 255.0));
  return p;
}

ActivationQParams image_qparams() { return {1.0f / 255.0f, 0}; }

QuantizedWeights quantize_weights_per_channel(std::span<const float> w, int64_t out_channels,
                                              std::span<const float> bias, float input_scale) {
  if (out_channels <= 0 || w.size() % static_cast<size_t>(out_channels) != 0) {
    throw Error("weights of " + std::to_string(w.size()) + " values do not split into " + std::to_string(out_channels) +
                " output channels");
  }
  const size_t per = w.size() / static_cast<size_t>(out_channels);
  QuantizedWeights r;
  r.scales.resize(static_cast<size_t>(out_channels));
  r.q.resize(w.size());
  for (size_t o = 0; o < r.scales.size(); ++o) {
    float amax = 0;
    for (size_t k = 0; k < per; ++k) amax = std::max(amax, std::fabs(w[o * per + k]));
    double s = std::max<double>(amax / 127.0, kMinWeightScale);
    if (!bias.empty() && input_scale > 0) {
      // Keep |b / (s_x * s_w)| <= 2^30 so the int32 bias cannot overflow.
      s = std::max(s, std::fabs(static_cast<double>(bias[o])) / (static_cast<double>(input_scale) * 1073741824.0));
    }
    r.scales[o] = static_cast<float>(s);
    for (size_t k = 0; k < per; ++k) {
      double q = std::nearbyint(static_cast<double>(w[o * per + k]) / r.scales[o]);
      r.q[o * per + k] = static_cast<int8_t>(std::clamp(q, -127.0, 127.0));
    }
  }
  return r;
}

QuantizedBias quantize_bias(std::span<const float> bias, float input_scale, std::span<const float> weight_scales) {
  if (bias.size() != weight_scales.size()) throw Error("bias and weight scales differ in length");
  QuantizedBias r;
  r.scales.resize(bias.size());
  r.q.resize(bias.size());
  for (size_t o = 0; o < bias.size(); ++o) {
    r.scales[o] = static_cast<float>(static_cast<double>(input_scale) * weight_scales[o]);
    double q = std::nearbyint(static_cast<double>(bias[o]) / r.scales[o]);
    r.q[o] = static_cast<int32_t>(std::clamp(q, -2147483647.0, 2147483647.0));
  }
  return r;
}

}  // namespace sp::quant
