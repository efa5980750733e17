// Internal detections <-> public persons. The public types mirror the internal ones field for field but
// are their own, so installed headers carry no internal type.
#pragma once

#include <cstdint>

#include "models/pose_types.h"
#include "sparsepose/person.h"

namespace sp::api {

inline sparsepose::Person to_person(const sp::models::PoseDetection& d, std::int64_t id) {
  sparsepose::Person p;
  p.box = {d.box.x1, d.box.y1, d.box.x2, d.box.y2};
  p.score = d.score;
  for (int k = 0; k < sparsepose::kNumKeypoints; ++k) p.keypoints[k] = {d.keypoints[k].x, d.keypoints[k].y, d.keypoints[k].conf};
  p.id = id;
  return p;
}

inline sp::models::PoseDetection to_detection(const sparsepose::Person& p) {
  sp::models::PoseDetection d;
  d.box = {p.box.x1, p.box.y1, p.box.x2, p.box.y2};
  d.score = p.score;
  for (int k = 0; k < sparsepose::kNumKeypoints; ++k) d.keypoints[k] = {p.keypoints[k].x, p.keypoints[k].y, p.keypoints[k].conf};
  return d;
}

static_assert(sparsepose::kNumKeypoints == sp::models::kNumKeypoints);

}  // namespace sp::api
