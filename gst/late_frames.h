// QoS for live sources: downstream sinks report (in QoS events) how late the frames reach them; a
// frame whose running time is already behind the latest report's deadline would arrive too late to be
// shown, so a live pipeline skips it instead of spending the model's time on it. Files never drop:
// the element only consults this when the source is live (see gstsparsepose.cpp).
#pragma once

#include <gst/gst.h>

namespace sp::gst {

class LateFrames {
 public:
  // From a QoS event: the running time of the frame it is about and how late (> 0) or early (< 0) it
  // was. Frames at or before timestamp + jitter are late.
  void on_qos(GstClockTime timestamp, GstClockTimeDiff jitter);
  bool late(GstClockTime running_time) const;
  void reset() { earliest_ = GST_CLOCK_TIME_NONE; }

 private:
  GstClockTime earliest_ = GST_CLOCK_TIME_NONE;
};

}  // namespace sp::gst
