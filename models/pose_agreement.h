// How closely one model's decoded poses agree with a reference model's on the same frame, without
// labels: the reference poses play the ground truth of COCO's OKS. Used by `optimize` to
// measure what quantizing a layer costs (a proxy for keypoint AP points, not AP itself).
#pragma once

#include <span>
#include <vector>

#include "models/pose_types.h"

namespace sp::models {

// COCO OKS of `cand` against `ref` with the 17 COCO sigmas, area = the reference box area, over the
// reference keypoints whose confidence is at least `min_ref_conf` (all of them when none is).
double pose_oks(const PoseDetection& ref, const PoseDetection& cand, float min_ref_conf = 0.5f);

// Agreement of a candidate model with the reference on one frame, ANCHOR BY ANCHOR: both decoded at
// every anchor (PoseModel::decode_all_anchors, same order), compared where the reference sees a
// person (score >= min_ref_score). Each such anchor scores OKS(ref, cand) * (1 - |score_ref -
// score_cand|), weighted by the reference score, so confident people count most. No threshold, NMS
// or matching sits between the two models: a detection flipping around a threshold cannot make a
// tiny perturbation look like a lost person, and the measure is smooth in the perturbation.
struct FrameAgreement {
  double weighted_sum = 0;  // sum over compared anchors of weight * agreement
  double weight = 0;        // sum of weights; agreement = weighted_sum / weight (1 when weight == 0)
  int anchors = 0;          // anchors compared
};

// ref and cand must be decodes of the same anchors (same size); throws sp::Error otherwise.
FrameAgreement anchor_agreement(std::span<const PoseDetection> ref, std::span<const PoseDetection> cand,
                                float min_ref_score = 0.25f);

}  // namespace sp::models
