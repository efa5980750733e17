// Class-agnostic NMS against a plain torchvision-style reference, IoU edge cases, limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"
#include "models/nms.h"

namespace sp::models {
namespace {

// Reference: the textbook O(n^2) greedy NMS (torchvision nms_cpu), written independently, in double.
double ref_iou(const Box& a, const Box& b) {
  const double ix1 = std::max<double>(a.x1, b.x1), iy1 = std::max<double>(a.y1, b.y1);
  const double ix2 = std::min<double>(a.x2, b.x2), iy2 = std::min<double>(a.y2, b.y2);
  const double inter = std::max(0.0, ix2 - ix1) * std::max(0.0, iy2 - iy1);
  const double area_a = double(a.x2 - a.x1) * (a.y2 - a.y1);
  const double area_b = double(b.x2 - b.x1) * (b.y2 - b.y1);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::vector<int> reference_nms(const std::vector<Box>& boxes, const std::vector<float>& scores, double thr,
                               int max_det) {
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  std::vector<bool> suppressed(boxes.size(), false);
  std::vector<int> keep;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (suppressed[order[i]]) continue;
    keep.push_back(order[i]);
    for (std::size_t j = i + 1; j < order.size(); ++j)
      if (!suppressed[order[j]] && ref_iou(boxes[order[i]], boxes[order[j]]) > thr) suppressed[order[j]] = true;
  }
  if (int(keep.size()) > max_det) keep.resize(max_det);
  return keep;
}

struct RandomSet {
  std::vector<Box> boxes;
  std::vector<float> scores;
};

RandomSet random_set(std::mt19937& rng, int n, float extent) {
  // Boxes clustered around a few centres so that many overlap (as detections of a few people do).
  std::uniform_real_distribution<float> centre(0.0f, extent), jitter(-20.0f, 20.0f), size(10.0f, 120.0f);
  std::uniform_int_distribution<int> quantized(0, 40);  // coarse scores: many exact ties
  std::vector<std::pair<float, float>> centres;
  for (int i = 0; i < 6; ++i) centres.emplace_back(centre(rng), centre(rng));
  RandomSet s;
  for (int i = 0; i < n; ++i) {
    const auto& c = centres[std::size_t(i) % centres.size()];
    const float cx = c.first + jitter(rng), cy = c.second + jitter(rng);
    const float w = size(rng), h = size(rng);
    s.boxes.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
    s.scores.push_back(float(quantized(rng)) / 40.0f);
  }
  return s;
}

TEST(Nms, MatchesReferenceOnRandomBoxes) {
  std::mt19937 rng(2024);
  NonMaxSuppression nms_obj;
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + trial * 7 % 400;
    const RandomSet s = random_set(rng, n, trial % 2 ? 200.0f : 1000.0f);
    for (float thr : {0.3f, 0.5f, 0.7f, 0.9f}) {
      for (int max_det : {300, 5}) {
        NmsOptions opt;
        opt.iou_threshold = thr;
        opt.max_detections = max_det;
        nms_obj.set_options(opt);
        const std::vector<int>& got = nms_obj.select(s.boxes, s.scores);
        const std::vector<int> want = reference_nms(s.boxes, s.scores, thr, max_det);
        ASSERT_EQ(got, want) << "trial " << trial << " n " << n << " thr " << thr << " max_det " << max_det;
        EXPECT_EQ(nms_indices(s.boxes, s.scores, opt), want);
      }
    }
  }
}

TEST(Nms, IouEdgeCases) {
  const Box a{0, 0, 10, 10};
  EXPECT_FLOAT_EQ(box_iou(a, a), 1.0f);                        // identical
  EXPECT_FLOAT_EQ(box_iou(a, Box{10, 0, 20, 10}), 0.0f);       // touching along an edge
  EXPECT_FLOAT_EQ(box_iou(a, Box{10, 10, 20, 20}), 0.0f);      // touching at a corner
  EXPECT_FLOAT_EQ(box_iou(a, Box{20, 20, 30, 30}), 0.0f);      // disjoint
  EXPECT_FLOAT_EQ(box_iou(a, Box{0, 0, 5, 10}), 0.5f);         // contained, half the area
  EXPECT_FLOAT_EQ(box_iou(a, Box{5, 0, 15, 10}), 50.0f / 150.0f);  // half overlap
  EXPECT_FLOAT_EQ(box_iou(a, Box{5, 5, 5, 5}), 0.0f);          // zero-area point inside
  EXPECT_FLOAT_EQ(box_iou(a, Box{2, 0, 2, 10}), 0.0f);         // zero-width line inside
  EXPECT_FLOAT_EQ(box_iou(Box{5, 5, 5, 5}, Box{5, 5, 5, 5}), 0.0f);  // identical zero-area: union 0
  EXPECT_FLOAT_EQ(box_iou(a, Box{}), 0.0f);
  // symmetric
  const Box b{3, -2, 12, 7};
  EXPECT_FLOAT_EQ(box_iou(a, b), box_iou(b, a));
}

TEST(Nms, IdenticalBoxesKeepTheFirstOfEqualScores) {
  const std::vector<Box> boxes(5, Box{0, 0, 10, 10});
  const std::vector<float> equal(5, 0.8f);
  EXPECT_EQ(nms_indices(boxes, equal), std::vector<int>{0});
  const std::vector<float> rising = {0.1f, 0.2f, 0.9f, 0.3f, 0.9f};
  EXPECT_EQ(nms_indices(boxes, rising), std::vector<int>{2});
}

TEST(Nms, ZeroAreaAndTouchingBoxesAreNotSuppressed) {
  const std::vector<Box> points(3, Box{5, 5, 5, 5});
  EXPECT_EQ(nms_indices(points, std::vector<float>{0.5f, 0.7f, 0.6f}), (std::vector<int>{1, 2, 0}));
  const std::vector<Box> tiles = {{0, 0, 10, 10}, {10, 0, 20, 10}, {0, 10, 10, 20}, {10, 10, 20, 20}};
  EXPECT_EQ(nms_indices(tiles, std::vector<float>{0.4f, 0.3f, 0.2f, 0.1f}), (std::vector<int>{0, 1, 2, 3}));
}

TEST(Nms, ThresholdIsStrict) {
  // IoU exactly 0.5: kept at threshold 0.5, suppressed below it.
  const std::vector<Box> boxes = {{0, 0, 10, 10}, {0, 0, 5, 10}};
  const std::vector<float> scores = {0.9f, 0.8f};
  NmsOptions opt;
  opt.iou_threshold = 0.5f;
  EXPECT_EQ(nms_indices(boxes, scores, opt).size(), 2u);
  opt.iou_threshold = 0.49f;
  EXPECT_EQ(nms_indices(boxes, scores, opt).size(), 1u);
}

TEST(Nms, MaxDetectionsKeepsTheBest) {
  std::vector<Box> boxes;
  std::vector<float> scores;
  for (int i = 0; i < 500; ++i) {  // disjoint boxes on a grid, scores a permutation
    const float x = float(i % 25) * 20, y = float(i / 25) * 20;
    boxes.push_back({x, y, x + 10, y + 10});
    scores.push_back(float((i * 7919) % 500) / 500.0f);
  }
  const auto keep = nms_indices(boxes, scores);
  ASSERT_EQ(keep.size(), 300u);
  for (std::size_t i = 1; i < keep.size(); ++i) EXPECT_GT(scores[keep[i - 1]], scores[keep[i]]);
  EXPECT_FLOAT_EQ(scores[keep.back()], 200.0f / 500.0f);  // the 300 best of 0/500 .. 499/500

  NmsOptions opt;
  opt.max_detections = 0;
  EXPECT_TRUE(nms_indices(boxes, scores, opt).empty());
  opt.max_detections = 300;
  opt.max_candidates = 10;  // Ultralytics' max_nms: only the 10 best are considered
  EXPECT_EQ(nms_indices(boxes, scores, opt).size(), 10u);
}

TEST(Nms, NanScoresAreDroppedAndEmptyInputIsFine) {
  const std::vector<Box> boxes = {{0, 0, 10, 10}, {20, 20, 30, 30}, {40, 40, 50, 50}};
  const std::vector<float> scores = {0.5f, std::numeric_limits<float>::quiet_NaN(), 0.7f};
  EXPECT_EQ(nms_indices(boxes, scores), (std::vector<int>{2, 0}));
  EXPECT_TRUE(nms_indices({}, {}).empty());
  EXPECT_THROW(nms_indices(boxes, std::vector<float>{0.5f}), Error);
}

TEST(Nms, DetectionsKeepTheirKeypoints) {
  std::vector<PoseDetection> dets(4);
  const Box boxes[4] = {{0, 0, 10, 10}, {1, 1, 11, 11}, {100, 100, 110, 110}, {0, 0, 10, 9}};
  const float scores[4] = {0.6f, 0.9f, 0.3f, 0.5f};
  for (int i = 0; i < 4; ++i) {
    dets[i].box = boxes[i];
    dets[i].score = scores[i];
    dets[i].keypoints[7].x = float(i);
  }
  NonMaxSuppression n;  // IoU 0.7
  n.run(dets);
  // 1 vs 0: IoU 81/119 = 0.68, kept; 3 vs 0: IoU 90/100 = 0.9, suppressed by 0 (0.6 > 0.5).
  std::vector<Box> b(std::begin(boxes), std::end(boxes));
  std::vector<float> s(std::begin(scores), std::end(scores));
  const auto want = reference_nms(b, s, 0.7, 300);
  EXPECT_EQ(want, (std::vector<int>{1, 0, 2}));
  ASSERT_EQ(dets.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(dets[i].keypoints[7].x, float(want[i]));
    EXPECT_EQ(dets[i].score, scores[want[i]]);
  }
  // and again with the same object: same result, buffers reused
  std::vector<PoseDetection> again(dets);
  n.run(again);
  ASSERT_EQ(again.size(), dets.size());
}

}  // namespace
}  // namespace sp::models
