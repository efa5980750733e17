// Reading and writing still images (predict, eval, tests) with errors that say what went wrong.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sp::pipeline {

// Images above this many pixels are rejected before decoding (when the header can be read) or after.
inline constexpr std::int64_t kMaxImagePixels = 100'000'000;

// Loads an image as 8-bit BGR (CV_8UC3), like cv::imread(path, IMREAD_COLOR): grey and alpha images
// are converted, EXIF orientation is applied. Throws sp::Error naming the path when the file is
// missing, a directory, unreadable, empty, not a recognised image, corrupt, or larger than
// kMaxImagePixels.
cv::Mat load_image(const std::string& path);

// Writes `image` with the format chosen by the extension. Throws sp::Error when the image is empty,
// the extension is not a writable image format, the directory does not exist, or writing fails.
void save_image(const std::string& path, const cv::Mat& image);

// Width and height read from the file header without decoding, for PNG, JPEG, BMP, GIF and WebP;
// nullopt for other formats or an unreadable header.
std::optional<cv::Size> probe_image_size(const std::string& path);

}  // namespace sp::pipeline
