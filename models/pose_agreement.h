// How closely one model's decoded poses agree with a reference model's on the same frame, without
// labels: the reference detections play the ground truth of COCO's OKS. Used by `optimize` to
// measure what quantizing a layer costs (a proxy for keypoint AP points, not AP itself).
#pragma once

#include <span>
#include <vector>

#include "models/pose_types.h"

namespace sp::models {

// COCO OKS of `cand` against `ref` with the 17 COCO sigmas, area = the reference box area, over the
// reference keypoints whose confidence is at least `min_ref_conf` (all of them when none is).
double pose_oks(const PoseDetection& ref, const PoseDetection& cand, float min_ref_conf = 0.5f);

struct FrameAgreement {
  double agreement = 1;  // in [0, 1]; 1 when both are empty
  int matched = 0, reference = 0, candidate = 0;
};

// Greedy matching by OKS (highest pair first, OKS > 0). Each matched pair scores
// OKS * (1 - |score_ref - score_cand|) — a moved keypoint and a drifted confidence both cost, as they
// do in AP; unmatched reference persons and unmatched candidate detections (false positives) each
// score 0. agreement = sum of pair scores / (reference + unmatched candidates).
FrameAgreement frame_agreement(std::span<const PoseDetection> ref, std::span<const PoseDetection> cand);

}  // namespace sp::models
