#include "api/options_check.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "sparsepose/error.h"

namespace sp::api {
namespace {

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

void require(bool ok, const char* option, const std::string& field, const std::string& rule, double got) {
  if (!ok) throw sparsepose::Error(field + " must be " + rule + " (got " + number(got) + ")", option);
}

bool in01(double v) { return std::isfinite(v) && v >= 0 && v <= 1; }

void check_tracking(const sparsepose::TrackingOptions& t) {
  const char* opt = "tracking";
  require(std::isfinite(t.track_buffer_s) && t.track_buffer_s > 0, opt, "tracking.track_buffer_s", "> 0 seconds",
          t.track_buffer_s);
  require(t.min_hits >= 1, opt, "tracking.min_hits", ">= 1", t.min_hits);
  require(in01(t.low_score), opt, "tracking.low_score", "in [0, 1]", t.low_score);
  require(in01(t.new_track_score), opt, "tracking.new_track_score", "in [0, 1]", t.new_track_score);
  require(std::isfinite(t.match_similarity) && t.match_similarity >= 0 && t.match_similarity < 1, opt,
          "tracking.match_similarity", "in [0, 1)", t.match_similarity);
  require(in01(t.oks_weight), opt, "tracking.oks_weight", "in [0, 1]", t.oks_weight);
  require(std::isfinite(t.smooth_min_cutoff_hz) && t.smooth_min_cutoff_hz > 0, opt, "tracking.smooth_min_cutoff_hz",
          "> 0 Hz", t.smooth_min_cutoff_hz);
  require(std::isfinite(t.smooth_beta) && t.smooth_beta >= 0, opt, "tracking.smooth_beta", ">= 0", t.smooth_beta);
  require(std::isfinite(t.smooth_d_cutoff_hz) && t.smooth_d_cutoff_hz > 0, opt, "tracking.smooth_d_cutoff_hz", "> 0 Hz",
          t.smooth_d_cutoff_hz);
  require(in01(t.smooth_min_conf), opt, "tracking.smooth_min_conf", "in [0, 1]", t.smooth_min_conf);
  if (t.smoothing && !t.enabled)
    throw sparsepose::Error("tracking.smoothing works per tracked person: it needs tracking.enabled", opt);
}

}  // namespace

void check_options(const sparsepose::Options& o) {
  using sparsepose::Engine;
  if (o.engine != Engine::Auto && o.engine != Engine::Fp32 && o.engine != Engine::Int8)
    throw sparsepose::Error("engine must be Auto, Fp32 or Int8 (got " + std::to_string(static_cast<int>(o.engine)) + ")", "engine");
  require(o.threads >= 0 && o.threads <= 256, "threads", "threads", "0 (one per core) or 1..256", o.threads);
  require(o.input_size == 0 || (o.input_size >= 32 && o.input_size <= 4096 && o.input_size % 32 == 0), "input_size",
          "input_size", "0 (the model's own) or a multiple of 32 in 32..4096", o.input_size);
  require(in01(o.conf), "conf", "conf", "in [0, 1]", o.conf);
  require(in01(o.iou), "iou", "iou", "in [0, 1]", o.iou);
  check_tracking(o.tracking);
}

}  // namespace sp::api
