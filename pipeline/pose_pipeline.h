// The live pipeline: capture thread → lock-free ring → inference thread (letterbox, engine, decode +
// NMS) → ring → render/sink thread (overlay, HUD, window, video file, JSON lines, statistics).
// Capture and drawing overlap with the model, so throughput is bounded by the slowest stage rather
// than the sum of all stages. Live sources keep the newest frame (drops counted); files are lossless
// unless paced with `realtime`. With tracking on, the inference thread also runs the tracker (and the
// keypoint smoothing) on each frame's detections, timed from the frames' presentation timestamps, so
// every person leaves it with an ID; its time counts in the "decode" stage.
//
// Several streams share one engine: each has its own capture thread, rings, tracker, sinks and render
// thread, and the one inference thread takes frames from the capture rings round-robin (a file stream
// stays lossless because its capture waits on its full ring; a live one keeps its newest frame).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "models/pose_model.h"
#include "pipeline/stage_stats.h"
#include "pipeline/video_source.h"
#include "tracking/pose_tracker.h"

namespace sp::pipeline {

// Keypoint smoothing: auto is on for live sources (a live overlay should not shiver) and off for files
// (keypoint data exported from a file stays as the model measured it unless asked).
enum class Smoothing { kAuto, kOn, kOff };

struct PosePipelineOptions {
  std::string source;             // see VideoSource::open
  bool realtime = false;          // pace a file like a camera
  VideoSourceOptions capture;     // reconnect and timeout policy (realtime and cancel are set from here)
  int64_t max_frames = 0;         // stop after this many captured frames; 0: until the source ends
  float conf = 0.25f;
  float iou = 0.7f;
  bool show = false;              // a window (needs a display)
  bool hud = true;                // the latency HUD on the window and the saved video
  std::string save_path;          // annotated H.264 video; empty: none
  std::string json_path;          // JSON lines, one per processed frame; empty: none
  std::string engine_label = "fp32";
  std::string isa_label;
  int threads = 0;
  bool quiet = false;             // no progress line on stderr
  bool track = true;              // person IDs (tracking/pose_tracker.h)
  Smoothing smooth = Smoothing::kAuto;  // needs track
  // Tracker parameters; high_score is replaced by `conf` (what counts as a detection stays --conf), and
  // the model is decoded down to low_score so weak detections can keep tracks alive.
  tracking::TrackerOptions tracker;
  tracking::PoseSmootherOptions smoother;
};

struct PipelineResult {
  RunSummary summary;
  uint64_t frames_in = 0;         // frames the source delivered
  uint64_t frames_processed = 0;  // frames that went through the model and reached the sinks
  uint64_t frames_dropped = 0;    // frames the queues (or the source's appsink) dropped to stay live
  int64_t video_frames = 0;       // frames in the saved video
  int64_t json_lines = 0;
  std::string ended;              // why the run ended ("end of stream", "interrupted", an error, ...)
  bool source_error = false;      // the source failed (the run still finalized every output)
};

// One stream of a multi-stream run: its source and its own output paths (empty: none).
struct StreamSpec {
  std::string source;
  std::string save_path;
  std::string json_path;
};

struct MultiPipelineResult {
  std::vector<PipelineResult> streams;  // in the order of the specs
  double wall_s = 0;                    // from the threads' start to the last stream's end
};

// Runs every stream through `model` (one engine session, one inference thread); `options` gives what
// the streams share (its source, save_path and json_path are ignored). `show` needs a single stream.
// Ends when every stream has ended, or at `stop`; outputs are finalized and errors rethrown as below.
MultiPipelineResult run_pose_pipelines(models::PoseModel& model, const PosePipelineOptions& options,
                                       const std::vector<StreamSpec>& streams, std::atomic<bool>& stop);

// Runs until the source ends, `stop` becomes true (Ctrl-C, `q` in the window) or max_frames. Outputs
// are always finalized, also when a stage throws; the first error is rethrown after finalizing.
PipelineResult run_pose_pipeline(models::PoseModel& model, const PosePipelineOptions& options,
                                  std::atomic<bool>& stop);

}  // namespace sp::pipeline
