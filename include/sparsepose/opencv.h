// Optional OpenCV glue: include this (and link OpenCV yourself) to pass cv::Mat frames. The rest of the
// library's headers do not need OpenCV.
#pragma once

#include <opencv2/core.hpp>

#include <string>

#include "sparsepose/draw.h"
#include "sparsepose/error.h"
#include "sparsepose/pose_estimator.h"

namespace sparsepose {

// A view of an 8-bit 3-channel (BGR, OpenCV's order) or 4-channel (BGRx) cv::Mat; `rgb` when its
// channels are in RGB order. Throws Error for any other type.
inline MutableImageView view(const cv::Mat& mat, bool rgb = false) {
  PixelFormat format;
  if (mat.type() == CV_8UC3) {
    format = rgb ? PixelFormat::RGB : PixelFormat::BGR;
  } else if (mat.type() == CV_8UC4) {
    format = rgb ? PixelFormat::RGBx : PixelFormat::BGRx;
  } else {
    throw Error("frame: expected an 8-bit cv::Mat with 3 or 4 channels (CV_8UC3 or CV_8UC4), got " +
                cv::typeToString(mat.type()));
  }
  if (mat.dims != 2) throw Error("frame: expected a 2-D cv::Mat");
  return {mat.data, mat.cols, mat.rows, mat.step[0], format};
}

inline Result run(PoseEstimator& estimator, const cv::Mat& bgr, double timestamp_s = 0.0) {
  return estimator.run(view(bgr), timestamp_s);
}

inline void draw(cv::Mat& bgr, std::span<const Person> persons, const DrawOptions& options = {}) {
  draw(view(bgr), persons, options);
}

}  // namespace sparsepose
