// What the stages of `optimize` (prune, quantize) share: output checks and atomic writes, frame
// subsets, and the label-free pose damage of a candidate model against a reference model.
#pragma once

#include <opencv2/core.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/prune/sensitivity.h"
#include "models/pose_model.h"
#include "models/pose_types.h"
#include "imaging/preprocess.h"

namespace sp::app {

using OptimizeClock = std::chrono::steady_clock;
double seconds_since(OptimizeClock::time_point t0);

// One-line sp::Error when `out` cannot be written (no path, missing or read-only directory, a directory).
void check_output_writable(const std::string& out);
// Writes `bytes` to path.tmp and renames it into place, so a failure never leaves a partial file.
void write_atomically(const std::string& path, const std::string& bytes);

// An evenly spread subset of n frames (all of them when there are fewer).
std::vector<const cv::Mat*> spread(const std::vector<cv::Mat>& frames, size_t n);

// Anchors where the reference model sees a person: predict/run's threshold.
inline constexpr float kReferenceConf = 0.25f;

// Pose agreement of candidate models with a reference model on a fixed set of frames, anchor by
// anchor (models::anchor_agreement); see docs/INT8.md. No labels: a proxy for keypoint AP points.
class PoseDamage {
 public:
  PoseDamage(const Graph& reference, const models::PoseModelOptions& options, std::vector<const cv::Mat*> frames);
  // 1 - (reference-score-weighted mean agreement over every compared anchor of every frame).
  // `integer`: run the candidate's quantized parts on the integer engine (as users run QDQ models).
  double operator()(const Graph& candidate, bool integer);
  double operator()(const std::string& model_bytes, bool integer);
  // A float candidate cut at the reference's cached activations (prune::measure_layer_damage), on the
  // same frames in the same order (frame_list()).
  double operator()(const prune::DamageCandidate& candidate);
  // The frames, in the order the candidates' `feed` numbers them.
  const std::vector<const cv::Mat*>& frame_list() const { return frames_; }
  size_t frames() const { return frames_.size(); }
  int evaluations() const { return evaluations_; }

 private:
  // Every frame through `m` (inputs past the image from `feed`, when given).
  std::vector<std::vector<models::PoseDetection>> decode_all(models::PoseModel& m, const prune::DamageCandidate* cut = nullptr);
  double compare(const std::vector<std::vector<models::PoseDetection>>& anchors);
  models::PoseModelOptions opt_;
  std::optional<models::PoseHead> head_;  // the reference's: cut candidates run with it
  std::vector<const cv::Mat*> frames_;
  imaging::Preprocessor pre_;
  std::vector<std::vector<models::PoseDetection>> reference_;
  int evaluations_ = 0;
};

}  // namespace sp::app
