// Keypoint smoothing for one tracked person: a One-Euro filter per keypoint coordinate and per box
// corner, in seconds, with the speed normalized by the person's height so one setting suits near and
// far people. Confidence-aware: a keypoint below min_conf does not update its filters (an occluded
// wrist guessed somewhere cannot drag the smoothed wrist away) and keeps its own low confidence, so it
// is not drawn as if it were certain. The tracker resets the smoother when a track is (re)born.
#pragma once

#include <array>

#include "models/pose_types.h"
#include "tracking/one_euro.h"

namespace sp::tracking {

struct PoseSmootherOptions {
  OneEuroOptions filter;
  float min_conf = 0.5f;  // keypoints below this confidence hold their last smoothed position

  void validate() const;  // throws sp::Error naming the parameter
};

class PoseSmoother {
 public:
  // Replaces pose's box and keypoint coordinates with their smoothed values at time t (seconds).
  // Scores and keypoint confidences are left as measured.
  void apply(models::PoseDetection& pose, double t, const PoseSmootherOptions& options);
  void reset();

 private:
  std::array<OneEuroFilter, models::kNumKeypoints * 2> keypoints_;
  std::array<OneEuroFilter, 4> box_;
};

}  // namespace sp::tracking
