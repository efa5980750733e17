// Pose head decoding: DFL, anchors and strides, the exported-output fallback, thresholds, layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "models/pose_decode.h"

namespace sp::models {
namespace {

constexpr int kRegMax = 16;
constexpr int kBoxC = 4 * kRegMax;
constexpr int kKptC = kNumKeypoints * 3;
constexpr float kOff = -1.0e4f;  // a logit whose softmax weight is exactly 0 in float

// Branch outputs of one scale, NCHW, owned.
struct ScaleData {
  int stride = 0, h = 0, w = 0;
  std::vector<float> box, score, kpt;
  ScaleData(int s, int hh, int ww)
      : stride(s), h(hh), w(ww), box(std::size_t(kBoxC) * hh * ww), score(std::size_t(hh) * ww),
        kpt(std::size_t(kKptC) * hh * ww) {}
  int hw() const { return h * w; }
  float& box_at(int c, int p) { return box[std::size_t(c) * hw() + p]; }
  float& kpt_at(int c, int p) { return kpt[std::size_t(c) * hw() + p]; }
  HeadScale view() const { return HeadScale::nchw(stride, h, w, box.data(), score.data(), kpt.data()); }
};

std::vector<HeadScale> views(const std::vector<ScaleData>& s) {
  std::vector<HeadScale> v;
  for (const auto& d : s) v.push_back(d.view());
  return v;
}

void set_side(ScaleData& d, int p, int side, const std::vector<float>& logits) {
  for (int k = 0; k < kRegMax; ++k) d.box_at(side * kRegMax + k, p) = k < int(logits.size()) ? logits[k] : kOff;
}

TEST(PoseDecode, DflAndKeypointsHandComputed) {
  // One 2x2 scale at stride 16; only anchor (row 1, col 0) passes the threshold.
  ScaleData d(16, 2, 2);
  std::fill(d.score.begin(), d.score.end(), -10.0f);
  std::fill(d.box.begin(), d.box.end(), 0.0f);
  std::fill(d.kpt.begin(), d.kpt.end(), 0.0f);
  const int p = 1 * 2 + 0;
  d.score[p] = 0.0f;  // sigmoid 0.5
  // l: bins 0, 1 with probabilities 1/4, 3/4 -> 0.75
  set_side(d, p, 0, {0.0f, std::log(3.0f)});
  // t: bins 2 and 4 equally likely -> 3
  set_side(d, p, 1, {kOff, kOff, 1.0f, kOff, 1.0f});
  // r: uniform over 16 bins -> 7.5
  for (int k = 0; k < kRegMax; ++k) d.box_at(2 * kRegMax + k, p) = 0.25f;
  // b: all mass on bin 15 -> 15
  for (int k = 0; k < kRegMax; ++k) d.box_at(3 * kRegMax + k, p) = k == 15 ? 0.0f : kOff;
  // keypoint 5: (0.25, -0.5, logit 0); keypoint 0: (1, 1, logit 2)
  d.kpt_at(5 * 3 + 0, p) = 0.25f;
  d.kpt_at(5 * 3 + 1, p) = -0.5f;
  d.kpt_at(0, p) = 1.0f;
  d.kpt_at(1, p) = 1.0f;
  d.kpt_at(2, p) = 2.0f;

  std::vector<ScaleData> scales;
  scales.push_back(d);
  const auto dets = decode_pose_head(views(scales), 0.25f);
  ASSERT_EQ(dets.size(), 1u);
  const PoseDetection& r = dets[0];
  // anchor (0.5, 1.5); box = ((0.5 - 0.75) * 16, (1.5 - 3) * 16, (0.5 + 7.5) * 16, (1.5 + 15) * 16)
  EXPECT_NEAR(r.box.x1, -4.0f, 1e-4);
  EXPECT_NEAR(r.box.y1, -24.0f, 1e-4);
  EXPECT_NEAR(r.box.x2, 128.0f, 1e-4);
  EXPECT_NEAR(r.box.y2, 264.0f, 1e-4);
  EXPECT_FLOAT_EQ(r.score, 0.5f);
  // keypoint x = (kx * 2 + ax - 0.5) * s
  EXPECT_NEAR(r.keypoints[5].x, (0.5f + 0.0f) * 16.0f, 1e-5);
  EXPECT_NEAR(r.keypoints[5].y, (-1.0f + 1.0f) * 16.0f, 1e-5);
  EXPECT_FLOAT_EQ(r.keypoints[5].conf, 0.5f);
  EXPECT_NEAR(r.keypoints[0].x, (2.0f + 0.0f) * 16.0f, 1e-5);
  EXPECT_NEAR(r.keypoints[0].y, (2.0f + 1.0f) * 16.0f, 1e-5);
  EXPECT_NEAR(r.keypoints[0].conf, 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
  // untouched keypoints: (0, 0, logit 0) -> (ax - 0.5, ay - 0.5) * s, conf 0.5
  EXPECT_NEAR(r.keypoints[16].x, 0.0f, 1e-5);
  EXPECT_NEAR(r.keypoints[16].y, 16.0f, 1e-5);
}

TEST(PoseDecode, AnchorsAndStridesExactNonSquare) {
  // Input 96 wide x 64 high: maps 8x12 (s8), 4x6 (s16), 2x3 (s32). Distances 0 and keypoint
  // offsets 0 put each box on its anchor point and each keypoint at (ax - 0.5, ay - 0.5) * s.
  const int in_w = 96, in_h = 64;
  std::vector<ScaleData> scales;
  for (int s : kDefaultStrides) {
    ScaleData d(s, in_h / s, in_w / s);
    std::fill(d.score.begin(), d.score.end(), 10.0f);
    std::fill(d.kpt.begin(), d.kpt.end(), 0.0f);
    for (int p = 0; p < d.hw(); ++p)
      for (int side = 0; side < 4; ++side) set_side(d, p, side, {0.0f});
    scales.push_back(std::move(d));
  }
  const auto dets = decode_pose_head(views(scales), 0.25f);
  ASSERT_EQ(int(dets.size()), anchor_count(in_w, in_h, kDefaultStrides));
  ASSERT_EQ(dets.size(), std::size_t(8 * 12 + 4 * 6 + 2 * 3));
  std::size_t i = 0;
  for (int s : kDefaultStrides) {
    for (int row = 0; row < in_h / s; ++row) {
      for (int col = 0; col < in_w / s; ++col, ++i) {
        const PoseDetection& d = dets[i];
        EXPECT_EQ(d.box.x1, (col + 0.5f) * s);
        EXPECT_EQ(d.box.y1, (row + 0.5f) * s);
        EXPECT_EQ(d.box.x2, (col + 0.5f) * s);
        EXPECT_EQ(d.box.y2, (row + 0.5f) * s);
        EXPECT_EQ(d.keypoints[3].x, float(col * s));
        EXPECT_EQ(d.keypoints[3].y, float(row * s));
      }
    }
  }
}

TEST(PoseDecode, AnchorCount) {
  EXPECT_EQ(anchor_count(640, 640, kDefaultStrides), 8400);
  EXPECT_EQ(anchor_count(640, 384, kDefaultStrides), 80 * 48 + 40 * 24 + 20 * 12);
  EXPECT_EQ(anchor_count(1280, 1280, kDefaultStrides), 4 * 8400);
  EXPECT_THROW(anchor_count(0, 640, kDefaultStrides), Error);
}

// ---- the exported graph's tail, written independently (double precision, xywh, as Ultralytics) ----

double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// [56][N] channel-major, from NCHW branches.
std::vector<float> export_tail(const std::vector<ScaleData>& scales) {
  int n = 0;
  for (const auto& s : scales) n += s.hw();
  std::vector<float> out(std::size_t(56) * n);
  int a = 0;
  for (const auto& s : scales) {
    for (int y = 0; y < s.h; ++y) {
      for (int x = 0; x < s.w; ++x, ++a) {
        const int p = y * s.w + x;
        double dist[4];
        for (int side = 0; side < 4; ++side) {
          double z = 0, e = 0;
          for (int k = 0; k < kRegMax; ++k) {
            const double w = std::exp(double(s.box[std::size_t(side * kRegMax + k) * s.hw() + p]));
            z += w;
            e += w * k;
          }
          dist[side] = e / z;
        }
        const double ax = x + 0.5, ay = y + 0.5;
        const double x1 = ax - dist[0], y1 = ay - dist[1], x2 = ax + dist[2], y2 = ay + dist[3];
        const double cx = (x1 + x2) / 2 * s.stride, cy = (y1 + y2) / 2 * s.stride;
        const double bw = (x2 - x1) * s.stride, bh = (y2 - y1) * s.stride;
        out[std::size_t(0) * n + a] = float(cx);
        out[std::size_t(1) * n + a] = float(cy);
        out[std::size_t(2) * n + a] = float(bw);
        out[std::size_t(3) * n + a] = float(bh);
        out[std::size_t(4) * n + a] = float(sigmoid_d(s.score[p]));
        for (int k = 0; k < kNumKeypoints; ++k) {
          const double kx = s.kpt[std::size_t(k * 3 + 0) * s.hw() + p];
          const double ky = s.kpt[std::size_t(k * 3 + 1) * s.hw() + p];
          const double kv = s.kpt[std::size_t(k * 3 + 2) * s.hw() + p];
          out[std::size_t(5 + k * 3 + 0) * n + a] = float((kx * 2.0 + (ax - 0.5)) * s.stride);
          out[std::size_t(5 + k * 3 + 1) * n + a] = float((ky * 2.0 + (ay - 0.5)) * s.stride);
          out[std::size_t(5 + k * 3 + 2) * n + a] = float(sigmoid_d(kv));
        }
      }
    }
  }
  return out;
}

std::vector<ScaleData> random_head(int in_w, int in_h, unsigned seed, float score_mean, float conf) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> box(0.0f, 2.0f), kpt(0.0f, 1.5f), score(score_mean, 3.0f);
  const double logit_conf = std::log(conf / (1.0 - conf));
  std::vector<ScaleData> scales;
  for (int s : kDefaultStrides) {
    ScaleData d(s, in_h / s, in_w / s);
    for (auto& v : d.box) v = box(rng);
    for (auto& v : d.kpt) v = kpt(rng);
    for (auto& v : d.score) {
      do v = score(rng);
      while (std::fabs(v - logit_conf) < 1e-3);  // keep clear of the threshold: both paths agree there
    }
    scales.push_back(std::move(d));
  }
  return scales;
}

void expect_same(const std::vector<PoseDetection>& a, const std::vector<PoseDetection>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float scale_tol = tol * std::max(1.0f, std::fabs(a[i].box.x2) + std::fabs(a[i].box.y2));
    EXPECT_NEAR(a[i].box.x1, b[i].box.x1, scale_tol) << i;
    EXPECT_NEAR(a[i].box.y1, b[i].box.y1, scale_tol) << i;
    EXPECT_NEAR(a[i].box.x2, b[i].box.x2, scale_tol) << i;
    EXPECT_NEAR(a[i].box.y2, b[i].box.y2, scale_tol) << i;
    EXPECT_NEAR(a[i].score, b[i].score, 1e-6f) << i;
    for (int k = 0; k < kNumKeypoints; ++k) {
      EXPECT_NEAR(a[i].keypoints[k].x, b[i].keypoints[k].x, scale_tol) << i << " kpt " << k;
      EXPECT_NEAR(a[i].keypoints[k].y, b[i].keypoints[k].y, scale_tol) << i << " kpt " << k;
      EXPECT_NEAR(a[i].keypoints[k].conf, b[i].keypoints[k].conf, 1e-6f) << i << " kpt " << k;
    }
  }
}

TEST(PoseDecode, HeadAndExportedOutputAgree) {
  struct Case { int w, h; float conf; float score_mean; };
  for (const Case c : {Case{640, 640, 0.001f, -6.0f}, Case{640, 640, 0.25f, -2.0f}, Case{320, 192, 0.5f, 0.0f},
                       Case{96, 160, 0.001f, -8.0f}}) {
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + " conf " + std::to_string(c.conf));
    const auto scales = random_head(c.w, c.h, 1234u + c.w + c.h, c.score_mean, c.conf);
    const auto exported = export_tail(scales);
    const int n = anchor_count(c.w, c.h, kDefaultStrides);
    ASSERT_EQ(exported.size(), std::size_t(56) * n);
    const auto from_head = decode_pose_head(views(scales), c.conf);
    const auto from_export = decode_exported_output(exported.data(), 56, n, c.conf);
    EXPECT_GT(from_head.size(), 0u);
    EXPECT_LT(from_head.size(), std::size_t(n));
    expect_same(from_head, from_export, 2e-6f);
  }
}

TEST(PoseDecode, ConfThresholdIsStrictAndOnTheSigmoid) {
  ScaleData d(8, 1, 8);
  std::fill(d.box.begin(), d.box.end(), 0.0f);
  std::fill(d.kpt.begin(), d.kpt.end(), 0.0f);
  // sigmoid: -3 -> 0.047, -1.2 -> 0.231, -1.0 -> 0.269, 0 -> 0.5 (exactly), 0.5, 2, 5, 20
  const float logits[8] = {-3.0f, -1.2f, -1.0f, 0.0f, 0.5f, 2.0f, 5.0f, 20.0f};
  std::copy(std::begin(logits), std::end(logits), d.score.begin());
  std::vector<ScaleData> s;
  s.push_back(d);
  auto count = [&](float conf) { return decode_pose_head(views(s), conf).size(); };
  EXPECT_EQ(count(0.0f), 8u);
  EXPECT_EQ(count(0.001f), 8u);
  EXPECT_EQ(count(0.25f), 6u);
  EXPECT_EQ(count(0.5f), 4u);  // strict: sigmoid(0) == 0.5 is rejected
  EXPECT_EQ(count(0.9f), 2u);
  EXPECT_EQ(count(1.0f), 0u);
  EXPECT_EQ(count(-1.0f), 8u);
  const auto kept = decode_pose_head(views(s), 0.25f);
  for (const auto& det : kept) EXPECT_GT(det.score, 0.25f);
  EXPECT_NEAR(kept.front().score, 1.0 / (1.0 + std::exp(1.0)), 1e-6);

  // The exported decoder applies the same strict rule on already-sigmoid scores.
  std::vector<float> out(std::size_t(56) * 3, 0.0f);
  out[4 * 3 + 0] = 0.25f;
  out[4 * 3 + 1] = 0.2500001f;
  out[4 * 3 + 2] = 0.1f;
  EXPECT_EQ(decode_exported_output(out.data(), 56, 3, 0.25f).size(), 1u);
}

TEST(PoseDecode, NhwcAndNchwAgree) {
  const auto scales = random_head(256, 160, 77u, -3.0f, 0.01f);
  const auto ref = decode_pose_head(views(scales), 0.01f);
  ASSERT_FALSE(ref.empty());

  // Separate NHWC tensors per branch.
  std::vector<std::vector<float>> nhwc_box, nhwc_score, nhwc_kpt;
  // One NHWC buffer per scale holding all three branches side by side (zero-copy Concat output).
  constexpr int kAll = kBoxC + 1 + kKptC;
  std::vector<std::vector<float>> fused;
  for (const auto& s : scales) {
    std::vector<float> b(std::size_t(s.hw()) * kBoxC), sc(s.hw()), k(std::size_t(s.hw()) * kKptC),
        f(std::size_t(s.hw()) * kAll);
    for (int p = 0; p < s.hw(); ++p) {
      for (int c = 0; c < kBoxC; ++c) {
        b[std::size_t(p) * kBoxC + c] = s.box[std::size_t(c) * s.hw() + p];
        f[std::size_t(p) * kAll + c] = s.box[std::size_t(c) * s.hw() + p];
      }
      sc[p] = s.score[p];
      f[std::size_t(p) * kAll + kBoxC] = s.score[p];
      for (int c = 0; c < kKptC; ++c) {
        k[std::size_t(p) * kKptC + c] = s.kpt[std::size_t(c) * s.hw() + p];
        f[std::size_t(p) * kAll + kBoxC + 1 + c] = s.kpt[std::size_t(c) * s.hw() + p];
      }
    }
    nhwc_box.push_back(std::move(b));
    nhwc_score.push_back(std::move(sc));
    nhwc_kpt.push_back(std::move(k));
    fused.push_back(std::move(f));
  }
  std::vector<HeadScale> v1, v2;
  for (std::size_t i = 0; i < scales.size(); ++i) {
    const auto& s = scales[i];
    v1.push_back({s.stride, s.h, s.w, BranchView::nhwc(nhwc_box[i].data(), kBoxC),
                  BranchView::nhwc(nhwc_score[i].data(), 1), BranchView::nhwc(nhwc_kpt[i].data(), kKptC)});
    v2.push_back(HeadScale::nhwc(s.stride, s.h, s.w, fused[i].data(), kAll, fused[i].data() + kBoxC, kAll,
                                 fused[i].data() + kBoxC + 1, kAll));
  }
  DecodeOptions opt;
  opt.conf_threshold = 0.01f;
  std::vector<PoseDetection> a, b;
  decode_pose_head(v1, opt, a);
  decode_pose_head(v2, opt, b);
  // Same arithmetic in the same order: bit-identical.
  expect_same(ref, a, 0.0f);
  expect_same(ref, b, 0.0f);
}

TEST(PoseDecode, OutputVectorIsReusedAndCleared) {
  const auto scales = random_head(128, 128, 5u, -1.0f, 0.25f);
  std::vector<PoseDetection> out(1000);
  DecodeOptions opt;
  decode_pose_head(views(scales), opt, out);
  const auto ref = decode_pose_head(views(scales), 0.25f);
  EXPECT_EQ(out.size(), ref.size());
  EXPECT_GE(out.capacity(), 1000u);
}

TEST(PoseDecode, MultiClassScoreTakesTheMax) {
  ScaleData d(8, 1, 2);
  std::fill(d.box.begin(), d.box.end(), 0.0f);
  std::fill(d.kpt.begin(), d.kpt.end(), 0.0f);
  std::vector<float> scores = {-5.0f, -5.0f, /*class 1*/ -5.0f, 3.0f};  // NCHW [2][1][2]
  HeadScale hs = d.view();
  hs.score = BranchView::nchw(scores.data(), 1, 2);
  DecodeOptions opt;
  opt.num_classes = 2;
  std::vector<PoseDetection> out;
  decode_pose_head(std::span<const HeadScale>(&hs, 1), opt, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0].score, 1.0 / (1.0 + std::exp(-3.0)), 1e-6);
  EXPECT_EQ(out[0].keypoints[0].x, 8.0f);  // second anchor: (0 * 2 + 1.5 - 0.5) * 8
}

TEST(PoseDecode, RejectsBadInput) {
  std::vector<float> out(55 * 4, 0.0f);
  EXPECT_THROW(decode_exported_output(out.data(), 55, 4, 0.25f), Error);
  EXPECT_THROW(decode_exported_output(nullptr, 56, 4, 0.25f), Error);
  ScaleData d(8, 2, 2);
  HeadScale hs = d.view();
  hs.kpt.data = nullptr;
  EXPECT_THROW(decode_pose_head(std::span<const HeadScale>(&hs, 1), 0.25f), Error);
  hs = d.view();
  hs.stride = 0;
  EXPECT_THROW(decode_pose_head(std::span<const HeadScale>(&hs, 1), 0.25f), Error);
  // Zero anchors is valid and yields nothing.
  EXPECT_TRUE(decode_exported_output(out.data(), 56, 0, 0.25f).empty());
}

}  // namespace
}  // namespace sp::models
