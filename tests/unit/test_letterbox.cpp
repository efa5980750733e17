// Letterbox geometry (Ultralytics LetterBox, auto=False, centred) and the mapping back to the image.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "models/letterbox.h"

namespace sp::models {
namespace {

struct Expect {
  int src_w, src_h, target_w, target_h;
  double gain;
  int resized_w, resized_h, left, top, right, bottom;
};

// Expected values computed with Ultralytics' own formulas in Python (float64, round half to even).
const Expect kCases[] = {
    {640, 480, 640, 640, 1.0, 640, 480, 0, 80, 0, 80},      // landscape, no resize
    {1280, 720, 640, 640, 0.5, 640, 360, 0, 140, 0, 140},   // zidane.jpg
    {810, 1080, 640, 640, 640.0 / 1080, 480, 640, 80, 0, 80, 0},  // bus.jpg, portrait
    {320, 240, 640, 640, 2.0, 640, 480, 0, 80, 0, 80},      // upscale
    {100, 37, 640, 640, 6.4, 640, 237, 0, 201, 0, 202},     // odd padding: the extra row at the bottom
    {256, 1, 640, 640, 2.5, 640, 2, 0, 319, 0, 319},        // 2.5 rounds to 2 (half to even)
    {256, 3, 640, 640, 2.5, 640, 8, 0, 316, 0, 316},        // 7.5 rounds to 8
    {427, 640, 320, 320, 0.5, 214, 320, 53, 0, 53, 0},      // 213.5 rounds to 214
    {1280, 720, 640, 384, 0.5, 640, 360, 0, 12, 0, 12},     // non-square target
    {720, 1280, 640, 384, 0.3, 216, 384, 212, 0, 212, 0},   // portrait into a landscape target
    {1, 1, 640, 640, 640.0, 640, 640, 0, 0, 0, 0},          // 1x1
    {4000, 10, 640, 640, 0.16, 640, 2, 0, 319, 0, 319},     // very wide
    {333, 500, 640, 640, 1.28, 426, 640, 107, 0, 107, 0},
    {640, 427, 640, 640, 1.0, 640, 427, 0, 106, 0, 107},
    {1, 3, 64, 64, 64.0 / 3, 21, 64, 21, 0, 22, 0},         // odd padding: the extra column on the right
    {97, 101, 640, 480, 480.0 / 101, 461, 480, 89, 0, 90, 0},
    {640, 640, 640, 640, 1.0, 640, 640, 0, 0, 0, 0},        // square, identity
};

TEST(Letterbox, GeometryMatchesUltralytics) {
  for (const Expect& e : kCases) {
    SCOPED_TRACE(std::to_string(e.src_w) + "x" + std::to_string(e.src_h) + " -> " + std::to_string(e.target_w) +
                 "x" + std::to_string(e.target_h));
    const LetterboxGeometry g = compute_letterbox(e.src_w, e.src_h, e.target_w, e.target_h);
    EXPECT_EQ(g.src_w, e.src_w);
    EXPECT_EQ(g.src_h, e.src_h);
    EXPECT_EQ(g.target_w, e.target_w);
    EXPECT_EQ(g.target_h, e.target_h);
    EXPECT_DOUBLE_EQ(g.gain, e.gain);
    EXPECT_EQ(g.resized_w, e.resized_w);
    EXPECT_EQ(g.resized_h, e.resized_h);
    EXPECT_EQ(g.pad_left, e.left);
    EXPECT_EQ(g.pad_top, e.top);
    EXPECT_EQ(g.pad_right, e.right);
    EXPECT_EQ(g.pad_bottom, e.bottom);
    EXPECT_EQ(g.needs_resize(), e.resized_w != e.src_w || e.resized_h != e.src_h);
  }
}

TEST(Letterbox, DegenerateAspectKeepsOnePixel) {
  // Ultralytics would ask cv2.resize for a 0-high image here; we keep one row, centred.
  const LetterboxGeometry g = compute_letterbox(10000, 1, 640, 640);
  EXPECT_EQ(g.resized_w, 640);
  EXPECT_EQ(g.resized_h, 1);
  EXPECT_EQ(g.pad_top, 319);
  EXPECT_EQ(g.pad_bottom, 320);
  const LetterboxGeometry t = compute_letterbox(1, 10000, 640, 640);
  EXPECT_EQ(t.resized_w, 1);
  EXPECT_EQ(t.pad_left + t.resized_w + t.pad_right, 640);
}

TEST(Letterbox, InvariantsOnRandomSizes) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> side(1, 5000), mult(1, 40);
  for (int i = 0; i < 20000; ++i) {
    const int w = side(rng), h = side(rng), tw = 32 * mult(rng), th = 32 * mult(rng);
    const LetterboxGeometry g = compute_letterbox(w, h, tw, th);
    ASSERT_EQ(g.pad_left + g.resized_w + g.pad_right, tw) << w << "x" << h << " " << tw << "x" << th;
    ASSERT_EQ(g.pad_top + g.resized_h + g.pad_bottom, th) << w << "x" << h << " " << tw << "x" << th;
    ASSERT_GE(g.pad_left, 0);
    ASSERT_GE(g.pad_top, 0);
    ASSERT_TRUE(g.pad_right - g.pad_left == 0 || g.pad_right - g.pad_left == 1);
    ASSERT_TRUE(g.pad_bottom - g.pad_top == 0 || g.pad_bottom - g.pad_top == 1);
    // One side always fills the target (up to the rounding of the other).
    ASSERT_TRUE(g.resized_w == tw || g.resized_h == th) << w << "x" << h << " " << tw << "x" << th;
  }
}

TEST(Letterbox, RejectsNonPositiveSizes) {
  EXPECT_THROW(compute_letterbox(0, 10, 640, 640), Error);
  EXPECT_THROW(compute_letterbox(10, -1, 640, 640), Error);
  EXPECT_THROW(compute_letterbox(10, 10, 0, 640), Error);
}

TEST(Letterbox, RoundTripMapping) {
  for (const Expect& e : kCases) {
    const LetterboxGeometry g = compute_letterbox(e.src_w, e.src_h, e.target_w, e.target_h);
    SCOPED_TRACE(std::to_string(e.src_w) + "x" + std::to_string(e.src_h));
    // A detection built in original pixels, mapped forward into the input, must map back.
    PoseDetection d;
    d.box = {0.1f * e.src_w, 0.2f * e.src_h, 0.7f * e.src_w, 0.9f * e.src_h};
    d.score = 0.8f;
    PoseDetection in = d;
    in.box = {float(g.input_x(d.box.x1)), float(g.input_y(d.box.y1)), float(g.input_x(d.box.x2)),
              float(g.input_y(d.box.y2))};
    for (int k = 0; k < kNumKeypoints; ++k) {
      d.keypoints[k] = {e.src_w * (k + 0.5f) / kNumKeypoints, e.src_h * (kNumKeypoints - k - 0.5f) / kNumKeypoints,
                        0.01f * k};
      in.keypoints[k] = {float(g.input_x(d.keypoints[k].x)), float(g.input_y(d.keypoints[k].y)), d.keypoints[k].conf};
    }
    to_original(g, in);
    const float tol = 1e-4f * float(std::max(e.src_w, e.src_h)) + 1e-4f;
    EXPECT_NEAR(in.box.x1, d.box.x1, tol);
    EXPECT_NEAR(in.box.y1, d.box.y1, tol);
    EXPECT_NEAR(in.box.x2, d.box.x2, tol);
    EXPECT_NEAR(in.box.y2, d.box.y2, tol);
    EXPECT_EQ(in.score, d.score);
    for (int k = 0; k < kNumKeypoints; ++k) {
      EXPECT_NEAR(in.keypoints[k].x, d.keypoints[k].x, tol);
      EXPECT_NEAR(in.keypoints[k].y, d.keypoints[k].y, tol);
      EXPECT_EQ(in.keypoints[k].conf, d.keypoints[k].conf);
    }
  }
}

TEST(Letterbox, ToOriginalSubtractsPadDividesAndClips) {
  // 1280x720 -> 640x640: gain 0.5, pad top 140.
  const LetterboxGeometry g = compute_letterbox(1280, 720, 640, 640);
  std::vector<PoseDetection> dets(2);
  dets[0].box = {100, 240, 300, 440};
  dets[0].keypoints[0] = {320, 320, 0.9f};
  dets[0].keypoints[1] = {-5, 100, 0.1f};   // left of the image, inside the top pad
  dets[0].keypoints[2] = {700, 600, 0.2f};  // right of the image, inside the bottom pad
  dets[1].box = {-20, 100, 660, 560};       // spills into the pad and beyond the input
  to_original(g, std::span<PoseDetection>(dets));
  EXPECT_FLOAT_EQ(dets[0].box.x1, 200);
  EXPECT_FLOAT_EQ(dets[0].box.y1, 200);
  EXPECT_FLOAT_EQ(dets[0].box.x2, 600);
  EXPECT_FLOAT_EQ(dets[0].box.y2, 600);
  EXPECT_FLOAT_EQ(dets[0].keypoints[0].x, 640);
  EXPECT_FLOAT_EQ(dets[0].keypoints[0].y, 360);
  EXPECT_FLOAT_EQ(dets[0].keypoints[0].conf, 0.9f);
  EXPECT_FLOAT_EQ(dets[0].keypoints[1].x, 0);
  EXPECT_FLOAT_EQ(dets[0].keypoints[1].y, 0);
  EXPECT_FLOAT_EQ(dets[0].keypoints[2].x, 1280);
  EXPECT_FLOAT_EQ(dets[0].keypoints[2].y, 720);
  EXPECT_FLOAT_EQ(dets[1].box.x1, 0);
  EXPECT_FLOAT_EQ(dets[1].box.y1, 0);
  EXPECT_FLOAT_EQ(dets[1].box.x2, 1280);
  EXPECT_FLOAT_EQ(dets[1].box.y2, 720);
}

TEST(Letterbox, ToOriginalWithoutClipping) {
  const LetterboxGeometry g = compute_letterbox(1280, 720, 640, 640);
  PoseDetection d;
  d.box = {-20, 100, 660, 560};
  d.keypoints[3] = {-5, 100, 0.1f};
  to_original(g, d, /*clip=*/false);
  EXPECT_FLOAT_EQ(d.box.x1, -40);
  EXPECT_FLOAT_EQ(d.box.y1, -80);
  EXPECT_FLOAT_EQ(d.box.x2, 1320);
  EXPECT_FLOAT_EQ(d.box.y2, 840);
  EXPECT_FLOAT_EQ(d.keypoints[3].x, -10);
  EXPECT_FLOAT_EQ(d.keypoints[3].y, -80);
}

}  // namespace
}  // namespace sp::models
