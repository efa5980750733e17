// The One-Euro filter and the per-person smoother: a constant signal is a fixed point, a step is
// followed, behaviour follows the timestamps (uneven frame gaps), the speed is normalized by the
// person's size, low-confidence keypoints hold, and nonsensical parameters are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "tracking/one_euro.h"
#include "tracking/pose_smoother.h"

namespace sp::tracking {
namespace {

TEST(OneEuro, ConstantSignalIsAFixedPoint) {
  OneEuroOptions o;
  OneEuroFilter f;
  for (int i = 0; i < 300; ++i) EXPECT_EQ(f.filter(123.25, i / 30.0, 200.0, o), 123.25) << "sample " << i;
}

TEST(OneEuro, FirstSamplePassesThroughAndResetStartsOver) {
  OneEuroOptions o;
  OneEuroFilter f;
  EXPECT_EQ(f.filter(10.0, 0.0, 100.0, o), 10.0);
  EXPECT_LT(f.filter(20.0, 1 / 30.0, 100.0, o), 20.0);  // smoothed, not jumped
  f.reset();
  EXPECT_EQ(f.filter(50.0, 2 / 30.0, 100.0, o), 50.0);
}

TEST(OneEuro, StepIsFollowed) {
  OneEuroOptions o;  // defaults
  OneEuroFilter f;
  f.filter(0.0, 0.0, 200.0, o);
  double y = 0.0, prev = 0.0;
  double t_half = -1;
  for (int i = 1; i <= 60; ++i) {  // a 100 px step held for 2 s at 30 fps
    y = f.filter(100.0, i / 30.0, 200.0, o);
    EXPECT_GE(y, prev) << "a step response never goes back";
    EXPECT_LE(y, 100.0 + 1e-9) << "and never overshoots";
    if (t_half < 0 && y >= 50.0) t_half = i / 30.0;
    prev = y;
  }
  EXPECT_GT(y, 99.0) << "the step is reached within 2 s";
  EXPECT_GT(t_half, 0.0);
  EXPECT_LT(t_half, 0.1) << "a fast step (half the person's height) raises the cutoff: halfway in 3 frames or less";
}

TEST(OneEuro, SlowerSignalIsSmoothedHarderThanAFastOne) {
  // The adaptive cutoff: the same 10 px of noise is damped more on a still person than the lag added on
  // a fast one. Here: response after one frame to a small and to a large jump.
  OneEuroOptions o;
  OneEuroFilter small, large;
  small.filter(0.0, 0.0, 200.0, o);
  large.filter(0.0, 0.0, 200.0, o);
  const double a_small = small.filter(2.0, 1 / 30.0, 200.0, o) / 2.0;
  const double a_large = large.filter(200.0, 1 / 30.0, 200.0, o) / 200.0;
  EXPECT_LT(a_small, 0.5 * a_large);
}

// The same signal sampled at 30 fps, at 60 fps and at random gaps of 10..80 ms: the filter works in
// seconds, so its value at a given time is nearly the same. A filter counting frames would be at about
// half the progress at 30 fps that it has at 60 fps.
TEST(OneEuro, FollowsTimestampsNotFrameCounts) {
  OneEuroOptions o;
  o.beta = 0.0;  // a fixed cutoff: the plain low-pass, where frame counting would show most
  o.min_cutoff_hz = 0.3;
  auto value_at = [&](const std::vector<double>& times, double until) {
    OneEuroFilter f;
    f.filter(0.0, 0.0, 100.0, o);
    double y = 0;
    for (double t : times)
      if (t > 0 && t <= until + 1e-9) y = f.filter(100.0, t, 100.0, o);
    return y;
  };
  std::vector<double> t30, t60, uneven;
  for (int i = 0; i <= 60; ++i) t30.push_back(i / 30.0);
  for (int i = 0; i <= 120; ++i) t60.push_back(i / 60.0);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> gap(0.010, 0.080);
  for (double t = 0; t < 2.0; t += gap(rng)) uneven.push_back(t);
  uneven.push_back(0.5);  // so every series has a sample exactly at 0.5 s
  std::sort(uneven.begin(), uneven.end());
  const double a = value_at(t30, 0.5), b = value_at(t60, 0.5), c = value_at(uneven, 0.5);
  const double ideal = 100.0 * (1.0 - std::exp(-0.5 * 2.0 * M_PI * o.min_cutoff_hz));  // continuous-time RC
  // Counting frames instead, the 60 fps series would be at 84 (30 steps of the 30 fps factor), not 61.
  EXPECT_NEAR(a, ideal, 3.0);
  EXPECT_NEAR(b, ideal, 3.0);
  EXPECT_NEAR(c, ideal, 3.0);
}

TEST(OneEuro, RepeatedOrEarlierTimestampLeavesTheStateAlone) {
  OneEuroOptions o;
  OneEuroFilter f;
  f.filter(0.0, 1.0, 100.0, o);
  const double y = f.filter(10.0, 1.1, 100.0, o);
  EXPECT_EQ(f.filter(500.0, 1.1, 100.0, o), y);
  EXPECT_EQ(f.filter(500.0, 0.5, 100.0, o), y);
  EXPECT_TRUE(std::isfinite(f.filter(12.0, 1.2, 100.0, o)));
}

// Size normalization: a far person (scale s) moving k times fewer pixels than a near one (scale k s)
// is filtered exactly the same, relative to their size.
TEST(OneEuro, SpeedIsNormalizedBySize) {
  OneEuroOptions o;
  OneEuroFilter near, far;
  std::mt19937 rng(3);
  std::normal_distribution<double> n(0.0, 0.02);
  double x = 0;
  for (int i = 0; i < 200; ++i) {
    x += 0.01 * std::sin(i * 0.2) + n(rng);  // in person heights
    const double t = i / 30.0;
    const double yn = near.filter(400.0 * x, t, 400.0, o);
    const double yf = far.filter(100.0 * x, t, 100.0, o);
    EXPECT_NEAR(yn / 400.0, yf / 100.0, 1e-9) << "sample " << i;
  }
}

TEST(OneEuro, NonsensicalParametersAreRefused) {
  OneEuroOptions o;
  o.min_cutoff_hz = -1;
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.min_cutoff_hz = 0;
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.beta = -0.5;
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.d_cutoff_hz = std::nan("");
  EXPECT_THROW(o.validate(), Error);
  EXPECT_NO_THROW(OneEuroOptions{}.validate());
}

models::PoseDetection pose_at(float x, float y, float conf) {
  models::PoseDetection d;
  d.box = {x - 40, y - 100, x + 40, y + 100};
  d.score = 0.9f;
  for (auto& k : d.keypoints) k = {x, y, conf};
  return d;
}

TEST(PoseSmoother, LowConfidenceKeypointHoldsAndKeepsItsConfidence) {
  PoseSmootherOptions o;
  PoseSmoother s;
  for (int i = 0; i < 10; ++i) {
    auto d = pose_at(100, 200, 0.9f);
    s.apply(d, i / 30.0, o);
  }
  auto d = pose_at(100, 200, 0.9f);
  d.keypoints[9] = {400.0f, 50.0f, 0.2f};  // a wrist guessed far away, with low confidence
  s.apply(d, 10 / 30.0, o);
  EXPECT_FLOAT_EQ(d.keypoints[9].x, 100.0f) << "a low-confidence keypoint does not drag the filter";
  EXPECT_FLOAT_EQ(d.keypoints[9].y, 200.0f);
  EXPECT_FLOAT_EQ(d.keypoints[9].conf, 0.2f) << "and is not made to look certain";
  auto e = pose_at(100, 200, 0.9f);
  s.apply(e, 11 / 30.0, o);
  EXPECT_NEAR(e.keypoints[9].x, 100.0f, 1e-3) << "the held position did not absorb the guess";
}

TEST(PoseSmoother, SmoothsJitterOfAStillPerson) {
  PoseSmootherOptions o;
  PoseSmoother s;
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 2.0f);  // 2 px of jitter on a 200 px person
  double raw_acc = 0, smooth_acc = 0;
  float r[3] = {}, m[3] = {};
  for (int i = 0; i < 300; ++i) {
    auto d = pose_at(300, 300, 0.9f);
    d.keypoints[0].x += n(rng);
    const float raw = d.keypoints[0].x;
    s.apply(d, i / 30.0, o);
    r[0] = r[1], r[1] = r[2], r[2] = raw;
    m[0] = m[1], m[1] = m[2], m[2] = d.keypoints[0].x;
    if (i >= 2) raw_acc += std::abs(r[2] - 2 * r[1] + r[0]), smooth_acc += std::abs(m[2] - 2 * m[1] + m[0]);
  }
  EXPECT_LT(smooth_acc, 0.5 * raw_acc);
}

TEST(PoseSmoother, ResetForgetsThePast) {
  PoseSmootherOptions o;
  PoseSmoother s;
  auto a = pose_at(100, 100, 0.9f);
  s.apply(a, 0.0, o);
  s.reset();
  auto b = pose_at(600, 400, 0.9f);
  s.apply(b, 1 / 30.0, o);
  EXPECT_FLOAT_EQ(b.keypoints[0].x, 600.0f);
  EXPECT_FLOAT_EQ(b.box.x1, 560.0f);
}

TEST(PoseSmoother, MinConfidenceOutsideZeroOneIsRefused) {
  PoseSmootherOptions o;
  o.min_conf = 1.5f;
  EXPECT_THROW(o.validate(), Error);
  o.min_conf = -0.1f;
  EXPECT_THROW(o.validate(), Error);
}

}  // namespace
}  // namespace sp::tracking
