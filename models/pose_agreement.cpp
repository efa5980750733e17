#include "models/pose_agreement.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

FrameAgreement frame_agreement(std::span<const PoseDetection> ref, std::span<const PoseDetection> cand) {
  FrameAgreement r;
  r.reference = static_cast<int>(ref.size());
  r.candidate = static_cast<int>(cand.size());
  if (ref.empty() && cand.empty()) return r;
  struct Pair {
    double oks;
    size_t i, j;
  };
  std::vector<Pair> pairs;
  for (size_t i = 0; i < ref.size(); ++i) {
    for (size_t j = 0; j < cand.size(); ++j) {
      double o = pose_oks(ref[i], cand[j]);
      if (o > 0) pairs.push_back({o, i, j});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.oks > b.oks; });
  std::vector<bool> ref_used(ref.size(), false), cand_used(cand.size(), false);
  double score = 0;
  for (const Pair& p : pairs) {
    if (ref_used[p.i] || cand_used[p.j]) continue;
    ref_used[p.i] = cand_used[p.j] = true;
    ++r.matched;
    score += p.oks * (1.0 - std::min(1.0, std::fabs(static_cast<double>(ref[p.i].score) - cand[p.j].score)));
  }
  const int unmatched_cand = r.candidate - r.matched;
  r.agreement = score / static_cast<double>(r.reference + unmatched_cand);
  return r;
}

}  // namespace sp::models
