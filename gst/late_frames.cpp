#include "gst/late_frames.h"

namespace sp::gst {

void LateFrames::on_qos(GstClockTime timestamp, GstClockTimeDiff jitter) {
  if (!GST_CLOCK_TIME_IS_VALID(timestamp)) return;
  if (jitter < 0 && static_cast<GstClockTime>(-jitter) > timestamp) {
    earliest_ = 0;
  } else {
    earliest_ = static_cast<GstClockTime>(static_cast<GstClockTimeDiff>(timestamp) + jitter);
  }
}

bool LateFrames::late(GstClockTime running_time) const {
  return GST_CLOCK_TIME_IS_VALID(earliest_) && GST_CLOCK_TIME_IS_VALID(running_time) && running_time <= earliest_;
}

}  // namespace sp::gst
