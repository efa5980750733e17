#include "imaging/preprocess.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "core/error.h"
#include "core/kernels/quant_u8/quant_u8.h"

namespace sp::imaging {
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

void check_image(const cv::Mat& image) {
  if (image.empty()) throw Error("preprocess: the image is empty");
  if (image.type() != CV_8UC3 && image.type() != CV_8UC4)
    throw Error("preprocess: expected an 8-bit image with 3 or 4 channels (CV_8UC3 or CV_8UC4), got type " +
                cv::typeToString(image.type()) + " with " + std::to_string(image.channels()) + " channel(s)");
  if (image.dims != 2) throw Error("preprocess: expected a 2-D image");
}

void check_target(int target_w, int target_h) {
  if (target_w <= 0 || target_h <= 0)
    throw Error("preprocess: target size must be positive, got " + std::to_string(target_w) + "x" +
                std::to_string(target_h));
}

}  // namespace

const cv::Mat& Preprocessor::resized(const cv::Mat& image, const models::LetterboxGeometry& g) {
  if (!g.needs_resize()) return image;
  // cv::resize reuses resized_'s buffer when the size and type already match.
  cv::resize(image, resized_, cv::Size(g.resized_w, g.resized_h), 0.0, 0.0, cv::INTER_LINEAR);
  return resized_;
}

namespace {

// The letterbox loop, writing lut[byte] for every channel byte: floats (v / 255) or, for a quantized
// model input, the u8 value the model's first QuantizeLinear would give (no float image at all).
// kStep bytes per source pixel (3, or 4 for BGRx/RGBx); kRgb: the source holds R, G, B rather than B, G, R.
// Both are template parameters so the inner loops keep constant strides.
template <typename T, int kStep, bool kRgb>
void write_letterboxed(const cv::Mat& src, const models::LetterboxGeometry& g, int target_w, int target_h,
                       T* out, const std::array<T, 256>& lut, TensorLayout layout) {
  constexpr int kR = kRgb ? 0 : 2;
  constexpr int kB = kRgb ? 2 : 0;
  const std::size_t plane = static_cast<std::size_t>(target_w) * static_cast<std::size_t>(target_h);
  const T pad = lut[kPadValue];
  const int x0 = g.pad_left;
  const int x1 = g.pad_left + g.resized_w;  // exclusive
  const int y0 = g.pad_top;
  const int y1 = g.pad_top + g.resized_h;

  if (layout == TensorLayout::NCHW) {
    T* r_plane = out;
    T* g_plane = out + plane;
    T* b_plane = out + 2 * plane;
    for (int y = 0; y < target_h; ++y) {
      const std::size_t row = static_cast<std::size_t>(y) * target_w;
      T* rr = r_plane + row;
      T* gg = g_plane + row;
      T* bb = b_plane + row;
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
      for (int x = x0; x < x1; ++x, p += kStep) {
        bb[x] = lut[p[kB]];
        gg[x] = lut[p[1]];
        rr[x] = lut[p[kR]];
      }
      std::fill(rr + x1, rr + target_w, pad);
      std::fill(gg + x1, gg + target_w, pad);
      std::fill(bb + x1, bb + target_w, pad);
    }
  } else {
    const std::size_t row_elems = static_cast<std::size_t>(target_w) * 3;
    for (int y = 0; y < target_h; ++y) {
      T* o = out + static_cast<std::size_t>(y) * row_elems;
      if (y < y0 || y >= y1) {
        std::fill(o, o + row_elems, pad);
        continue;
      }
      std::fill(o, o + static_cast<std::size_t>(x0) * 3, pad);
      const std::uint8_t* p = src.ptr<std::uint8_t>(y - y0);
      T* q = o + static_cast<std::size_t>(x0) * 3;
      for (int x = x0; x < x1; ++x, p += kStep, q += 3) {
        q[0] = lut[p[kR]];
        q[1] = lut[p[1]];
        q[2] = lut[p[kB]];
      }
      std::fill(o + static_cast<std::size_t>(x1) * 3, o + row_elems, pad);
    }
  }
}

// The instantiation for the source's pixel size and channel order.
template <typename T>
void write_letterboxed(const cv::Mat& src, ChannelOrder order, const models::LetterboxGeometry& g, int target_w,
                       int target_h, T* out, const std::array<T, 256>& lut, TensorLayout layout) {
  const bool rgb = order == ChannelOrder::kRgb;
  if (src.channels() == 4) {
    if (rgb) write_letterboxed<T, 4, true>(src, g, target_w, target_h, out, lut, layout);
    else write_letterboxed<T, 4, false>(src, g, target_w, target_h, out, lut, layout);
  } else {
    if (rgb) write_letterboxed<T, 3, true>(src, g, target_w, target_h, out, lut, layout);
    else write_letterboxed<T, 3, false>(src, g, target_w, target_h, out, lut, layout);
  }
}

void check_capacity(std::size_t have, int target_w, int target_h, const char* unit) {
  const std::size_t need = 3 * static_cast<std::size_t>(target_w) * static_cast<std::size_t>(target_h);
  if (have < need)
    throw Error("preprocess: destination holds " + std::to_string(have) + " " + unit + ", need " + std::to_string(need) +
                " for 3x" + std::to_string(target_h) + "x" + std::to_string(target_w));
}

}  // namespace

models::LetterboxGeometry Preprocessor::run(const cv::Mat& image, int target_w, int target_h,
                                            std::span<float> dst, TensorLayout layout, ChannelOrder order) {
  check_image(image);
  check_target(target_w, target_h);
  check_capacity(dst.size(), target_w, target_h, "floats");
  const models::LetterboxGeometry g = models::compute_letterbox(image.cols, image.rows, target_w, target_h);
  write_letterboxed(resized(image, g), order, g, target_w, target_h, dst.data(), unit_lut(), layout);
  return g;
}

models::LetterboxGeometry Preprocessor::run_quantized(const cv::Mat& image, int target_w, int target_h,
                                                      std::span<std::uint8_t> dst, float scale, int zero_point,
                                                      ChannelOrder order) {
  check_image(image);
  check_target(target_w, target_h);
  check_capacity(dst.size(), target_w, target_h, "bytes");
  if (!(scale > 0) || zero_point < 0 || zero_point > 255) throw Error("preprocess: invalid input quantization grid");
  if (scale != table_scale_ || zero_point != table_zero_point_) {
    // QuantizeLinear of each float pixel value v / 255, by the engine's own definition of it.
    kernels::quantize_f32_u8(unit_lut().data(), 256, 1, 256, kernels::U8Grid{scale, zero_point}, quantized_lut_.data(), 256,
                             Isa::kScalar);
    table_scale_ = scale;
    table_zero_point_ = zero_point;
  }
  const models::LetterboxGeometry g = models::compute_letterbox(image.cols, image.rows, target_w, target_h);
  write_letterboxed(resized(image, g), order, g, target_w, target_h, dst.data(), quantized_lut_, TensorLayout::NHWC);
  return g;
}

cv::Mat Preprocessor::letterbox_image(const cv::Mat& bgr, int target_w, int target_h,
                                      models::LetterboxGeometry* geometry) {
  check_image(bgr);
  if (bgr.channels() != 3) throw Error("preprocess: letterbox_image takes a 3-channel BGR image");
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

models::LetterboxGeometry letterbox_into(Preprocessor& pre, const cv::Mat& image, models::PoseModel& model,
                                         ChannelOrder order) {
  const size_t elems = static_cast<size_t>(model.input_width()) * model.input_height() * 3;
  Session& s = model.session();
  if (s.input_dtype(0) == DType::kUInt8) {
    return pre.run_quantized(image, model.input_width(), model.input_height(), std::span<std::uint8_t>(s.input_u8(0), elems),
                             s.input_scale(0), s.input_zero_point(0), order);
  }
  return pre.run(image, model.input_width(), model.input_height(), std::span<float>(model.input_nhwc(), elems),
                 TensorLayout::NHWC, order);
}

}  // namespace sp::imaging
