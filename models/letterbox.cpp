#include "models/letterbox.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace sp::models {
namespace {

// Python's round(): to nearest, ties to even. std::nearbyint follows the current rounding mode, so
// do it explicitly rather than depend on it.
double round_half_even(double v) {
  const double f = std::floor(v);
  const double diff = v - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1.0;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

inline float clampf(float v, float hi) { return std::clamp(v, 0.0f, hi); }

}  // namespace

LetterboxGeometry compute_letterbox(int src_w, int src_h, int target_w, int target_h) {
  if (src_w <= 0 || src_h <= 0)
    throw Error("letterbox: image size must be positive, got " + std::to_string(src_w) + "x" +
                std::to_string(src_h));
  if (target_w <= 0 || target_h <= 0)
    throw Error("letterbox: target size must be positive, got " + std::to_string(target_w) + "x" +
                std::to_string(target_h));
  LetterboxGeometry g;
  g.src_w = src_w;
  g.src_h = src_h;
  g.target_w = target_w;
  g.target_h = target_h;
  const double r = std::min(static_cast<double>(target_h) / src_h, static_cast<double>(target_w) / src_w);
  g.gain = r;
  g.resized_w = std::clamp(static_cast<int>(round_half_even(src_w * r)), 1, target_w);
  g.resized_h = std::clamp(static_cast<int>(round_half_even(src_h * r)), 1, target_h);
  const double dw = (target_w - g.resized_w) / 2.0;
  const double dh = (target_h - g.resized_h) / 2.0;
  g.pad_top = static_cast<int>(round_half_even(dh - 0.1));
  g.pad_bottom = static_cast<int>(round_half_even(dh + 0.1));
  g.pad_left = static_cast<int>(round_half_even(dw - 0.1));
  g.pad_right = static_cast<int>(round_half_even(dw + 0.1));
  return g;
}

void to_original(const LetterboxGeometry& g, PoseDetection& det, bool clip) {
  const float w = static_cast<float>(g.src_w);
  const float h = static_cast<float>(g.src_h);
  Box& b = det.box;
  b = Box{static_cast<float>(g.original_x(b.x1)), static_cast<float>(g.original_y(b.y1)),
          static_cast<float>(g.original_x(b.x2)), static_cast<float>(g.original_y(b.y2))};
  for (Keypoint& k : det.keypoints) {
    k.x = static_cast<float>(g.original_x(k.x));
    k.y = static_cast<float>(g.original_y(k.y));
  }
  if (!clip) return;
  b = Box{clampf(b.x1, w), clampf(b.y1, h), clampf(b.x2, w), clampf(b.y2, h)};
  for (Keypoint& k : det.keypoints) {
    k.x = clampf(k.x, w);
    k.y = clampf(k.y, h);
  }
}

void to_original(const LetterboxGeometry& g, std::span<PoseDetection> dets, bool clip) {
  for (PoseDetection& d : dets) to_original(g, d, clip);
}

}  // namespace sp::models
