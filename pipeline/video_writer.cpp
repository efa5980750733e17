#include "pipeline/video_writer.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <opencv2/imgproc.hpp>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"

namespace sp::pipeline {
namespace {

constexpr GstClockTime kMoovUpdatePeriod = 2 * GST_SECOND;  // robust muxing: index rewritten this often

void ensure_gst_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  });
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && (s.back() == ' ' || s.back() == '.')) s.pop_back();
  return s;
}

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

bool element_available(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);
  if (!f) return false;
  gst_object_unref(f);
  return true;
}

GstElement* make(const char* factory, const std::string& path) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e)
    throw Error("cannot write video to '" + path + "': GStreamer element '" + factory +
                "' is missing (install gstreamer1.0-plugins-base/-good)");
  return e;
}

// x264's cost grows with the pixel rate, and the encoder shares the cores with the model. Measured on
// a 2-core Zen 5 (issue 11 item 5, CPU time per 1920x1080 frame, tune=zerolatency): veryfast 31 ms,
// superfast 17 ms, ultrafast 6 ms, against ~60 ms of model CPU per frame; so above 720p30 the
// default is ultrafast (larger files at the same quantizer, no deblocking), below it veryfast.
std::string auto_speed_preset(int w, int h, double fps) {
  const double pixel_rate = static_cast<double>(w) * h * (fps > 0 ? fps : 30.0);
  return pixel_rate > 1280.0 * 720.0 * 30.0 * 1.01 ? "ultrafast" : "veryfast";
}

bool enum_value_exists(GstElement* element, const char* property, const std::string& nick) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), property);
  if (!spec || !G_IS_PARAM_SPEC_ENUM(spec)) return false;
  return g_enum_get_value_by_nick(G_PARAM_SPEC_ENUM(spec)->enum_class, nick.c_str()) != nullptr;
}

// A sensible average bitrate when one is needed (openh264enc, or x264enc in bitrate mode):
// 0.08 bit per pixel per frame, e.g. 2.2 Mbit/s at 1280 x 720 @ 30.
int derived_bitrate_kbps(int w, int h, double fps) {
  const double kbps = 0.08 * w * h * fps / 1000.0;
  return std::clamp(static_cast<int>(std::lround(kbps)), 200, 50000);
}

}  // namespace

struct VideoWriter::Impl {
  std::string path;
  std::string encoder_name;
  std::string muxer_name;
  VideoWriterOptions opt;
  int in_width = 0, in_height = 0;  // what the caller announced
  int width = 0, height = 0;        // what is encoded (even)
  double fps = 30.0;
  GstClockTime frame_duration = 0;
  GstVideoInfo info{};
  bool packed_i420 = false;  // GStreamer's I420 layout is OpenCV's (no row padding): convert in place
  cv::Mat bgr_scratch, i420_scratch;
  std::string preset;        // x264enc speed preset in use
  GstBufferPool* pool = nullptr;  // frame buffers, recycled once the encoder releases them

  GstElement* pipeline = nullptr;
  GstElement* appsrc = nullptr;
  GstElement* mux = nullptr;
  bool robust = false;             // mp4mux/qtmux robust muxing in use
  GstClockTime robust_limit = 0;   // stop accepting frames at this stream time

  // Bus state, filled by the sync handler in GStreamer's threads.
  std::mutex bus_mu;
  std::condition_variable bus_cv;
  bool eos = false;
  bool failed = false;
  std::string error;              // first pipeline error, one line
  std::atomic<bool> has_error{false};
  bool error_reported = false;    // under write_mu: already thrown to a caller

  std::mutex write_mu;            // serializes write() and the teardown
  std::mutex close_mu;            // serializes close() callers
  std::atomic<bool> closing{false};
  bool torn_down = false;         // under write_mu
  bool close_done = false;        // under close_mu
  std::atomic<int64_t> frames{0};
  int64_t first_pts = -1;         // caller's pts of stream time 0
  GstClockTime last_ts = GST_CLOCK_TIME_NONE;
  bool limit_warned = false;

  ~Impl() {
    destroy_pipeline();
    if (pool) {
      gst_buffer_pool_set_active(pool, FALSE);
      gst_object_unref(pool);
    }
  }

  std::string prefix() const { return "cannot write video to '" + path + "': "; }

  static GstBusSyncReply on_message(GstBus*, GstMessage* msg, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_ERROR: {
        GError* err = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(msg, &err, &dbg);
        std::string text = err ? err->message : "unknown GStreamer error";
        // filesink puts the reason (errno text) in the debug string: keep that part.
        if (dbg) {
          const char* sys = std::strstr(dbg, "system error: ");
          if (sys) text += std::string(" (") + (sys + 14) + ")";
        }
        // Name the element by its kind ("filesink"), not its instance ("filesink3").
        if (GST_IS_ELEMENT(GST_MESSAGE_SRC(msg))) {
          GstElementFactory* f = gst_element_get_factory(GST_ELEMENT(GST_MESSAGE_SRC(msg)));
          if (f) text = std::string(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f))) + ": " + text;
        }
        if (err) g_error_free(err);
        g_free(dbg);
        {
          std::lock_guard lk(self->bus_mu);
          if (!self->failed) {
            self->failed = true;
            self->error = one_line(text);
            self->has_error.store(true);
          }
        }
        self->bus_cv.notify_all();
        // Downstream stopped: release a write() blocked on a full queue (it then reports the error).
        if (self->appsrc) gst_app_src_end_of_stream(GST_APP_SRC(self->appsrc));
        break;
      }
      case GST_MESSAGE_STREAM_STATUS: {
        // Posted from the new streaming thread itself as it starts (sync handler: we run on it). That
        // thread runs the encoder, which creates its worker threads from it, so they inherit its
        // priority. The idea: the model's threads are never preempted by the encoder. Measured on a
        // heavily shared 2-core machine (1080p, bench/save_overhead.sh): nice 10 cost more, not less
        // (96 ms of CPU per frame with --save against ~81 ms at equal priority: a starved encoder
        // blocks the render thread on the full queue while the engine's workers spin), so it is off
        // by default (encoder_nice = 0) and kept for machines where it measures better.
        GstStreamStatusType type;
        GstElement* owner = nullptr;
        gst_message_parse_stream_status(msg, &type, &owner);
        if (type == GST_STREAM_STATUS_TYPE_ENTER && self->opt.encoder_nice > 0) {
          const int tid = static_cast<int>(syscall(SYS_gettid));
          const int current = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
          setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::min(19, current + self->opt.encoder_nice));
        }
        break;
      }
      case GST_MESSAGE_EOS: {
        if (GST_MESSAGE_SRC(msg) == GST_OBJECT(self->pipeline)) {
          {
            std::lock_guard lk(self->bus_mu);
            self->eos = true;
          }
          self->bus_cv.notify_all();
        }
        break;
      }
      default:
        break;
    }
    return GST_BUS_DROP;  // nobody pops this bus: keep it empty
  }

  std::string current_error() {
    std::lock_guard lk(bus_mu);
    return error;
  }

  void destroy_pipeline() {
    if (!pipeline) return;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    GstBus* bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    pipeline = nullptr;
    appsrc = nullptr;
    mux = nullptr;
  }

  void build();
  GstClockTime next_timestamp(int64_t pts_ns);
  bool reached_crash_safe_limit(GstClockTime ts);
};

void VideoWriter::Impl::build() {
  ensure_gst_initialized();

  // Muxer by extension; mp4 unless told otherwise.
  const std::string ext = lower_extension(path);
  muxer_name = ext == ".mkv" ? "matroskamux" : ext == ".mov" ? "qtmux" : "mp4mux";
  if (!element_available(muxer_name.c_str()))
    throw Error(prefix() + "GStreamer muxer '" + muxer_name + "' is missing (install gstreamer1.0-plugins-good)");

  if (opt.encoder.empty()) {
    if (element_available("x264enc")) encoder_name = "x264enc";
    else if (element_available("openh264enc")) encoder_name = "openh264enc";
    else
      throw Error(prefix() + "no H.264 encoder: install gstreamer1.0-plugins-ugly (x264enc) or "
                  "gstreamer1.0-plugins-bad (openh264enc)");
  } else {
    if (opt.encoder != "x264enc" && opt.encoder != "openh264enc")
      throw Error(prefix() + "unsupported encoder '" + opt.encoder + "' (x264enc or openh264enc)");
    if (!element_available(opt.encoder.c_str()))
      throw Error(prefix() + "H.264 encoder '" + opt.encoder + "' is not installed");
    encoder_name = opt.encoder;
  }

  // A clearer message than filesink's for the common mistakes.
  const std::filesystem::path p(path);
  std::error_code ec;
  if (path.empty()) throw Error("cannot write video: empty output path");
  if (std::filesystem::is_directory(p, ec)) throw Error(prefix() + "it is a directory");
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(prefix() + "directory '" + dir.string() + "' does not exist");

  int fps_n = 0, fps_d = 1;
  gst_util_double_to_fraction(fps, &fps_n, &fps_d);
  if (fps_n <= 0 || fps_d <= 0) fps_n = 30, fps_d = 1;
  frame_duration = gst_util_uint64_scale_int(GST_SECOND, fps_d, fps_n);

  // The frames enter as I420, converted by OpenCV in write() (SIMD, straight into the buffer): GStreamer's
  // videoconvert did the same on one thread with an extra copy. OpenCV's BGR->I420 is BT.601 limited
  // range, which the caps (and so the H.264 stream's colour description) say.
  gst_video_info_init(&info);
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, static_cast<guint>(width), static_cast<guint>(height));
  GST_VIDEO_INFO_FPS_N(&info) = fps_n;
  GST_VIDEO_INFO_FPS_D(&info) = fps_d;
  gst_video_colorimetry_from_string(&GST_VIDEO_INFO_COLORIMETRY(&info), GST_VIDEO_COLORIMETRY_BT601);
  packed_i420 = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) == width && GST_VIDEO_INFO_PLANE_STRIDE(&info, 1) == width / 2 &&
                GST_VIDEO_INFO_PLANE_STRIDE(&info, 2) == width / 2 && GST_VIDEO_INFO_PLANE_OFFSET(&info, 1) == static_cast<size_t>(width) * height &&
                GST_VIDEO_INFO_PLANE_OFFSET(&info, 2) == static_cast<size_t>(width) * height * 5 / 4;

  pipeline = gst_pipeline_new("sp-video-writer");
  GstElement* src = make("appsrc", path);
  GstElement* enc = make(encoder_name.c_str(), path);
  GstElement* parse = make("h264parse", path);
  mux = make(muxer_name.c_str(), path);
  GstElement* sink = make("filesink", path);
  gst_bin_add_many(GST_BIN(pipeline), src, enc, parse, mux, sink, nullptr);
  appsrc = src;

  GstCaps* src_caps = gst_video_info_to_caps(&info);
  pool = gst_buffer_pool_new();
  GstStructure* pool_config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(pool_config, src_caps, static_cast<guint>(GST_VIDEO_INFO_SIZE(&info)), 0, 0);
  if (!gst_buffer_pool_set_config(pool, pool_config) || !gst_buffer_pool_set_active(pool, TRUE)) {
    gst_object_unref(pool);
    pool = nullptr;  // write() allocates per frame instead
  }
  g_object_set(src, "caps", src_caps, "format", GST_FORMAT_TIME, "is-live", FALSE, "do-timestamp", FALSE,
               "block", TRUE, "max-buffers", static_cast<guint64>(std::max(1, opt.queue_frames)),
               "max-bytes", static_cast<guint64>(0), "max-time", static_cast<guint64>(0), "emit-signals", FALSE,
               nullptr);
  gst_caps_unref(src_caps);

  const int gop = std::max(1, static_cast<int>(std::lround(opt.keyframe_interval_s * fps_n / fps_d)));
  const int threads = std::max(0, opt.encoder_threads);
  if (encoder_name == "x264enc") {
    gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
    preset = !opt.speed_preset.empty() ? opt.speed_preset : auto_speed_preset(width, height, fps);
    if (!enum_value_exists(enc, "speed-preset", preset))
      throw Error(prefix() + "unknown x264 speed preset '" + preset + "' (ultrafast ... placebo)");
    gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", preset.c_str());
    if (opt.bitrate_kbps > 0) {
      gst_util_set_object_arg(G_OBJECT(enc), "pass", "cbr");
      g_object_set(enc, "bitrate", static_cast<guint>(opt.bitrate_kbps), nullptr);
    } else {
      // "qual" is CRF, which GStreamer's x264enc also caps with a VBV at its `bitrate` property
      // (2 Mbit/s by default): at 1080p that cap starves busy frames, and the rate control's frame
      // analysis costs CPU. ultrafast has no adaptive quantization for CRF to steer, so there a constant
      // quantizer keeps the quality steady (no cap to starve frames) for less CPU. Measured on a 2-core
      // Zen 4 (1920x1080 frames, one encoder thread, CPU per frame; a 2x2 mosaic of four of the bundled
      // clips, and the 1080p person clip of bench/save_overhead.sh): CRF 23 7.6-8.5 / 7.4-8.2 ms at
      // 1.8 Mbit/s, Y-PSNR mean 48.3 dB, worst frame 36.5 dB (mosaic); constant QP 23 5.2-6.2 /
      // 4.4-4.8 ms at 1.0 / 0.7 Mbit/s, 44.5 dB mean, 43.9 dB worst.
      const bool constant_qp = preset == "ultrafast";
      gst_util_set_object_arg(G_OBJECT(enc), "pass", constant_qp ? "quant" : "qual");
      g_object_set(enc, "quantizer", static_cast<guint>(std::clamp(opt.quality, 0, 50)), nullptr);
    }
    g_object_set(enc, "key-int-max", static_cast<guint>(gop), "threads", static_cast<guint>(threads), nullptr);
  } else {
    const int kbps = opt.bitrate_kbps > 0 ? opt.bitrate_kbps : derived_bitrate_kbps(width, height, fps);
    gst_util_set_object_arg(G_OBJECT(enc), "rate-control", "bitrate");
    gst_util_set_object_arg(G_OBJECT(enc), "usage-type", "camera");
    g_object_set(enc, "bitrate", static_cast<guint>(kbps * 1000), "gop-size", static_cast<guint>(gop),
                 "multi-thread", static_cast<guint>(threads), "enable-frame-skip", FALSE, nullptr);
  }

  // Robust muxing rewrites the head of the file and fsyncs it: only for regular files (not /dev/null).
  const bool regular_target = !std::filesystem::exists(p, ec) || std::filesystem::is_regular_file(p, ec);
  if (muxer_name != "matroskamux" && opt.crash_safe_seconds > 0 && regular_target) {
    // Robust muxing: index space reserved up front, rewritten every 2 s (ping-pong, never invalid).
    // Each sample costs at most ~12 bytes of index (size, duration, chunk offset); the default 550
    // bytes per second covers 30 fps with margin, scale it for faster streams.
    const double nominal_fps = static_cast<double>(fps_n) / fps_d;
    const auto bytes_per_sec = static_cast<guint>(std::clamp(16.0 * nominal_fps + 64.0, 550.0, 10000.0));
    const auto reserve = static_cast<guint64>(opt.crash_safe_seconds * GST_SECOND);
    g_object_set(mux, "reserved-max-duration", reserve, "reserved-moov-update-period",
                 static_cast<guint64>(kMoovUpdatePeriod), "reserved-bytes-per-sec", bytes_per_sec, nullptr);
    robust = true;
    // Stop a little before the reservation is exhausted (the muxer would fail the file instead).
    robust_limit = static_cast<GstClockTime>(std::max(0.0, opt.crash_safe_seconds * 0.98 - 1.0) * GST_SECOND);
  }

  g_object_set(sink, "location", path.c_str(), nullptr);

  if (!gst_element_link_many(src, enc, parse, mux, sink, nullptr)) {
    destroy_pipeline();
    throw Error(prefix() + "could not link appsrc ! " + encoder_name + " ! h264parse ! " + muxer_name +
                " ! filesink");
  }

  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, &Impl::on_message, this, nullptr);
  gst_object_unref(bus);

  // filesink opens the file during this state change; failure is synchronous.
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    std::string why = current_error();
    destroy_pipeline();
    if (why.empty()) why = "the GStreamer pipeline did not start";
    throw Error(prefix() + why);
  }
  if (has_error.load()) {
    const std::string why = current_error();
    destroy_pipeline();
    throw Error(prefix() + why);
  }
}

GstClockTime VideoWriter::Impl::next_timestamp(int64_t pts_ns) {
  const bool have_last = GST_CLOCK_TIME_IS_VALID(last_ts);
  const GstClockTime next_nominal = have_last ? last_ts + frame_duration : 0;
  if (pts_ns < 0) return next_nominal;
  if (first_pts < 0) first_pts = pts_ns - static_cast<int64_t>(next_nominal);  // this frame lands on next_nominal
  const int64_t rel = pts_ns - first_pts;
  if (rel < 0 || (have_last && static_cast<GstClockTime>(rel) <= last_ts)) return next_nominal;
  return static_cast<GstClockTime>(rel);
}

bool VideoWriter::Impl::reached_crash_safe_limit(GstClockTime ts) {
  if (!robust) return false;
  if (limit_warned) return true;
  bool reached = false;
  if (ts < 3 * kMoovUpdatePeriod) {
    // The muxer has no estimate before its first index updates: stay within the nominal reservation.
    reached = ts >= robust_limit;
  } else if ((frames.load() % 15) == 0) {
    // The muxer extrapolates the space left from what the index has used so far (regular timestamps
    // use far less than reserved, jittery ones more), so trust it: stop while two updates still fit.
    guint64 remaining = G_MAXUINT64;
    g_object_get(mux, "reserved-duration-remaining", &remaining, nullptr);
    reached = remaining == G_MAXUINT64 ? ts >= robust_limit : remaining < 2 * kMoovUpdatePeriod + GST_SECOND;
  }
  if (reached) {
    limit_warned = true;
    std::fprintf(stderr,
                 "sparsepose: warning: '%s' is full after %.1f s: the index space reserved for crash-safe "
                 "recording (VideoWriterOptions::crash_safe_seconds = %.0f) is used up; further frames are not "
                 "saved\n",
                 path.c_str(), static_cast<double>(ts) / GST_SECOND, opt.crash_safe_seconds);
  }
  return reached;
}

VideoWriter::VideoWriter(const std::string& path, int width, int height, double fps, const VideoWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.opt = options;
  if (width < 2 || height < 2 || width > 16384 || height > 16384)
    throw Error(m.prefix() + "invalid frame size " + std::to_string(width) + "x" + std::to_string(height));
  m.in_width = width;
  m.in_height = height;
  m.width = width & ~1;
  m.height = height & ~1;
  m.fps = (fps > 0 && std::isfinite(fps)) ? fps : 30.0;
  m.build();
}

VideoWriter::~VideoWriter() {
  if (!impl_) return;
  try {
    close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparsepose: warning: %s\n", e.what());
  }
}

bool VideoWriter::write(const cv::Mat& bgr, int64_t pts_ns) {
  Impl& m = *impl_;
  if (bgr.empty() || bgr.type() != CV_8UC3)
    throw Error(m.prefix() + "frames must be non-empty 8-bit BGR images (CV_8UC3)");
  if (m.closing.load()) return false;

  std::lock_guard lk(m.write_mu);
  if (m.torn_down || m.closing.load()) return false;
  if (m.has_error.load()) {
    m.error_reported = true;
    throw Error(m.prefix() + m.current_error());
  }

  const GstClockTime ts = m.next_timestamp(pts_ns);
  if (m.reached_crash_safe_limit(ts)) return false;

  // From the pool: a fresh multi-megabyte allocation per frame costs page faults (zeroed pages) in sys time.
  GstBuffer* buf = nullptr;
  if (m.pool && gst_buffer_pool_acquire_buffer(m.pool, &buf, nullptr) != GST_FLOW_OK) buf = nullptr;
  if (!buf) buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&m.info), nullptr);
  GstMapInfo map;
  if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
    if (buf) gst_buffer_unref(buf);
    throw Error(m.prefix() + "out of memory for a frame buffer");
  }
  try {
    cv::Mat src;
    if (bgr.cols == m.width && bgr.rows == m.height) {
      src = bgr;
    } else if (bgr.cols >= m.width && bgr.rows >= m.height && bgr.cols <= m.width + 1 && bgr.rows <= m.height + 1) {
      src = bgr(cv::Rect(0, 0, m.width, m.height));  // odd size announced: drop the last column/row
    } else {
      cv::resize(bgr, m.bgr_scratch, cv::Size(m.width, m.height), 0, 0, cv::INTER_AREA);
      src = m.bgr_scratch;
    }
    if (m.packed_i420) {
      cv::Mat dst(m.height * 3 / 2, m.width, CV_8UC1, map.data);
      cv::cvtColor(src, dst, cv::COLOR_BGR2YUV_I420);
    } else {  // rows padded (a width not a multiple of 8): convert, then copy each plane's rows
      cv::cvtColor(src, m.i420_scratch, cv::COLOR_BGR2YUV_I420);
      const uint8_t* in = m.i420_scratch.data;
      for (int plane = 0; plane < 3; ++plane) {
        const int pw = plane == 0 ? m.width : m.width / 2, ph = plane == 0 ? m.height : m.height / 2;
        const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&m.info, plane);
        uint8_t* out = map.data + GST_VIDEO_INFO_PLANE_OFFSET(&m.info, plane);
        for (int y = 0; y < ph; ++y, in += pw) std::memcpy(out + static_cast<size_t>(y) * stride, in, static_cast<size_t>(pw));
      }
    }
  } catch (...) {
    gst_buffer_unmap(buf, &map);
    gst_buffer_unref(buf);
    throw;
  }
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = ts;
  GST_BUFFER_DTS(buf) = ts;
  GST_BUFFER_DURATION(buf) = m.frame_duration;

  // Takes the buffer. Blocks while `queue_frames` are waiting; EOS or a state change releases it.
  const GstFlowReturn r = gst_app_src_push_buffer(GST_APP_SRC(m.appsrc), buf);
  if (r == GST_FLOW_OK) {
    m.last_ts = ts;
    m.frames.fetch_add(1);
    return true;
  }
  if (m.has_error.load()) {
    m.error_reported = true;
    throw Error(m.prefix() + m.current_error());
  }
  return false;  // EOS / flushing: close() has begun
}

void VideoWriter::close() {
  Impl& m = *impl_;
  std::lock_guard cl(m.close_mu);
  if (m.close_done) return;
  m.closing.store(true);

  // EOS is queued behind the frames already accepted, so every one of them reaches the file.
  // Thread-safe: a write() blocked in push returns once the queue drains or the state changes.
  bool finished = false;
  bool timed_out = false;
  if (m.pipeline) {
    gst_app_src_end_of_stream(GST_APP_SRC(m.appsrc));
    std::unique_lock lk(m.bus_mu);
    const auto timeout = std::chrono::duration<double>(std::max(0.1, m.opt.close_timeout_s));
    finished = m.bus_cv.wait_for(lk, timeout, [&] { return m.eos || m.failed; });
    timed_out = !finished;
  }
  // Stop the pipeline: this also releases a write() still blocked in push (flushing).
  if (m.pipeline) gst_element_set_state(m.pipeline, GST_STATE_NULL);
  bool report = false;
  {
    std::lock_guard wl(m.write_mu);  // waits for a write() in flight to return
    m.destroy_pipeline();
    m.torn_down = true;
    report = m.has_error.load() && !m.error_reported;
    if (report) m.error_reported = true;
  }
  m.close_done = true;
  std::error_code ec;
  if (m.frames.load() == 0 && std::filesystem::is_regular_file(m.path, ec)) {
    // No frame, no video: the muxer cannot make a playable file of nothing, so leave no file behind
    // (only a regular file: never /dev/null or another device given as the output).
    std::filesystem::remove(m.path, ec);
  }
  if (report) throw Error(m.prefix() + m.current_error());
  if (timed_out)
    throw Error(m.prefix() + "timed out after " + std::to_string(static_cast<int>(m.opt.close_timeout_s)) +
                " s finalizing the file" + (m.robust ? " (it plays up to the last 2 s index update)" : ""));
}

bool VideoWriter::is_open() const { return !impl_->closing.load(); }
int64_t VideoWriter::frames_written() const { return impl_->frames.load(); }
const std::string& VideoWriter::path() const { return impl_->path; }
const std::string& VideoWriter::encoder() const { return impl_->encoder_name; }
const std::string& VideoWriter::muxer() const { return impl_->muxer_name; }
cv::Size VideoWriter::size() const { return {impl_->width, impl_->height}; }

}  // namespace sp::pipeline
