// The capture stage: one GStreamer pipeline that turns a camera, a file, a URL, a test pattern or a
// custom pipeline into owned BGR frames (pipeline/frame.h). GStreamer types stay in video_source.cpp.
//
//   source                      pipeline (every one ends in `... ! appsink name=sink`)
//   "0", "/dev/video0"          v4l2src device=/dev/videoN ! decodebin ! videoconvert ! BGR      (live)
//   path, "file://..."          uridecodebin ! videoconvert ! BGR                         (file, lossless)
//   "http://...", "https://..." uridecodebin (souphttpsrc) ! videoconvert ! BGR           (lossless; a
//                               stream without duration is reconnected like a live one, see below)
//   "rtsp://..."                rtspsrc latency=.. ! application/x-rtp,media=video ! decodebin ! ... (live)
//   "test"                      videotestsrc is-live=true pattern=ball, 640x480@30              (live)
//   "gst:<pipeline>"            the pipeline as given; it must contain `appsink name=sink`; live or
//                               not is what GStreamer reports (a live source answers NO_PREROLL)
//
// Queueing policy. The project's SPSC ring does the real dropping (and counts it), so the appsink only
// decouples GStreamer's streaming thread from the capture thread:
//   live (camera, rtsp, test, live gst:, or any file with options.realtime): max-buffers=2 drop=true —
//     the source is never blocked; when the capture thread falls behind by more than two frames the
//     oldest queued frame is dropped inside the appsink. Those drops are counted exactly (a pad probe
//     numbers every buffer that reaches the appsink; a gap in the numbers of the frames we pull is a
//     drop) and reported by frames_dropped(). realtime files also use sync=true (paced by the clock).
//   file (and http): max-buffers=4 drop=false sync=false — the decoder blocks when the appsink is
//     full, so every frame of the stream is delivered, as fast as the consumer takes them.
//
// Errors. open() starts the pipeline and waits (bounded by options.open_timeout_ms, polling the bus)
// for the first frame, so a source that cannot work fails in open() with a one-line sp::Error:
// missing/empty file or a directory, not a video, no playable stream, an mp4 without its index (cut
// before the moov box: checked up front, because GStreamer 1.22's decodebin can swallow qtdemux's
// immediate error and stall), absent /dev/videoN, refused or unreachable rtsp:// or http://, a gst:
// pipeline that does not parse or has no `appsink name=sink`. A non-live pipeline whose demuxer loop
// stops before the first frame without any error or EOS (that same lost-error race, any format) fails
// after ~1 s instead of waiting for the timeout. Once running:
//   - files: a GStreamer error mid-stream first delivers every frame already decoded, then next()
//     throws sp::Error. A file that simply stops early (an mp4 truncated after a front index: GStreamer
//     reports a clean EOS) ends normally; when the last frame is well short of the container's
//     duration a warning goes to stderr and ended_reason() says "ended early ... truncated?"; when
//     the decoder silently skipped damaged frames (fewer frames than duration x fps) ended_reason()
//     says "end of stream: N of ~M frames decoded (damaged file?)".
//   - live sources that vanish (camera unplugged, RTSP drop or server EOS, no frame for
//     options.stall_timeout_ms) are reconnected up to options.retries times with a message on stderr and
//     a growing backoff; after that next() returns false and error()/ended_reason() say why. The retry
//     budget refills after options.retry_reset_s of healthy streaming. An http(s) source whose first
//     frame comes with no known duration (an MJPEG camera, a live TS) is such a live stream too (and
//     live() from then on: newest frame wins); an http file (a duration) is not restarted, which would
//     repeat its frames.
//
// Timestamps (Frame::pts_ns) never decrease within a source. After a reconnect the new connection's
// clock (which starts again near 0) is shifted to continue from the last frame's timestamp plus the
// wall time of the outage, so the outage shows as a gap. A source that had timestamps and delivers a
// frame without one gets the previous timestamp plus the wall time since the previous frame.
//
// Resources: gst_init_check() runs once per process; every GStreamer object of a source is released
// by its destructor (and before each reconnect). Under LeakSanitizer only GLib's and souphttpsrc's own
// process-lifetime allocations remain; the test binary suppresses exactly those (see its top).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "pipeline/frame.h"

namespace sp::pipeline {

struct VideoSourceOptions {
  bool realtime = false;         // pace a file like a camera: sync to the clock, newest frame wins
  int retries = 3;               // reconnect attempts for a live source that vanishes mid-stream
  int retry_backoff_ms = 500;    // wait before reconnect attempt k: k * retry_backoff_ms
  double retry_reset_s = 30.0;   // streaming this long after a reconnect refills the retry budget
  int open_timeout_ms = 8000;    // bound on open() (and each reconnect) waiting for the first frame
  int stall_timeout_ms = 5000;   // live camera/rtsp: no frame for this long counts as a lost source
  int rtsp_latency_ms = 200;     // rtspsrc jitter-buffer latency
  bool quiet = false;            // no warnings/retry messages on stderr
  // Optional external cancel flag (e.g. the Ctrl-C flag), checked wherever open() or next() wait,
  // so a slow open or reconnect can be cancelled before the VideoSource object exists.
  const std::atomic<bool>* cancel = nullptr;
};

enum class SourceKind { kCamera, kFile, kHttp, kRtsp, kTest, kCustom };

class VideoSource {
 public:
  // Parses `source` (see the table above), builds and starts the pipeline and waits for the first
  // frame. Throws sp::Error with a one-line message when the source cannot be opened.
  static std::unique_ptr<VideoSource> open(const std::string& source, const VideoSourceOptions& options = {});

  ~VideoSource();
  VideoSource(const VideoSource&) = delete;
  VideoSource& operator=(const VideoSource&) = delete;

  // Blocks until the next frame and fills out.bgr (a CV_8UC3 image the frame owns: out.bgr's buffer is
  // reused only when no other cv::Mat shares it), out.index, out.pts_ns and out.captured. Returns false
  // at the end of the stream, after interrupt(), or when a live source is lost for good (see error()).
  // Throws sp::Error on a file's decode error (after delivering the frames decoded before it).
  // Call from one thread at a time.
  bool next(Frame& out);

  // Thread-safe: makes a blocked next() return false within ~50 ms, and every later call too.
  void interrupt();

  bool live() const;         // newest-wins source (camera, rtsp, test, live gst:, http stream, realtime file)
  SourceKind kind() const;
  double fps() const;        // nominal rate from the caps; 0 when unknown or variable
  int width() const;         // of the last negotiated caps (a stream may change size mid-way)
  int height() const;
  std::string description() const;           // for the HUD, e.g. "file dance.mp4 576x576@30"
  std::string pipeline_description() const;  // the gst-launch string that runs
  int64_t frames_delivered() const;          // frames next() has handed out
  int64_t frames_dropped() const;            // frames the appsink dropped before next() took them (live)
  int reconnects() const;                    // reconnect attempts made so far

  // Empty while running or after a normal end; otherwise the one-line reason the source failed.
  std::string error() const;
  // Why next() returned false: "end of stream", "interrupted", "ended early ...", or the error.
  std::string ended_reason() const;

  struct Impl;  // public only so the GStreamer callbacks in video_source.cpp can name it

 private:
  explicit VideoSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sp::pipeline
