// The latency HUD drawn over the live video: a semi-transparent panel in a corner with
//  - the pure model latency and the end-to-end latency (capture to sink) in big numbers,
//  - FPS in (source) and out (sink), queue depth / capacity, dropped frames,
//  - one horizontal bar per stage (capture ... end_to_end) showing the p50 with a tick at the p95,
//    all on one millisecond scale so the bars show where the time goes,
//  - the engine mode, threads, ISA, source and frame index, and (with tracking) the people tracked.
// The panel's size depends only on the frame size (fonts scale with it, from 480 x 360 to 4K), so it
// does not jump around as the numbers change. Drawing costs well under a millisecond at 720p.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "pipeline/frame.h"

namespace sp::pipeline {

// What the HUD shows. Plain data: the render thread fills it from the stage statistics.
// Latencies are milliseconds; a negative or NaN value means "not measured yet" and is shown as "-".
struct HudData {
  std::array<double, kNumStages> p50_ms;  // indexed by static_cast<int>(Stage)
  std::array<double, kNumStages> p95_ms;
  double fps_in = -1;       // frames per second delivered by the source
  double fps_out = -1;      // frames per second written to the sinks
  int queue_depth = 0;      // frames waiting in the ring
  int queue_capacity = 0;   // 0: unknown
  int64_t dropped = 0;      // frames the ring dropped (live sources)
  std::string engine;       // "fp32", "int8", ...
  int threads = 0;          // inference threads; 0: unknown
  std::string isa;          // "avx2", "avx512vnni", ...
  std::string source;       // e.g. "test (videotestsrc)", "/dev/video0", a file name
  int64_t frame_index = -1; // -1: not shown
  int tracked = -1;         // people tracked in this frame; -1: tracking off, not shown

  HudData() {
    p50_ms.fill(-1.0);
    p95_ms.fill(-1.0);
  }
  double& p50(Stage s) { return p50_ms[static_cast<int>(s)]; }
  double& p95(Stage s) { return p95_ms[static_cast<int>(s)]; }
  double p50(Stage s) const { return p50_ms[static_cast<int>(s)]; }
  double p95(Stage s) const { return p95_ms[static_cast<int>(s)]; }
};

enum class HudCorner { kTopLeft, kTopRight, kBottomLeft, kBottomRight };

struct HudOptions {
  HudCorner corner = HudCorner::kTopLeft;
  double opacity = 0.62;  // panel background: 0 transparent ... 1 opaque
  double scale = 1.0;     // multiplies the automatic text size
};

// The panel's rectangle for a frame of this size (inside the frame; nothing is drawn outside it).
cv::Rect hud_panel_rect(cv::Size frame, const HudOptions& options = {});

// Draws the HUD in place on `bgr` (CV_8UC3; throws sp::Error otherwise). Frames smaller than
// 160 x 120 are left untouched.
void draw_hud(cv::Mat& bgr, const HudData& data, const HudOptions& options = {});

}  // namespace sp::pipeline
