// Class-agnostic non-maximum suppression, as Ultralytics' non_max_suppression(agnostic=True) with
// torchvision.ops.nms: candidates sorted by score (descending; equal scores keep their input order),
// at most max_candidates of them considered (Ultralytics' max_nms), a candidate is suppressed when its
// IoU with an already kept box is strictly greater than iou_threshold, and at most max_detections are
// kept. IoU = inter / (area_a + area_b - inter) on xyxy boxes; a zero union gives IoU 0.
#pragma once

#include <span>
#include <vector>

#include "models/pose_types.h"

namespace sp::models {

struct NmsOptions {
  float iou_threshold = 0.7f;
  int max_detections = 300;
  int max_candidates = 30000;
};

float box_iou(const Box& a, const Box& b);

// Reusable NMS: keeps its scratch buffers between calls, so steady-state use does not allocate.
class NonMaxSuppression {
 public:
  explicit NonMaxSuppression(NmsOptions options = {}) : options_(options) {}

  const NmsOptions& options() const { return options_; }
  void set_options(const NmsOptions& options) { options_ = options; }

  // Indices into boxes/scores of the kept boxes, in descending score order (ties: lower index first).
  // boxes.size() must equal scores.size(); NaN scores are never kept. The returned reference is valid
  // until the next call.
  const std::vector<int>& select(std::span<const Box> boxes, std::span<const float> scores);

  // Filters dets in place to the kept ones, in descending score order.
  void run(std::vector<PoseDetection>& dets);

 private:
  NmsOptions options_;
  std::vector<int> order_;
  std::vector<int> kept_;
  std::vector<Box> kept_boxes_;
  std::vector<float> kept_areas_;
  std::vector<Box> boxes_;
  std::vector<float> scores_;
  std::vector<PoseDetection> tmp_;
};

// One-shot conveniences (allocate their scratch).
std::vector<int> nms_indices(std::span<const Box> boxes, std::span<const float> scores,
                             const NmsOptions& options = {});
void nms(std::vector<PoseDetection>& dets, const NmsOptions& options = {});

}  // namespace sp::models
