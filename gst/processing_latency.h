// The processing latency the element reports on live pipelines (the LATENCY query): how long a frame
// spends in the element, so that synchronised sinks wait for it instead of receiving every processed
// frame late by about one inference. Pure bookkeeping, no GStreamer objects: the element feeds it the
// measured times and asks what to report and whether to announce a change (a LATENCY message).
//
// A fixed latency (the `latency` property, non-zero) is reported as given and never changes. The
// automatic one (0) starts from the warm-up inferences when the model opens, with a margin, and only
// goes up: once enough frames have been processed since the last change, if the 90th percentile of the
// recent frames exceeds the reported latency by 25 %, that percentile with the margin becomes the new
// latency. It never goes down, because every change makes the pipeline redistribute latency (sinks may
// jump), and a latency somewhat too high only delays frames while one too low makes them late.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <vector>

namespace sp::gst {

class ProcessingLatency {
 public:
  static constexpr double kMargin = 1.5;          // reported = measured time * this, rounded up to 1 ms
  static constexpr double kRaiseAbove = 1.25;     // recent p90 above reported * this: raise the latency
  static constexpr std::size_t kWindow = 32;      // recent frames the p90 is taken over
  static constexpr std::size_t kMinFrames = 16;   // frames after a start or a raise before the next raise

  // fixed > 0: report exactly that, always; 0: automatic.
  explicit ProcessingLatency(GstClockTime fixed = 0);

  bool automatic() const { return fixed_ == 0; }

  // A warm-up inference's time (automatic only; the last call counts, as the first runs are cold).
  void seed(GstClockTime duration);

  // A processed frame's time in the element. True when the latency to report has just gone up and the
  // pipeline should be told (gst_message_new_latency); at most once per kMinFrames frames.
  bool on_frame(GstClockTime duration);

  // What to add to the LATENCY query's min (and max) on a live pipeline.
  GstClockTime reported() const { return automatic() ? reported_ : fixed_; }

  // The 90th percentile of the recent frames' times (0 before any).
  GstClockTime recent_p90() const;

 private:
  static GstClockTime with_margin(GstClockTime measured);

  GstClockTime fixed_;
  GstClockTime reported_ = 0;
  std::vector<GstClockTime> window_;  // a ring of the last kWindow frames' times
  std::size_t next_ = 0;              // where the next time goes in the ring
  std::size_t since_change_ = 0;      // frames since the start or the last raise
};

}  // namespace sp::gst
