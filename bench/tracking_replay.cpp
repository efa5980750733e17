// Replays a run's detections through the tracker (and smoother) without running the model again, so
// bench/tracking_measure.py can compare raw and smoothed keypoints, and sweep parameters, at the cost
// of one model pass per clip. The input is `sparsepose run --no-track --conf L --json IN.jsonl` (every
// detection down to the tracker's low score L); the output has the shape of `run --json` with tracking
// on: the same PoseTracker, options and timestamps the pipeline uses (pipeline/pose_pipeline.cpp), so
// the IDs and keypoints are those `run` would write, up to the input's rounding (0.01 px; checked by
// tracking_measure.py --check against a real `run`).
// Usage: bench_tracking_replay IN.jsonl OUT.jsonl [--smooth] [--conf C] [--smooth-min-cutoff HZ]
//        [--smooth-beta B] [--smooth-d-cutoff HZ] [--smooth-min-conf C] [--track-buffer S] [--track-low L]
//        [--track-new S] [--track-match M] [--track-oks-weight W] [--track-min-hits N]
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "pipeline/detections_json.h"
#include "tracking/pose_tracker.h"

namespace {

using sp::models::PoseDetection;

PoseDetection person_from(const nlohmann::json& p) {
  PoseDetection d;
  d.box = {p["box"][0].get<float>(), p["box"][1].get<float>(), p["box"][2].get<float>(), p["box"][3].get<float>()};
  d.score = p["score"].get<float>();
  for (int k = 0; k < sp::models::kNumKeypoints; ++k) {
    const auto& kp = p["keypoints"][k];
    d.keypoints[k] = {kp[0].get<float>(), kp[1].get<float>(), kp[2].get<float>()};
  }
  return d;
}

int usage() {
  std::fprintf(stderr, "usage: bench_tracking_replay IN.jsonl OUT.jsonl [--smooth] [--conf C] [tracker/smoother options]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  sp::tracking::TrackerOptions t;
  sp::tracking::PoseSmootherOptions s;
  bool smooth = false;
  float conf = 0.25f;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smooth") {
      smooth = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const double v = std::atof(argv[++i]);
    if (a == "--conf") conf = static_cast<float>(v);
    else if (a == "--smooth-min-cutoff") s.filter.min_cutoff_hz = v;
    else if (a == "--smooth-beta") s.filter.beta = v;
    else if (a == "--smooth-d-cutoff") s.filter.d_cutoff_hz = v;
    else if (a == "--smooth-min-conf") s.min_conf = static_cast<float>(v);
    else if (a == "--track-buffer") t.track_buffer_s = v;
    else if (a == "--track-low") t.low_score = static_cast<float>(v);
    else if (a == "--track-new") t.new_track_score = static_cast<float>(v);
    else if (a == "--track-match") t.match_similarity = static_cast<float>(v);
    else if (a == "--track-oks-weight") t.oks_weight = static_cast<float>(v);
    else if (a == "--track-min-hits") t.min_hits = static_cast<int>(v);
    else return usage();
  }
  t.high_score = conf;  // as the pipeline does
  t.low_score = std::min(t.low_score, conf);
  try {
    sp::tracking::PoseTracker tracker(t, smooth ? std::optional(s) : std::nullopt);
    std::ifstream in(argv[1]);
    if (!in) throw std::runtime_error(std::string("cannot open ") + argv[1]);
    std::ofstream out(argv[2]);
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[2]);
    std::string line;
    std::vector<PoseDetection> dets, shown;
    std::vector<int64_t> ids;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      dets.clear();
      for (const auto& p : j["persons"]) dets.push_back(person_from(p));
      shown.clear();
      ids.clear();
      for (const auto& p : tracker.update(dets, j["pts_ms"].get<double>() / 1000.0)) {
        shown.push_back(p.pose);
        ids.push_back(p.id);
      }
      nlohmann::ordered_json o;
      o["frame"] = j["frame"];
      o["pts_ms"] = j["pts_ms"];
      o["persons"] = sp::pipeline::persons_json(shown, ids);
      out << o.dump() << '\n';
    }
    const auto& st = tracker.stats();
    std::printf("{\"tracks\": {\"started\": %lld, \"ended\": %lld, \"max_concurrent\": %d, \"active_at_end\": %d}}\n",
                static_cast<long long>(st.started), static_cast<long long>(st.ended), st.max_concurrent, st.active);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tracking_replay: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
