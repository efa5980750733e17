// Letterbox geometry exactly as Ultralytics' LetterBox(auto=False, scaleup=True, center=True):
//   r = min(target_h / h, target_w / w)                     (up-scaling allowed)
//   resized = (round(w * r), round(h * r))                  (Python round: half to even)
//   dw, dh = (target_w - resized_w) / 2, (target_h - resized_h) / 2
//   top = round(dh - 0.1), bottom = round(dh + 0.1), left = round(dw - 0.1), right = round(dw + 0.1)
// and the inverse mapping of Ultralytics' scale_boxes/scale_coords with the letterbox's own ratio_pad:
// subtract (left, top), divide by r, clip x to [0, w] and y to [0, h].
//
// One deviation, for degenerate inputs only: a resized side that would round to 0 (an extreme aspect
// ratio such as 10000 x 1 into 640 x 640) is made 1 pixel, where Ultralytics would fail inside
// cv2.resize.
#pragma once

#include <span>

#include "models/pose_types.h"

namespace sp::models {

struct LetterboxGeometry {
  int src_w = 0;  // original image
  int src_h = 0;
  int target_w = 0;  // model input
  int target_h = 0;
  double gain = 1.0;  // r: input pixels per original pixel
  int resized_w = 0;  // the resized image inside the target
  int resized_h = 0;
  int pad_left = 0;
  int pad_top = 0;
  int pad_right = 0;
  int pad_bottom = 0;

  // Whether the image must be resized (Ultralytics resizes only when the size changes).
  bool needs_resize() const { return resized_w != src_w || resized_h != src_h; }

  // Input (letterboxed) pixels -> original pixels, unclipped.
  double original_x(double x) const { return (x - pad_left) / gain; }
  double original_y(double y) const { return (y - pad_top) / gain; }
  // Original pixels -> input (letterboxed) pixels.
  double input_x(double x) const { return x * gain + pad_left; }
  double input_y(double y) const { return y * gain + pad_top; }
};

// Throws sp::Error when a size is not positive.
LetterboxGeometry compute_letterbox(int src_w, int src_h, int target_w, int target_h);

// Maps a detection (box and keypoints) from input pixels to original image pixels and, when `clip`,
// clips box corners and keypoints to [0, src_w] x [0, src_h] (Ultralytics' clip_boxes / clip_coords,
// the default). Scores and keypoint confidences are unchanged. clip = false leaves coordinates
// unclipped, which is how the shared ONNX Runtime reference results
// (../shared/reference/ort-fp32-dev.results.json) were produced.
void to_original(const LetterboxGeometry& g, PoseDetection& det, bool clip = true);
void to_original(const LetterboxGeometry& g, std::span<PoseDetection> dets, bool clip = true);

}  // namespace sp::models
