// How alike a track's predicted pose and a detection are: box IoU, and OKS (COCO's object keypoint
// similarity) as a second cue. When two people overlap their boxes are ambiguous, their skeletons are
// not: a person facing left and one facing right, one arm up and one down, give low OKS even at IoU 0.9.
#pragma once

#include <array>

#include "models/pose_types.h"

namespace sp::tracking {

struct OksResult {
  float oks = 0.0f;
  int shared = 0;  // keypoints confident in both poses (the OKS is over these)
};

// OKS between two keypoint sets as COCO defines it, exp(-d^2 / (2 s^2 k_i^2)) averaged over the
// keypoints whose confidence is >= min_conf in both, with s^2 = area (pixels^2) and k_i = 2 sigma_i
// (pycocotools' per-keypoint sigmas). `b` may be shifted by (dx, dy) first (a track's keypoints moved
// with its predicted box).
OksResult keypoint_similarity(const std::array<models::Keypoint, models::kNumKeypoints>& a,
                              const std::array<models::Keypoint, models::kNumKeypoints>& b, float dx, float dy,
                              float area, float min_conf);

}  // namespace sp::tracking
