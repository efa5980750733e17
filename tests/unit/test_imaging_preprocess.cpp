// Letterbox preprocessing with OpenCV: pad value, RGB order, centring, layouts, odd shapes, errors.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <random>
#include <vector>

#include "core/error.h"
#include "imaging/preprocess.h"

namespace sp::imaging {
namespace {

const float kPad = 114.0f / 255.0f;

// Ultralytics' steps written out with plain OpenCV calls: resize if needed, copyMakeBorder 114,
// BGR -> RGB; returns the 8-bit RGB image of target size.
cv::Mat reference_rgb(const cv::Mat& bgr, int tw, int th) {
  const double r = std::min(double(th) / bgr.rows, double(tw) / bgr.cols);
  const int nw = int(std::nearbyint(bgr.cols * r)), nh = int(std::nearbyint(bgr.rows * r));
  cv::Mat resized = bgr;
  if (nw != bgr.cols || nh != bgr.rows) cv::resize(bgr, resized, cv::Size(nw, nh), 0, 0, cv::INTER_LINEAR);
  const double dw = (tw - nw) / 2.0, dh = (th - nh) / 2.0;
  cv::Mat padded;
  cv::copyMakeBorder(resized, padded, int(std::nearbyint(dh - 0.1)), int(std::nearbyint(dh + 0.1)),
                     int(std::nearbyint(dw - 0.1)), int(std::nearbyint(dw + 0.1)), cv::BORDER_CONSTANT,
                     cv::Scalar(114, 114, 114));
  cv::Mat rgb;
  cv::cvtColor(padded, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat random_image(int w, int h, unsigned seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

float nchw(const std::vector<float>& t, int w, int h, int c, int y, int x) {
  return t[(std::size_t(c) * h + y) * w + x];
}
float nhwc(const std::vector<float>& t, int w, int c, int y, int x) { return t[(std::size_t(y) * w + x) * 3 + c]; }

TEST(ImagingPreprocess, MatchesReferenceBothLayouts) {
  Preprocessor pre;
  struct Case { int w, h, tw, th; };
  for (const Case c : {Case{1280, 720, 640, 640}, Case{480, 640, 640, 640}, Case{200, 150, 640, 640},
                       Case{640, 480, 640, 640}, Case{97, 101, 640, 480}, Case{720, 1280, 320, 192}}) {
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + " -> " + std::to_string(c.tw) + "x" +
                 std::to_string(c.th));
    const cv::Mat img = random_image(c.w, c.h, unsigned(c.w * 31 + c.h));
    const cv::Mat ref = reference_rgb(img, c.tw, c.th);
    ASSERT_EQ(ref.cols, c.tw);
    ASSERT_EQ(ref.rows, c.th);
    std::vector<float> a(std::size_t(3) * c.tw * c.th, -1.0f), b(a.size(), -1.0f);
    const auto g = pre.run(img, c.tw, c.th, a, TensorLayout::NCHW);
    const auto g2 = pre.run(img, c.tw, c.th, b, TensorLayout::NHWC);
    EXPECT_EQ(g.pad_left, g2.pad_left);
    int mismatches = 0;
    for (int y = 0; y < c.th; ++y)
      for (int x = 0; x < c.tw; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          const float want = float(ref.at<cv::Vec3b>(y, x)[ch]) / 255.0f;
          if (nchw(a, c.tw, c.th, ch, y, x) != want || nhwc(b, c.tw, ch, y, x) != want) ++mismatches;
        }
    EXPECT_EQ(mismatches, 0);
    // letterbox_image gives the same 8-bit picture (in BGR)
    models::LetterboxGeometry g3;
    const cv::Mat lb = pre.letterbox_image(img, c.tw, c.th, &g3);
    cv::Mat lb_rgb;
    cv::cvtColor(lb, lb_rgb, cv::COLOR_BGR2RGB);
    EXPECT_EQ(cv::norm(lb_rgb, ref, cv::NORM_INF), 0.0);
    EXPECT_EQ(g3.pad_top, g.pad_top);
  }
}

TEST(ImagingPreprocess, PadValueRgbOrderAndCentring) {
  // 40 x 20 uniform image, B=10 G=20 R=30, into 64 x 64: resized to 64 x 32, 16 rows of pad above and below.
  const cv::Mat img(20, 40, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<float> t(3 * 64 * 64);
  Preprocessor pre;
  const auto g = pre.run(img, 64, 64, t);
  EXPECT_EQ(g.resized_w, 64);
  EXPECT_EQ(g.resized_h, 32);
  EXPECT_EQ(g.pad_top, 16);
  EXPECT_EQ(g.pad_bottom, 16);
  for (int y = 0; y < 64; ++y) {
    const bool pad = y < 16 || y >= 48;
    for (int x = 0; x < 64; ++x) {
      EXPECT_EQ(nchw(t, 64, 64, 0, y, x), pad ? kPad : 30.0f / 255.0f) << y << "," << x;  // R first
      EXPECT_EQ(nchw(t, 64, 64, 1, y, x), pad ? kPad : 20.0f / 255.0f) << y << "," << x;
      EXPECT_EQ(nchw(t, 64, 64, 2, y, x), pad ? kPad : 10.0f / 255.0f) << y << "," << x;
    }
  }
  // Portrait with an odd pad: 1 x 3 into 64 x 64: 21 wide, 21 columns left, 22 right.
  const cv::Mat tall(3, 1, CV_8UC3, cv::Scalar(200, 100, 50));
  std::vector<float> n(3 * 64 * 64);
  const auto gt = pre.run(tall, 64, 64, n, TensorLayout::NHWC);
  EXPECT_EQ(gt.pad_left, 21);
  EXPECT_EQ(gt.resized_w, 21);
  EXPECT_EQ(gt.pad_right, 22);
  for (int x = 0; x < 64; ++x) {
    const bool pad = x < 21 || x >= 42;
    EXPECT_EQ(nhwc(n, 64, 0, 10, x), pad ? kPad : 50.0f / 255.0f) << x;
    EXPECT_EQ(nhwc(n, 64, 2, 10, x), pad ? kPad : 200.0f / 255.0f) << x;
  }
}

TEST(ImagingPreprocess, OneByOneImageFillsTheInput) {
  const cv::Mat px(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<float> t(3 * 640 * 640);
  const auto g = preprocess(px, 640, 640, t);
  EXPECT_EQ(g.resized_w, 640);
  EXPECT_EQ(g.resized_h, 640);
  EXPECT_EQ(g.pad_left + g.pad_top + g.pad_right + g.pad_bottom, 0);
  EXPECT_DOUBLE_EQ(g.gain, 640.0);
  for (std::size_t i = 0; i < 640 * 640; ++i) {
    ASSERT_EQ(t[i], 3.0f / 255.0f);
    ASSERT_EQ(t[640 * 640 + i], 2.0f / 255.0f);
    ASSERT_EQ(t[2 * 640 * 640 + i], 1.0f / 255.0f);
  }
}

TEST(ImagingPreprocess, VeryWideImages) {
  Preprocessor pre;
  std::vector<float> t(3 * 640 * 640);
  {
    const cv::Mat wide = random_image(4000, 10, 3);  // 640 x 2, 319 rows above and below
    const auto g = pre.run(wide, 640, 640, t);
    EXPECT_EQ(g.resized_h, 2);
    EXPECT_EQ(g.pad_top, 319);
    EXPECT_EQ(g.pad_bottom, 319);
    const cv::Mat ref = reference_rgb(wide, 640, 640);
    for (int y : {0, 318, 319, 320, 321, 639})
      for (int x : {0, 100, 639})
        for (int c = 0; c < 3; ++c) EXPECT_EQ(nchw(t, 640, 640, c, y, x), ref.at<cv::Vec3b>(y, x)[c] / 255.0f);
  }
  {
    const cv::Mat line(1, 10000, CV_8UC3, cv::Scalar(7, 8, 9));  // degenerate: one row kept
    const auto g = pre.run(line, 640, 640, t, TensorLayout::NHWC);
    EXPECT_EQ(g.resized_h, 1);
    EXPECT_EQ(g.pad_top, 319);
    EXPECT_EQ(nhwc(t, 640, 0, 319, 5), 9.0f / 255.0f);
    EXPECT_EQ(nhwc(t, 640, 0, 318, 5), kPad);
    EXPECT_EQ(nhwc(t, 640, 0, 320, 5), kPad);
  }
}

TEST(ImagingPreprocess, NonSquareTarget) {
  const cv::Mat img = random_image(1280, 720, 11);
  std::vector<float> t(3 * 640 * 384);
  const auto g = preprocess(img, 640, 384, t, TensorLayout::NCHW);
  EXPECT_EQ(g.resized_w, 640);
  EXPECT_EQ(g.resized_h, 360);
  EXPECT_EQ(g.pad_top, 12);
  EXPECT_EQ(nchw(t, 640, 384, 1, 11, 300), kPad);
  EXPECT_EQ(nchw(t, 640, 384, 1, 372, 300), kPad);
  const cv::Mat ref = reference_rgb(img, 640, 384);
  EXPECT_EQ(nchw(t, 640, 384, 1, 12, 300), ref.at<cv::Vec3b>(12, 300)[1] / 255.0f);
}

TEST(ImagingPreprocess, ReusedScratchAndSubmatrixInput) {
  // A non-continuous ROI is a valid input; repeated runs give identical results.
  const cv::Mat big = random_image(900, 700, 5);
  const cv::Mat roi = big(cv::Rect(13, 17, 600, 500));
  ASSERT_FALSE(roi.isContinuous());
  Preprocessor pre;
  std::vector<float> a(3 * 320 * 320), b(a.size());
  pre.run(roi, 320, 320, a);
  pre.run(roi.clone(), 320, 320, b);
  EXPECT_EQ(a, b);
  pre.run(roi, 320, 320, b);
  EXPECT_EQ(a, b);
}

// RGB and 4-byte frames letterbox to exactly what their BGR equivalent gives, float and quantized.
TEST(ImagingPreprocess, RgbAndFourChannelFramesMatchBgr) {
  const cv::Mat bgr = random_image(333, 251, 9);
  cv::Mat rgb, bgrx, rgbx;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  cv::cvtColor(bgr, bgrx, cv::COLOR_BGR2BGRA);
  cv::cvtColor(bgr, rgbx, cv::COLOR_BGR2RGBA);
  bgrx.forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 7; });  // the x byte is ignored
  Preprocessor pre;
  for (TensorLayout layout : {TensorLayout::NCHW, TensorLayout::NHWC}) {
    std::vector<float> want(3 * 320 * 320), got(want.size());
    pre.run(bgr, 320, 320, want, layout);
    pre.run(rgb, 320, 320, got, layout, ChannelOrder::kRgb);
    EXPECT_EQ(want, got);
    pre.run(bgrx, 320, 320, got, layout, ChannelOrder::kBgr);
    EXPECT_EQ(want, got);
    pre.run(rgbx, 320, 320, got, layout, ChannelOrder::kRgb);
    EXPECT_EQ(want, got);
  }
  std::vector<std::uint8_t> want(3 * 320 * 320), got(want.size());
  pre.run_quantized(bgr, 320, 320, want, 1.0f / 255.0f, 0);
  pre.run_quantized(rgbx, 320, 320, got, 1.0f / 255.0f, 0, ChannelOrder::kRgb);
  EXPECT_EQ(want, got);
}

TEST(ImagingPreprocess, RejectsBadInput) {
  Preprocessor pre;
  std::vector<float> t(3 * 64 * 64);
  EXPECT_THROW(pre.run(cv::Mat(), 64, 64, t), Error);
  EXPECT_THROW(pre.run(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)), 64, 64, t), Error);
  EXPECT_THROW(pre.run(cv::Mat(10, 10, CV_8UC2, cv::Scalar(0)), 64, 64, t), Error);
  EXPECT_THROW(pre.run(cv::Mat(10, 10, CV_32FC3, cv::Scalar(0)), 64, 64, t), Error);
  const cv::Mat ok(10, 10, CV_8UC3, cv::Scalar(0));
  EXPECT_THROW(pre.run(ok, 64, 64, std::span<float>(t.data(), t.size() - 1)), Error);
  EXPECT_THROW(pre.run(ok, 0, 64, t), Error);
  try {
    pre.run(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)), 64, 64, t);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CV_8UC3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sp::imaging
