// Finding the Ultralytics pose head in a graph by structure: per scale (stride 8, 16, 32) the final
// convolutions of the box-distribution (cv2.i, 4·reg_max channels), score (cv3.i, classes) and
// keypoint (cv4.i, keypoints × dims) branches. Names are not used: the convolutions are the ones whose
// output goes, without activation (optionally through a QuantizeLinear/DequantizeLinear pair), into
// the exported decode tail, on feature maps of input/8, /16 and /32.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/graph.h"

namespace sp::models {

struct HeadBranches {
  int stride = 0;
  std::string box, score, kpt;  // the value names to stop the graph at
  int box_channels = 0, score_channels = 0, kpt_channels = 0;
};

struct PoseHead {
  std::vector<HeadBranches> scales;  // ascending stride
  int reg_max = 16;
  int num_keypoints = 17;
  int keypoint_dims = 3;
  std::vector<std::string> output_names() const;
};

// `input_hw` is the size the model was exported with (after fixing dynamic dims to 640).
std::optional<PoseHead> find_pose_head(const Graph& graph);

}  // namespace sp::models
