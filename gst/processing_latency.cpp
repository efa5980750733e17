#include "gst/processing_latency.h"

#include <algorithm>
#include <cmath>

namespace sp::gst {

ProcessingLatency::ProcessingLatency(GstClockTime fixed) : fixed_(fixed) { window_.reserve(kWindow); }

GstClockTime ProcessingLatency::with_margin(GstClockTime measured) {
  const double ms = std::ceil(static_cast<double>(measured) * kMargin / GST_MSECOND);
  return static_cast<GstClockTime>(ms) * GST_MSECOND;
}

void ProcessingLatency::seed(GstClockTime duration) {
  if (automatic()) reported_ = with_margin(duration);
}

GstClockTime ProcessingLatency::recent_p90() const {
  if (window_.empty()) return 0;
  std::vector<GstClockTime> sorted = window_;
  // The smallest time that at least 90 % of the recent frames did not exceed.
  const std::size_t k = (sorted.size() * 9 + 9) / 10 - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  return sorted[k];
}

bool ProcessingLatency::on_frame(GstClockTime duration) {
  if (window_.size() < kWindow) {
    window_.push_back(duration);
  } else {
    window_[next_] = duration;
  }
  next_ = (next_ + 1) % kWindow;
  ++since_change_;
  if (!automatic() || since_change_ < kMinFrames) return false;
  const GstClockTime p90 = recent_p90();
  if (static_cast<double>(p90) <= static_cast<double>(reported_) * kRaiseAbove) return false;
  reported_ = with_margin(p90);
  since_change_ = 0;
  return true;
}

}  // namespace sp::gst
