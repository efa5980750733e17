// The calibration arithmetic on synthetic data with known answers: histogram ranges (minmax,
// percentile, KL entropy), uint8 activation parameters, int8 per-channel weights, int32 bias.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/quantize/calibration.h"

namespace sp::quant {
namespace {

// One value at the centre of every bin of a [-1, 1] histogram with 2 * 2048 bins.
Histogram uniform_histogram() {
  Histogram h(-1.0, 1.0, 2048);
  std::vector<float> v;
  const double w = h.bin_width();
  for (size_t b = 0; b < h.counts.size(); ++b) v.push_back(static_cast<float>(-1.0 + (b + 0.5) * w));
  h.add(v);
  return h;
}

TEST(Calibration, HistogramBinsEveryValueOnce) {
  Histogram h = uniform_histogram();
  EXPECT_EQ(h.total(), 4096u);
  for (uint64_t c : h.counts) EXPECT_EQ(c, 1u);
  // Values beyond the limit land in the edge bins instead of being lost; NaN is ignored.
  std::vector<float> extra{-5.0f, 5.0f, std::nanf("")};
  h.add(extra);
  EXPECT_EQ(h.counts.front(), 2u);
  EXPECT_EQ(h.counts.back(), 2u);
}

TEST(Calibration, MinMaxIsTheObservedRange) {
  Histogram h(-0.25, 3.5);
  Range r = range_minmax(h);
  EXPECT_FLOAT_EQ(r.lo, -0.25f);
  EXPECT_FLOAT_EQ(r.hi, 3.5f);
}

TEST(Calibration, PercentileClipsTheTailsExactly) {
  Histogram h = uniform_histogram();
  // 1% of 4096 values = 40.96 per tail: 40 whole bins of width 1/2048 are clipped at each end.
  Range r = range_percentile(h, 99.0);
  EXPECT_DOUBLE_EQ(r.hi, 1.0 - 40.0 / 2048.0);
  EXPECT_DOUBLE_EQ(r.lo, -(1.0 - 40.0 / 2048.0));
  // 100 keeps everything.
  Range all = range_percentile(h, 100.0);
  EXPECT_FLOAT_EQ(all.lo, -1.0f);
  EXPECT_FLOAT_EQ(all.hi, 1.0f);
  EXPECT_THROW(range_percentile(h, 40.0), Error);
}

TEST(Calibration, PercentileDropsFewOutliers) {
  std::vector<float> v;
  for (int i = 0; i < 100000; ++i) v.push_back(static_cast<float>(i % 1000) / 1000.0f);  // [0, 1)
  v.push_back(100.0f);
  v.push_back(99.0f);
  Histogram hh(0.0, 100.0);
  hh.add(v);
  Range r = range_percentile(hh, 99.99);  // 10 values may go: the two outliers do
  EXPECT_LT(r.hi, 1.1f);
  EXPECT_GE(r.hi, 0.99f);
  EXPECT_FLOAT_EQ(r.lo, 0.0f);
}

TEST(Calibration, KlKeepsEveryBinOfAUniformDistribution) {
  std::vector<uint64_t> bins(512, 7);
  EXPECT_EQ(kl_threshold_bins(bins, 128), 512u);
  Histogram h = uniform_histogram();
  Range r = range_entropy(h);  // two-signed, symmetric: nothing to clip
  EXPECT_FLOAT_EQ(r.lo, -1.0f);
  EXPECT_FLOAT_EQ(r.hi, 1.0f);
}

// Exact quantiles of an exponential distribution with mean 0.2: a bell-less but decaying body, as
// activations have (KL sees no loss in quantizing a flat body, so a uniform one would not do).
std::vector<float> exponential_body(int n) {
  std::vector<float> v;
  for (int k = 0; k < n; ++k) v.push_back(static_cast<float>(-0.2 * std::log(1.0 - (k + 0.5) / n)));
  return v;
}

TEST(Calibration, KlClipsFarOutliersOfAOneSignedTensor) {
  // A SiLU-like tensor: a short negative tail down to -0.278, an exponential body, three outliers at 50.
  std::vector<float> v = exponential_body(20000);
  for (int i = 0; i < 200; ++i) v.push_back(-0.278f * static_cast<float>(i % 10) / 9.0f);
  v.insert(v.end(), {50.0f, 49.0f, 48.0f});
  Histogram h(-0.278, 50.0);
  h.add(v);
  Range r = range_entropy(h);
  EXPECT_FLOAT_EQ(r.lo, -0.278f);  // one-signed: lo = min is kept
  EXPECT_GT(r.hi, 0.9f);           // the body is kept (its 99th percentile is 0.92)...
  // ...the outliers are not: KL (numpy reference: 6.2256) picks the smallest candidate, 255 of the
  // 2048 positive bins (the search cannot go lower).
  EXPECT_NEAR(r.hi, 50.0 * 255 / 2048, 1e-4);
  // The same data: minmax keeps the outliers.
  EXPECT_FLOAT_EQ(range_minmax(h).hi, 50.0f);
}

TEST(Calibration, KlOnATwoSignedTensorIsSymmetric) {
  std::vector<float> v = exponential_body(10000);  // a Laplace distribution: the body mirrored
  for (int i = 0; i < 10000; ++i) v.push_back(-v[static_cast<size_t>(i)]);
  v.insert(v.end(), {-40.0f, 40.0f});
  Histogram h(-40.0, 40.0);
  h.add(v);
  Range r = range_entropy(h);
  EXPECT_FLOAT_EQ(r.lo, -r.hi);
  EXPECT_GT(r.hi, 0.9f);
  EXPECT_LT(r.hi, 5.0f);
  // And a body that is not flat inside the smallest candidate's chunks: KL clips above the body's tail.
  std::vector<float> wide = exponential_body(20000);
  for (float& x : wide) x *= 10.0f;  // mean 2, 99.9th percentile 13.8
  wide.push_back(60.0f);
  Histogram hw(0.0, 60.0);
  hw.add(wide);
  Range rw = range_entropy(hw);
  EXPECT_GT(rw.hi, 8.0f);
  EXPECT_LT(rw.hi, 40.0f);
}

TEST(Calibration, ConstantTensorsAreDegenerateButSafe) {
  Histogram h(0.0, 0.0);
  std::vector<float> zeros(100, 0.0f);
  h.add(zeros);
  for (CalibMethod m : {CalibMethod::kMinMax, CalibMethod::kPercentile, CalibMethod::kEntropy}) {
    Range r = compute_range(h, m, 99.99);
    EXPECT_EQ(r.lo, 0.0f);
    EXPECT_EQ(r.hi, 0.0f);
    ActivationQParams q = activation_qparams(r);
    EXPECT_GT(q.scale, 0.0f);
    EXPECT_EQ(q.zero_point, 0);
  }
  // A constant positive tensor: the range is widened to include 0.
  ActivationQParams c = activation_qparams({3.0f, 3.0f});
  EXPECT_FLOAT_EQ(c.scale, 3.0f / 255.0f);
  EXPECT_EQ(c.zero_point, 0);
}

TEST(Calibration, ActivationParamsWidenToZero) {
  ActivationQParams a = activation_qparams({0.5f, 2.0f});
  EXPECT_FLOAT_EQ(a.scale, 2.0f / 255.0f);
  EXPECT_EQ(a.zero_point, 0);
  ActivationQParams b = activation_qparams({-1.0f, 3.0f});
  EXPECT_FLOAT_EQ(b.scale, 4.0f / 255.0f);
  EXPECT_EQ(b.zero_point, 64);  // round(1 / (4/255)) = round(63.75)
  ActivationQParams c = activation_qparams({-2.0f, -1.0f});
  EXPECT_FLOAT_EQ(c.scale, 2.0f / 255.0f);
  EXPECT_EQ(c.zero_point, 255);
  ActivationQParams silu = activation_qparams({-0.278f, 10.0f});
  EXPECT_EQ(silu.zero_point, static_cast<int>(std::nearbyint(0.278 / ((10.0 + 0.278) / 255.0))));
  ActivationQParams img = image_qparams();
  EXPECT_EQ(img.scale, 1.0f / 255.0f);
  EXPECT_EQ(img.zero_point, 0);
}

TEST(Calibration, MethodNames) {
  EXPECT_EQ(parse_calib_method("entropy"), CalibMethod::kEntropy);
  EXPECT_STREQ(calib_method_name(parse_calib_method("percentile")), "percentile");
  EXPECT_THROW(parse_calib_method("kl"), Error);
}

TEST(Calibration, WeightsArePerChannelSymmetric) {
  // Channel 0: max |w| = 2 -> scale 2/127; channel 1 all zero -> a small positive scale and zeros.
  std::vector<float> w{1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 0.0f};
  QuantizedWeights q = quantize_weights_per_channel(w, 2);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_FLOAT_EQ(q.scales[0], 2.0f / 127.0f);
  EXPECT_GT(q.scales[1], 0.0f);
  EXPECT_LE(q.scales[1], 1e-7f);
  EXPECT_EQ(q.q[0], 64);    // 63.5 rounds half to even
  EXPECT_EQ(q.q[1], -127);
  EXPECT_EQ(q.q[2], 32);    // 31.75
  EXPECT_EQ(q.q[3], 0);
  EXPECT_THROW(quantize_weights_per_channel(w, 4), Error);
}

TEST(Calibration, ZeroWeightChannelWithABiasDoesNotOverflowInt32) {
  std::vector<float> w{0.0f, 0.0f}, b{1.0f};
  const float s_x = 0.01f;
  QuantizedWeights q = quantize_weights_per_channel(w, 1, b, s_x);
  QuantizedBias qb = quantize_bias(b, s_x, q.scales);
  EXPECT_LE(std::fabs(static_cast<double>(qb.q[0])), 1073741824.0 * 1.001);
  EXPECT_NEAR(qb.q[0] * static_cast<double>(qb.scales[0]), 1.0, 1e-6);
}

TEST(Calibration, BiasUsesInputTimesWeightScale) {
  std::vector<float> b{0.5f, -0.3f}, sw{0.02f, 0.5f};
  QuantizedBias q = quantize_bias(b, 0.1f, sw);
  EXPECT_EQ(q.scales[0], static_cast<float>(static_cast<double>(0.1f) * 0.02f));
  EXPECT_EQ(q.q[0], 250);
  EXPECT_EQ(q.q[1], static_cast<int32_t>(std::nearbyint(-0.3 / static_cast<double>(q.scales[1]))));
  EXPECT_EQ(q.q[1], -6);
}

}  // namespace
}  // namespace sp::quant
