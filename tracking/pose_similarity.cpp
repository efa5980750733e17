#include "tracking/pose_similarity.h"

#include <cmath>

#include "models/skeleton.h"

namespace sp::tracking {

OksResult keypoint_similarity(const std::array<models::Keypoint, models::kNumKeypoints>& a,
                              const std::array<models::Keypoint, models::kNumKeypoints>& b, float dx, float dy,
                              float area, float min_conf) {
  OksResult r;
  if (!(area > 0.0f)) return r;
  float sum = 0.0f;
  for (int k = 0; k < models::kNumKeypoints; ++k) {
    if (!(a[k].conf >= min_conf) || !(b[k].conf >= min_conf)) continue;
    const float ex = a[k].x - (b[k].x + dx);
    const float ey = a[k].y - (b[k].y + dy);
    const float kk = 2.0f * models::kCocoOksSigmas[k];
    const float e = (ex * ex + ey * ey) / (2.0f * area * kk * kk);
    if (!std::isfinite(e)) continue;
    sum += std::exp(-e);
    ++r.shared;
  }
  if (r.shared > 0) r.oks = sum / static_cast<float>(r.shared);
  return r;
}

}  // namespace sp::tracking
