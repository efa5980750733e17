#include "tracking/one_euro.h"

#include <cmath>
#include <numbers>
#include <string>

#include "core/error.h"

namespace sp::tracking {
namespace {

void require(bool ok, const char* what, double v) {
  if (!ok) throw Error(std::string("one-euro filter: ") + what + " (got " + std::to_string(v) + ")");
}

}  // namespace

void OneEuroOptions::validate() const {
  require(std::isfinite(min_cutoff_hz) && min_cutoff_hz > 0, "min_cutoff_hz must be > 0", min_cutoff_hz);
  require(std::isfinite(beta) && beta >= 0, "beta must be >= 0", beta);
  require(std::isfinite(d_cutoff_hz) && d_cutoff_hz > 0, "d_cutoff_hz must be > 0", d_cutoff_hz);
}

double one_euro_alpha(double cutoff_hz, double dt) {
  const double tau = 1.0 / (2.0 * std::numbers::pi * cutoff_hz);
  return 1.0 / (1.0 + tau / dt);
}

double OneEuroFilter::filter(double x, double t, double scale, const OneEuroOptions& o) {
  if (!initialized_) {
    initialized_ = true;
    x_hat_ = x;
    dx_hat_ = 0.0;
    t_prev_ = t;
    return x_hat_;
  }
  const double dt = t - t_prev_;
  if (!(dt > 0)) return x_hat_;
  const double dx = (x - x_hat_) / dt;
  dx_hat_ += one_euro_alpha(o.d_cutoff_hz, dt) * (dx - dx_hat_);
  const double speed = std::abs(dx_hat_) / (scale > 0 ? scale : 1.0);
  x_hat_ += one_euro_alpha(o.min_cutoff_hz + o.beta * speed, dt) * (x - x_hat_);
  t_prev_ = t;
  return x_hat_;
}

}  // namespace sp::tracking
