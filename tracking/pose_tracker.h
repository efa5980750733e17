// Multi-person tracking with stable IDs and per-person keypoint smoothing, ByteTrack-style:
//  - a constant-velocity Kalman filter per track on its box (tracking/box_kalman.h), in seconds;
//  - association by box IoU fused with keypoint OKS (tracking/pose_similarity.h), solved optimally
//    (tracking/linear_assignment.h), in ByteTrack's stages:
//      1. confirmed tracks (tracked and lost) against high-score detections;
//      2. tracks still unmatched that were tracked in the last frame against low-score detections (a
//         person half hidden behind another scores low; this keeps the track alive through it);
//      3. tentative tracks (seen once) against the high-score detections left;
//  - a tentative track gets its ID once seen in min_hits frames (a detection flickering for one frame
//    never gets an ID); an unmatched high-score detection at or above new_track_score starts one;
//  - a confirmed track not seen is "lost" for up to track_buffer_s seconds, still predicted and
//    matchable, so a person hidden for a while comes back with their ID; after that it ends.
// Time comes from the caller (the frames' presentation timestamps), never from frame counts, so a live
// source that drops frames only makes the steps longer.
//
// The tracker is a plain function of (its tracks, the detections, the time): no I/O, no threads, no
// clock of its own; the same inputs always give the same IDs. Not thread-safe: one tracker per stream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "models/pose_types.h"
#include "tracking/box_kalman.h"
#include "tracking/linear_assignment.h"
#include "tracking/pose_smoother.h"

namespace sp::tracking {

struct TrackerOptions {
  float high_score = 0.25f;       // detections at or above take part in stage 1 (Ultralytics' default)
  float low_score = 0.1f;         // detections in [low_score, high_score) only keep tracks alive (stage 2)
  float new_track_score = 0.25f;  // an unmatched detection at or above (and >= high_score) starts a track
  float match_similarity = 0.2f;  // stage 1: a pair needs a similarity above this (ByteTrack: IoU 0.2)
  float low_match_similarity = 0.5f;        // stage 2 (ByteTrack: IoU 0.5)
  float tentative_match_similarity = 0.3f;  // stage 3 (ByteTrack: IoU 0.3)
  float oks_weight = 0.5f;        // similarity = (1 - w) IoU + w OKS when 3+ keypoints are shared
  float keypoint_conf = 0.5f;     // keypoints used for OKS
  double track_buffer_s = 1.0;    // how long a lost track can come back (ByteTrack: 30 frames at 30 fps)
  int min_hits = 2;               // frames a new track must be seen in before it gets an ID (1: at once)

  // Throws sp::Error naming the first nonsensical parameter.
  void validate() const;
};

// The options for a detector whose confidence threshold is `conf`: what counts as a detection (stage 1)
// is what `conf` says, and weak detections reach down to min(low_score, conf). The detector should then
// report people down to the returned low_score, so weak ones can keep tracks alive.
TrackerOptions with_detection_threshold(TrackerOptions options, float conf);

struct TrackedPerson {
  int64_t id = 0;               // 1, 2, 3, ... in order of confirmation; never reused
  int detection = -1;           // index of the matched detection in the update's input
  models::PoseDetection pose;   // the detection, smoothed when smoothing is on
};

struct TrackerStats {
  int64_t started = 0;          // IDs handed out
  int64_t ended = 0;            // tracks that were lost for longer than the buffer
  int max_concurrent = 0;       // most people tracked in one frame
  int active = 0;               // confirmed tracks right now (tracked or lost)
};

class PoseTracker {
 public:
  // smoothing: keypoint smoothing per track; nullopt returns the detections as measured.
  // Throws sp::Error when an option is nonsensical.
  explicit PoseTracker(const TrackerOptions& options = {},
                       const std::optional<PoseSmootherOptions>& smoothing = std::nullopt);

  // One frame: the detections (any order, any scores; those below low_score are ignored) at time t in
  // seconds. t should not decrease; a t before the last one is treated as the last one. Returns the
  // people tracked in this frame, sorted by ID; valid until the next call.
  const std::vector<TrackedPerson>& update(std::span<const models::PoseDetection> detections, double t);

  const TrackerStats& stats() const { return stats_; }
  const TrackerOptions& options() const { return options_; }
  bool smoothing() const { return smoothing_.has_value(); }

 private:
  enum class State { kTentative, kTracked, kLost };
  struct Track {
    int64_t id = 0;                 // 0 while tentative
    State state = State::kTentative;
    int hits = 0;                   // frames matched
    double last_seen = 0.0;         // time of the last match
    BoxKalman kalman;
    models::PoseDetection last;     // the last matched detection, as measured
    PoseSmoother smoother;
    bool matched = false;           // in the current update
  };

  // Matches tracks_[track_idx[i]] against dets[det_idx[j]] with a similarity above min_similarity;
  // removes the matched ones from both lists and records them in det_match_.
  void associate(std::vector<int>& track_idx, std::vector<int>& det_idx,
                 std::span<const models::PoseDetection> dets, float min_similarity);
  float similarity(const Track& track, const models::PoseDetection& det) const;
  void take(Track& track, const models::PoseDetection& det, double t);

  TrackerOptions options_;
  std::optional<PoseSmootherOptions> smoothing_;
  std::vector<Track> tracks_;
  std::vector<TrackedPerson> out_;
  TrackerStats stats_;
  int64_t next_id_ = 1;
  bool first_frame_ = true;
  double last_t_ = 0.0;

  // Scratch, reused between frames so a steady stream does not allocate.
  LinearAssignment solver_;
  std::vector<int> det_match_;  // per detection: index of the track it went to, -1 if none
  std::vector<float> cost_;
  std::vector<int> pool_, high_, low_, rest_;
};

}  // namespace sp::tracking
