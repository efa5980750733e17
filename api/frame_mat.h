// A public ImageView checked and seen as a cv::Mat header over the same pixels (no copy), with the
// channel order the imaging code needs.
#pragma once

#include <opencv2/core.hpp>

#include "imaging/preprocess.h"
#include "sparsepose/image.h"

namespace sp::api {

struct FrameMat {
  cv::Mat mat;  // CV_8UC3 or CV_8UC4, pointing into the caller's pixels
  sp::imaging::ChannelOrder order = sp::imaging::ChannelOrder::kBgr;
};

// Throws Error ("frame: ...") on null data, a size that is not positive or too large, an unknown pixel
// format or a stride shorter than a row.
FrameMat frame_mat(const sparsepose::ImageView& frame);

}  // namespace sp::api
