#include "pipeline/stage_stats.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sp::pipeline {

double nearest_rank(std::span<const double> sorted, int p) {
  if (sorted.empty()) return 0;
  const long n = static_cast<long>(sorted.size());
  long k = (static_cast<long>(p) * n + 99) / 100;  // ceil(p/100 * n) on integers
  k = std::clamp(k, 1L, n);
  return sorted[static_cast<std::size_t>(k - 1)];
}

Percentiles percentiles(std::span<double> samples) {
  std::sort(samples.begin(), samples.end());
  return {nearest_rank(samples, 50), nearest_rank(samples, 95), nearest_rank(samples, 99)};
}

namespace {

constexpr std::size_t kMaxEventTimes = 4096;  // FPS window holds up to this many events

bool is_sample(double ms) { return ms > 0 && std::isfinite(ms); }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void StageStats::EventTimes::add(Clock::time_point now) {
  t[next] = now;
  next = (next + 1) % t.size();
  size = std::min(size + 1, t.size());
}

double StageStats::EventTimes::rate(Clock::time_point now, double window_s) const {
  // (events - 1) / (newest - oldest) over the events inside (now - window, now].
  const auto cutoff = now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(window_s));
  std::size_t n = 0;
  Clock::time_point newest{}, oldest{};
  for (std::size_t i = 0; i < size; ++i) {
    const auto& ti = t[(next + t.size() - 1 - i) % t.size()];  // newest first
    if (ti <= cutoff) break;
    if (n == 0) newest = ti;
    oldest = ti;
    ++n;
  }
  if (n < 2 || newest <= oldest) return 0;
  return static_cast<double>(n - 1) / seconds(newest - oldest);
}

StageStats::StageStats(Options options) : options_(options) {
  if (options_.window_frames == 0) throw std::invalid_argument("StageStats: window_frames must be > 0");
  if (!(options_.fps_window_s > 0)) throw std::invalid_argument("StageStats: fps_window_s must be > 0");
  for (int s = 0; s < kNumStages; ++s) {
    window_[s].assign(options_.window_frames, 0.0);
    all_[s].reserve(options_.reserve_frames);
  }
  in_times_.t.resize(kMaxEventTimes);
  out_times_.t.resize(kMaxEventTimes);
}

void StageStats::record_input(Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++frames_in_;
  in_times_.add(now);
  if (!have_first_in_) first_in_ = now, have_first_in_ = true;
  last_in_ = now;
}

void StageStats::record(const StageTimes& times, Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++frames_processed_;
  out_times_.add(now);
  if (!have_first_out_) first_out_ = now, have_first_out_ = true;
  last_out_ = now;
  for (int s = 0; s < kNumStages; ++s) {
    const double ms = times.ms[s];
    if (!is_sample(ms)) continue;
    window_[s][window_next_[s]] = ms;
    window_next_[s] = (window_next_[s] + 1) % window_[s].size();
    window_size_[s] = std::min(window_size_[s] + 1, window_[s].size());
    last_[s] = ms;
    all_[s].push_back(ms);  // amortised; reserved for reserve_frames
  }
}

void StageStats::set_dropped(uint64_t dropped) {
  std::lock_guard lock(mu_);
  frames_dropped_ = dropped;
}

StatsSnapshot StageStats::snapshot(Clock::time_point now) const {
  StatsSnapshot snap;
  std::array<std::vector<double>, kNumStages> copies;
  {
    std::lock_guard lock(mu_);
    for (int s = 0; s < kNumStages; ++s) {
      copies[s].assign(window_[s].begin(), window_[s].begin() + static_cast<std::ptrdiff_t>(window_size_[s]));
      snap.stages[s].last = last_[s];
    }
    snap.frames_in = frames_in_;
    snap.frames_processed = frames_processed_;
    snap.frames_dropped = frames_dropped_;
    snap.fps_in = in_times_.rate(now, options_.fps_window_s);
    snap.fps_out = out_times_.rate(now, options_.fps_window_s);
  }
  for (int s = 0; s < kNumStages; ++s) {
    auto& w = snap.stages[s];
    w.count = copies[s].size();
    if (w.count == 0) continue;
    double sum = 0;
    for (double v : copies[s]) sum += v;
    w.mean = sum / static_cast<double>(w.count);
    w.pct = percentiles(copies[s]);
  }
  return snap;
}

RunSummary StageStats::summary() const {
  RunSummary sum;
  std::array<std::vector<double>, kNumStages> copies;
  {
    std::lock_guard lock(mu_);
    copies = all_;
    sum.frames_in = frames_in_;
    sum.frames_processed = frames_processed_;
    sum.frames_dropped = frames_dropped_;
    if (have_first_in_ && frames_in_ > 1 && last_in_ > first_in_)
      sum.fps_in = static_cast<double>(frames_in_ - 1) / seconds(last_in_ - first_in_);
    if (have_first_out_) {
      const auto start = have_first_in_ ? std::min(first_in_, first_out_) : first_out_;
      const auto end = have_first_in_ ? std::max(last_in_, last_out_) : last_out_;
      sum.duration_s = seconds(end - start);
      if (have_first_in_ && last_out_ > start) {
        // From the first capture to the last finished frame: includes the pipeline's fill latency.
        sum.fps = static_cast<double>(frames_processed_) / seconds(last_out_ - start);
      } else if (!have_first_in_ && frames_processed_ > 1 && last_out_ > first_out_) {
        sum.fps = static_cast<double>(frames_processed_ - 1) / seconds(last_out_ - first_out_);
      }
    } else if (have_first_in_) {
      sum.duration_s = seconds(last_in_ - first_in_);
    }
  }
  for (int s = 0; s < kNumStages; ++s) {
    auto& v = copies[s];
    auto& st = sum.stages[s];
    st.count = v.size();
    if (v.empty()) continue;
    double total = 0;
    for (double x : v) total += x;
    st.mean = total / static_cast<double>(v.size());
    st.pct = percentiles(v);
    st.min = v.front();
    st.max = v.back();
  }
  return sum;
}

}  // namespace sp::pipeline
