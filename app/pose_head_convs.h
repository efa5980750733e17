// The convs of a YOLO pose head's branches (Ultralytics' cv2.i / cv3.i / cv4.i: from the neck's
// feature maps to the nine outputs models::find_pose_head names), found by structure: a conv belongs
// to a branch when exactly one head output can be reached from it. Neck and backbone convs feed every
// branch of their scale (three or more outputs); the decode tail reaches none.
#pragma once

#include <set>
#include <string>

#include "core/graph.h"
#include "models/pose_head.h"

namespace sp::app {

std::set<std::string> pose_head_convs(const Graph& graph, const models::PoseHead& head);

}  // namespace sp::app
