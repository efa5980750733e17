// The per-person JSON shape shared by predict and run: {"box": [x1, y1, x2, y2], "score",
// "keypoints": [[x, y, conf] x17]} in original pixels. Defined once in pipeline/detections_json.h so
// `predict --json` and `run --json` (pipeline/jsonl_writer) format persons identically.
#pragma once

#include "pipeline/detections_json.h"

namespace sp::app {

using pipeline::persons_json;

}  // namespace sp::app
