#include "tracking/pose_smoother.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace sp::tracking {

void PoseSmootherOptions::validate() const {
  filter.validate();
  if (!(min_conf >= 0.0f && min_conf <= 1.0f))
    throw Error("pose smoother: min_conf must be in [0, 1] (got " + std::to_string(min_conf) + ")");
}

void PoseSmoother::apply(models::PoseDetection& pose, double t, const PoseSmootherOptions& o) {
  // The person's size: the raw box height (a crouching person gets a smaller size, which is right:
  // their limbs move fewer pixels too). Never below one pixel, so a degenerate box cannot blow up speeds.
  const double scale = std::max(1.0, static_cast<double>(pose.box.height()));
  models::Box& b = pose.box;
  float* corners[4] = {&b.x1, &b.y1, &b.x2, &b.y2};
  for (int i = 0; i < 4; ++i) *corners[i] = static_cast<float>(box_[i].filter(*corners[i], t, scale, o.filter));
  for (int k = 0; k < models::kNumKeypoints; ++k) {
    models::Keypoint& p = pose.keypoints[k];
    OneEuroFilter& fx = keypoints_[2 * k];
    OneEuroFilter& fy = keypoints_[2 * k + 1];
    const bool measured = p.conf >= o.min_conf && std::isfinite(p.x) && std::isfinite(p.y);
    if (measured) {
      p.x = static_cast<float>(fx.filter(p.x, t, scale, o.filter));
      p.y = static_cast<float>(fy.filter(p.y, t, scale, o.filter));
    } else if (fx.initialized()) {
      p.x = static_cast<float>(fx.value());  // held; its low confidence stays with it
      p.y = static_cast<float>(fy.value());
    }
  }
}

void PoseSmoother::reset() {
  for (auto& f : keypoints_) f.reset();
  for (auto& f : box_) f.reset();
}

}  // namespace sp::tracking
