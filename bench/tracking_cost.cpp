// Cost of tracking + keypoint smoothing per frame with 1, 5 and 20 people (the budget: 0.2 ms
// per frame with 20). People sway back and forth across the image, so some overlap and cross, with
// detection noise; each benchmark iteration is one frame through PoseTracker::update, smoothing on
// (and, for comparison, off).
// Usage: bench_tracking_cost [--benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/tracking_scenes.h"

namespace {

using namespace sp::tracking;

scenes::Scene crowd(int n) {
  std::mt19937 rng(static_cast<uint32_t>(100 + n));
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<scenes::Person> people;
  for (int i = 0; i < n; ++i) {
    const float h = 120.0f + 200.0f * u(rng);
    const float x0 = 100.0f + (scenes::kImageW - 200.0f) * u(rng);
    const float feet = h + 10.0f + (scenes::kImageH - h - 20.0f) * u(rng);
    const float amp = 50.0f + 150.0f * u(rng), w = 0.5f + 1.5f * u(rng), phase = 6.28f * u(rng);
    const scenes::Pose pose = i % 2 ? scenes::Pose::kArmsUp : scenes::Pose::kArmsDown;
    people.push_back({i + 1, 0, 1e9, [=](double t) {
                        return scenes::Placement{x0 + amp * std::sin(w * static_cast<float>(t) + phase), feet, h, pose};
                      }});
  }
  return scenes::make_scene("crowd", people, {.duration_s = 10.0, .seed = 7});
}

void run(benchmark::State& state, bool smooth) {
  const scenes::Scene s = crowd(static_cast<int>(state.range(0)));
  PoseTracker tracker(TrackerOptions{}, smooth ? std::optional<PoseSmootherOptions>(PoseSmootherOptions{}) : std::nullopt);
  const double period = s.frames.back().t + 1.0 / 30.0;
  size_t i = 0, loops = 0, people = 0;
  for (auto _ : state) {
    const scenes::Frame& f = s.frames[i];
    const auto& out = tracker.update(f.dets, f.t + period * static_cast<double>(loops));
    people += out.size();
    benchmark::DoNotOptimize(out.data());
    if (++i == s.frames.size()) i = 0, ++loops;
  }
  state.counters["tracked_per_frame"] = benchmark::Counter(static_cast<double>(people), benchmark::Counter::kAvgIterations);
}

void BM_TrackAndSmooth(benchmark::State& state) { run(state, true); }
void BM_TrackOnly(benchmark::State& state) { run(state, false); }

}  // namespace

BENCHMARK(BM_TrackAndSmooth)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrackOnly)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMicrosecond);
