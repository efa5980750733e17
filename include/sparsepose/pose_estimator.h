// PoseEstimator: a pose model opened once and run on frame after frame. It letterboxes the frame, runs
// the engine (float or int8 kernels for this CPU), decodes the people and, when asked, tracks them with
// stable IDs across frames. Not thread-safe: one estimator per thread or stream (each has its own
// engine threads).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparsepose/image.h"
#include "sparsepose/person.h"

namespace sparsepose {

enum class Engine {
  Auto,  // int8 kernels for quantized (QDQ) models, float for float models; without a model, the
         // bundled int8 model where this CPU has int8 dot products (AVX-512 VNNI, AVX-VNNI, AMX), else the float one
  Fp32,  // float kernels (a quantized model's quantization is emulated exactly)
  Int8,  // integer kernels; without a model, the bundled int8 model; a float model is refused
};

// People followed from frame to frame (a ByteTrack-style tracker on the frames' timestamps) and,
// optionally, their keypoints smoothed (One-Euro filters). Defaults are `sparsepose run`'s.
struct TrackingOptions {
  bool enabled = false;
  double track_buffer_s = 1.0;    // how long a person out of sight keeps their ID, in seconds (> 0)
  int min_hits = 2;               // frames a new person must be seen in before getting an ID (>= 1)
  float low_score = 0.1f;         // detections between this and `conf` only keep existing tracks alive
  float new_track_score = 0.25f;  // an unmatched detection at or above this (and `conf`) starts a track
  float match_similarity = 0.2f;  // a detection joins a track above this box IoU / keypoint OKS, in [0, 1)
  float oks_weight = 0.5f;        // weight of keypoint OKS against box IoU in that similarity, in [0, 1]

  bool smoothing = false;         // keypoints and boxes smoothed per tracked person
  double smooth_min_cutoff_hz = 0.1;  // cutoff for a still person: lower is smoother (> 0)
  double smooth_beta = 4.5;           // how fast the cutoff opens with speed: higher lags less (>= 0)
  double smooth_d_cutoff_hz = 3.0;    // cutoff of the speed estimate (> 0)
  float smooth_min_conf = 0.5f;       // keypoints below this confidence hold their last position
};

struct Options {
  std::string model;              // an ONNX YOLOv8/YOLO11-pose model; empty: the bundled one
  Engine engine = Engine::Auto;
  int threads = 0;                // engine threads, 1..256; 0: one per core this process may use
  std::string isa = "auto";       // auto|scalar|avx2|avx512|avx512vnni|avxvnni|amx (one this CPU has)
  int input_size = 0;             // square model input, a multiple of 32 in 32..4096; 0: the model's own
  float conf = 0.25f;             // person confidence threshold, in [0, 1]
  float iou = 0.7f;               // non-maximum suppression IoU threshold, in [0, 1]
  TrackingOptions tracking;
};

// Wall time of each stage of one run(), in milliseconds.
struct Timing {
  double preprocess_ms = 0;  // letterbox into the model input
  double model_ms = 0;       // the engine alone (what `sparsepose bench` measures)
  double decode_ms = 0;      // head decode and non-maximum suppression
  double tracking_ms = 0;    // tracker and smoothing (0 when tracking is off)
};

struct Result {
  std::vector<Person> persons;  // by ID when tracking, else by score
  Timing timing;
  std::uint64_t frame = 0;      // 0 for the estimator's first run(), then 1, 2, ...
};

// What was opened, after the defaults were resolved.
struct ModelInfo {
  std::string model_path;
  std::string engine;       // "fp32" or "int8": the kernels that run the model's convolutions
  std::string isa;          // the instruction set asked for, resolved ("avx512vnni", ...)
  std::string kernel_isas;  // the instruction sets of the kernels that actually run ("avx512vnni+avx512")
  int threads = 0;
  int input_width = 0;
  int input_height = 0;
};

class PoseEstimator {
 public:
  // Loads and compiles the model. Throws Error (option() names the option at fault) on a bad option or
  // a model that cannot be read or is not a pose model.
  explicit PoseEstimator(const Options& options = {});
  ~PoseEstimator();
  PoseEstimator(PoseEstimator&&) noexcept;
  PoseEstimator& operator=(PoseEstimator&&) noexcept;
  PoseEstimator(const PoseEstimator&) = delete;
  PoseEstimator& operator=(const PoseEstimator&) = delete;

  // The people in `frame`, in its pixels. `timestamp_s` is the frame's time in seconds (its
  // presentation time), which tracking runs on; it is ignored when tracking is off and should not
  // decrease (an earlier time counts as the last one). Throws Error on a bad frame (null data, a size
  // that is not positive, a stride shorter than a row) or a timestamp that is not finite.
  Result run(const ImageView& frame, double timestamp_s = 0.0);
  // The same into `result`, reusing its storage (no allocation once it has held this many people).
  void run(const ImageView& frame, double timestamp_s, Result& result);

  // Forgets every track: the next frame starts IDs over from 1 (a new scene, a seek).
  void reset_tracking();

  const ModelInfo& info() const;
  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparsepose
