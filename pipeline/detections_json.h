// The per-person JSON shape shared by `predict --json` and `run --json`: {"box": [x1, y1, x2, y2],
// "score", "keypoints": [[x, y, conf] x17]} in original pixels; coordinates rounded to 2 decimals,
// scores to 5, keypoint confidences to 4. One definition so both outputs stay identical
// (app/detections_json.h re-exports it). With tracking, `ids` (parallel to dets) puts each person's
// track ID first: {"id", "box", ...}.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <span>

#include "models/pose_types.h"

namespace sp::pipeline {

inline nlohmann::ordered_json persons_json(std::span<const models::PoseDetection> dets,
                                           std::span<const int64_t> ids = {}) {
  auto r2 = [](float v) { return std::round(v * 100.0) / 100.0; };
  nlohmann::ordered_json persons = nlohmann::ordered_json::array();
  for (size_t i = 0; i < dets.size(); ++i) {
    const auto& d = dets[i];
    nlohmann::ordered_json p;
    if (i < ids.size()) p["id"] = ids[i];
    p["box"] = {r2(d.box.x1), r2(d.box.y1), r2(d.box.x2), r2(d.box.y2)};
    p["score"] = std::round(d.score * 1e5) / 1e5;
    nlohmann::ordered_json kps = nlohmann::ordered_json::array();
    for (const auto& k : d.keypoints) kps.push_back({r2(k.x), r2(k.y), std::round(k.conf * 1e4) / 1e4});
    p["keypoints"] = kps;
    persons.push_back(p);
  }
  return persons;
}

}  // namespace sp::pipeline
