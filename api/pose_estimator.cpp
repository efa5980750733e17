// PoseEstimator: the public facade over imaging (letterbox), models (engine, decode, NMS) and tracking.
#include "sparsepose/pose_estimator.h"

#include <opencv2/core.hpp>

#include <chrono>
#include <cmath>
#include <new>
#include <optional>
#include <utility>

#include "api/frame_mat.h"
#include "api/model_open.h"
#include "api/options_check.h"
#include "api/persons.h"
#include "core/error.h"
#include "imaging/preprocess.h"
#include "models/nms.h"
#include "tracking/pose_tracker.h"
#include "sparsepose/error.h"

namespace sparsepose {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

sp::tracking::TrackerOptions tracker_options(const Options& o) {
  sp::tracking::TrackerOptions t;
  t.track_buffer_s = o.tracking.track_buffer_s;
  t.min_hits = o.tracking.min_hits;
  t.low_score = o.tracking.low_score;
  t.new_track_score = o.tracking.new_track_score;
  t.match_similarity = o.tracking.match_similarity;
  t.oks_weight = o.tracking.oks_weight;
  return sp::tracking::with_detection_threshold(t, o.conf);
}

std::optional<sp::tracking::PoseSmootherOptions> smoother_options(const Options& o) {
  if (!o.tracking.smoothing) return std::nullopt;
  sp::tracking::PoseSmootherOptions s;
  s.filter.min_cutoff_hz = o.tracking.smooth_min_cutoff_hz;
  s.filter.beta = o.tracking.smooth_beta;
  s.filter.d_cutoff_hz = o.tracking.smooth_d_cutoff_hz;
  s.min_conf = o.tracking.smooth_min_conf;
  return s;
}

std::unique_ptr<sp::tracking::PoseTracker> new_tracker(const Options& o) {
  try {
    return std::make_unique<sp::tracking::PoseTracker>(tracker_options(o), smoother_options(o));
  } catch (const sp::Error& e) {  // check_options covers the public fields; this is a second line of defence
    throw Error(e.what(), "tracking");
  }
}

}  // namespace

struct PoseEstimator::Impl {
  Options options;
  sp::api::OpenedModel opened;
  sp::imaging::Preprocessor pre;
  sp::models::NmsOptions nms;
  float decode_conf = 0;  // conf, or the tracker's low score so weak people can keep tracks alive
  std::unique_ptr<sp::tracking::PoseTracker> tracker;
  std::vector<sp::models::PoseDetection> detections;
  std::uint64_t frames = 0;
};

PoseEstimator::PoseEstimator(const Options& options) : impl_(std::make_unique<Impl>()) {
  sp::api::check_options(options);
  impl_->options = options;
  impl_->opened = sp::api::open_model(options);
  impl_->nms.iou_threshold = options.iou;
  impl_->decode_conf = options.conf;
  if (options.tracking.enabled) {
    impl_->tracker = new_tracker(options);
    impl_->decode_conf = impl_->tracker->options().low_score;
  }
}

PoseEstimator::~PoseEstimator() = default;
PoseEstimator::PoseEstimator(PoseEstimator&&) noexcept = default;
PoseEstimator& PoseEstimator::operator=(PoseEstimator&&) noexcept = default;

Result PoseEstimator::run(const ImageView& frame, double timestamp_s) {
  Result r;
  run(frame, timestamp_s, r);
  return r;
}

void PoseEstimator::run(const ImageView& frame, double timestamp_s, Result& result) {
  if (!impl_) throw Error("run: this PoseEstimator was moved from");
  if (!std::isfinite(timestamp_s)) throw Error("run: the timestamp must be a finite number of seconds");
  Impl& s = *impl_;
  const sp::api::FrameMat f = sp::api::frame_mat(frame);
  sp::models::PoseModel& model = *s.opened.model;
  try {
    const Clock::time_point t0 = Clock::now();
    const sp::models::LetterboxGeometry geometry = sp::imaging::letterbox_into(s.pre, f.mat, model, f.order);
    const Clock::time_point t1 = Clock::now();
    model.infer();
    const Clock::time_point t2 = Clock::now();
    model.decode(s.decode_conf, s.nms, geometry, s.detections);
    const Clock::time_point t3 = Clock::now();
    result.persons.clear();
    if (s.tracker) {
      for (const sp::tracking::TrackedPerson& p : s.tracker->update(s.detections, timestamp_s))
        result.persons.push_back(sp::api::to_person(p.pose, p.id));
    } else {
      for (const sp::models::PoseDetection& d : s.detections) result.persons.push_back(sp::api::to_person(d, -1));
    }
    const Clock::time_point t4 = Clock::now();
    result.timing = {ms_between(t0, t1), ms_between(t1, t2), ms_between(t2, t3), s.tracker ? ms_between(t3, t4) : 0.0};
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const sp::Error& e) {
    throw Error(std::string("run: ") + e.what());
  } catch (const cv::Exception& e) {
    throw Error(std::string("run: ") + e.what());
  }
  result.frame = s.frames++;
}

void PoseEstimator::reset_tracking() {
  if (impl_ && impl_->tracker) impl_->tracker = new_tracker(impl_->options);
}

const ModelInfo& PoseEstimator::info() const {
  if (!impl_) throw Error("info: this PoseEstimator was moved from");
  return impl_->opened.info;
}

const Options& PoseEstimator::options() const {
  if (!impl_) throw Error("options: this PoseEstimator was moved from");
  return impl_->options;
}

}  // namespace sparsepose
