// Letterboxing a BGR frame into the model's float input, as Ultralytics does it: resize keeping the
// aspect ratio (cv::INTER_LINEAR, only when the size changes), pad with 114 centred, BGR -> RGB, / 255.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <span>

#include "models/letterbox.h"
#include "models/pose_model.h"

namespace sp::pipeline {

enum class TensorLayout {
  NCHW,  // [3][H][W], planar RGB: what the ONNX model takes
  NHWC,  // [H][W][3], interleaved RGB: the engine's native layout
};

// Keeps the resize scratch between calls: with the same frame and target sizes, run() does not
// allocate. Not thread-safe; use one per worker.
class Preprocessor {
 public:
  // Letterboxes `bgr` (CV_8UC3, non-empty) into `dst`, which must hold 3 * target_w * target_h floats,
  // and returns the geometry needed to map detections back. Throws sp::Error on a bad image, a bad
  // target size or a too-small buffer.
  models::LetterboxGeometry run(const cv::Mat& bgr, int target_w, int target_h, std::span<float> dst,
                                TensorLayout layout = TensorLayout::NCHW);

  // Same, NHWC, into the u8 input of a quantized model: each byte is what QuantizeLinear(scale,
  // zero_point) gives for the float pixel v / 255 (for the usual grid 1/255, 0: the pixel itself).
  models::LetterboxGeometry run_quantized(const cv::Mat& bgr, int target_w, int target_h, std::span<std::uint8_t> dst,
                                          float scale, int zero_point);

  // The letterboxed 8-bit BGR image (target size, pad 114), for inspection and tests. Allocates.
  cv::Mat letterbox_image(const cv::Mat& bgr, int target_w, int target_h,
                          models::LetterboxGeometry* geometry = nullptr);

 private:
  const cv::Mat& resized(const cv::Mat& bgr, const models::LetterboxGeometry& g);
  cv::Mat resized_;
  std::array<std::uint8_t, 256> quantized_lut_{};
  float table_scale_ = 0;
  int table_zero_point_ = -1;
};

// Letterboxes `bgr` straight into the model's NHWC input buffer (float, or u8 for an integer model
// whose first layer is quantized), at the model's input size: what every command that feeds a
// PoseModel does before infer().
models::LetterboxGeometry letterbox_into(Preprocessor& pre, const cv::Mat& bgr, models::PoseModel& model);

// One-shot convenience (allocates the scratch).
models::LetterboxGeometry preprocess(const cv::Mat& bgr, int target_w, int target_h, std::span<float> dst,
                                     TensorLayout layout = TensorLayout::NCHW);

}  // namespace sp::pipeline
