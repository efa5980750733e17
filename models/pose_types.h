// The result of one person detection, in whatever pixel space the producer says (letterboxed input
// pixels after decode, original image pixels after LetterboxGeometry::to_original).
#pragma once

#include <array>
#include <cstddef>

namespace sp::models {

// COCO person keypoints. The decoders, the skeleton and the overlay all use this constant.
inline constexpr int kNumKeypoints = 17;
// Values per keypoint in the model output: x, y, visibility.
inline constexpr int kKeypointDims = 3;

struct Keypoint {
  float x = 0.0f;
  float y = 0.0f;
  float conf = 0.0f;  // sigmoid of the visibility logit, in [0, 1]
};

// Axis-aligned box, corners (x1, y1) top-left and (x2, y2) bottom-right, x2 >= x1 and y2 >= y1.
struct Box {
  float x1 = 0.0f;
  float y1 = 0.0f;
  float x2 = 0.0f;
  float y2 = 0.0f;

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return (x2 - x1) * (y2 - y1); }
};

struct PoseDetection {
  Box box;
  float score = 0.0f;  // person confidence, sigmoid of the class logit
  std::array<Keypoint, kNumKeypoints> keypoints{};
};

}  // namespace sp::models
