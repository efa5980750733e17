// `optimize --quantize int8`: post-training static quantization of a float pose model (pruned or not)
// into a standard ONNX QDQ model (contract in core/quantize/quantizable_model.h). Calibrates activation
// ranges on unlabelled frames letterboxed exactly as inference does, then keeps in float the convs
// whose quantization moves the decoded poses most (agreement with the float model; no labels), weighed
// against what keeping each one out of int8 (bf16 where the CPU has it natively, else fp32) costs in
// measured time: the fastest model within --max-drop, or the most accurate within --target-ms.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "app/calibration_frames.h"
#include "core/graph.h"
#include "models/pose_model.h"

namespace sp::app {

struct Int8Options {
  // minmax by default, as measured on yolo11n-pose with 80 unlabelled COCO images (pose / box AP on the
  // dev set; float 0.5591 / 0.7622). Every conv int8: minmax 0.5448 / 0.7554, percentile 99.99
  // 0.5440 / 0.7566, entropy 0.5385 / 0.7500. With the sensitivity pass: minmax 0.5538 / 0.7596 with 44
  // convs int8, entropy 0.5565 / 0.7604 with 30, percentile 0.5441 / 0.7609 with 38. Only minmax and
  // entropy meet float - 0.010 on both, and minmax keeps more convs int8.
  std::string method = "minmax";
  double percentile = 99.99;
  double max_drop = 0.01;
  double target_ms = 0;           // > 0: the most accurate model whose measured latency meets it
  std::string fallback = "auto";  // precision of the convs kept out of int8: auto (bf16 where native) | bf16 | fp32
  bool no_sensitivity = false;
};

struct Int8Result {
  std::string bytes;              // the QDQ model
  nlohmann::ordered_json report;  // the int8 keys of the --report JSON
  std::string summary;            // the summary for stderr, one line
  std::string details;            // one line per conv kept float
};

// Throws sp::Error (one line) for a bad option; `graph` is `model_bytes` imported, the float model
// that is quantized and the reference of the sensitivity pass.
void check_int8_options(const Int8Options& o);
Int8Result quantize_int8(const std::string& model_bytes, const std::string& origin, const Graph& graph,
                         const CalibrationFrames& calib, const Int8Options& o, const models::PoseModelOptions& po,
                         int in_w, int in_h);

}  // namespace sp::app
