// StageStats: nearest-rank percentiles, the rolling window, whole-run summary, FPS windows, snapshots
// taken while another thread records.
#include "pipeline/stage_stats.h"

#include "pipeline/spsc_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace sp::pipeline {
namespace {

using namespace std::chrono_literals;

StageTimes times_with(Stage s, double ms) {
  StageTimes t;
  t[s] = ms;
  return t;
}

TEST(StageStats, NearestRankMatchesTheDefinition) {
  std::vector<double> v;
  EXPECT_EQ(nearest_rank(v, 50), 0.0);
  v = {7.0};
  EXPECT_EQ(nearest_rank(v, 50), 7.0);
  EXPECT_EQ(nearest_rank(v, 99), 7.0);
  v.clear();
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(nearest_rank(v, 50), 50.0);
  EXPECT_EQ(nearest_rank(v, 95), 95.0);
  EXPECT_EQ(nearest_rank(v, 99), 99.0);
  EXPECT_EQ(nearest_rank(v, 100), 100.0);
  EXPECT_EQ(nearest_rank(v, 0), 1.0);
  // Against ceil(p/100 * n) - 1 for every n up to 300.
  for (int n = 1; n <= 300; ++n) {
    std::vector<double> s(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)] = i;
    for (int p : {50, 95, 99}) {
      const auto k = static_cast<long>(std::ceil(p / 100.0 * n - 1e-9)) - 1;
      ASSERT_EQ(nearest_rank(s, p), static_cast<double>(k)) << "n " << n << " p " << p;
    }
  }
  std::vector<double> shuffled = {5, 1, 4, 2, 3};
  Percentiles p = percentiles(shuffled);
  EXPECT_EQ(p.p50, 3.0);
  EXPECT_EQ(p.p95, 5.0);
  EXPECT_EQ(p.p99, 5.0);
}

TEST(StageStats, RollingWindowKeepsTheLastFrames) {
  StageStats st({.window_frames = 10, .fps_window_s = 1.0, .reserve_frames = 100});
  for (int i = 1; i <= 25; ++i) st.record(times_with(Stage::kModel, i));
  StatsSnapshot snap = st.snapshot();
  const StageWindow& m = snap[Stage::kModel];
  EXPECT_EQ(m.count, 10u);  // samples 16..25
  EXPECT_EQ(m.pct.p50, 20.0);
  EXPECT_EQ(m.pct.p95, 25.0);
  EXPECT_EQ(m.pct.p99, 25.0);
  EXPECT_DOUBLE_EQ(m.mean, 20.5);
  EXPECT_EQ(m.last, 25.0);
  EXPECT_EQ(snap.frames_processed, 25u);
  // Stages that did not run (0) add no samples.
  EXPECT_EQ(snap[Stage::kRender].count, 0u);
  EXPECT_EQ(snap[Stage::kRender].pct.p50, 0.0);
}

TEST(StageStats, WholeRunSummaryUsesEverySample) {
  StageStats st({.window_frames = 16, .fps_window_s = 1.0, .reserve_frames = 10});  // grows past the reserve
  std::vector<double> values;
  std::mt19937 rng(3);
  for (int i = 1; i <= 1000; ++i) values.push_back(i);
  std::shuffle(values.begin(), values.end(), rng);
  for (double v : values) {
    StageTimes t;
    t[Stage::kModel] = v;
    t[Stage::kEndToEnd] = 2 * v;
    t[Stage::kDecode] = std::nan("");  // ignored
    st.record(t);
  }
  st.set_dropped(7);
  RunSummary s = st.summary();
  EXPECT_EQ(s.frames_processed, 1000u);
  EXPECT_EQ(s.frames_dropped, 7u);
  EXPECT_EQ(s[Stage::kModel].count, 1000u);
  EXPECT_EQ(s[Stage::kModel].pct.p50, 500.0);
  EXPECT_EQ(s[Stage::kModel].pct.p95, 950.0);
  EXPECT_EQ(s[Stage::kModel].pct.p99, 990.0);
  EXPECT_EQ(s[Stage::kModel].min, 1.0);
  EXPECT_EQ(s[Stage::kModel].max, 1000.0);
  EXPECT_DOUBLE_EQ(s[Stage::kModel].mean, 500.5);
  EXPECT_EQ(s[Stage::kEndToEnd].pct.p99, 1980.0);
  EXPECT_EQ(s[Stage::kDecode].count, 0u);
  // The rolling window saw only the last 16.
  EXPECT_EQ(st.snapshot()[Stage::kModel].count, 16u);
}

TEST(StageStats, FramesPerSecondOverASlidingWindow) {
  StageStats st({.window_frames = 120, .fps_window_s = 1.0, .reserve_frames = 1000});
  const auto t0 = Clock::now();
  const auto in_period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / 30));
  const auto out_period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / 20));
  for (int i = 0; i < 90; ++i) st.record_input(t0 + i * in_period);  // 3 s at 30 fps
  for (int i = 0; i < 60; ++i) st.record(times_with(Stage::kModel, 1.0), t0 + 10ms + i * out_period);  // 20 fps
  const auto end = t0 + 89 * in_period;
  StatsSnapshot snap = st.snapshot(end);
  EXPECT_NEAR(snap.fps_in, 30.0, 0.01);
  EXPECT_NEAR(snap.fps_out, 20.0, 0.01);
  EXPECT_EQ(snap.frames_in, 90u);
  // A stalled source reads 0 once the window has passed.
  EXPECT_EQ(st.snapshot(end + 2s).fps_in, 0.0);
  EXPECT_EQ(st.snapshot(end + 2s).fps_out, 0.0);

  RunSummary s = st.summary();
  EXPECT_NEAR(s.fps_in, 30.0, 0.01);
  const double span = std::chrono::duration<double>(59 * out_period + 10ms).count();
  EXPECT_NEAR(s.fps, 60 / span, 1e-6);
  EXPECT_NEAR(s.duration_s, std::chrono::duration<double>(89 * in_period).count(), 1e-6);
}

TEST(StageStats, SummaryFpsWithoutInputEvents) {
  StageStats st;
  const auto t0 = Clock::now();
  for (int i = 0; i < 11; ++i) st.record(times_with(Stage::kModel, 1.0), t0 + i * 100ms);
  EXPECT_NEAR(st.summary().fps, 10.0, 1e-9);
}

TEST(StageStats, SnapshotsWhileAnotherThreadRecords) {
  StageStats st({.window_frames = 120, .fps_window_s = 0.5, .reserve_frames = 1 << 16});
  constexpr int kFrames = 50000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kFrames; ++i) {
      StageTimes t;
      for (int s = 0; s < kNumStages; ++s) t.ms[s] = 1.0 + s;
      st.record_input();
      st.record(t);
    }
    done = true;
  });
  uint64_t last_seen = 0;
  int snapshots = 0;
  while (!done.load()) {
    StatsSnapshot snap = st.snapshot();
    EXPECT_GE(snap.frames_processed, last_seen);
    last_seen = snap.frames_processed;
    if (snap[Stage::kModel].count > 0) {
      EXPECT_EQ(snap[Stage::kModel].pct.p95, 1.0 + 3);
    }
    ++snapshots;
  }
  writer.join();
  RunSummary s = st.summary();
  EXPECT_EQ(s.frames_processed, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(s.frames_in, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(s[Stage::kRender].pct.p50, 6.0);
  EXPECT_GT(snapshots, 0);
}

// The ring with real frames (cv::Mat pixels) feeding the statistics, as capture -> worker does.
TEST(SpscRingFrames, NewestWinsFramesFeedTheStatistics) {
  SpscRing<Frame> ring(4);
  StageStats st;
  constexpr int kFrames = 2000;
  std::thread capture([&] {
    for (int i = 0; i < kFrames; ++i) {
      Frame f;
      f.bgr = cv::Mat(48, 64, CV_8UC3, cv::Scalar(i % 256, 0, 0));
      f.index = i;
      f.captured = Clock::now();
      f.enqueued = f.captured;
      st.record_input(f.captured);
      ring.push_overwrite(std::move(f));
      st.set_dropped(ring.dropped());
    }
    ring.close();
  });
  Frame f;
  int64_t last = -1, received = 0, bad = 0;
  while (ring.pop(f)) {
    if (f.index <= last || f.bgr.at<cv::Vec3b>(10, 10)[0] != f.index % 256) ++bad;
    last = f.index;
    f.times[Stage::kQueueWait] = ms_between(f.enqueued, Clock::now());
    f.times[Stage::kEndToEnd] = ms_between(f.captured, Clock::now());
    st.record(f.times);
    ++received;
  }
  capture.join();
  st.set_dropped(ring.dropped());
  RunSummary s = st.summary();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(last, kFrames - 1);
  EXPECT_EQ(s.frames_in, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(s.frames_processed, static_cast<uint64_t>(received));
  EXPECT_EQ(s.frames_processed + s.frames_dropped, static_cast<uint64_t>(kFrames));
}

}  // namespace
}  // namespace sp::pipeline
