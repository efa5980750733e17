#include "sparsepose/draw.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "api/frame_mat.h"
#include "api/persons.h"
#include "core/error.h"
#include "imaging/overlay.h"
#include "sparsepose/error.h"

namespace sparsepose {

void draw(const MutableImageView& frame, std::span<const Person> persons, const DrawOptions& options) {
  if (options.line_width < 0)
    throw Error("draw: line_width must be >= 0 (0: scaled with the frame), got " + std::to_string(options.line_width));
  sp::api::FrameMat f = sp::api::frame_mat(frame);
  sp::imaging::OverlayOptions o;
  o.keypoint_conf_threshold = options.keypoint_conf;
  o.draw_boxes = options.boxes;
  o.draw_labels = options.labels;
  o.draw_limbs = options.skeleton;
  o.draw_keypoints = options.keypoints;
  o.line_width = options.line_width;
  o.rgb = f.order == sp::imaging::ChannelOrder::kRgb;

  std::vector<sp::models::PoseDetection> detections;
  std::vector<std::int64_t> ids;  // only when every person is tracked: they are drawn in their ID's colour
  detections.reserve(persons.size());
  bool tracked = !persons.empty();
  for (const Person& p : persons) {
    detections.push_back(sp::api::to_detection(p));
    tracked = tracked && p.id >= 0;
  }
  if (tracked)
    for (const Person& p : persons) ids.push_back(p.id);
  try {
    sp::imaging::draw_detections(f.mat, detections, ids, o);
  } catch (const sp::Error& e) {
    throw Error(std::string("draw: ") + e.what());
  } catch (const cv::Exception& e) {
    throw Error(std::string("draw: ") + e.what());
  }
}

}  // namespace sparsepose
