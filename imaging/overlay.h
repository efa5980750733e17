// Drawing pose detections on a frame in Ultralytics' style: person boxes with "person 0.87"
// labels, limbs in the pose palette, keypoints above a confidence threshold; anti-aliased, line width
// scaled with the image size. Tracked people (with IDs) are drawn in their ID's colour instead — box,
// label "person #7 0.87" and limbs — so one person keeps one colour from frame to frame; their joints
// keep the pose palette (left, right, face).
// Frames are 8-bit BGR by default; RGB and 4-byte pixels (BGRx/RGBx: the fourth byte is set to 255
// where something is drawn) are drawn in place too, so callers holding such buffers need no copy.
// Lives below the pipeline and the public API (both draw with it): OpenCV drawing, no video, no I/O.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <span>
#include <string>

#include "models/pose_types.h"
#include "models/skeleton.h"

namespace sp::imaging {

struct OverlayOptions {
  float keypoint_conf_threshold = 0.5f;  // keypoints (and limbs whose two ends are) below are not drawn
  bool draw_boxes = true;
  bool draw_labels = true;  // "<label> <score>" above each box (needs draw_boxes)
  bool draw_limbs = true;
  bool draw_keypoints = true;
  int line_width = 0;      // 0: default_line_width(image)
  int keypoint_radius = 0; // 0: line width + 3 (5 at 640 x 480, as Ultralytics)
  std::string label = "person";
  bool rgb = false;        // the frame's channels are R, G, B(, x) rather than B, G, R(, x)
};

// Ultralytics' Annotator default: max(round((h + w + 3) / 2 * 0.003), 2) for an h x w x 3 image.
int default_line_width(int width, int height);

// Draws in place on `image` (CV_8UC3 or CV_8UC4, channel order as options.rgb says; throws sp::Error
// otherwise). Coordinates are image pixels.
void draw_detections(cv::Mat& image, std::span<const models::PoseDetection> detections,
                     const OverlayOptions& options = {});

// The same with track IDs, parallel to detections (an empty span draws as above).
void draw_detections(cv::Mat& image, std::span<const models::PoseDetection> detections, std::span<const int64_t> ids,
                     const OverlayOptions& options = {});

// The colour a track ID is drawn in: a palette of 20 distinct colours, cycled.
models::Color id_color(int64_t id);

}  // namespace sp::imaging
