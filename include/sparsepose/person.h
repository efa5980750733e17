// What the library finds in a frame: people, each with a box, a score and the 17 COCO keypoints, in
// pixels of the frame it was given.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sparsepose {

inline constexpr int kNumKeypoints = 17;

// COCO keypoint order: the index of each name in Person::keypoints.
inline constexpr std::array<std::string_view, kNumKeypoints> kKeypointNames = {
    "nose",          "left_eye",       "right_eye",  "left_ear",    "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist",   "left_hip",       "right_hip",  "left_knee",   "right_knee",
    "left_ankle",    "right_ankle"};

struct Keypoint {
  float x = 0.0f;
  float y = 0.0f;
  float conf = 0.0f;  // the model's confidence that the keypoint is visible, in [0, 1]
};

// Top-left (x1, y1) and bottom-right (x2, y2) corners.
struct Box {
  float x1 = 0.0f;
  float y1 = 0.0f;
  float x2 = 0.0f;
  float y2 = 0.0f;
};

struct Person {
  Box box;
  float score = 0.0f;  // person confidence, in [0, 1]
  std::array<Keypoint, kNumKeypoints> keypoints{};
  // With tracking on: the person's ID (1, 2, 3, ... in order of appearance, stable while they stay in
  // view and for TrackingOptions::track_buffer_s after). -1 when tracking is off.
  std::int64_t id = -1;
};

}  // namespace sparsepose
