#include "pipeline/image_io.h"

#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace sp::pipeline {
namespace {

namespace fs = std::filesystem;

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const unsigned char* p) { return (std::uint32_t{p[1]} << 8) | p[0]; }
std::uint32_t le24(const unsigned char* p) { return (std::uint32_t{p[2]} << 16) | le16(p); }
std::uint32_t le32(const unsigned char* p) { return (std::uint32_t{p[3]} << 24) | le24(p); }

std::optional<cv::Size> make_size(std::int64_t w, std::int64_t h) {
  if (w <= 0 || h <= 0 || w > (1 << 30) || h > (1 << 30)) return std::nullopt;
  return cv::Size(static_cast<int>(w), static_cast<int>(h));
}

// Walks JPEG segments up to the first start-of-frame marker.
std::optional<cv::Size> probe_jpeg(std::ifstream& in) {
  in.clear();
  in.seekg(2);
  for (int guard = 0; guard < 10000; ++guard) {
    int c = in.get();
    if (c != 0xFF) return std::nullopt;
    while (c == 0xFF) c = in.get();  // fill bytes
    if (c == EOF) return std::nullopt;
    const int marker = c;
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // end of image / start of scan, no frame
    unsigned char len_bytes[2];
    if (!in.read(reinterpret_cast<char*>(len_bytes), 2)) return std::nullopt;
    const std::uint32_t len = be16(len_bytes);
    if (len < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      unsigned char f[5];
      if (len < 7 || !in.read(reinterpret_cast<char*>(f), 5)) return std::nullopt;
      return make_size(be16(f + 3), be16(f + 1));
    }
    in.seekg(static_cast<std::streamoff>(len) - 2, std::ios::cur);
    if (!in) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<cv::Size> probe_stream(std::ifstream& in) {
  std::array<unsigned char, 32> h{};
  in.read(reinterpret_cast<char*>(h.data()), h.size());
  const std::streamsize n = in.gcount();
  const unsigned char* p = h.data();
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 24 && std::memcmp(p, kPng, 8) == 0 && std::memcmp(p + 12, "IHDR", 4) == 0)
    return make_size(be32(p + 16), be32(p + 20));
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return probe_jpeg(in);
  if (n >= 26 && p[0] == 'B' && p[1] == 'M') {
    const std::uint32_t header = le32(p + 14);
    if (header == 12) return make_size(le16(p + 18), le16(p + 20));
    if (header >= 40) {
      const auto w = static_cast<std::int32_t>(le32(p + 18));
      const auto hh = static_cast<std::int32_t>(le32(p + 22));
      return make_size(w, hh < 0 ? -static_cast<std::int64_t>(hh) : hh);
    }
    return std::nullopt;
  }
  if (n >= 10 && (std::memcmp(p, "GIF87a", 6) == 0 || std::memcmp(p, "GIF89a", 6) == 0))
    return make_size(le16(p + 6), le16(p + 8));
  if (n >= 30 && std::memcmp(p, "RIFF", 4) == 0 && std::memcmp(p + 8, "WEBP", 4) == 0) {
    if (std::memcmp(p + 12, "VP8 ", 4) == 0) return make_size(le16(p + 26) & 0x3FFF, le16(p + 28) & 0x3FFF);
    if (std::memcmp(p + 12, "VP8L", 4) == 0) {
      const std::uint32_t b = le32(p + 21);
      return make_size((b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1);
    }
    if (std::memcmp(p + 12, "VP8X", 4) == 0) return make_size(le24(p + 24) + 1, le24(p + 27) + 1);
  }
  return std::nullopt;
}

std::string too_large(const std::string& path, std::int64_t w, std::int64_t h) {
  return "image '" + path + "' is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
         std::to_string((w * h + 500000) / 1000000) + " megapixels), above the limit of " +
         std::to_string(kMaxImagePixels / 1000000) + " megapixels";
}

}  // namespace

std::optional<cv::Size> probe_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return probe_stream(in);
}

cv::Mat load_image(const std::string& path) {
  if (path.empty()) throw Error("image path is empty");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error("image '" + path + "' does not exist");
  if (fs::is_directory(st)) throw Error("image '" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("image '" + path + "' cannot be opened for reading (permission denied?)");
  const auto size = fs::file_size(path, ec);
  if (!ec && size == 0) throw Error("image '" + path + "' is an empty file");

  if (const auto dims = probe_stream(in)) {
    const std::int64_t pixels = static_cast<std::int64_t>(dims->width) * dims->height;
    if (pixels > kMaxImagePixels) throw Error(too_large(path, dims->width, dims->height));
  }
  in.close();

  cv::Mat image;
  try {
    if (!cv::haveImageReader(path))
      throw Error("'" + path + "' is not an image (no decoder recognises its format)");
    image = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error("image '" + path + "' could not be decoded: " + e.err);
  }
  if (image.empty()) throw Error("image '" + path + "' could not be decoded (corrupt or truncated?)");
  const std::int64_t pixels = static_cast<std::int64_t>(image.cols) * image.rows;
  if (pixels > kMaxImagePixels) throw Error(too_large(path, image.cols, image.rows));
  if (image.type() != CV_8UC3) throw Error("image '" + path + "' did not decode to 8-bit BGR");
  return image;
}

void save_image(const std::string& path, const cv::Mat& image) {
  if (path.empty()) throw Error("save_image: the output path is empty");
  if (image.empty()) throw Error("save_image: nothing to write to '" + path + "': the image is empty");
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw Error("save_image: directory '" + parent.string() + "' does not exist");
  bool ok = false;
  try {
    if (!cv::haveImageWriter(path))
      throw Error("save_image: '" + path + "' does not have an image extension OpenCV can write (.jpg, .png, ...)");
    ok = cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    throw Error("save_image: could not write '" + path + "': " + e.err);
  }
  if (!ok) throw Error("save_image: could not write '" + path + "'");
}

}  // namespace sp::pipeline
