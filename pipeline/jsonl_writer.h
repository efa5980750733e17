// JSON-lines sink for `run --json`, and the end-of-run summary (`run --summary` file and the stderr
// table). One line per frame (ARCHITECTURE.md section 6):
//   {"frame", "pts_ms", "persons": [{"id", "box": [x1, y1, x2, y2], "score", "keypoints": [[x, y, conf] x17]}],
//    "timing_ms": {"capture", "queue_wait", "preprocess", "model", "decode", "render", "end_to_end"}}
// ("id" only when tracking is on: the person's track ID, stable across frames).
// Coordinates are original-frame pixels rounded to 2 decimals, scores to 5, keypoint confidences to 4,
// milliseconds to 3 (persons formatted by pipeline/detections_json.h, shared with `predict --json`).
//
// Each line goes to the kernel with one write() as soon as it is formatted (no user-space buffer), so
// a run stopped by Ctrl-C, a crash or a kill between frames leaves a file whose every line is complete
// JSON. Errors throw sp::Error naming the path.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipeline/frame.h"
#include "pipeline/stage_stats.h"

namespace sp::pipeline {

class JsonlWriter {
 public:
  // Creates or truncates `path`. Throws sp::Error if it cannot be opened.
  explicit JsonlWriter(std::string path);
  ~JsonlWriter();  // closes; never throws (call close() to see a close error)
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // One line for a finished frame: frame.index, pts_ms (frame.pts_ns / 1e6; when the source gives no
  // timestamp, milliseconds since the first written frame's capture time), frame.persons with
  // frame.ids, frame.times.
  void write(const Frame& frame);

  // The same line from its parts (pts_ms as given).
  void write(int64_t frame_index, double pts_ms, std::span<const models::PoseDetection> persons,
             const StageTimes& times, std::span<const int64_t> ids = {});

  void close();  // throws sp::Error on failure; further writes throw
  const std::string& path() const { return path_; }
  int64_t lines_written() const { return lines_; }

 private:
  void write_line(const std::string& line);

  std::string path_;
  int fd_ = -1;
  int64_t lines_ = 0;
  std::optional<Clock::time_point> first_captured_;
};

// The line JsonlWriter writes, without the trailing newline (for tests and other sinks).
std::string frame_json_line(int64_t frame_index, double pts_ms, std::span<const models::PoseDetection> persons,
                            const StageTimes& times, std::span<const int64_t> ids = {});

// {"frames_in", "frames_processed", "frames_dropped", "fps", "fps_in", "duration_s",
//  "stages_ms": {stage: {"p50", "p95", "p99", "mean", "max", "count"}},
//  "tracks": {"started", "ended", "max_concurrent", "active_at_end", "smoothing"}} — ms rounded to 3
// decimals, fps to 2; "tracks" only when tracking was on.
std::string summary_json(const RunSummary& summary);
void write_summary_json(const std::string& path, const RunSummary& summary);  // throws sp::Error

// A multi-stream run: each stream's summary and their total.
struct StreamReport {
  std::string source;
  std::string summary_path;  // where its own summary went; empty: nowhere
  RunSummary summary;
};
struct AggregateSummary {
  uint64_t frames_in = 0, frames_processed = 0, frames_dropped = 0;
  double wall_s = 0;  // the run, all streams together
  double fps = 0;     // frames_processed / wall_s: the engine's aggregate throughput
  std::vector<StreamReport> streams;
};
AggregateSummary aggregate(std::vector<StreamReport> streams, double wall_s);

// {"streams", "frames_in", "frames_processed", "frames_dropped", "fps", "wall_s",
//  "per_stream": [{"source", "summary", "frames_in", "frames_processed", "frames_dropped", "fps",
//                  "latency_ms": {"p50", "p99"}}]} — latency is each stream's capture-to-sink (end_to_end).
std::string aggregate_summary_json(const AggregateSummary& summary);
void write_aggregate_summary_json(const std::string& path, const AggregateSummary& summary);  // throws sp::Error

// The same as a short aligned table (for stderr at the end of a run).
void print_summary(std::FILE* out, const RunSummary& summary);

}  // namespace sp::pipeline
