// H.264 file writer: BGR frames in, a playable .mp4 (or .mov / .mkv) out, through GStreamer:
//
//   appsrc (I420, converted from BGR by OpenCV in write()) ! x264enc ! h264parse ! mp4mux ! filesink
//
// x264enc (gstreamer1.0-plugins-ugly) runs with tune=zerolatency (no B-frames, no look-ahead),
// quantizer 23 (CRF with the veryfast preset, a constant QP with ultrafast), one key frame every 2 s,
// and a speed preset that fits the pixel rate beside the model on a small machine (veryfast up to
// 720p30, ultrafast above; see auto_speed_preset and the rate control in the .cpp for the
// measurements); openh264enc (gstreamer1.0-plugins-bad) is the fallback at a bitrate derived from the
// frame size. I420 (4:2:0, BT.601, 8 bit) so the stream is plain H.264 (High profile with veryfast,
// Constrained Baseline with ultrafast), which every player decodes.
//
// The file is always playable:
//  - close() sends EOS and waits (bounded) until the muxer has written its index (the moov atom);
//    it is idempotent, may be called from another thread (a shutdown path, a Ctrl-C handler's
//    thread) while write() is still being called, and the destructor calls it.
//  - .mp4/.mov use the muxer's "robust muxing" mode by default: space for the index is reserved at
//    the start of the file and the index is rewritten there every 2 s of stream time (ping-pong, so
//    the file is never invalid): a crash, SIGKILL or pipeline error leaves a file that plays up to the
//    last update. The reservation is sized for `crash_safe_seconds` (default 1 h: about 4 MB at the
//    head of every file). Once recording, the muxer extrapolates how long the space lasts (regular
//    timestamps: ~4x the nominal length; jittery live ones: e.g. ~1.3x) and the writer stops accepting
//    frames, with one warning on stderr, while the file is still valid. crash_safe_seconds = 0 gives
//    the classic layout instead: the index is written by close() only, no reserved space, no limit.
//  - .mkv (matroskamux) has no index to lose and no length limit: a truncated file plays up to what
//    had reached the disk (its duration header may then be missing).
//
// Timestamps: write() takes the frame's presentation time in ns (e.g. Frame::pts_ns, or the capture
// clock); the first frame's becomes 0 in the file. Missing (negative) or non-increasing timestamps
// are replaced by the previous one plus one frame period, so the stream is strictly monotonic.
//
// GStreamer stays out of this header (pimpl).
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace sp::pipeline {

struct VideoWriterOptions {
  std::string encoder;               // "" = x264enc, else openh264enc; or "x264enc" / "openh264enc" only
  int quality = 23;                  // x264enc CRF, or QP with ultrafast (0 best ... 51 worst), when bitrate_kbps == 0
  int bitrate_kbps = 0;              // > 0: average bitrate instead (openh264enc: 0 = derived from the size)
  int encoder_threads = 2;           // 0 = encoder's default (all cores); inference needs the cores
  std::string speed_preset;          // x264enc preset; "" = by pixel rate (veryfast <= 720p30 < ultrafast)
  int encoder_nice = 0;              // > 0: the encoding threads run this much nicer (measured worse: see .cpp)
  double keyframe_interval_s = 2.0;  // seconds between key frames (seek granularity)
  double crash_safe_seconds = 3600;  // mp4/mov robust muxing reservation, seconds; 0 = off (see above)
  int queue_frames = 8;              // frames buffered ahead of the encoder; write() blocks beyond
  double close_timeout_s = 10.0;     // how long close() waits for the muxer to finish
};

class VideoWriter {
 public:
  // Starts the pipeline and opens `path` for writing. Odd sizes are cropped to even (4:2:0 needs it);
  // fps <= 0 means unknown (30 is assumed for the nominal frame period). Throws sp::Error naming the
  // path when the file cannot be written or no H.264 encoder / muxer is installed.
  VideoWriter(const std::string& path, int width, int height, double fps, const VideoWriterOptions& options = {});
  ~VideoWriter();  // close(); a failure there is reported on stderr, never thrown
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Queues one CV_8UC3 BGR frame (copied; resized if its size differs from the writer's). Blocks only
  // when the encoder is `queue_frames` behind. Returns false, without writing, once close() has begun
  // (or the crash-safe reservation is used up). Throws sp::Error on a wrong pixel type or when the pipeline
  // reported an error (disk full, encoder failure), naming the path.
  bool write(const cv::Mat& bgr, int64_t pts_ns = -1);

  // Finishes the file: EOS, wait up to close_timeout_s for the muxer, stop the pipeline. Idempotent
  // and thread-safe; later calls return at once. Throws sp::Error (first call only) when the file
  // could not be finalized (pipeline error or time-out). A writer closed before any frame was
  // written removes its file (there is no playable file of zero frames).
  void close();

  bool is_open() const;            // true until close() begins
  int64_t frames_written() const;  // frames accepted by the pipeline (all of them reach the file)
  const std::string& path() const;
  const std::string& encoder() const;  // the GStreamer encoder element in use
  const std::string& muxer() const;    // the GStreamer muxer element in use
  cv::Size size() const;               // the encoded frame size (even)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sp::pipeline
