#include "models/pose_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace sp::models {
namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The logit below which an anchor cannot pass `sigmoid(logit) > threshold`. A small margin keeps the
// prefilter conservative; the exact comparison on the sigmoid decides.
float logit_prefilter(float threshold) {
  if (!(threshold > 0.0f)) return -std::numeric_limits<float>::infinity();  // also NaN: keep all
  if (threshold >= 1.0f) return std::numeric_limits<float>::infinity();     // sigmoid <= 1: none pass
  const double t = threshold;
  const double logit = std::log(t / (1.0 - t));
  return static_cast<float>(logit - 1e-3 * (1.0 + std::fabs(logit)));
}

void check_view(const BranchView& v, const char* what, int scale) {
  if (v.data == nullptr)
    throw Error("decode_pose_head: scale " + std::to_string(scale) + ": " + what + " branch is null");
}

// Expectation of the softmax over `n` bins (DFL). n == 1 returns the raw value.
inline float dfl_side(const BranchView& box, int side, int n, std::ptrdiff_t p) {
  if (n == 1) return box.at(side, p);
  const int c0 = side * n;
  float m = box.at(c0, p);
  for (int k = 1; k < n; ++k) m = std::max(m, box.at(c0 + k, p));
  float sum = 0.0f;
  float weighted = 0.0f;
  for (int k = 0; k < n; ++k) {
    const float e = std::exp(box.at(c0 + k, p) - m);
    sum += e;
    weighted += e * static_cast<float>(k);
  }
  return weighted / sum;
}

}  // namespace

int anchor_count(int input_w, int input_h, std::span<const int> strides) {
  if (input_w <= 0 || input_h <= 0) throw Error("anchor_count: input size must be positive");
  long long total = 0;
  for (int s : strides) {
    if (s <= 0) throw Error("anchor_count: strides must be positive");
    total += static_cast<long long>((input_w + s - 1) / s) * ((input_h + s - 1) / s);
  }
  if (total > std::numeric_limits<int>::max()) throw Error("anchor_count: too many anchors");
  return static_cast<int>(total);
}

void decode_pose_head(std::span<const HeadScale> scales, const DecodeOptions& options,
                      std::vector<PoseDetection>& out) {
  out.clear();
  if (options.reg_max < 1) throw Error("decode_pose_head: reg_max must be >= 1");
  if (options.num_classes < 1) throw Error("decode_pose_head: num_classes must be >= 1");
  const int reg_max = options.reg_max;
  const int nc = options.num_classes;
  const float conf = options.conf_threshold;
  const float logit_min = logit_prefilter(conf);

  for (std::size_t si = 0; si < scales.size(); ++si) {
    const HeadScale& sc = scales[si];
    const int scale_index = static_cast<int>(si);
    if (sc.stride <= 0 || sc.h <= 0 || sc.w <= 0)
      throw Error("decode_pose_head: scale " + std::to_string(scale_index) +
                  ": stride, h and w must be positive (got stride " + std::to_string(sc.stride) +
                  ", " + std::to_string(sc.h) + "x" + std::to_string(sc.w) + ")");
    check_view(sc.box, "box", scale_index);
    check_view(sc.score, "score", scale_index);
    check_view(sc.kpt, "keypoint", scale_index);

    const float s = static_cast<float>(sc.stride);
    for (int row = 0; row < sc.h; ++row) {
      for (int col = 0; col < sc.w; ++col) {
        const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(row) * sc.w + col;
        float logit = sc.score.at(0, p);
        for (int c = 1; c < nc; ++c) logit = std::max(logit, sc.score.at(c, p));
        if (!(logit > logit_min)) continue;  // the common case: rejected without any other work
        const float score = sigmoid(logit);
        if (!(score > conf)) continue;

        const float ax = static_cast<float>(col) + 0.5f;
        const float ay = static_cast<float>(row) + 0.5f;
        const float l = dfl_side(sc.box, 0, reg_max, p);
        const float t = dfl_side(sc.box, 1, reg_max, p);
        const float r = dfl_side(sc.box, 2, reg_max, p);
        const float b = dfl_side(sc.box, 3, reg_max, p);

        PoseDetection& d = out.emplace_back();
        d.box = Box{(ax - l) * s, (ay - t) * s, (ax + r) * s, (ay + b) * s};
        d.score = score;
        const float kx0 = ax - 0.5f;
        const float ky0 = ay - 0.5f;
        for (int k = 0; k < kNumKeypoints; ++k) {
          Keypoint& kp = d.keypoints[k];
          kp.x = (sc.kpt.at(k * 3 + 0, p) * 2.0f + kx0) * s;
          kp.y = (sc.kpt.at(k * 3 + 1, p) * 2.0f + ky0) * s;
          kp.conf = sigmoid(sc.kpt.at(k * 3 + 2, p));
        }
      }
    }
  }
}

std::vector<PoseDetection> decode_pose_head(std::span<const HeadScale> scales, float conf_threshold) {
  std::vector<PoseDetection> out;
  DecodeOptions options;
  options.conf_threshold = conf_threshold;
  decode_pose_head(scales, options, out);
  return out;
}

void decode_exported_output(const float* out, int channels, int num_anchors, float conf_threshold,
                            std::vector<PoseDetection>& dets) {
  dets.clear();
  constexpr int kKptChannels = kNumKeypoints * kKeypointDims;
  if (out == nullptr) throw Error("decode_exported_output: output is null");
  if (num_anchors < 0) throw Error("decode_exported_output: negative anchor count");
  const int nc = channels - 4 - kKptChannels;
  if (nc < 1)
    throw Error("decode_exported_output: expected 4 + classes + " + std::to_string(kKptChannels) +
                " channels (56 for a pose model), got " + std::to_string(channels));
  const std::ptrdiff_t n = num_anchors;
  const float* score_row = out + 4 * n;
  const float* kpt_rows = out + (4 + static_cast<std::ptrdiff_t>(nc)) * n;

  for (std::ptrdiff_t a = 0; a < n; ++a) {
    float score = score_row[a];
    for (int c = 1; c < nc; ++c) score = std::max(score, score_row[c * n + a]);
    if (!(score > conf_threshold)) continue;
    const float cx = out[a];
    const float cy = out[n + a];
    const float hw = out[2 * n + a] / 2.0f;
    const float hh = out[3 * n + a] / 2.0f;
    PoseDetection& d = dets.emplace_back();
    d.box = Box{cx - hw, cy - hh, cx + hw, cy + hh};
    d.score = score;
    for (int k = 0; k < kNumKeypoints; ++k) {
      Keypoint& kp = d.keypoints[k];
      kp.x = kpt_rows[(k * 3 + 0) * n + a];
      kp.y = kpt_rows[(k * 3 + 1) * n + a];
      kp.conf = kpt_rows[(k * 3 + 2) * n + a];
    }
  }
}

std::vector<PoseDetection> decode_exported_output(const float* out, int channels, int num_anchors,
                                                  float conf_threshold) {
  std::vector<PoseDetection> dets;
  decode_exported_output(out, channels, num_anchors, conf_threshold, dets);
  return dets;
}

}  // namespace sp::models
