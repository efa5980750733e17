// A pose model ready to run: the graph loaded once, the head found, a Session compiled for the input
// size, and the decode (head branches in float, or the exported output as a fallback) + NMS + mapping
// back to original pixels. The caller letterboxes straight into input_nhwc().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/session.h"
#include "models/letterbox.h"
#include "models/nms.h"
#include "models/pose_decode.h"
#include "models/pose_head.h"

namespace sp::models {

struct PoseModelOptions {
  int threads = 0;
  Isa isa = best_isa();
  int imgsz = 0;                   // square input side; 0: the size the model was exported with (640 if dynamic)
  bool use_exported_output = false;  // decode the graph's [1, 56, N] output instead of the head branches
  bool profile = false;
  bool integer = false;            // QDQ models: quantized layers on integer kernels, u8 input (else exact float emulation)
  passes::Bf16Convs bf16_convs = passes::Bf16Convs::kFromModel;  // float convs in bf16 (SessionOptions::bf16_convs)
  KernelMode kernels = KernelMode::kAuto;  // dense / sparse conv kernels per layer (SessionOptions::kernels)
  double kernel_cache_busy_limit = kBusyPreemptionsPerSecond;  // SessionOptions::kernel_cache_busy_limit
};

class PoseModel {
 public:
  PoseModel(const Graph& graph, const PoseModelOptions& options);
  // With the head already found (on the whole model): for a graph cut at cached activations
  // (prune::WaveRunner), whose shapes find_pose_head cannot work out at another input size.
  PoseModel(const Graph& graph, const PoseModelOptions& options, const PoseHead& head);

  int input_width() const { return input_w_; }
  int input_height() const { return input_h_; }
  // NHWC [H][W][3] RGB floats in 0..1, to be filled before infer() — or, when the model's first layer
  // runs in integer (input_is_u8()), the quantized bytes session().input_u8(0) instead
  // (pipeline::letterbox_into handles both).
  float* input_nhwc() { return session_->input_data(0); }
  bool input_is_u8() const { return session_->input_dtype(0) == DType::kUInt8; }

  // Runs the engine only: this is the pure model time that `bench` and the HUD report.
  void infer() { session_->run(); }

  // Decodes the last infer() into detections in original-image pixels (NMS applied). `clip` keeps
  // boxes and keypoints inside the image (Ultralytics); COCO evaluation of the reference protocol
  // does not clip.
  void decode(float conf_threshold, const NmsOptions& nms, const LetterboxGeometry& geometry,
              std::vector<PoseDetection>& out, bool clip = true);

  // Every anchor of the last infer(), in anchor order (no threshold, no NMS), in letterboxed input
  // pixels: two models' outputs compared anchor by anchor (optimize's sensitivity measure). Head
  // decode only (throws sp::Error on the exported-output path).
  void decode_all_anchors(std::vector<PoseDetection>& out);

  // "head" (branches decoded in float) or "exported-output".
  const char* decode_path() const { return head_ ? "head" : "exported-output"; }
  const std::optional<PoseHead>& head() const { return head_; }
  Session& session() { return *session_; }
  const Session& session() const { return *session_; }

 private:
  void init(const Graph& graph, const PoseModelOptions& options);  // head_ set (or not) first
  void decode_head(float conf_threshold, std::vector<PoseDetection>& out);

  std::optional<PoseHead> head_;
  std::unique_ptr<Session> session_;
  int input_w_ = 0, input_h_ = 0;
  NonMaxSuppression nms_;
};

// Loads a model file and checks that it looks like a pose model. Throws sp::Error.
Graph load_pose_graph(const std::string& path);

}  // namespace sp::models
