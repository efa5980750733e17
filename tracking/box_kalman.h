// A constant-velocity Kalman filter on a person's box, as ByteTrack's, with two differences:
//  - the state is (cx, cy, w, h) and their velocities (ByteTrack: aspect ratio instead of w; a pose box
//    changes aspect whenever arms or legs move, so w and h are estimated each on its own);
//  - time is continuous: velocities are per second, prediction takes dt in seconds from the frames'
//    timestamps, and the process noise grows linearly with dt (a Wiener process on position and
//    velocity), so a dropped frame is simply a longer step. At 30 fps the noise equals ByteTrack's.
// ByteTrack's covariances stay block-diagonal (F couples each coordinate only with its own velocity;
// P0, Q and R are diagonal), so the 8-state filter is exactly four independent 2-state filters, which
// is what this does (no matrix library, no allocation). Noise scales with the box: w for cx and w,
// h for cy and h.
#pragma once

#include <array>

#include "models/pose_types.h"

namespace sp::tracking {

class BoxKalman {
 public:
  // Starts at the measured box with zero velocity and a wide velocity uncertainty.
  void init(const models::Box& box, double t);
  // Moves the estimate to time t (seconds; a t at or before the current time changes nothing).
  // freeze_size: the size velocities are zeroed first (ByteTrack does this for lost tracks, whose
  // extrapolated size would otherwise drift without bound).
  void predict(double t, bool freeze_size = false);
  // Folds in a measured box at the current time (call predict(t) first).
  void update(const models::Box& box);

  models::Box box() const;  // the current estimate as corners
  double time() const { return t_; }
  double velocity(int axis) const { return axes_[axis].v; }  // axis: 0 cx, 1 cy, 2 w, 3 h (px / s)

 private:
  struct Axis {
    double p = 0, v = 0;               // position (px), velocity (px / s)
    double p00 = 0, p01 = 0, p11 = 0;  // covariance of (p, v)
  };
  double scale(int axis) const;  // w for cx and w, h for cy and h (at least 1 px)

  std::array<Axis, 4> axes_{};
  double t_ = 0;
};

}  // namespace sp::tracking
