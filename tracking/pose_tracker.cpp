#include "tracking/pose_tracker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "models/nms.h"
#include "tracking/pose_similarity.h"

namespace sp::tracking {
namespace {

// A person's keypoints spread over about half their box: COCO's person areas (segmentation) are about
// 0.53 of the box area, the factor Ultralytics uses for OKS from boxes too.
constexpr float kAreaPerBox = 0.53f;
// OKS over fewer keypoints than this says little (a single wrist matches anyone's wrist).
constexpr int kMinSharedKeypoints = 3;

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("tracker: " + what);
}

bool in01(float v) { return v >= 0.0f && v <= 1.0f; }  // false for NaN

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

}  // namespace

void TrackerOptions::validate() const {
  require(in01(high_score), "high_score must be in [0, 1] (got " + num(high_score) + ")");
  require(in01(low_score) && low_score <= high_score,
          "low_score must be in [0, high_score] (got " + num(low_score) + ")");
  require(in01(new_track_score), "new_track_score must be in [0, 1] (got " + num(new_track_score) + ")");
  require(match_similarity >= 0.0f && match_similarity < 1.0f,
          "match_similarity must be in [0, 1) (got " + num(match_similarity) + ")");
  require(low_match_similarity >= 0.0f && low_match_similarity < 1.0f,
          "low_match_similarity must be in [0, 1) (got " + num(low_match_similarity) + ")");
  require(tentative_match_similarity >= 0.0f && tentative_match_similarity < 1.0f,
          "tentative_match_similarity must be in [0, 1) (got " + num(tentative_match_similarity) + ")");
  require(in01(oks_weight), "oks_weight must be in [0, 1] (got " + num(oks_weight) + ")");
  require(in01(keypoint_conf), "keypoint_conf must be in [0, 1] (got " + num(keypoint_conf) + ")");
  require(std::isfinite(track_buffer_s) && track_buffer_s > 0,
          "track_buffer_s must be > 0 seconds (got " + num(track_buffer_s) + ")");
  require(min_hits >= 1, "min_hits must be >= 1 (got " + std::to_string(min_hits) + ")");
}

TrackerOptions with_detection_threshold(TrackerOptions options, float conf) {
  options.high_score = conf;
  options.low_score = std::min(options.low_score, conf);
  return options;
}

PoseTracker::PoseTracker(const TrackerOptions& options, const std::optional<PoseSmootherOptions>& smoothing)
    : options_(options), smoothing_(smoothing) {
  options_.validate();
  if (smoothing_) smoothing_->validate();
}

float PoseTracker::similarity(const Track& track, const models::PoseDetection& det) const {
  const models::Box pred = track.kalman.box();
  const float iou = models::box_iou(pred, det.box);
  if (!(iou > 0.0f)) return 0.0f;  // OKS alone never links boxes that do not touch
  if (options_.oks_weight <= 0.0f) return iou;
  // The track's last skeleton, carried along with its predicted box.
  const models::Box& lb = track.last.box;
  const float dx = (pred.x1 + pred.x2 - lb.x1 - lb.x2) / 2.0f;
  const float dy = (pred.y1 + pred.y2 - lb.y1 - lb.y2) / 2.0f;
  const OksResult k = keypoint_similarity(det.keypoints, track.last.keypoints, dx, dy, pred.area() * kAreaPerBox,
                                          options_.keypoint_conf);
  if (k.shared < kMinSharedKeypoints) return iou;
  return (1.0f - options_.oks_weight) * iou + options_.oks_weight * k.oks;
}

void PoseTracker::take(Track& track, const models::PoseDetection& det, double t) {
  track.kalman.update(det.box);
  if (track.state == State::kLost) {
    track.state = State::kTracked;
    track.smoother.reset();  // reborn: the old smoothed pose is stale, start from this detection
  }
  ++track.hits;
  if (track.state == State::kTentative && track.hits >= options_.min_hits) {
    track.state = State::kTracked;
    track.id = next_id_++;
    ++stats_.started;
  }
  track.last = det;
  track.last_seen = t;
  track.matched = true;
}

void PoseTracker::associate(std::vector<int>& track_idx, std::vector<int>& det_idx,
                            std::span<const models::PoseDetection> dets, float min_similarity) {
  if (track_idx.empty() || det_idx.empty()) return;
  const int rows = static_cast<int>(track_idx.size()), cols = static_cast<int>(det_idx.size());
  cost_.resize(static_cast<size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      cost_[static_cast<size_t>(r) * cols + c] = 1.0f - similarity(tracks_[track_idx[r]], dets[det_idx[c]]);
  const std::vector<Match>& matches = solver_.solve(cost_, rows, cols, 1.0f - min_similarity);
  for (const Match& m : matches) {
    take(tracks_[track_idx[m.row]], dets[det_idx[m.col]], last_t_);
    det_match_[det_idx[m.col]] = track_idx[m.row];
  }
  std::erase_if(track_idx, [&](int i) { return tracks_[i].matched; });
  std::erase_if(det_idx, [&](int j) { return det_match_[j] >= 0; });
}

const std::vector<TrackedPerson>& PoseTracker::update(std::span<const models::PoseDetection> dets, double t) {
  if (!std::isfinite(t)) throw Error("tracker: the frame time is not a finite number");
  if (!first_frame_ && t < last_t_) t = last_t_;
  last_t_ = t;

  for (Track& tr : tracks_) {
    tr.matched = false;
    tr.kalman.predict(t, tr.state == State::kLost);
  }
  high_.clear();
  low_.clear();
  for (int i = 0; i < static_cast<int>(dets.size()); ++i) {
    const float s = dets[i].score;
    if (!(s >= options_.low_score)) continue;
    (s >= options_.high_score ? high_ : low_).push_back(i);
  }
  det_match_.assign(dets.size(), -1);

  // 1. Confirmed tracks, tracked or lost, against the confident detections.
  pool_.clear();
  for (int i = 0; i < static_cast<int>(tracks_.size()); ++i)
    if (tracks_[i].state != State::kTentative) pool_.push_back(i);
  associate(pool_, high_, dets, options_.match_similarity);
  // 2. Those tracked until now and still unmatched against the weak detections; the rest are lost.
  rest_.clear();
  for (int i : pool_)
    if (tracks_[i].state == State::kTracked) rest_.push_back(i);
  associate(rest_, low_, dets, options_.low_match_similarity);
  for (int i : rest_) tracks_[i].state = State::kLost;
  // 3. Tentative tracks against the confident detections left.
  pool_.clear();
  for (int i = 0; i < static_cast<int>(tracks_.size()); ++i)
    if (tracks_[i].state == State::kTentative) pool_.push_back(i);
  associate(pool_, high_, dets, options_.tentative_match_similarity);

  // Births: confident detections nobody claimed. On the stream's first frame they are confirmed at
  // once (there is no earlier frame that could have confirmed them), as ByteTrack does.
  const float birth = std::max(options_.new_track_score, options_.high_score);
  for (int j : high_) {
    if (!(dets[j].score >= birth)) continue;
    Track tr;
    tr.kalman.init(dets[j].box, t);
    if (first_frame_) tr.hits = options_.min_hits - 1;
    tracks_.push_back(std::move(tr));
    take(tracks_.back(), dets[j], t);
    det_match_[j] = static_cast<int>(tracks_.size()) - 1;
  }
  first_frame_ = false;

  // Smooth every matched track (tentative ones too, so a new person's filters are warm when their ID
  // appears) and collect the confirmed ones.
  out_.clear();
  for (int j = 0; j < static_cast<int>(dets.size()); ++j) {
    if (det_match_[j] < 0) continue;
    Track& tr = tracks_[det_match_[j]];
    TrackedPerson p;
    p.pose = dets[j];
    if (smoothing_) tr.smoother.apply(p.pose, t, *smoothing_);
    if (tr.state != State::kTracked) continue;
    p.id = tr.id;
    p.detection = j;
    out_.push_back(p);
  }
  std::sort(out_.begin(), out_.end(), [](const TrackedPerson& a, const TrackedPerson& b) { return a.id < b.id; });

  // Deaths: tentative tracks not confirmed by this frame, lost tracks past the buffer.
  std::erase_if(tracks_, [&](const Track& tr) {
    if (tr.state == State::kTentative) return !tr.matched;
    if (tr.state == State::kLost && t - tr.last_seen > options_.track_buffer_s) {
      ++stats_.ended;
      return true;
    }
    return false;
  });
  stats_.active = static_cast<int>(std::count_if(tracks_.begin(), tracks_.end(),
                                                 [](const Track& tr) { return tr.state != State::kTentative; }));
  stats_.max_concurrent = std::max(stats_.max_concurrent, static_cast<int>(out_.size()));
  return out_;
}

}  // namespace sp::tracking
