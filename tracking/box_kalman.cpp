#include "tracking/box_kalman.h"

#include <algorithm>

namespace sp::tracking {
namespace {

// ByteTrack's noise at 30 fps, per frame: position std h/20, velocity std h/160 px/frame, measurement
// std h/20; initial std 2 h/20 for positions, 10 h/160 px/frame for velocities. Here per second.
constexpr double kFps = 30.0;
constexpr double kPosNoiseRate = kFps / (20.0 * 20.0);                             // var / (size^2 s)
constexpr double kVelNoiseRate = (kFps / 160.0) * (kFps / 160.0) * kFps;           // var / (size^2 s^3)
constexpr double kMeasStd = 1.0 / 20.0;                                            // size
constexpr double kInitPosStd = 2.0 / 20.0;                                         // size
constexpr double kInitVelStd = 10.0 * kFps / 160.0;                                // size / s

models::Box corners(double cx, double cy, double w, double h) {
  return {static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2), static_cast<float>(cx + w / 2),
          static_cast<float>(cy + h / 2)};
}

}  // namespace

double BoxKalman::scale(int axis) const {
  const double s = (axis == 0 || axis == 2) ? axes_[2].p : axes_[3].p;
  return std::max(1.0, s);
}

void BoxKalman::init(const models::Box& b, double t) {
  const double z[4] = {(b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0, b.width(), b.height()};
  for (int i = 0; i < 4; ++i) axes_[i] = Axis{z[i], 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) {
    const double s = scale(i);
    axes_[i].p00 = (kInitPosStd * s) * (kInitPosStd * s);
    axes_[i].p11 = (kInitVelStd * s) * (kInitVelStd * s);
  }
  t_ = t;
}

void BoxKalman::predict(double t, bool freeze_size) {
  if (freeze_size) axes_[2].v = axes_[3].v = 0;
  const double dt = t - t_;
  if (!(dt > 0)) return;
  for (int i = 0; i < 4; ++i) {
    Axis& a = axes_[i];
    const double s2 = scale(i) * scale(i);
    a.p += a.v * dt;
    a.p00 += 2 * dt * a.p01 + dt * dt * a.p11 + kPosNoiseRate * s2 * dt;
    a.p01 += dt * a.p11;
    a.p11 += kVelNoiseRate * s2 * dt;
  }
  t_ = t;
}

void BoxKalman::update(const models::Box& b) {
  const double z[4] = {(b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0, b.width(), b.height()};
  double r[4];
  for (int i = 0; i < 4; ++i) r[i] = (kMeasStd * scale(i)) * (kMeasStd * scale(i));  // before any axis moves
  for (int i = 0; i < 4; ++i) {
    Axis& a = axes_[i];
    const double s = a.p00 + r[i];
    const double k0 = a.p00 / s, k1 = a.p01 / s;
    const double y = z[i] - a.p;
    a.p += k0 * y;
    a.v += k1 * y;
    a.p11 -= k1 * a.p01;
    a.p01 *= 1 - k0;
    a.p00 *= 1 - k0;
  }
  axes_[2].p = std::max(1.0, axes_[2].p);
  axes_[3].p = std::max(1.0, axes_[3].p);
}

models::Box BoxKalman::box() const { return corners(axes_[0].p, axes_[1].p, axes_[2].p, axes_[3].p); }

}  // namespace sp::tracking
