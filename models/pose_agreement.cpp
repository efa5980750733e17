#include "models/pose_agreement.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "models/coco_eval.h"

namespace sp::models {
namespace {

const std::vector<double>& coco_sigmas() {
  static const std::vector<double> s = coco::CocoEvalParams::defaults(coco::IouType::kKeypoints).kpt_oks_sigmas;
  return s;
}

}  // namespace

double pose_oks(const PoseDetection& ref, const PoseDetection& cand, float min_ref_conf) {
  const auto& sigmas = coco_sigmas();
  const double area = std::max(1.0, static_cast<double>(ref.box.area()));
  bool any_visible = false;
  for (const auto& k : ref.keypoints) any_visible |= k.conf >= min_ref_conf;
  double sum = 0;
  int n = 0;
  for (int j = 0; j < kNumKeypoints; ++j) {
    if (any_visible && ref.keypoints[j].conf < min_ref_conf) continue;
    const double dx = cand.keypoints[j].x - ref.keypoints[j].x, dy = cand.keypoints[j].y - ref.keypoints[j].y;
    const double var = (2 * sigmas[j]) * (2 * sigmas[j]);  // pycocotools: vars = (sigmas * 2) ** 2
    sum += std::exp(-(dx * dx + dy * dy) / var / (area + std::numeric_limits<double>::epsilon()) / 2);
    ++n;
  }
  return n ? sum / n : 0.0;
}

FrameAgreement anchor_agreement(std::span<const PoseDetection> ref, std::span<const PoseDetection> cand,
                                float min_ref_score) {
  if (ref.size() != cand.size()) {
    throw Error("pose agreement: " + std::to_string(ref.size()) + " reference anchors but " + std::to_string(cand.size()) + " candidate anchors");
  }
  FrameAgreement r;
  for (size_t a = 0; a < ref.size(); ++a) {
    if (!(ref[a].score >= min_ref_score)) continue;
    const double w = ref[a].score;
    const double score_gap = std::min(1.0, std::fabs(static_cast<double>(ref[a].score) - cand[a].score));
    const double oks = std::isfinite(cand[a].score) ? pose_oks(ref[a], cand[a]) : 0.0;
    r.weighted_sum += w * oks * (1.0 - score_gap);
    r.weight += w;
    ++r.anchors;
  }
  return r;
}

}  // namespace sp::models
