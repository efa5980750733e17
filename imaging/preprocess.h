// Letterboxing a frame into the model's float input, as Ultralytics does it: resize keeping the
// aspect ratio (cv::INTER_LINEAR, only when the size changes), pad with 114 centred, BGR -> RGB, / 255.
// Frames are 8-bit BGR by default; RGB and 4-byte pixels (BGRx/RGBx, the fourth byte ignored) are read
// in place, so callers holding such buffers (the public API, the GStreamer element) need no conversion.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <span>

#include "models/letterbox.h"
#include "models/pose_model.h"

namespace sp::imaging {

// The order of the colour channels in a frame's pixels (a fourth byte, if any, follows them).
enum class ChannelOrder { kBgr, kRgb };

enum class TensorLayout {
  NCHW,  // [3][H][W], planar RGB: what the ONNX model takes
  NHWC,  // [H][W][3], interleaved RGB: the engine's native layout
};

// Keeps the resize scratch between calls: with the same frame and target sizes, run() does not
// allocate. Not thread-safe; use one per worker.
class Preprocessor {
 public:
  // Letterboxes `image` (CV_8UC3 or CV_8UC4, non-empty, channels in `order`) into `dst`, which must
  // hold 3 * target_w * target_h floats, and returns the geometry needed to map detections back.
  // Throws sp::Error on a bad image, a bad target size or a too-small buffer.
  models::LetterboxGeometry run(const cv::Mat& image, int target_w, int target_h, std::span<float> dst,
                                TensorLayout layout = TensorLayout::NCHW, ChannelOrder order = ChannelOrder::kBgr);

  // Same, NHWC, into the u8 input of a quantized model: each byte is what QuantizeLinear(scale,
  // zero_point) gives for the float pixel v / 255 (for the usual grid 1/255, 0: the pixel itself).
  models::LetterboxGeometry run_quantized(const cv::Mat& image, int target_w, int target_h, std::span<std::uint8_t> dst,
                                          float scale, int zero_point, ChannelOrder order = ChannelOrder::kBgr);

  // The letterboxed 8-bit BGR image (target size, pad 114) of a BGR image, for inspection and tests.
  // Allocates.
  cv::Mat letterbox_image(const cv::Mat& bgr, int target_w, int target_h,
                          models::LetterboxGeometry* geometry = nullptr);

 private:
  const cv::Mat& resized(const cv::Mat& bgr, const models::LetterboxGeometry& g);
  cv::Mat resized_;
  std::array<std::uint8_t, 256> quantized_lut_{};
  float table_scale_ = 0;
  int table_zero_point_ = -1;
};

// Letterboxes `image` straight into the model's NHWC input buffer (float, or u8 for an integer model
// whose first layer is quantized), at the model's input size: what every command that feeds a
// PoseModel does before infer().
models::LetterboxGeometry letterbox_into(Preprocessor& pre, const cv::Mat& image, models::PoseModel& model,
                                         ChannelOrder order = ChannelOrder::kBgr);

// One-shot convenience (allocates the scratch).
models::LetterboxGeometry preprocess(const cv::Mat& bgr, int target_w, int target_h, std::span<float> dst,
                                     TensorLayout layout = TensorLayout::NCHW);

}  // namespace sp::imaging
