// The frames `optimize` calibrates on: the first N readable images of a directory (searched recursively,
// sorted by path),
// or N frames sampled evenly across a video. Original BGR frames are returned; the caller letterboxes
// them exactly as inference does.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sp::app {

struct CalibrationFrames {
  std::vector<cv::Mat> frames;      // CV_8UC3 BGR
  std::string source_kind;          // "images" or "video"
  int skipped = 0;                  // unreadable images skipped (directories only)
  int64_t video_frames = 0;         // frames in the video (videos only)
};

// Throws sp::Error (one line naming the path) when the path is missing or unreadable, a directory
// holds no image file or no readable image, or a video has no decodable frame. `n` >= 1.
CalibrationFrames load_calibration_frames(const std::string& path, int n);

}  // namespace sp::app
