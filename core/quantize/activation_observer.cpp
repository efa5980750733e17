#include "core/quantize/activation_observer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/error.h"

namespace sp::quant {

ActivationObserver::ActivationObserver(const Graph& graph, const std::vector<std::string>& tensors, SessionOptions options)
    : tensors_(tensors) {
  if (tensors.empty()) throw Error("nothing to calibrate: the model has no quantizable tensors");
  options.outputs = tensors;
  options.nhwc_input = true;
  // NHWC outputs skip a transpose per tensor; the statistics do not care about the layout.
  options.nhwc_outputs = true;
  session_ = std::make_unique<Session>(graph, options);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (session_->output_name(i) != tensors[i]) throw Error("calibration: session outputs are not in the order asked");
  }
  min_.assign(tensors.size(), std::numeric_limits<double>::infinity());
  max_.assign(tensors.size(), -std::numeric_limits<double>::infinity());
}

// Calls f(i, span) for every contiguous run of output i's values (one per pixel for NHWC outputs,
// whose pixels may be strided inside a shared Concat buffer).
template <typename F>
void ActivationObserver::for_each_output(F&& f) const {
  for (size_t i = 0; i < session_->num_outputs(); ++i) {
    const Shape& s = session_->output_shape(i);
    const float* data = session_->output_data(i);
    if (session_->output_nhwc(i) && s.size() == 4) {
      const int64_t pixels = s[0] * s[2] * s[3], channels = s[1], stride = session_->output_pixel_stride(i);
      for (int64_t p = 0; p < pixels; ++p) f(i, std::span<const float>(data + p * stride, static_cast<size_t>(channels)));
    } else {
      f(i, std::span<const float>(data, static_cast<size_t>(shape_numel(s))));
    }
  }
}

void ActivationObserver::observe_minmax() {
  session_->run();
  for_each_output([&](size_t i, std::span<const float> v) {
    for (float x : v) {
      if (std::isnan(x)) continue;
      min_[i] = std::min<double>(min_[i], x);
      max_[i] = std::max<double>(max_[i], x);
    }
  });
  ++frames_minmax_;
}

void ActivationObserver::observe_histogram(int half_bins) {
  if (frames_minmax_ == 0) throw Error("calibration: the histogram pass needs the min/max pass first");
  if (hist_.empty()) {
    for (size_t i = 0; i < tensors_.size(); ++i) hist_.emplace_back(min_[i], max_[i], half_bins);
  }
  session_->run();
  for_each_output([&](size_t i, std::span<const float> v) { hist_[i].add(v); });
  ++frames_histogram_;
}

RangeTable ActivationObserver::ranges(CalibMethod method, double percentile) const {
  if (frames_minmax_ == 0) throw Error("calibration: no frame observed");
  if (method != CalibMethod::kMinMax && frames_histogram_ == 0) throw Error("calibration: no histogram pass");
  RangeTable r;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (!std::isfinite(min_[i]) || !std::isfinite(max_[i])) {
      throw Error("calibration: tensor '" + tensors_[i] + "' produced no finite value");
    }
    if (method == CalibMethod::kMinMax) {
      r[tensors_[i]] = {static_cast<float>(min_[i]), static_cast<float>(max_[i])};
    } else {
      r[tensors_[i]] = compute_range(hist_[i], method, percentile);
    }
  }
  return r;
}

}  // namespace sp::quant
