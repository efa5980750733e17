// Frames as the library takes them: a view of pixels someone else owns (a decoder's buffer, a
// GStreamer frame, a cv::Mat), never copied. 8 bits per channel, interleaved, rows `stride` bytes apart.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sparsepose {

enum class PixelFormat {
  BGR,   // 3 bytes per pixel: blue, green, red (OpenCV's order)
  RGB,   // 3 bytes per pixel: red, green, blue
  BGRx,  // 4 bytes per pixel: blue, green, red, and a byte that is ignored (drawing sets it to 255)
  RGBx,  // 4 bytes per pixel: red, green, blue, and a byte that is ignored (drawing sets it to 255)
};

constexpr int bytes_per_pixel(PixelFormat f) { return f == PixelFormat::BGR || f == PixelFormat::RGB ? 3 : 4; }

// A read-only frame.
struct ImageView {
  const std::uint8_t* data = nullptr;  // the first byte of the top row
  int width = 0;                       // pixels
  int height = 0;                      // pixels
  std::size_t stride = 0;              // bytes from one row to the next; 0: width * bytes_per_pixel(format)
  PixelFormat format = PixelFormat::BGR;
};

// A frame that can be drawn on.
struct MutableImageView {
  std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::size_t stride = 0;
  PixelFormat format = PixelFormat::BGR;

  operator ImageView() const { return {data, width, height, stride, format}; }
};

}  // namespace sparsepose
