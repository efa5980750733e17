// GStreamer capture: see video_source.h for the source table, the queueing policy and the error policy.
//
// Nothing here waits without a bound: the appsink is pulled with a 50 ms timeout and the bus is polled
// (never a main loop, never gst_bus_timed_pop(GST_CLOCK_TIME_NONE)), so interrupt(), the cancel flag,
// errors, EOS and the open/stall timeouts are all noticed within ~50 ms.
#include "pipeline/video_source.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

#include "core/error.h"

namespace sp::pipeline {
namespace {

constexpr GstClockTime kPullTimeout = 50 * GST_MSECOND;
constexpr int kLiveQueue = 2;  // appsink max-buffers for live sources (drop=true)
constexpr int kFileQueue = 4;  // appsink max-buffers for files (drop=false: back-pressure)
constexpr int kMaxWarnings = 5;

void init_gstreamer() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    GError* err = nullptr;
    if (!gst_init_check(nullptr, nullptr, &err)) {
      failure = std::string("GStreamer initialisation failed: ") + (err ? err->message : "unknown error");
      if (err) g_error_free(err);
    }
  });
  if (!failure.empty()) throw Error(failure);
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "rtsp://user:pass@host/x" -> "rtsp://host/x": credentials never reach the HUD, logs or messages.
std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto host_start = scheme + 3;
  const auto path_start = url.find('/', host_start);
  const auto at = url.rfind('@', path_start == std::string::npos ? url.size() : path_start);
  if (at == std::string::npos || at < host_start) return url;
  return url.substr(0, host_start) + url.substr(at + 1);
}

// GError + debug string -> "message (detail)", where detail is the last line of the debug string
// (GStreamer puts "file.c(123): func (): /GstPipeline:..." first and the human detail last).
std::string describe_gerror(const GError* err, const gchar* debug) {
  std::string msg = err && err->message ? err->message : "unknown GStreamer error";
  if (debug) {
    std::string d = debug;
    const auto nl = d.rfind('\n');
    std::string detail = nl == std::string::npos ? "" : d.substr(nl + 1);
    detail = one_line(detail);
    if (!detail.empty() && detail != msg && msg.find(detail) == std::string::npos) msg += " (" + detail + ")";
  }
  return one_line(msg);
}

std::string format_fps(double fps) {
  char buf[32];
  if (std::abs(fps - std::round(fps)) < 1e-3) {
    std::snprintf(buf, sizeof buf, "%d", static_cast<int>(std::lround(fps)));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", fps);
  }
  return buf;
}

bool is_digits(const std::string& s) {
  return !s.empty() && s.size() < 4 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ISO-BMFF files (mp4, mov, m4v, 3gp) need their index, the top-level 'moov' box. When it is missing
// (a recording cut short before it was written) qtdemux fails within microseconds of starting, and
// GStreamer 1.22's decodebin/parsebin can then drop the error (it filters errors of an element while it
// is still changing that element's state) and the pipeline stalls silently. So we check the top-level
// box structure ourselves: it is a few reads. Returns "" when the file is fine or not ISO-BMFF.
std::string mp4_structure_problem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  uint64_t pos = 0;
  bool moov = false;
  for (int n = 0; pos + 8 <= file_size && n < 100000; ++n) {
    unsigned char h[16];
    in.seekg(static_cast<std::streamoff>(pos));
    if (!in.read(reinterpret_cast<char*>(h), 8)) return "";
    const auto be32 = [](const unsigned char* p) {
      return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    };
    uint64_t box = be32(h);
    const std::string type(reinterpret_cast<const char*>(h + 4), 4);
    uint64_t header = 8;
    if (n == 0 && type != "ftyp") return "";  // not ISO-BMFF: GStreamer decides
    if (box == 1) {
      if (!in.read(reinterpret_cast<char*>(h + 8), 8)) return "";
      box = (uint64_t{be32(h + 8)} << 32) | be32(h + 12);
      header = 16;
    } else if (box == 0) {
      box = file_size - pos;
    }
    if (box < header) return "the file is damaged: invalid mp4 box at byte " + std::to_string(pos);
    const bool cut = pos + box > file_size;
    if (type == "moov") {
      if (cut) return "the file is truncated inside its index (moov box)";
      moov = true;
    }
    if (cut) break;
    pos += box;
  }
  if (!moov) return "the file has no index (moov box): it is truncated, was not finalised, or is not a video";
  return "";
}

}  // namespace

// ------------------------------------------------------------------------------------------------
struct VideoSource::Impl {
  // Configuration (fixed after open()).
  std::string target;       // device path, URI or location handed to the source element
  std::string custom_desc;  // gst: pipeline text
  VideoSourceOptions options;
  SourceKind kind = SourceKind::kFile;
  bool live = false;
  std::string label;    // "file dance.mp4", "camera /dev/video0", ...
  std::string display;  // the file's path, for error messages
  std::string pipeline_desc;

  // Live GStreamer objects of the current pipeline (rebuilt on reconnect).
  GstElement* pipeline = nullptr;
  GstAppSink* sink = nullptr;
  GstBus* bus = nullptr;
  GstSample* pending = nullptr;  // first sample, pulled by start() to prove the source works
  GstCaps* caps = nullptr;       // caps the current `info` was made from
  GstVideoInfo info{};
  std::atomic<bool> has_video{false};

  // Exact appsink drop accounting: the pad probe numbers every buffer that reaches the appsink; the
  // number of a pulled buffer is found by pointer (a queued buffer cannot be recycled by its pool, so
  // the newest record of that pointer is its own). A gap between consecutive pulled numbers = drops.
  std::mutex arrivals_mu;
  std::deque<std::pair<const GstBuffer*, int64_t>> arrivals;
  int64_t arrived = 0;
  int64_t last_seq = -1;

  // Run state (next()'s thread), plus the atomics other threads read.
  std::string bus_error;  // first ERROR seen on the bus, not yet acted on
  int warnings = 0;
  bool ended = false;
  int attempts = 0;  // reconnect attempts since the budget last refilled
  Clock::time_point last_frame{}, last_reconnect{};
  int64_t last_end_ns = -1;  // stream time at which the last delivered frame ends (this connection's clock)

  // Monotonic timestamps across reconnects. Each new connection's pipeline starts its clock again near
  // 0, so its timestamps are shifted to continue from the last delivered one plus the wall time of the
  // outage: a consumer keeping time by pts_ms sees the outage as a gap, never a step back.
  int64_t pts_offset_ns = 0;    // added to this connection's timestamps
  int64_t last_pts_ns = -1;     // the last delivered (shifted) timestamp
  bool rebase_pending = false;  // set by a reconnect: the next frame computes pts_offset_ns
  bool http_live = false;       // http(s) stream with no duration (MJPEG, live TS): reconnected when lost

  std::atomic<double> fps{0.0};
  std::atomic<int> width{0}, height{0};
  std::atomic<int64_t> delivered{0}, dropped{0};
  std::atomic<int> reconnects{0};
  std::atomic<bool> interrupted{false};
  mutable std::mutex reason_mu;
  std::string error, ended_reason;

  ~Impl() { teardown(); }

  bool cancelled() const {
    return interrupted.load(std::memory_order_relaxed) ||
           (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed));
  }

  void log(const std::string& msg) const {
    if (!options.quiet) std::fprintf(stderr, "sparsepose: %s\n", msg.c_str());
  }

  void set_end(const std::string& reason, const std::string& err) {
    std::lock_guard lock(reason_mu);
    ended = true;
    ended_reason = reason;
    error = err;
  }

  // ---- pipeline text -----------------------------------------------------------------------------
  std::string appsink_desc() const {
    if (live) {
      return "appsink name=sink max-buffers=" + std::to_string(kLiveQueue) + " drop=true sync=" +
             (kind == SourceKind::kFile || kind == SourceKind::kHttp ? "true" : "false") +
             " enable-last-sample=false emit-signals=false";
    }
    return "appsink name=sink max-buffers=" + std::to_string(kFileQueue) +
           " drop=false sync=false enable-last-sample=false emit-signals=false";
  }

  std::string build_description() const {
    const std::string tail = " ! videoconvert ! video/x-raw,format=BGR ! " + appsink_desc();
    switch (kind) {
      case SourceKind::kCamera:
        return "v4l2src name=src ! decodebin" + tail;
      case SourceKind::kRtsp:
        return "rtspsrc name=src latency=" + std::to_string(std::max(0, options.rtsp_latency_ms)) +
               " drop-on-latency=true tcp-timeout=4000000 timeout=3000000"
               " ! application/x-rtp,media=video ! decodebin" + tail;
      case SourceKind::kTest:
        return "videotestsrc name=src is-live=true pattern=ball"
               " ! video/x-raw,width=640,height=480,framerate=30/1" + tail;
      case SourceKind::kFile:
      case SourceKind::kHttp:
        return "uridecodebin name=src" + tail;
      case SourceKind::kCustom:
        return custom_desc;
    }
    return {};
  }

  // ---- GStreamer callbacks (streaming threads) ---------------------------------------------------
  static GstPadProbeReturn on_sink_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    std::lock_guard lock(self->arrivals_mu);
    auto record = [self](const GstBuffer* b) {
      self->arrivals.emplace_back(b, self->arrived++);
      if (self->arrivals.size() > 64) self->arrivals.pop_front();
    };
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      record(GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
      GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
      for (guint i = 0; i < gst_buffer_list_length(list); ++i) record(gst_buffer_list_get(list, i));
    }
    return GST_PAD_PROBE_OK;
  }

  // uridecodebin: do not decode audio/subtitles (the pad is exposed as is and left unlinked).
  static gboolean on_autoplug_continue(GstElement*, GstPad*, GstCaps* caps, gpointer) {
    if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return TRUE;
    const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    return !(g_str_has_prefix(name, "audio/") || g_str_has_prefix(name, "text/") ||
             g_str_has_prefix(name, "subpicture/") || g_str_has_prefix(name, "application/x-ssa") ||
             g_str_has_prefix(name, "application/x-ass"));
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer user) {
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (!caps) caps = gst_pad_query_caps(pad, nullptr);
    if (caps) {
      if (!gst_caps_is_empty(caps) &&
          g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/")) {
        static_cast<Impl*>(user)->has_video.store(true);
      }
      gst_caps_unref(caps);
    }
  }

  // All streams are known: a file without a video track is an error (instead of a silent hang/EOS).
  static void on_no_more_pads(GstElement* element, gpointer user) {
    if (static_cast<Impl*>(user)->has_video.load()) return;
    GError* err = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "the stream has no video track");
    gst_element_post_message(element, gst_message_new_error(GST_OBJECT(element), err, nullptr));
    g_error_free(err);
  }

  // uridecodebin over http(s): a bounded I/O timeout so an unreachable server fails in seconds.
  static void on_source_setup(GstElement*, GstElement* source, gpointer) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(source), "timeout") != nullptr &&
        std::strcmp(G_OBJECT_TYPE_NAME(source), "GstSoupHTTPSrc") == 0) {
      g_object_set(source, "timeout", 5u, nullptr);
    }
  }

  // An MJPEG-over-http stream (multipart/x-mixed-replace, what IP cameras serve) cannot announce that
  // it holds one stream, so decodebin waits for more pads until its queues overflow (~8 s): we say so.
  static void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer) {
    GstElementFactory* f = gst_element_get_factory(element);
    if (f && std::strcmp(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)), "multipartdemux") == 0) {
      g_object_set(element, "single-stream", TRUE, nullptr);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------------
  void teardown() {
    if (pending) {
      gst_sample_unref(pending);
      pending = nullptr;
    }
    if (pipeline) gst_element_set_state(pipeline, GST_STATE_NULL);  // joins the streaming threads
    if (sink) {
      gst_object_unref(sink);
      sink = nullptr;
    }
    if (bus) {
      gst_bus_set_flushing(bus, TRUE);  // drops queued messages
      gst_object_unref(bus);
      bus = nullptr;
    }
    if (pipeline) {
      gst_object_unref(pipeline);
      pipeline = nullptr;
    }
    if (caps) {
      gst_caps_unref(caps);
      caps = nullptr;
    }
    std::lock_guard lock(arrivals_mu);
    arrivals.clear();
    arrived = 0;
    last_seq = -1;
  }

  std::string open_error_prefix() const {
    switch (kind) {
      case SourceKind::kFile:
        return "cannot read video file '" + display + "': ";
      case SourceKind::kCamera:
        return "cannot open camera " + target + ": ";
      case SourceKind::kCustom:
        return "gst: pipeline failed: ";
      default:
        return "cannot open " + label + ": ";
    }
  }

  // Turns a bus ERROR into a one-line message with a hint for the common causes.
  std::string explain(GstMessage* msg) const {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    std::string text = describe_gerror(err, debug);
    if (err) {
      if (err->domain == GST_STREAM_ERROR &&
          (err->code == GST_STREAM_ERROR_TYPE_NOT_FOUND || err->code == GST_STREAM_ERROR_WRONG_TYPE)) {
        text = "not a video GStreamer can decode (" + text + ")";
      } else if ((err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_MISSING_PLUGIN) ||
                 (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_CODEC_NOT_FOUND)) {
        text += " — a GStreamer plugin is missing (scripts/setup.sh installs gstreamer1.0-libav and "
                "plugins good/bad/ugly)";
      } else if (err->domain == GST_STREAM_ERROR &&
                 (err->code == GST_STREAM_ERROR_DEMUX || err->code == GST_STREAM_ERROR_DECODE) &&
                 kind == SourceKind::kFile) {
        text += " — the file is damaged or truncated";
      } else if (err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_NEGOTIATION) {
        text += " — the pipeline cannot produce video/x-raw,format=BGR at the appsink";
      } else if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_FAILED &&
                 (kind == SourceKind::kHttp || kind == SourceKind::kRtsp)) {
        text += " — no usable data from the server (unreachable, refused or not a video)";
      }
      g_error_free(err);
    }
    g_free(debug);
    return one_line(text);
  }

  // Pops every queued bus message: remembers the first ERROR, prints a few WARNINGs.
  void poll_bus() {
    if (!bus) return;
    while (GstMessage* msg = gst_bus_pop(bus)) {
      switch (GST_MESSAGE_TYPE(msg)) {
        case GST_MESSAGE_ERROR:
          if (bus_error.empty()) bus_error = explain(msg);
          break;
        case GST_MESSAGE_WARNING:
          if (warnings++ < kMaxWarnings) {
            GError* err = nullptr;
            gchar* debug = nullptr;
            gst_message_parse_warning(msg, &err, &debug);
            log("warning: " + label + ": " + describe_gerror(err, debug));
            if (err) g_error_free(err);
            g_free(debug);
          }
          break;
        default:
          break;
      }
      gst_message_unref(msg);
    }
  }

  // After a failed state change the reason is on the bus (posted synchronously by the element).
  [[noreturn]] void throw_start_failure(const char* what) {
    poll_bus();
    std::string reason = bus_error.empty() ? std::string(what) : bus_error;
    throw Error(open_error_prefix() + reason);
  }

  // True when some element's pull-mode loop (a task on a sink pad: a demuxer reading the file) has
  // paused while the element has no source pads: it found no stream and stopped, and its error was lost
  // (see mp4_structure_problem); the wait for a frame would only end at the timeout. (A paused loop on an
  // element WITH source pads is normal: a short clip's demuxer reaches EOS while the decoder still works.)
  bool streaming_task_paused() const {
    bool paused = false;
    GstIterator* elements = gst_bin_iterate_recurse(GST_BIN(pipeline));
    GValue item = G_VALUE_INIT;
    for (bool done = false; !done && !paused;) {
      switch (gst_iterator_next(elements, &item)) {
        case GST_ITERATOR_OK: {
          GstElement* element = GST_ELEMENT(g_value_get_object(&item));
          GST_OBJECT_LOCK(element);
          const bool has_src_pads = element->numsrcpads > 0;
          GST_OBJECT_UNLOCK(element);
          if (has_src_pads) {
            g_value_reset(&item);
            break;
          }
          GstIterator* pads = gst_element_iterate_sink_pads(element);
          GValue pad_item = G_VALUE_INIT;
          while (!paused && gst_iterator_next(pads, &pad_item) == GST_ITERATOR_OK) {
            GstPad* pad = GST_PAD(g_value_get_object(&pad_item));
            GST_OBJECT_LOCK(pad);
            GstTask* task = GST_PAD_TASK(pad);
            if (task && gst_task_get_state(task) == GST_TASK_PAUSED) paused = true;
            GST_OBJECT_UNLOCK(pad);
            g_value_reset(&pad_item);
          }
          g_value_unset(&pad_item);
          gst_iterator_free(pads);
          g_value_reset(&item);
          break;
        }
        case GST_ITERATOR_RESYNC:
          gst_iterator_resync(elements);
          break;
        default:
          done = true;
          break;
      }
    }
    g_value_unset(&item);
    gst_iterator_free(elements);
    return paused;
  }

  // Builds the pipeline, starts it and waits (bounded) for the first frame. Throws sp::Error.
  void start() {
    teardown();
    bus_error.clear();
    has_video.store(false);

    GError* err = nullptr;
    GstElement* parsed = gst_parse_launch_full(pipeline_desc.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (!parsed || err) {
      std::string reason = err ? one_line(err->message) : "unknown parse error";
      if (err) g_error_free(err);
      if (parsed) gst_object_unref(parsed);
      if (kind == SourceKind::kCustom) throw Error("invalid gst: pipeline: " + reason);
      throw Error(open_error_prefix() + "cannot build the GStreamer pipeline: " + reason +
                  " (are the GStreamer plugins installed? see scripts/setup.sh)");
    }
    gst_object_ref_sink(parsed);
    if (GST_IS_PIPELINE(parsed)) {
      pipeline = parsed;
    } else {  // a one-element description parses to the bare element
      pipeline = gst_pipeline_new(nullptr);
      gst_object_ref_sink(pipeline);
      gst_bin_add(GST_BIN(pipeline), parsed);
      gst_object_unref(parsed);
    }

    GstElement* sink_element = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    if (!sink_element || !GST_IS_APP_SINK(sink_element)) {
      if (sink_element) gst_object_unref(sink_element);
      teardown();
      throw Error("gst: pipeline must end in 'appsink name=sink' (got: " + one_line(custom_desc) + ")");
    }
    sink = GST_APP_SINK(sink_element);
    bus = gst_element_get_bus(pipeline);

    if (kind == SourceKind::kCustom) {
      GstCaps* sink_caps = gst_app_sink_get_caps(sink);
      if (sink_caps) {
        gst_caps_unref(sink_caps);
      } else {  // negotiate BGR unless the pipeline asked for something itself (checked per sample)
        GstCaps* bgr = gst_caps_from_string("video/x-raw,format=BGR");
        gst_app_sink_set_caps(sink, bgr);
        gst_caps_unref(bgr);
      }
    }

    if (GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src"); src && kind != SourceKind::kCustom) {
      switch (kind) {
        case SourceKind::kCamera:
          g_object_set(src, "device", target.c_str(), nullptr);
          break;
        case SourceKind::kRtsp:
          g_object_set(src, "location", target.c_str(), nullptr);
          break;
        case SourceKind::kFile:
        case SourceKind::kHttp:
          g_object_set(src, "uri", target.c_str(), nullptr);
          g_signal_connect(src, "autoplug-continue", G_CALLBACK(on_autoplug_continue), this);
          g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), this);
          g_signal_connect(src, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
          g_signal_connect(src, "source-setup", G_CALLBACK(on_source_setup), this);
          g_signal_connect(src, "deep-element-added", G_CALLBACK(on_deep_element_added), this);
          break;
        default:
          break;
      }
      gst_object_unref(src);
    } else if (src) {
      gst_object_unref(src);
    }

    if (GstPad* pad = gst_element_get_static_pad(GST_ELEMENT(sink), "sink")) {
      gst_pad_add_probe(pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                        on_sink_buffer, this, nullptr);
      gst_object_unref(pad);
    }

    const GstStateChangeReturn paused = gst_element_set_state(pipeline, GST_STATE_PAUSED);
    if (paused == GST_STATE_CHANGE_FAILURE) throw_start_failure("the pipeline refused to start");
    if (kind == SourceKind::kCustom) {
      live = paused == GST_STATE_CHANGE_NO_PREROLL || options.realtime;
      guint max_buffers = 0;
      g_object_get(sink, "max-buffers", &max_buffers, nullptr);
      if (max_buffers == 0) {  // unbounded by default: bound it like our own pipelines
        gst_app_sink_set_max_buffers(sink, live ? kLiveQueue : kFileQueue);
        gst_app_sink_set_drop(sink, live);
      }
    }
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      throw_start_failure("the pipeline refused to play");
    }

    const auto started = Clock::now();
    const auto deadline = started + std::chrono::milliseconds(std::max(100, options.open_timeout_ms));
    Clock::time_point paused_since{};
    for (;;) {
      if (cancelled()) throw Error("interrupted while opening " + label);
      if (GstSample* sample = gst_app_sink_try_pull_sample(sink, kPullTimeout)) {
        pending = sample;
        update_caps(sample);  // may throw (not BGR): the destructor releases everything
        if (kind == SourceKind::kHttp && reconnects.load() == 0) {
          // No duration after the first frame: a live http stream (MJPEG camera, live TS), not a file.
          gint64 duration = -1;
          http_live = !gst_element_query_duration(pipeline, GST_FORMAT_TIME, &duration) || duration <= 0;
        }
        if (http_live && !options.realtime) {
          // A live stream from now on: newest frame wins (a camera's backlog would only add latency and
          // hide an outage), counted drops as for rtsp. The appsink was built lossless: relax it.
          live = true;
          gst_app_sink_set_max_buffers(sink, kLiveQueue);
          gst_app_sink_set_drop(sink, TRUE);
        }
        return;
      }
      poll_bus();
      if (!bus_error.empty()) throw Error(open_error_prefix() + bus_error);
      if (gst_app_sink_is_eos(sink)) throw Error(open_error_prefix() + "the stream ended before its first frame");
      if (!live && Clock::now() - started > std::chrono::milliseconds(500)) {
        if (!streaming_task_paused()) {
          paused_since = Clock::time_point{};
        } else if (paused_since == Clock::time_point{}) {
          paused_since = Clock::now();
        } else if (Clock::now() - paused_since > std::chrono::milliseconds(300)) {
          throw Error(open_error_prefix() +
                      "the demuxer found no stream and stopped without reporting why (GStreamer lost the "
                      "error): the file is probably damaged or truncated");
        }
      }
      if (Clock::now() > deadline) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "no frame within %.1f s (timed out)", options.open_timeout_ms / 1000.0);
        throw Error(open_error_prefix() + buf);
      }
    }
  }

  void update_caps(GstSample* sample) {
    GstCaps* sample_caps = gst_sample_get_caps(sample);
    if (!sample_caps) throw Error(label + ": a frame arrived without caps");
    if (caps && (caps == sample_caps || gst_caps_is_equal(caps, sample_caps))) return;
    GstVideoInfo vi;
    if (!gst_video_info_from_caps(&vi, sample_caps)) {
      gchar* s = gst_caps_to_string(sample_caps);
      std::string text = s ? s : "?";
      g_free(s);
      throw Error(label + ": the appsink received non-video caps: " + text);
    }
    if (GST_VIDEO_INFO_FORMAT(&vi) != GST_VIDEO_FORMAT_BGR) {
      throw Error(label + ": the appsink must receive video/x-raw,format=BGR, got format " +
                  gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vi)));
    }
    info = vi;
    gst_caps_replace(&caps, sample_caps);
    width.store(GST_VIDEO_INFO_WIDTH(&vi));
    height.store(GST_VIDEO_INFO_HEIGHT(&vi));
    const int n = GST_VIDEO_INFO_FPS_N(&vi), d = GST_VIDEO_INFO_FPS_D(&vi);
    fps.store(n > 0 && d > 0 ? static_cast<double>(n) / d : 0.0);
  }

  // Copies one sample into `out` (respecting the stride), numbers it and counts appsink drops.
  // The capture stage's work: from a decoded sample in hand to a frame of our own (map, copy, stamp).
  void deliver(GstSample* sample, Frame& out) {
    const Clock::time_point start = Clock::now();
    update_caps(sample);
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    if (!buffer) throw Error(label + ": a sample arrived without a buffer");

    int64_t seq = -1;
    {
      std::lock_guard lock(arrivals_mu);
      for (auto it = arrivals.rbegin(); it != arrivals.rend(); ++it) {
        if (it->first == buffer) {
          seq = it->second;
          break;
        }
      }
    }
    if (seq >= 0) {
      if (seq > last_seq + 1) dropped.fetch_add(seq - last_seq - 1);
      last_seq = seq;
    }

    GstVideoFrame vf;
    if (!gst_video_frame_map(&vf, &info, buffer, GST_MAP_READ)) throw Error(label + ": cannot map a video frame");
    const int w = GST_VIDEO_FRAME_WIDTH(&vf), h = GST_VIDEO_FRAME_HEIGHT(&vf);
    const auto* data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, 0));
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
    // Reuse out.bgr only when it is ours alone (a cv::Mat copy elsewhere would otherwise see new pixels).
    const bool reusable = out.bgr.u != nullptr && out.bgr.u->refcount == 1 && out.bgr.rows == h &&
                          out.bgr.cols == w && out.bgr.type() == CV_8UC3 && out.bgr.isContinuous();
    if (!reusable) out.bgr = cv::Mat(h, w, CV_8UC3);
    const size_t row_bytes = static_cast<size_t>(w) * 3;
    for (int y = 0; y < h; ++y) std::memcpy(out.bgr.ptr(y), data + static_cast<ptrdiff_t>(y) * stride, row_bytes);
    gst_video_frame_unmap(&vf);

    int64_t raw_pts = -1;
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      const GstSegment* segment = gst_sample_get_segment(sample);
      guint64 t = pts;
      if (segment && segment->format == GST_FORMAT_TIME) {
        const guint64 st = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts);
        if (GST_CLOCK_TIME_IS_VALID(st)) t = st;
      }
      raw_pts = static_cast<int64_t>(t);
      const GstClockTime dur = GST_BUFFER_DURATION(buffer);
      last_end_ns = raw_pts + (GST_CLOCK_TIME_IS_VALID(dur) ? static_cast<int64_t>(dur) : 0);
    }
    out.index = delivered.fetch_add(1);
    out.captured = Clock::now();
    out.pts_ns = monotonic_pts(raw_pts, out.captured);
    out.times[Stage::kCapture] = ms_between(start, out.captured);
    last_frame = out.captured;
    if (attempts > 0 && std::chrono::duration<double>(out.captured - last_reconnect).count() > options.retry_reset_s) {
      attempts = 0;  // healthy again for a while: refill the retry budget
    }
  }

  // This connection's timestamp (-1: none) -> the stream's: never decreasing, continued across
  // reconnects with the outage as a gap. Once a stream has had timestamps, a frame without one is
  // stamped by the wall time since the previous frame, so the two clocks never mix.
  int64_t monotonic_pts(int64_t raw_pts, Clock::time_point now) {
    const auto wall_since_last = [&] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_frame).count();
    };
    if (last_pts_ns < 0) {  // the first timestamped frame sets the base
      if (raw_pts < 0) return -1;
      rebase_pending = false;
      pts_offset_ns = 0;
      return last_pts_ns = raw_pts;
    }
    int64_t t;
    if (raw_pts < 0) {
      t = last_pts_ns + std::max<int64_t>(0, wall_since_last());
    } else {
      if (rebase_pending) {
        // last_frame is the last frame before the outage (reconnect() does not touch it).
        const int64_t period = fps.load() > 0 ? static_cast<int64_t>(1e9 / fps.load()) : 0;
        pts_offset_ns = last_pts_ns + std::max(period, wall_since_last()) - raw_pts;
        rebase_pending = false;
      }
      t = raw_pts + pts_offset_ns;
    }
    return last_pts_ns = std::max(t, last_pts_ns);
  }

  bool reconnectable() const {
    if (kind == SourceKind::kHttp) return http_live;  // an http file is not restarted (frames would repeat)
    return live && kind != SourceKind::kFile;         // realtime files stay files
  }
  // Live sources whose silence means they are gone (a file or a test pattern never stalls that way).
  bool watch_stall() const {
    return kind == SourceKind::kCamera || kind == SourceKind::kRtsp || (kind == SourceKind::kHttp && http_live);
  }

  // Sleeps up to `ms`, returning false early when cancelled.
  bool sleep_unless_cancelled(int ms) const {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until) {
      if (cancelled()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !cancelled();
  }

  // A live source was lost: reconnect with backoff. false = gave up (or interrupted): the run ends.
  bool reconnect(std::string why) {
    for (;;) {
      if (attempts >= options.retries) {
        const std::string msg =
            label + " lost: " + why +
            (options.retries > 0 ? " (gave up after " + std::to_string(options.retries) + " reconnect attempts)" : "");
        log(msg);
        teardown();
        set_end(msg, msg);
        return false;
      }
      ++attempts;
      reconnects.fetch_add(1);
      const int wait_ms = std::max(0, options.retry_backoff_ms) * attempts;
      char buf[160];
      std::snprintf(buf, sizeof buf, "; reconnecting in %.1f s (attempt %d of %d)", wait_ms / 1000.0, attempts,
                    options.retries);
      log(label + " lost: " + why + buf);
      teardown();
      if (!sleep_unless_cancelled(wait_ms)) {
        set_end("interrupted", "");
        return false;
      }
      try {
        start();
        last_reconnect = Clock::now();
        rebase_pending = true;  // deliver() uses last_frame (before the outage) for the gap
        log(label + " reconnected (attempt " + std::to_string(attempts) + ")");
        return true;
      } catch (const Error& e) {
        if (cancelled()) {
          teardown();
          set_end("interrupted", "");
          return false;
        }
        why = e.what();
        if (const std::string prefix = open_error_prefix(); starts_with(why, prefix.c_str())) why.erase(0, prefix.size());
      }
    }
  }

  // Clean end of stream; warns when a file stops well short of its container duration (truncation).
  void finish_eos() {
    std::string reason = "end of stream";
    if (!live || kind == SourceKind::kFile || kind == SourceKind::kHttp) {
      gint64 duration = -1;
      if (pipeline && gst_element_query_duration(pipeline, GST_FORMAT_TIME, &duration) && duration > 0 &&
          last_end_ns >= 0) {
        const int64_t slack = std::max<int64_t>(500 * GST_MSECOND, duration / 20);
        if (last_end_ns + slack < duration) {
          char buf[200];
          std::snprintf(buf, sizeof buf, "ended early at %.2f s of %.2f s after %lld frames (file truncated?)",
                        last_end_ns / 1e9, duration / 1e9, static_cast<long long>(delivered.load()));
          reason = buf;
          log("warning: " + label + " " + reason);
        } else if (const double rate = fps.load(); rate > 0) {
          // Decoders skip frames they cannot decode (damaged data) without an error: say so.
          const auto expected = static_cast<int64_t>(std::llround(duration / 1e9 * rate));
          const int64_t got = delivered.load();
          if (got + std::max<int64_t>(2, expected / 50) < expected) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "end of stream: %lld of ~%lld frames decoded (damaged file?)",
                          static_cast<long long>(got), static_cast<long long>(expected));
            reason = buf;
            log("warning: " + label + " " + reason);
          }
        }
      }
    }
    set_end(reason, "");
  }
};

// ------------------------------------------------------------------------------------------------
VideoSource::VideoSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoSource::~VideoSource() = default;

std::unique_ptr<VideoSource> VideoSource::open(const std::string& source, const VideoSourceOptions& options) {
  namespace fs = std::filesystem;
  auto m = std::make_unique<Impl>();
  m->options = options;

  if (source.empty()) throw Error("empty video source (expected a file, camera index, URL, 'test' or 'gst:...')");
  if (source == "test") {
    m->kind = SourceKind::kTest;
    m->live = true;
    m->label = "test pattern";
  } else if (starts_with(source, "gst:")) {
    m->kind = SourceKind::kCustom;
    m->custom_desc = source.substr(4);
    if (m->custom_desc.find_first_not_of(" \t") == std::string::npos) throw Error("empty gst: pipeline");
    if (m->custom_desc.find("appsink") == std::string::npos || m->custom_desc.find("name=sink") == std::string::npos) {
      throw Error("gst: pipeline must end in 'appsink name=sink' (got: " + one_line(m->custom_desc) + ")");
    }
    m->label = "gst pipeline";
  } else if (starts_with(source, "rtsp://") || starts_with(source, "rtsps://") || starts_with(source, "rtspt://") ||
             starts_with(source, "rtspu://")) {
    m->kind = SourceKind::kRtsp;
    m->live = true;
    m->target = source;
    m->label = "rtsp " + redact_url(source);
  } else if (starts_with(source, "http://") || starts_with(source, "https://")) {
    m->kind = SourceKind::kHttp;
    m->live = options.realtime;
    m->target = source;
    m->label = "http " + redact_url(source);
  } else if (is_digits(source) || starts_with(source, "/dev/video")) {
    m->kind = SourceKind::kCamera;
    m->live = true;
    m->target = is_digits(source) ? "/dev/video" + std::to_string(std::stoi(source)) : source;
    m->label = "camera " + m->target;
    std::error_code ec;
    if (!fs::exists(m->target, ec)) throw Error("cannot open camera " + m->target + ": no such device");
  } else {
    m->kind = SourceKind::kFile;
    m->live = options.realtime;
    std::string path = source;
    if (starts_with(source, "file://")) {
      init_gstreamer();
      gchar* location = gst_uri_get_location(source.c_str());
      if (!location) throw Error("invalid file URI: " + source);
      path = location;
      g_free(location);
    } else if (const auto scheme = source.find("://"); scheme != std::string::npos && scheme > 0 &&
                                                       source.find('/') > scheme) {
      // Another URI scheme (hls over file, smb, ...): hand it to uridecodebin if GStreamer knows it.
      init_gstreamer();
      const std::string protocol = source.substr(0, scheme);
      if (!gst_uri_protocol_is_supported(GST_URI_SRC, protocol.c_str())) {
        throw Error("unsupported video source URI scheme '" + protocol + "://' in " + redact_url(source));
      }
      m->kind = SourceKind::kHttp;  // network-like: lossless unless realtime
      m->target = source;
      m->label = protocol + " " + redact_url(source);
    }
    if (m->kind == SourceKind::kFile) {
      std::error_code ec;
      if (!fs::exists(path, ec)) throw Error("video file not found: " + path);
      if (fs::is_directory(path, ec)) throw Error("video source is a directory, not a file: " + path);
      if (fs::file_size(path, ec) == 0 && !ec) throw Error("video file is empty: " + path);
      if (const std::string problem = mp4_structure_problem(path); !problem.empty()) {
        throw Error("cannot read video file '" + path + "': " + problem);
      }
      init_gstreamer();
      GError* err = nullptr;
      gchar* uri = gst_filename_to_uri(path.c_str(), &err);
      if (!uri) {
        std::string reason = err ? err->message : "?";
        if (err) g_error_free(err);
        throw Error("cannot make a URI of " + path + ": " + reason);
      }
      m->target = uri;
      g_free(uri);
      m->label = "file " + fs::path(path).filename().string();
      m->display = path;
    }
  }
  if (options.realtime && (m->kind == SourceKind::kFile || m->kind == SourceKind::kHttp)) m->label += " (realtime)";

  init_gstreamer();
  m->pipeline_desc = m->build_description();
  m->start();  // throws sp::Error; ~Impl releases whatever was built
  m->last_frame = Clock::now();
  return std::unique_ptr<VideoSource>(new VideoSource(std::move(m)));
}

bool VideoSource::next(Frame& out) {
  Impl& m = *impl_;
  if (m.ended) return false;
  for (;;) {
    if (m.cancelled()) {
      m.set_end("interrupted", "");
      return false;
    }
    GstSample* sample = std::exchange(m.pending, nullptr);
    if (!sample) sample = gst_app_sink_try_pull_sample(m.sink, kPullTimeout);
    if (sample) {
      try {
        m.deliver(sample, out);
      } catch (const Error& e) {
        gst_sample_unref(sample);
        m.teardown();
        m.set_end(e.what(), e.what());
        throw;
      }
      gst_sample_unref(sample);
      return true;
    }
    // The appsink is empty: now act on errors and EOS (every frame decoded before them is delivered).
    m.poll_bus();
    if (!m.bus_error.empty()) {
      std::string err = std::exchange(m.bus_error, std::string());
      if (m.reconnectable()) {
        if (m.reconnect(err)) continue;
        return false;
      }
      const std::string msg = m.label + ": " + err + " (after " + std::to_string(m.delivered.load()) + " frames)";
      m.teardown();
      m.set_end(msg, msg);
      throw Error(msg);
    }
    if (gst_app_sink_is_eos(m.sink)) {
      if (m.watch_stall()) {  // a live stream that ends was lost (its server stopped or went away)
        if (m.reconnect("the stream ended")) continue;
        return false;
      }
      m.finish_eos();
      return false;
    }
    if (m.watch_stall() && m.options.stall_timeout_ms > 0 &&
        Clock::now() - m.last_frame > std::chrono::milliseconds(m.options.stall_timeout_ms)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "no frame for %.1f s", m.options.stall_timeout_ms / 1000.0);
      if (m.reconnect(buf)) continue;
      return false;
    }
  }
}

void VideoSource::interrupt() { impl_->interrupted.store(true); }

bool VideoSource::live() const { return impl_->live; }
SourceKind VideoSource::kind() const { return impl_->kind; }
double VideoSource::fps() const { return impl_->fps.load(); }
int VideoSource::width() const { return impl_->width.load(); }
int VideoSource::height() const { return impl_->height.load(); }
std::string VideoSource::pipeline_description() const {
  return impl_->kind == SourceKind::kCustom ? impl_->custom_desc : impl_->pipeline_desc;
}
int64_t VideoSource::frames_delivered() const { return impl_->delivered.load(); }
int64_t VideoSource::frames_dropped() const { return impl_->dropped.load(); }
int VideoSource::reconnects() const { return impl_->reconnects.load(); }

std::string VideoSource::description() const {
  std::string d = impl_->label;
  const int w = width(), h = height();
  if (w > 0 && h > 0) {
    // (appended piecewise: GCC 12 flags `d += " " + std::to_string(w) + ...` with a false -Wrestrict)
    d.append(" ").append(std::to_string(w)).append("x").append(std::to_string(h));
    if (fps() > 0) d.append("@").append(format_fps(fps()));
  }
  if (impl_->live && impl_->kind != SourceKind::kFile && impl_->kind != SourceKind::kHttp) d += " (live)";
  return d;
}

std::string VideoSource::error() const {
  std::lock_guard lock(impl_->reason_mu);
  return impl_->error;
}

std::string VideoSource::ended_reason() const {
  std::lock_guard lock(impl_->reason_mu);
  return impl_->ended_reason;
}

}  // namespace sp::pipeline
