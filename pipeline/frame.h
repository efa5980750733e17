// A video frame as it moves through the pipeline, with its timing record. Every stage that does work
// fills its own field, all from one monotonic clock (std::chrono::steady_clock), so the numbers add up.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "models/pose_types.h"

namespace sp::pipeline {

using Clock = std::chrono::steady_clock;

// The stages of one frame, in pipeline order. end_to_end runs from capture to the sink's write.
enum class Stage : int { kCapture, kQueueWait, kPreprocess, kModel, kDecode, kRender, kEndToEnd, kCount };
inline constexpr int kNumStages = static_cast<int>(Stage::kCount);

inline constexpr std::array<std::string_view, kNumStages> kStageNames = {
    "capture", "queue_wait", "preprocess", "model", "decode", "render", "end_to_end"};

struct StageTimes {
  std::array<double, kNumStages> ms{};  // milliseconds per stage; 0 when the stage did not run
  double& operator[](Stage s) { return ms[static_cast<int>(s)]; }
  double operator[](Stage s) const { return ms[static_cast<int>(s)]; }
};

struct Frame {
  cv::Mat bgr;                    // CV_8UC3, owned by the frame (no aliasing of GStreamer buffers)
  int64_t index = 0;              // 0-based count of frames the source delivered
  int64_t pts_ns = -1;            // stream presentation timestamp, -1 if unknown
  Clock::time_point captured;     // when the capture stage handed the frame over
  Clock::time_point enqueued;     // when it entered the ring
  StageTimes times;
  std::vector<models::PoseDetection> persons;  // filled by the inference stage, original-frame pixels
  std::vector<int64_t> ids;  // with tracking on: each person's track ID (parallel to persons); else empty
};

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace sp::pipeline
