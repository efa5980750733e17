#include "api/frame_mat.h"

#include <string>

#include "sparsepose/error.h"

namespace sp::api {
namespace {

// OpenCV's geometry (resize, drawing) works in ints and some of it in shorts: larger sides are refused
// rather than risked.
constexpr int kMaxSide = 32767;

const char* format_name(sparsepose::PixelFormat f) {
  switch (f) {
    case sparsepose::PixelFormat::BGR: return "BGR";
    case sparsepose::PixelFormat::RGB: return "RGB";
    case sparsepose::PixelFormat::BGRx: return "BGRx";
    case sparsepose::PixelFormat::RGBx: return "RGBx";
  }
  return nullptr;
}

}  // namespace

FrameMat frame_mat(const sparsepose::ImageView& frame) {
  using sparsepose::PixelFormat;
  const char* name = format_name(frame.format);
  if (name == nullptr) throw sparsepose::Error("frame: unknown pixel format " + std::to_string(static_cast<int>(frame.format)));
  if (frame.data == nullptr) throw sparsepose::Error("frame: the pixel data pointer is null");
  if (frame.width <= 0 || frame.height <= 0)
    throw sparsepose::Error("frame: width and height must be positive (got " + std::to_string(frame.width) + "x" +
                std::to_string(frame.height) + ")");
  if (frame.width > kMaxSide || frame.height > kMaxSide)
    throw sparsepose::Error("frame: " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                " is larger than the limit of " + std::to_string(kMaxSide) + " pixels on a side");
  const int bpp = sparsepose::bytes_per_pixel(frame.format);
  const std::size_t row = static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(bpp);
  const std::size_t stride = frame.stride == 0 ? row : frame.stride;
  if (stride < row)
    throw sparsepose::Error("frame: a stride of " + std::to_string(stride) + " bytes is shorter than a row of " +
                std::to_string(frame.width) + " " + name + " pixels (" + std::to_string(row) + " bytes)");
  FrameMat f;
  // cv::Mat takes a non-const pointer; the library only writes through it in draw(), whose frame is a
  // MutableImageView.
  f.mat = cv::Mat(frame.height, frame.width, bpp == 3 ? CV_8UC3 : CV_8UC4, const_cast<std::uint8_t*>(frame.data),
                  stride);
  f.order = frame.format == PixelFormat::RGB || frame.format == PixelFormat::RGBx ? sp::imaging::ChannelOrder::kRgb
                                                                                  : sp::imaging::ChannelOrder::kBgr;
  return f;
}

}  // namespace sp::api
