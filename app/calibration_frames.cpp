#include "app/calibration_frames.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "pipeline/image_io.h"
#include "pipeline/video_source.h"

namespace sp::app {
namespace {
namespace fs = std::filesystem;

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp";
}

CalibrationFrames from_directory(const std::string& dir, int n) {
  std::vector<fs::path> files;
  std::error_code ec;
  // Recursive, so a dataset folder with an images/ subfolder works as given.
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) throw Error("--calib: cannot read directory '" + dir + "': " + ec.message());
  size_t entries = 0;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw Error("--calib: cannot read directory '" + dir + "': " + ec.message());
    ++entries;
    if (is_image_name(it->path()) && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) throw Error("--calib: cannot read directory '" + dir + "': " + ec.message());
  if (entries == 0) throw Error("--calib: directory '" + dir + "' is empty");
  if (files.empty()) throw Error("--calib: directory '" + dir + "' holds no image file (jpg, png, bmp, webp)");
  std::sort(files.begin(), files.end());
  CalibrationFrames r;
  r.source_kind = "images";
  for (const auto& f : files) {
    if (static_cast<int>(r.frames.size()) >= n) break;
    try {
      r.frames.push_back(pipeline::load_image(f.string()));
    } catch (const Error&) {
      ++r.skipped;  // counted and reported; one bad file should not stop a calibration
    }
  }
  if (r.frames.empty()) {
    throw Error("--calib: no readable image in '" + dir + "' (" + std::to_string(r.skipped) + " image files could not be read)");
  }
  return r;
}

// Two passes over the clip: count the frames, then keep N spread evenly (the centre of each of N
// equal spans). Decoding twice is cheaper than holding a whole clip in memory.
CalibrationFrames from_video(const std::string& path, int n) {
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error("--calib: cannot read '" + path + "'");
  }
  pipeline::VideoSourceOptions opt;
  opt.quiet = true;
  auto open = [&] {
    try {
      return pipeline::VideoSource::open(path, opt);
    } catch (const Error& e) {
      throw Error(std::string("--calib: '") + path + "' is neither an image directory nor a readable video: " + e.what());
    }
  };
  int64_t count = 0;
  {
    auto src = open();
    pipeline::Frame f;
    while (src->next(f)) ++count;
  }
  if (count == 0) throw Error("--calib: video '" + path + "' has no decodable frame");
  std::vector<int64_t> wanted;
  const int64_t k = std::min<int64_t>(n, count);
  for (int64_t i = 0; i < k; ++i) wanted.push_back((2 * i + 1) * count / (2 * k));
  CalibrationFrames r;
  r.source_kind = "video";
  r.video_frames = count;
  auto src = open();
  pipeline::Frame f;
  size_t next = 0;
  for (int64_t idx = 0; next < wanted.size() && src->next(f); ++idx) {
    if (idx == wanted[next]) {
      r.frames.push_back(f.bgr.clone());
      ++next;
    }
  }
  if (r.frames.empty()) throw Error("--calib: video '" + path + "' has no decodable frame");
  return r;
}

}  // namespace

CalibrationFrames load_calibration_frames(const std::string& path, int n) {
  if (n < 1) throw Error("--calib-n must be at least 1, got " + std::to_string(n));
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error("--calib: '" + path + "' does not exist");
  if (fs::is_directory(st)) return from_directory(path, n);
  return from_video(path, n);
}

}  // namespace sp::app
