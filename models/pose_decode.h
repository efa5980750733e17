// Decoding the Ultralytics YOLOv8/YOLO11 pose head into person detections, exactly as Ultralytics'
// Pose/Detect heads do it, in float:
//
//   anchors   (col + 0.5, row + 0.5) in feature-map cells, scale by scale (strides 8, 16, 32),
//             row-major within a scale: the same order as the exported output's N axis.
//   box       DFL: per side (l, t, r, b) softmax over reg_max bins, distance = sum_k p_k * k;
//             xyxy = ((ax - l) * s, (ay - t) * s, (ax + r) * s, (ay + b) * s)
//   score     sigmoid(logit) (max over classes when the score branch has more than one channel)
//   keypoint  x = (kx * 2 + (ax - 0.5)) * s, y = (ky * 2 + (ay - 0.5)) * s, conf = sigmoid(v)
//
// Outputs are in letterboxed input pixels, in anchor order, before NMS. Anchors are kept when
// score > conf_threshold (strictly, as Ultralytics' `conf > conf_thres`); the threshold is tested on
// the raw logit first, so rejected anchors cost one load and one compare.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "models/pose_types.h"

namespace sp::models {

// A strided, read-only view of one branch output at one scale. Element (channel c, pixel p), with
// p = row * w + col, lives at data[c * channel_stride + p * pixel_stride]. This covers NCHW
// (channel_stride = h*w, pixel_stride = 1), NHWC (channel_stride = 1, pixel_stride = channels), and
// NHWC slices of a wider buffer (pixel_stride = the buffer's channel count, data = slice start).
struct BranchView {
  const float* data = nullptr;
  std::ptrdiff_t channel_stride = 0;
  std::ptrdiff_t pixel_stride = 0;

  static BranchView nchw(const float* data, int h, int w) {
    return {data, static_cast<std::ptrdiff_t>(h) * w, 1};
  }
  // pixel_stride: floats from one pixel to the next (>= the branch's channel count).
  static BranchView nhwc(const float* data, int pixel_stride) { return {data, 1, pixel_stride}; }

  float at(int c, std::ptrdiff_t p) const { return data[c * channel_stride + p * pixel_stride]; }
};

// The three branch outputs of one scale (feature map h x w at `stride` input pixels per cell).
struct HeadScale {
  int stride = 0;
  int h = 0;
  int w = 0;
  BranchView box;    // 4 * reg_max channels, side-major: channel = side * reg_max + bin, sides l, t, r, b
  BranchView score;  // num_classes channels (1 for pose): logits
  BranchView kpt;    // kNumKeypoints * 3 channels: channel = k * 3 + {0: x, 1: y, 2: visibility logit}

  // Three separate NCHW tensors [C][h][w].
  static HeadScale nchw(int stride, int h, int w, const float* box, const float* score, const float* kpt) {
    return {stride, h, w, BranchView::nchw(box, h, w), BranchView::nchw(score, h, w), BranchView::nchw(kpt, h, w)};
  }
  // NHWC tensors; each pointer is its branch's channel 0 at pixel 0, each stride the floats between
  // consecutive pixels (the tensor's channel count, or a wider buffer's when the branches share one).
  static HeadScale nhwc(int stride, int h, int w, const float* box, int box_pixel_stride, const float* score,
                        int score_pixel_stride, const float* kpt, int kpt_pixel_stride) {
    return {stride, h, w, BranchView::nhwc(box, box_pixel_stride), BranchView::nhwc(score, score_pixel_stride),
            BranchView::nhwc(kpt, kpt_pixel_stride)};
  }
};

struct DecodeOptions {
  float conf_threshold = 0.25f;  // 0.25 for predict, 0.001 for evaluation
  int reg_max = 16;              // DFL bins per side; 1 means the box branch holds distances directly
  int num_classes = 1;           // channels of the score branch; the max is taken (class-agnostic)
};

// Decodes all scales into `out` (cleared first; its capacity is reused, so a caller that keeps the
// vector does not allocate in steady state). Throws sp::Error on an inconsistent description.
void decode_pose_head(std::span<const HeadScale> scales, const DecodeOptions& options,
                      std::vector<PoseDetection>& out);
std::vector<PoseDetection> decode_pose_head(std::span<const HeadScale> scales, float conf_threshold);

// Decodes the exported graph's output [1, channels, num_anchors], channel-major (out[c * N + a]):
// channels = 4 (cx, cy, w, h) + num_classes (scores, already sigmoid) + kNumKeypoints * 3
// (x, y, visibility already sigmoid), everything already in input pixels. num_classes is inferred
// from `channels` (56 for pose: one class). Same output convention as decode_pose_head.
void decode_exported_output(const float* out, int channels, int num_anchors, float conf_threshold,
                            std::vector<PoseDetection>& dets);
std::vector<PoseDetection> decode_exported_output(const float* out, int channels, int num_anchors,
                                                  float conf_threshold);

// Number of anchors for an input of w x h pixels and the given strides (8400 for 640 x 640).
int anchor_count(int input_w, int input_h, std::span<const int> strides);
// The default strides of YOLOv8/YOLO11 pose.
inline constexpr int kDefaultStrides[3] = {8, 16, 32};

}  // namespace sp::models
