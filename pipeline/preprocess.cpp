#include "pipeline/preprocess.h"

#include <opencv2/imgproc.hpp>

#include <array>
#include <string>

#include "core/error.h"

namespace sp::pipeline {
namespace {

// v / 255 for every byte, computed in float as torch does (`im.float() / 255`).
const std::array<float, 256>& unit_lut() {
  static const std::array<float, 256> lut = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  return lut;
}

constexpr int kPadValue = 114;

void check_image(const cv::Mat& bgr) {
  if (bgr.empty()) throw Error("preprocess: the image is empty");
  if (bgr.type() != CV_8UC3)
    throw Error("preprocess: expected an 8-bit 3-channel BGR image (CV_8UC3), got type " +
                cv::typeToString(bgr.type()) + " with " + std::to_string(bgr.channels()) + " channel(s)");
  if (bgr.dims != 2) throw Error("preprocess: expected a 2-D image");
}

void check_target(int target_w, int target_h) {
  if (target_w <= 0 || target_h <= 0)
    throw Error("preprocess: target size must be positive, got " + std::to_string(target_w) + "x" +
                std::to_string(target_h));
}

}  // namespace

const cv::Mat& Preprocessor::resized(const cv::Mat& bgr, const models::LetterboxGeometry& g) {
  if (!g.needs_resize()) return bgr;
  // cv::resize reuses resized_'s buffer when the size and type already match.
  cv::resize(bgr, resized_, cv::Size(g.resized_w, g.resized_h), 0.0, 0.0, cv::INTER_LINEAR);
  return resized_;
}

models::LetterboxGeometry Preprocessor::run(const cv::Mat& bgr, int target_w, int target_h,
                                            std::span<float> dst, TensorLayout layout) {
  check_image(bgr);
  check_target(target_w, target_h);
  const std::size_t plane = static_cast<std::size_t>(target_w) * static_cast<std::size_t>(target_h);
  if (dst.size() < 3 * plane)
    throw Error("preprocess: destination holds " + std::to_string(dst.size()) + " floats, need " +
                std::to_string(3 * plane) + " for 3x" + std::to_string(target_h) + "x" +
                std::to_string(target_w));

  const models::LetterboxGeometry g = models::compute_letterbox(bgr.cols, bgr.rows, target_w, target_h);
  const cv::Mat& src = resized(bgr, g);
  const auto& lut = unit_lut();
  const float pad = lut[kPadValue];
  const int x0 = g.pad_left;
  const int x1 = g.pad_left + g.resized_w;  // exclusive
  const int y0 = g.pad_top;
  const int y1 = g.pad_top + g.resized_h;
  float* out = dst.data();

  if (layout == TensorLayout::NCHW) {
    float* r_plane = out;
    float* g_plane = out + plane;
    float* b_plane = out + 2 * plane;
    for (int y = 0; y < target_h; ++y) {
      const std::size_t row = static_cast<std::size_t>(y) * target_w;
      float* rr = r_plane + row;
      float* gg = g_plane + row;
      float* bb = b_plane + row;
      if (y < y0 || y >= y1) {
        std::fill(rr, rr + target_w, pad);
        std::fill(gg, gg + target_w, pad);
        std::fill(bb, bb + target_w, pad);
        continue;
      }
      std::fill(rr, rr + x0, pad);
      std::fill(gg, gg + x0, pad);
      std::fill(bb, bb + x0, pad);
      const std::uint8_t* p = src.ptr<std::uint8_t>(y - y0);
      for (int x = x0; x < x1; ++x, p += 3) {
        bb[x] = lut[p[0]];
        gg[x] = lut[p[1]];
        rr[x] = lut[p[2]];
      }
      std::fill(rr + x1, rr + target_w, pad);
      std::fill(gg + x1, gg + target_w, pad);
      std::fill(bb + x1, bb + target_w, pad);
    }
  } else {
    const std::size_t row_floats = static_cast<std::size_t>(target_w) * 3;
    for (int y = 0; y < target_h; ++y) {
      float* o = out + static_cast<std::size_t>(y) * row_floats;
      if (y < y0 || y >= y1) {
        std::fill(o, o + row_floats, pad);
        continue;
      }
      std::fill(o, o + static_cast<std::size_t>(x0) * 3, pad);
      const std::uint8_t* p = src.ptr<std::uint8_t>(y - y0);
      float* q = o + static_cast<std::size_t>(x0) * 3;
      for (int x = x0; x < x1; ++x, p += 3, q += 3) {
        q[0] = lut[p[2]];
        q[1] = lut[p[1]];
        q[2] = lut[p[0]];
      }
      std::fill(o + static_cast<std::size_t>(x1) * 3, o + row_floats, pad);
    }
  }
  return g;
}

cv::Mat Preprocessor::letterbox_image(const cv::Mat& bgr, int target_w, int target_h,
                                      models::LetterboxGeometry* geometry) {
  check_image(bgr);
  check_target(target_w, target_h);
  const models::LetterboxGeometry g = models::compute_letterbox(bgr.cols, bgr.rows, target_w, target_h);
  const cv::Mat& src = resized(bgr, g);
  cv::Mat out;
  cv::copyMakeBorder(src, out, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right, cv::BORDER_CONSTANT,
                     cv::Scalar(kPadValue, kPadValue, kPadValue));
  if (geometry != nullptr) *geometry = g;
  return out;
}

models::LetterboxGeometry preprocess(const cv::Mat& bgr, int target_w, int target_h, std::span<float> dst,
                                     TensorLayout layout) {
  Preprocessor p;
  return p.run(bgr, target_w, target_h, dst, layout);
}

models::LetterboxGeometry letterbox_into(Preprocessor& pre, const cv::Mat& bgr, models::PoseModel& model) {
  const size_t floats = static_cast<size_t>(model.input_width()) * model.input_height() * 3;
  return pre.run(bgr, model.input_width(), model.input_height(), std::span<float>(model.input_nhwc(), floats),
                 TensorLayout::NHWC);
}

}  // namespace sp::pipeline
