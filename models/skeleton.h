// The COCO person keypoints, the skeleton Ultralytics draws, and Ultralytics' pose colours.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "models/pose_types.h"

namespace sp::models {

// COCO keypoint order (as in person_keypoints annotations and the model output).
inline constexpr std::array<std::string_view, kNumKeypoints> kKeypointNames = {
    "nose",          "left_eye",       "right_eye",  "left_ear",    "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist",   "left_hip",       "right_hip",  "left_knee",   "right_knee",
    "left_ankle",    "right_ankle"};

// Left/right mirror of each keypoint (Ultralytics' coco-pose flip_idx).
inline constexpr std::array<int, kNumKeypoints> kKeypointFlip = {0, 2, 1, 4, 3, 6, 5, 8, 7,
                                                                 10, 9, 12, 11, 14, 13, 16, 15};

// COCO OKS per-keypoint sigmas (pycocotools' values).
inline constexpr std::array<float, kNumKeypoints> kCocoOksSigmas = {
    0.026f, 0.025f, 0.025f, 0.035f, 0.035f, 0.079f, 0.079f, 0.072f, 0.072f,
    0.062f, 0.062f, 0.107f, 0.107f, 0.087f, 0.087f, 0.089f, 0.089f};

struct Limb {
  int a;  // keypoint index, 0-based
  int b;
};

inline constexpr int kNumLimbs = 19;

// Ultralytics' Annotator skeleton, converted from its 1-based indices, in its drawing order.
inline constexpr std::array<Limb, kNumLimbs> kSkeleton = {{
    {15, 13}, {13, 11}, {16, 14}, {14, 12},  // legs
    {11, 12}, {5, 11},  {6, 12},             // hips, torso sides
    {5, 6},   {5, 7},   {6, 8},   {7, 9},   {8, 10},  // shoulders, arms
    {1, 2},   {0, 1},   {0, 2},   {1, 3},   {2, 4},   {3, 5}, {4, 6},  // face, ears to shoulders
}};

// A colour in OpenCV's channel order (B, G, R), convertible to cv::Scalar(c.b, c.g, c.r).
struct Color {
  std::uint8_t b;
  std::uint8_t g;
  std::uint8_t r;
};

// Ultralytics' Colors.pose_palette. Ultralytics passes these triples to OpenCV unchanged on BGR
// images, so they are stored here as the B, G, R that ends up on screen (index 0 draws azure-blue,
// index 9 orange, index 7 magenta, index 16 green).
inline constexpr std::array<Color, 20> kPosePalette = {{
    {255, 128, 0},   {255, 153, 51},  {255, 178, 102}, {230, 230, 0},   {255, 153, 255},
    {153, 204, 255}, {255, 102, 255}, {255, 51, 255},  {102, 178, 255}, {51, 153, 255},
    {255, 153, 153}, {255, 102, 102}, {255, 51, 51},   {153, 255, 153}, {102, 255, 102},
    {51, 255, 51},   {0, 255, 0},     {0, 0, 255},     {255, 0, 0},     {255, 255, 255},
}};

// Palette indices, as Ultralytics' limb_color and kpt_color.
inline constexpr std::array<int, kNumLimbs> kLimbPaletteIndex = {9, 9, 9, 9, 7, 7, 7, 0, 0, 0,
                                                                 0, 0, 16, 16, 16, 16, 16, 16, 16};
inline constexpr std::array<int, kNumKeypoints> kKeypointPaletteIndex = {16, 16, 16, 16, 16, 0, 0, 0, 0,
                                                                         0, 0, 9, 9, 9, 9, 9, 9};

constexpr Color limb_color(int limb) { return kPosePalette[kLimbPaletteIndex[limb]]; }
constexpr Color keypoint_color(int keypoint) { return kPosePalette[kKeypointPaletteIndex[keypoint]]; }

// Ultralytics' colour for class 0 (person) boxes, colors(0, bgr=True) = #042AFF.
inline constexpr Color kPersonBoxColor = {255, 42, 4};

}  // namespace sp::models
