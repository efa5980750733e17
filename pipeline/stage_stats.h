// Per-stage latency statistics and frame rates for the HUD (rolling) and the end-of-run summary (whole
// run). Percentiles are nearest rank: the value at index ceil(p/100 * n) - 1 of the ascending samples,
// the definition bench/ and app/latency_stats.h use.
//
// Thread safety: every member function may be called from any thread. One small mutex guards the state;
// record() and record_input() hold it for O(number of stages), snapshot() only while copying the rolling
// windows (a few KB; sorting happens outside the lock), summary() while copying the run's samples (call
// it once at the end). Typical use: the capture thread calls record_input() per delivered frame, the
// render/sink thread calls record() per finished frame, the HUD calls snapshot() per drawn frame.
#pragma once

#include <array>
#include <string>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "pipeline/frame.h"

namespace sp::pipeline {

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0;
};

// Nearest-rank percentile of ascending `sorted` samples for integer p in [0, 100]; 0 when empty.
double nearest_rank(std::span<const double> sorted, int p);

// Sorts `samples` in place and returns p50/p95/p99 (zeros when empty).
Percentiles percentiles(std::span<double> samples);

struct StageWindow {
  Percentiles pct;       // over the last `count` samples (at most the window size)
  double mean = 0;       // over the same samples
  double last = 0;       // most recent sample
  std::size_t count = 0; // samples in the window
};

// What the HUD draws: rolling values, cheap to take every frame.
struct StatsSnapshot {
  std::array<StageWindow, kNumStages> stages{};
  uint64_t frames_in = 0;         // record_input() calls
  uint64_t frames_processed = 0;  // record() calls
  uint64_t frames_dropped = 0;    // as last set by set_dropped()
  double fps_in = 0;              // over the sliding time window
  double fps_out = 0;
  const StageWindow& operator[](Stage s) const { return stages[static_cast<int>(s)]; }
};

struct StageSummary {
  Percentiles pct;  // over every sample of the run
  double mean = 0, min = 0, max = 0;
  uint64_t count = 0;
};

// Tracking totals of a run (the summary's "tracks"); enabled is false when tracking was off.
struct TrackSummary {
  bool enabled = false;
  bool smoothing = false;
  int64_t started = 0;     // IDs handed out
  int64_t ended = 0;       // tracks lost for longer than the track buffer
  int max_concurrent = 0;  // most people tracked in one frame
  int active_at_end = 0;   // tracks still alive (tracked or within the buffer) when the run ended
};

// The end-of-run summary (run --summary; see jsonl_writer.h for the JSON and text forms).
struct RunSummary {
  uint64_t frames_in = 0, frames_processed = 0, frames_dropped = 0;
  double fps = 0;         // frames_processed / (last record() - first record_input()); without any
                          // record_input(): (frames_processed - 1) / (last record() - first record())
  double fps_in = 0;      // (frames_in - 1) / (last record_input() - first record_input())
  double duration_s = 0;  // first event to last event
  std::array<StageSummary, kNumStages> stages{};
  std::string engine;     // "fp32" or "int8" (what ran the model), set by the pipeline; empty: not known
  std::string isa;        // the instruction sets the model's kernels ran ("avx512vnni+avx512"); empty: not known
  TrackSummary tracks;    // set by the pipeline
  const StageSummary& operator[](Stage s) const { return stages[static_cast<int>(s)]; }
};

class StageStats {
 public:
  struct Options {
    std::size_t window_frames = 120;     // rolling percentile window (frames)
    double fps_window_s = 1.0;           // sliding time window of the FPS figures
    std::size_t reserve_frames = 18000;  // whole-run samples reserved up front per stage (10 min at 30 fps)
  };

  StageStats() : StageStats(Options{}) {}
  explicit StageStats(Options options);

  // A frame delivered by the source (counted whether or not it is later dropped): FPS in.
  void record_input(Clock::time_point now = Clock::now());

  // A finished frame: its timing record and FPS out. A stage whose time is 0 (or negative / NaN) did not
  // run for this frame and adds no sample (StageTimes' convention), so it cannot drag percentiles down.
  void record(const StageTimes& times, Clock::time_point now = Clock::now());

  // Frames the ring discarded (newest-wins), as reported by SpscRing::dropped().
  void set_dropped(uint64_t dropped);

  StatsSnapshot snapshot(Clock::time_point now = Clock::now()) const;
  RunSummary summary() const;

  const Options& options() const { return options_; }

 private:
  // Timestamps of recent events, enough for the FPS window at any sane rate (oldest overwritten).
  struct EventTimes {
    std::vector<Clock::time_point> t;  // circular
    std::size_t next = 0, size = 0;
    void add(Clock::time_point now);
    double rate(Clock::time_point now, double window_s) const;
  };

  Options options_;
  mutable std::mutex mu_;
  // Rolling window per stage: circular buffers of window_frames samples.
  std::array<std::vector<double>, kNumStages> window_;
  std::array<std::size_t, kNumStages> window_next_{};
  std::array<std::size_t, kNumStages> window_size_{};
  std::array<double, kNumStages> last_{};
  // Whole run.
  std::array<std::vector<double>, kNumStages> all_;
  EventTimes in_times_, out_times_;
  uint64_t frames_in_ = 0, frames_processed_ = 0, frames_dropped_ = 0;
  bool have_first_in_ = false, have_first_out_ = false;
  Clock::time_point first_in_{}, last_in_{}, first_out_{}, last_out_{};
};

}  // namespace sp::pipeline
