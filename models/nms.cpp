#include "models/nms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "core/error.h"

namespace sp::models {
namespace {

inline float iou_with_areas(const Box& a, float area_a, const Box& b, float area_b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = w * h;
  const float uni = area_a + area_b - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

}  // namespace

float box_iou(const Box& a, const Box& b) { return iou_with_areas(a, a.area(), b, b.area()); }

const std::vector<int>& NonMaxSuppression::select(std::span<const Box> boxes,
                                                  std::span<const float> scores) {
  if (boxes.size() != scores.size())
    throw Error("nms: " + std::to_string(boxes.size()) + " boxes but " +
                std::to_string(scores.size()) + " scores");
  kept_.clear();
  kept_boxes_.clear();
  kept_areas_.clear();
  const int max_det = options_.max_detections;
  if (max_det <= 0 || boxes.empty()) return kept_;

  order_.clear();
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (!std::isnan(scores[i])) order_.push_back(static_cast<int>(i));
  // Descending score, ties by input index: a total order, so the result does not depend on the sort.
  std::sort(order_.begin(), order_.end(), [&](int a, int b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  if (options_.max_candidates > 0 && order_.size() > static_cast<std::size_t>(options_.max_candidates))
    order_.resize(static_cast<std::size_t>(options_.max_candidates));

  const float thr = options_.iou_threshold;
  for (int i : order_) {
    const Box& b = boxes[i];
    const float area = b.area();
    bool keep = true;
    for (std::size_t k = 0; k < kept_boxes_.size(); ++k) {
      if (iou_with_areas(kept_boxes_[k], kept_areas_[k], b, area) > thr) {
        keep = false;
        break;
      }
    }
    if (!keep) continue;
    kept_.push_back(i);
    kept_boxes_.push_back(b);
    kept_areas_.push_back(area);
    if (static_cast<int>(kept_.size()) >= max_det) break;
  }
  return kept_;
}

void NonMaxSuppression::run(std::vector<PoseDetection>& dets) {
  boxes_.clear();
  scores_.clear();
  for (const PoseDetection& d : dets) {
    boxes_.push_back(d.box);
    scores_.push_back(d.score);
  }
  const std::vector<int>& keep = select(boxes_, scores_);
  tmp_.clear();
  for (int i : keep) tmp_.push_back(dets[i]);
  dets.swap(tmp_);
}

std::vector<int> nms_indices(std::span<const Box> boxes, std::span<const float> scores,
                             const NmsOptions& options) {
  NonMaxSuppression n(options);
  return n.select(boxes, scores);
}

void nms(std::vector<PoseDetection>& dets, const NmsOptions& options) {
  NonMaxSuppression n(options);
  n.run(dets);
}

}  // namespace sp::models
