// Overlay drawing: what is drawn where, thresholds, robustness to odd coordinates.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "models/skeleton.h"
#include "imaging/overlay.h"

namespace sp::imaging {
namespace {

models::PoseDetection person() {
  models::PoseDetection d;
  d.box = {100, 100, 300, 400};
  d.score = 0.87f;
  for (int k = 0; k < models::kNumKeypoints; ++k) d.keypoints[k] = {150.0f + 5 * k, 120.0f + 15 * k, 0.9f};
  return d;
}

TEST(ImagingOverlay, DefaultLineWidth) {
  EXPECT_EQ(default_line_width(640, 480), 2);
  EXPECT_EQ(default_line_width(1920, 1080), 5);
  EXPECT_EQ(default_line_width(3840, 2160), 9);
  EXPECT_EQ(default_line_width(1, 1), 2);
}

TEST(ImagingOverlay, DrawsBoxLimbsAndConfidentKeypointsOnly) {
  cv::Mat img(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
  std::vector<models::PoseDetection> dets{person()};
  dets[0].keypoints[16] = {500, 300, 0.3f};  // below the 0.5 threshold, far from everything else
  OverlayOptions o;
  o.draw_labels = false;
  draw_detections(img, dets, o);
  // Box edge in the person box colour.
  const auto box = models::kPersonBoxColor;
  EXPECT_EQ(img.at<cv::Vec3b>(250, 100), cv::Vec3b(box.b, box.g, box.r));
  // A confident keypoint centre in its colour (keypoint 0: palette 16, green).
  const auto c0 = models::keypoint_color(0);
  EXPECT_EQ(img.at<cv::Vec3b>(120, 150), cv::Vec3b(c0.b, c0.g, c0.r));
  // The unconfident keypoint is not drawn.
  EXPECT_EQ(img.at<cv::Vec3b>(300, 500), cv::Vec3b(0, 0, 0));
  // Far from everything stays untouched.
  EXPECT_EQ(img.at<cv::Vec3b>(10, 10), cv::Vec3b(0, 0, 0));
}

TEST(ImagingOverlay, LimbUsesItsColour) {
  cv::Mat img(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
  models::PoseDetection d;
  d.keypoints[5] = {100, 200, 0.9f};  // left shoulder
  d.keypoints[6] = {400, 200, 0.9f};  // right shoulder: limb 7 (5-6), palette 0
  OverlayOptions o;
  o.draw_boxes = false;
  o.line_width = 6;  // limbs 3 px thick: the centre line is fully covered despite anti-aliasing
  draw_detections(img, std::vector<models::PoseDetection>{d}, o);
  const auto c = models::limb_color(7);
  EXPECT_EQ(models::kSkeleton[7].a, 5);
  EXPECT_EQ(models::kSkeleton[7].b, 6);
  EXPECT_EQ(img.at<cv::Vec3b>(200, 250), cv::Vec3b(c.b, c.g, c.r));
}

TEST(ImagingOverlay, TrackedPeopleAreDrawnInTheirIdColour) {
  models::PoseDetection d;
  d.box = {100, 100, 300, 400};
  d.score = 0.9f;
  d.keypoints[5] = {120, 200, 0.9f};
  d.keypoints[6] = {280, 200, 0.9f};  // a shoulder line: limb 7
  OverlayOptions o;
  o.line_width = 6;
  o.draw_keypoints = false;
  const std::vector<models::PoseDetection> dets{d};
  for (int64_t id : {1, 2, 21}) {
    cv::Mat img(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
    const std::vector<int64_t> ids{id};
    draw_detections(img, dets, ids, o);
    const auto c = id_color(id);
    EXPECT_EQ(img.at<cv::Vec3b>(250, 100), cv::Vec3b(c.b, c.g, c.r)) << "box edge, id " << id;
    EXPECT_EQ(img.at<cv::Vec3b>(200, 200), cv::Vec3b(c.b, c.g, c.r)) << "limb, id " << id;
  }
  EXPECT_NE(cv::Vec3b(id_color(1).b, id_color(1).g, id_color(1).r), cv::Vec3b(id_color(2).b, id_color(2).g, id_color(2).r));
  EXPECT_EQ(id_color(1).r, id_color(21).r) << "the palette cycles";
  // The label carries the ID: the labelled drawing differs from the same drawing with another ID number
  // of the same colour (1 and 21).
  cv::Mat a(480, 640, CV_8UC3, cv::Scalar(0, 0, 0)), b = a.clone();
  o.draw_limbs = false;
  draw_detections(a, dets, std::vector<int64_t>{1}, o);
  draw_detections(b, dets, std::vector<int64_t>{21}, o);
  EXPECT_GT(cv::norm(a, b, cv::NORM_L1), 0.0);
}

TEST(ImagingOverlay, LabelAndOddCoordinatesDoNotCrash) {
  cv::Mat img(50, 60, CV_8UC3, cv::Scalar(0, 0, 0));
  std::vector<models::PoseDetection> dets(4, person());
  dets[1].box = {-1e30f, -5, 1e30f, 1e9f};
  dets[2].box.x1 = std::numeric_limits<float>::quiet_NaN();
  for (auto& k : dets[3].keypoints) k = {std::numeric_limits<float>::infinity(), -3, 1.0f};
  dets[3].box = {55, 0, 59, 3};  // label must stay inside the image
  EXPECT_NO_THROW(draw_detections(img, dets));
  EXPECT_GT(cv::countNonZero(img.reshape(1)), 0);
}

TEST(ImagingOverlay, RejectsWrongImageType) {
  cv::Mat grey(10, 10, CV_8UC1);
  EXPECT_THROW(draw_detections(grey, std::vector<models::PoseDetection>{}), Error);
  cv::Mat empty;
  EXPECT_THROW(draw_detections(empty, std::vector<models::PoseDetection>{}), Error);
}

// RGB and 4-byte frames get the same drawing as BGR: the same pixels, the colour channels in their order.
TEST(ImagingOverlay, RgbAndFourChannelFramesMatchBgr) {
  std::vector<models::PoseDetection> dets{person()};
  const std::vector<int64_t> ids{7};
  cv::Mat bgr(480, 640, CV_8UC3, cv::Scalar(10, 20, 30));
  draw_detections(bgr, dets, ids);
  OverlayOptions rgb_order;
  rgb_order.rgb = true;

  cv::Mat rgb(480, 640, CV_8UC3, cv::Scalar(30, 20, 10));
  draw_detections(rgb, dets, ids, rgb_order);
  cv::Mat rgb_as_bgr;
  cv::cvtColor(rgb, rgb_as_bgr, cv::COLOR_RGB2BGR);
  EXPECT_EQ(cv::norm(bgr, rgb_as_bgr, cv::NORM_INF), 0.0);

  cv::Mat bgrx(480, 640, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  draw_detections(bgrx, dets, ids);
  cv::Mat bgrx_as_bgr;
  cv::cvtColor(bgrx, bgrx_as_bgr, cv::COLOR_BGRA2BGR);
  EXPECT_EQ(cv::norm(bgr, bgrx_as_bgr, cv::NORM_INF), 0.0);

  cv::Mat rgbx(480, 640, CV_8UC4, cv::Scalar(30, 20, 10, 0));
  draw_detections(rgbx, dets, ids, rgb_order);
  cv::Mat rgbx_as_bgr;
  cv::cvtColor(rgbx, rgbx_as_bgr, cv::COLOR_RGBA2BGR);
  EXPECT_EQ(cv::norm(bgr, rgbx_as_bgr, cv::NORM_INF), 0.0);
}

TEST(ImagingOverlay, SkeletonTables) {
  for (const auto& limb : models::kSkeleton) {
    EXPECT_GE(limb.a, 0);
    EXPECT_LT(limb.a, models::kNumKeypoints);
    EXPECT_GE(limb.b, 0);
    EXPECT_LT(limb.b, models::kNumKeypoints);
    EXPECT_NE(limb.a, limb.b);
  }
  for (int k = 0; k < models::kNumKeypoints; ++k) EXPECT_EQ(models::kKeypointFlip[models::kKeypointFlip[k]], k);
  EXPECT_EQ(models::kKeypointNames[0], "nose");
  EXPECT_EQ(models::kKeypointNames[16], "right_ankle");
}

}  // namespace
}  // namespace sp::imaging
