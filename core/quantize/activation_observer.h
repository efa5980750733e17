// Calibration observation: runs the float model on calibration frames with the chosen tensors as
// extra outputs and accumulates, per tensor, the exact min/max (pass 1) and then a histogram over
// [-max|x|, max|x|] (pass 2). Depends only on the public Session API.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/quantize/calibration.h"
#include "core/quantize/quantizable_model.h"
#include "core/session.h"

namespace sp::quant {

class ActivationObserver {
 public:
  // `options.outputs` is replaced by `tensors`; the input is NHWC (options.nhwc_input is forced).
  ActivationObserver(const Graph& graph, const std::vector<std::string>& tensors, SessionOptions options);

  // NHWC [H][W][3] input to fill before each observe call.
  float* input() { return session_->input_data(0); }
  int input_height() const { return static_cast<int>(session_->input_shape(0)[2]); }
  int input_width() const { return static_cast<int>(session_->input_shape(0)[3]); }

  // Pass 1: run and widen every tensor's [min, max].
  void observe_minmax();
  // Pass 2 (after all of pass 1): run and add to every tensor's histogram, set up on first call.
  void observe_histogram(int half_bins = 2048);
  size_t frames_minmax() const { return frames_minmax_; }
  size_t frames_histogram() const { return frames_histogram_; }

  // Ranges by method; minmax needs only pass 1, the others pass 2 as well.
  RangeTable ranges(CalibMethod method, double percentile) const;

 private:
  template <typename F>
  void for_each_output(F&& f) const;

  std::unique_ptr<Session> session_;
  std::vector<std::string> tensors_;
  std::vector<double> min_, max_;
  std::vector<Histogram> hist_;
  size_t frames_minmax_ = 0, frames_histogram_ = 0;
};

}  // namespace sp::quant
