// Drawing people on a frame as `sparsepose run` and `predict` draw them (Ultralytics' style): boxes
// with "person 0.87" labels, the skeleton, confident keypoints; tracked people in their ID's colour
// with "person #7 0.87". Draws in place, in the frame's own pixel format.
#pragma once

#include <span>

#include "sparsepose/image.h"
#include "sparsepose/person.h"

namespace sparsepose {

struct DrawOptions {
  float keypoint_conf = 0.5f;  // keypoints (and limbs whose ends are) below this confidence are not drawn
  bool boxes = true;
  bool labels = true;          // "person 0.87" above each box (needs boxes)
  bool skeleton = true;
  bool keypoints = true;
  int line_width = 0;          // pixels; 0: scaled with the frame size
};

// Throws Error on a bad frame (as PoseEstimator::run) or a negative line width.
void draw(const MutableImageView& frame, std::span<const Person> persons, const DrawOptions& options = {});

}  // namespace sparsepose
