// The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012): a first-order low-pass filter whose cutoff
// rises with the signal's speed, so a still signal is smoothed hard (jitter gone) and a moving one is
// followed closely (little lag). Time is in seconds between samples, not in frames, so uneven frame
// gaps (a live source dropping frames) change the filter's behaviour exactly as the elapsed time says.
//
//   alpha(fc, dt) = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)
//   dx_hat = lowpass(alpha(d_cutoff), (x - x_hat_prev) / dt)
//   x_hat  = lowpass(alpha(min_cutoff + beta * |dx_hat| / scale), x)
//
// `scale` normalizes the speed (here: the person's height in pixels), so beta means the same for a
// near and a far person: the speed term is in sizes per second.
#pragma once

namespace sp::tracking {

struct OneEuroOptions {
  // Defaults chosen on the clips of ../shared/videos (docs/TRACKING.md): the most jitter removed on
  // people standing still while the fast dance clip stays within one frame (33 ms) of lag.
  double min_cutoff_hz = 0.1;  // cutoff of a still signal: lower is smoother, with more lag when slow
  double beta = 4.5;           // cutoff increase per (size / s) of speed: higher follows fast motion closer
  double d_cutoff_hz = 3.0;    // cutoff of the speed estimate: higher opens the filter sooner when motion starts

  // Throws sp::Error naming the first parameter that is not a finite value in its range.
  void validate() const;
};

// One scalar signal. Cheap to copy; no allocation.
class OneEuroFilter {
 public:
  OneEuroFilter() = default;

  bool initialized() const { return initialized_; }
  double value() const { return x_hat_; }
  double time() const { return t_prev_; }

  // Filters sample x taken at time t (seconds). `scale` (> 0) normalizes the speed for the adaptive
  // cutoff. The first sample (or the first after reset()) passes through unchanged. A sample at or
  // before the previous time (dt <= 0) cannot be a new observation of a continuous signal; it leaves the
  // state alone and returns the current value.
  double filter(double x, double t, double scale, const OneEuroOptions& o);

  void reset() { initialized_ = false; }

 private:
  bool initialized_ = false;
  double x_hat_ = 0.0;
  double dx_hat_ = 0.0;
  double t_prev_ = 0.0;
};

// The smoothing factor of a first-order low-pass filter with cutoff fc (Hz) over dt seconds.
double one_euro_alpha(double cutoff_hz, double dt);

}  // namespace sp::tracking
