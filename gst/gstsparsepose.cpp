// The `sparsepose` element: GObject/GStreamer glue around sparsepose::PoseEstimator. The model opens in
// start() (READY -> PAUSED), where every property value is checked: a wrong one fails the state change
// with an error naming the property. Each frame then runs in place in the streaming thread. On a live
// pipeline the element answers the LATENCY query with its processing time added (processing_latency.h).
#include "gst/gstsparsepose.h"

#include <gst/base/gstbasetransform.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gst/element_settings.h"
#include "gst/late_frames.h"
#include "gst/pose_message.h"
#include "gst/pose_meta.h"
#include "gst/processing_latency.h"
#include "sparsepose/draw.h"
#include "sparsepose/error.h"
#include "sparsepose/pose_estimator.h"

GST_DEBUG_CATEGORY_STATIC(sparse_pose_debug);
#define GST_CAT_DEFAULT sparse_pose_debug

namespace {

// Everything C++ the element holds, behind one pointer in the GObject instance.
struct ElementState {
  sp::gst::ElementSettings settings;  // the properties; under the object lock
  sp::gst::LateFrames late;           // the latest QoS report; under the object lock

  // Streaming thread only (and start/stop, which do not overlap with it).
  std::unique_ptr<sparsepose::PoseEstimator> estimator;
  sparsepose::Result result;
  bool live = false;
  bool live_known = false;
  sp::gst::ProcessingLatency latency;

  // What the LATENCY query adds (latency.reported()), read from any thread.
  std::atomic<guint64> reported_latency{0};

  std::atomic<guint64> processed{0};
  std::atomic<guint64> dropped{0};
};

}  // namespace

struct GstSparsePose {
  GstVideoFilter parent;
  ElementState* state;
};

struct GstSparsePoseClass {
  GstVideoFilterClass parent_class;
};

G_DEFINE_TYPE(GstSparsePose, gst_sparse_pose, GST_TYPE_VIDEO_FILTER)

namespace {

enum Property {
  PROP_0,
  PROP_MODEL,
  PROP_ENGINE,
  PROP_THREADS,
  PROP_ISA,
  PROP_IMGSZ,
  PROP_CONF,
  PROP_IOU,
  PROP_DRAW,
  PROP_TRACK,
  PROP_SMOOTH,
  PROP_POST_MESSAGES,
  PROP_LATENCY,
  PROP_PROCESSED,
  PROP_DROPPED,
};

GstSparsePose* self_of(gpointer p) { return reinterpret_cast<GstSparsePose*>(p); }

GType engine_enum_type() {
  static const GType type = [] {
    static const GEnumValue values[] = {
        {static_cast<gint>(sparsepose::Engine::Auto),
         "int8 kernels for quantized models, float for float ones; without a model, the bundled int8 model on CPUs with "
         "int8 dot products (AVX-512 VNNI, AVX-VNNI, AMX), else the float one",
         "auto"},
        {static_cast<gint>(sparsepose::Engine::Fp32), "float kernels (a quantized model's quantization emulated exactly)",
         "fp32"},
        {static_cast<gint>(sparsepose::Engine::Int8), "integer kernels (a quantized model; the bundled int8 one by default)",
         "int8"},
        {0, nullptr, nullptr},
    };
    return g_enum_register_static("GstSparsePoseEngine", values);
  }();
  return type;
}

// Numbers are accepted whatever their value and checked when the element starts: a GObject range would
// only print a warning and keep the old value, so a pipeline asked for "threads=-1" would run with a
// setting nobody asked for instead of failing with the property's name. The valid ranges are in the
// descriptions.
constexpr GParamFlags kSetting =
    static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
constexpr GParamFlags kLiveSetting =
    static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
constexpr GParamFlags kStatistic = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

void install_properties(GObjectClass* gobject_class) {
  const sp::gst::ElementSettings d;
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "ONNX YOLOv8/YOLO11-pose model file; empty: the bundled yolo11n-pose (a missing or unreadable "
                          "file fails the state change)",
                          nullptr, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_ENGINE,
      g_param_spec_enum("engine", "Engine", "Kernels that run the model", engine_enum_type(),
                        static_cast<gint>(d.engine), kSetting));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "Inference threads: 1..256, or 0 for one per core this process may use (other values fail the "
                       "state change)",
                       G_MININT, G_MAXINT, d.threads, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_ISA,
      g_param_spec_string("isa", "Instruction set",
                          "auto (the best this CPU has), scalar, avx2, avx512, avx512vnni, avxvnni or amx (one the CPU "
                          "lacks fails the state change)",
                          d.isa.c_str(), kSetting));
  g_object_class_install_property(
      gobject_class, PROP_IMGSZ,
      g_param_spec_int("imgsz", "Input size",
                       "Square model input in pixels: a multiple of 32 in 32..4096, or 0 for the model's own (640)",
                       G_MININT, G_MAXINT, d.imgsz, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_CONF,
      g_param_spec_float("conf", "Confidence threshold", "Person confidence threshold, 0..1", -G_MAXFLOAT, G_MAXFLOAT,
                         d.conf, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_IOU,
      g_param_spec_float("iou", "NMS IoU threshold", "Non-maximum suppression IoU threshold, 0..1", -G_MAXFLOAT,
                         G_MAXFLOAT, d.iou, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_DRAW,
      g_param_spec_boolean("draw", "Draw", "Draw the people (boxes, skeletons, keypoints, track IDs) on the frames",
                           d.draw, kLiveSetting));
  g_object_class_install_property(
      gobject_class, PROP_TRACK,
      g_param_spec_boolean("track", "Track",
                           "Follow people across frames with stable IDs (by the frames' running time); a new person "
                           "gets an ID in the second frame they are seen in",
                           d.track, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_SMOOTH,
      g_param_spec_boolean("smooth", "Smooth", "Smooth each tracked person's keypoints over time (needs track=true)",
                           d.smooth, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post a 'sparsepose' element message with the people and timings on the bus for every "
                           "frame processed",
                           d.post_messages, kLiveSetting));
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint64("latency", "Latency",
                          "Processing latency in nanoseconds that the element adds to the LATENCY query on live "
                          "pipelines, so synchronised sinks wait for processed frames. 0: automatic, measured by two "
                          "warm-up inferences on a blank frame when the element starts (times 1.5, rounded up to a "
                          "millisecond) and raised, with a LATENCY message, when the recent frames' 90th percentile "
                          "exceeds it by 25 %; any other value is reported as given",
                          0, G_MAXUINT64, d.latency_ns, kSetting));
  g_object_class_install_property(
      gobject_class, PROP_PROCESSED,
      g_param_spec_uint64("processed", "Processed", "Frames run through the model since the element started", 0,
                          G_MAXUINT64, 0, kStatistic));
  g_object_class_install_property(
      gobject_class, PROP_DROPPED,
      g_param_spec_uint64("dropped", "Dropped",
                          "Frames skipped since the element started because a live pipeline's sink reported them "
                          "late (QoS; files never drop)",
                          0, G_MAXUINT64, 0, kStatistic));
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstSparsePose* self = self_of(object);
  GST_OBJECT_LOCK(self);
  sp::gst::ElementSettings& s = self->state->settings;
  switch (id) {
    case PROP_MODEL: {
      const gchar* v = g_value_get_string(value);
      s.model = v ? v : "";
      break;
    }
    case PROP_ENGINE: s.engine = static_cast<sparsepose::Engine>(g_value_get_enum(value)); break;
    case PROP_THREADS: s.threads = g_value_get_int(value); break;
    case PROP_ISA: {
      const gchar* v = g_value_get_string(value);
      s.isa = v ? v : "auto";
      break;
    }
    case PROP_IMGSZ: s.imgsz = g_value_get_int(value); break;
    case PROP_CONF: s.conf = g_value_get_float(value); break;
    case PROP_IOU: s.iou = g_value_get_float(value); break;
    case PROP_DRAW: s.draw = g_value_get_boolean(value); break;
    case PROP_TRACK: s.track = g_value_get_boolean(value); break;
    case PROP_SMOOTH: s.smooth = g_value_get_boolean(value); break;
    case PROP_POST_MESSAGES: s.post_messages = g_value_get_boolean(value); break;
    case PROP_LATENCY: s.latency_ns = g_value_get_uint64(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstSparsePose* self = self_of(object);
  GST_OBJECT_LOCK(self);
  const sp::gst::ElementSettings& s = self->state->settings;
  switch (id) {
    case PROP_MODEL: g_value_set_string(value, s.model.empty() ? nullptr : s.model.c_str()); break;
    case PROP_ENGINE: g_value_set_enum(value, static_cast<gint>(s.engine)); break;
    case PROP_THREADS: g_value_set_int(value, s.threads); break;
    case PROP_ISA: g_value_set_string(value, s.isa.c_str()); break;
    case PROP_IMGSZ: g_value_set_int(value, s.imgsz); break;
    case PROP_CONF: g_value_set_float(value, s.conf); break;
    case PROP_IOU: g_value_set_float(value, s.iou); break;
    case PROP_DRAW: g_value_set_boolean(value, s.draw); break;
    case PROP_TRACK: g_value_set_boolean(value, s.track); break;
    case PROP_SMOOTH: g_value_set_boolean(value, s.smooth); break;
    case PROP_POST_MESSAGES: g_value_set_boolean(value, s.post_messages); break;
    case PROP_LATENCY: g_value_set_uint64(value, s.latency_ns); break;
    case PROP_PROCESSED: g_value_set_uint64(value, self->state->processed.load()); break;
    case PROP_DROPPED: g_value_set_uint64(value, self->state->dropped.load()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

void finalize(GObject* object) {
  GstSparsePose* self = self_of(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_sparse_pose_parent_class)->finalize(object);
}

GstClockTime elapsed_since(std::chrono::steady_clock::time_point start) {
  return static_cast<GstClockTime>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

// The automatic latency's first estimate: two inferences on a blank frame of the model's input size
// (the frame is letterboxed to that size, so its own size matters little; the recent frames' times
// correct the estimate). The second, warm, run counts. Done here because the LATENCY query comes when
// the pipeline goes to PLAYING, before any frame. The warm-up runs leave no tracks behind.
void warm_up(ElementState& st) {
  const sparsepose::ModelInfo& info = st.estimator->info();
  std::vector<std::uint8_t> blank(static_cast<std::size_t>(info.input_width) * info.input_height * 3, 0);
  const sparsepose::ImageView view{blank.data(), info.input_width, info.input_height, 0, sparsepose::PixelFormat::BGR};
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    st.estimator->run(view, 0.0, st.result);
    st.latency.seed(elapsed_since(t0));
  }
  st.estimator->reset_tracking();
  st.result = {};
}

// READY -> PAUSED: check the properties and open the model. A wrong value fails the state change with
// an error message naming the property.
gboolean start(GstBaseTransform* trans) {
  GstSparsePose* self = self_of(trans);
  ElementState& st = *self->state;
  GST_OBJECT_LOCK(self);
  const sp::gst::ElementSettings settings = st.settings;
  st.late.reset();
  GST_OBJECT_UNLOCK(self);
  try {
    st.estimator = std::make_unique<sparsepose::PoseEstimator>(sp::gst::to_options(settings));
    st.latency = sp::gst::ProcessingLatency(settings.latency_ns);
    if (st.latency.automatic()) warm_up(st);
  } catch (const sparsepose::Error& e) {
    if (const char* property = sp::gst::property_of_option(e.option())) {
      const std::string message = sp::gst::message_for_property(e.what(), e.option(), property);
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid value for property '%s': %s", property, message.c_str()),
                        ("the element checks its properties when it starts"));
    } else {
      GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not open the pose model: %s", e.what()), (nullptr));
    }
    return FALSE;
  }
  st.processed = 0;
  st.dropped = 0;
  st.live_known = false;
  st.reported_latency = st.latency.reported();
  const sparsepose::ModelInfo& info = st.estimator->info();
  GST_INFO_OBJECT(self, "model %s, engine %s, kernels %s, %d threads, input %dx%d, latency %" GST_TIME_FORMAT " (%s)",
                  info.model_path.c_str(), info.engine.c_str(), info.kernel_isas.c_str(), info.threads,
                  info.input_width, info.input_height, GST_TIME_ARGS(st.latency.reported()),
                  st.latency.automatic() ? "measured" : "as set");
  return TRUE;
}

gboolean stop(GstBaseTransform* trans) {
  ElementState& st = *self_of(trans)->state;
  st.estimator.reset();
  st.result = {};
  return TRUE;
}

// A new stream or a flush: liveness is asked again and old QoS reports no longer apply.
gboolean sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstSparsePose* self = self_of(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START || GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    GST_OBJECT_LOCK(self);
    self->state->late.reset();
    GST_OBJECT_UNLOCK(self);
    self->state->live_known = false;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_sparse_pose_parent_class)->sink_event(trans, event);
}

// QoS events are recorded here and passed upstream as they came. They never reach GstBaseTransform's
// own QoS, which would also drop frames of files played to a synchronised sink.
gboolean src_event(GstBaseTransform* trans, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstSparsePose* self = self_of(trans);
    GstQOSType type;
    gdouble proportion = 1.0;
    GstClockTimeDiff jitter = 0;
    GstClockTime timestamp = GST_CLOCK_TIME_NONE;
    gst_event_parse_qos(event, &type, &proportion, &jitter, &timestamp);
    GST_OBJECT_LOCK(self);
    self->state->late.on_qos(timestamp, jitter);
    GST_OBJECT_UNLOCK(self);
    return gst_pad_push_event(GST_BASE_TRANSFORM_SINK_PAD(trans), event);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_sparse_pose_parent_class)->src_event(trans, event);
}

// a + b, short of GST_CLOCK_TIME_NONE (which means "no maximum" in a latency query).
GstClockTime add_latency(GstClockTime a, GstClockTime b) {
  return a > GST_CLOCK_TIME_NONE - 1 - b ? GST_CLOCK_TIME_NONE - 1 : a + b;
}

// The LATENCY query from downstream: what upstream answers, plus the element's processing time when the
// pipeline is live (a file's frames are not due at a clock time, so there is nothing to add).
gboolean query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* q) {
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(q) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(gst_sparse_pose_parent_class)->query(trans, direction, q);
  if (!GST_BASE_TRANSFORM_CLASS(gst_sparse_pose_parent_class)->query(trans, direction, q)) return FALSE;
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  gst_query_parse_latency(q, &live, &min, &max);
  if (live) {
    const GstClockTime own = self_of(trans)->state->reported_latency.load();
    const GstClockTime new_min = add_latency(min, own);
    const GstClockTime new_max = GST_CLOCK_TIME_IS_VALID(max) ? add_latency(max, own) : max;
    GST_DEBUG_OBJECT(trans, "latency: upstream min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT ", own %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(min), GST_TIME_ARGS(max), GST_TIME_ARGS(own));
    gst_query_set_latency(q, live, new_min, new_max);
  }
  return TRUE;
}

// Whether the source upstream is live (a camera, a network stream, a live test source), as the
// latency query says.
bool upstream_is_live(GstBaseTransform* trans) {
  GstQuery* query = gst_query_new_latency();
  gboolean live = FALSE;
  if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query)) gst_query_parse_latency(query, &live, nullptr, nullptr);
  gst_query_unref(query);
  return live;
}

sparsepose::PixelFormat pixel_format(GstVideoFormat f) {
  switch (f) {
    case GST_VIDEO_FORMAT_RGB: return sparsepose::PixelFormat::RGB;
    case GST_VIDEO_FORMAT_BGRx: return sparsepose::PixelFormat::BGRx;
    case GST_VIDEO_FORMAT_RGBx: return sparsepose::PixelFormat::RGBx;
    default: return sparsepose::PixelFormat::BGR;  // the caps allow only these four
  }
}

void post_qos_drop(GstSparsePose* self, GstBuffer* buffer, GstClockTime running_time) {
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  const GstClockTime stream_time = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, pts);
  GstMessage* m = gst_message_new_qos(GST_OBJECT(self), TRUE, running_time, stream_time, pts, GST_BUFFER_DURATION(buffer));
  gst_message_set_qos_stats(m, GST_FORMAT_BUFFERS, self->state->processed.load(), self->state->dropped.load());
  gst_element_post_message(GST_ELEMENT(self), m);
}

GstFlowReturn transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstSparsePose* self = self_of(filter);
  GstBaseTransform* trans = GST_BASE_TRANSFORM(filter);
  ElementState& st = *self->state;
  GstBuffer* buffer = frame->buffer;
  if (!st.live_known) {
    st.live = upstream_is_live(trans);
    st.live_known = true;
    GST_INFO_OBJECT(self, "upstream is %s: %s", st.live ? "live" : "not live",
                    st.live ? "frames reported late downstream are skipped" : "every frame is processed");
  }
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  const GstClockTime running_time = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts);

  // gst_base_transform_is_qos_enabled() takes the object lock itself: ask before taking it.
  const bool qos = st.live && gst_base_transform_is_qos_enabled(trans);
  GST_OBJECT_LOCK(self);
  const bool late = qos && st.late.late(running_time);
  const bool draw = st.settings.draw;
  const bool post_messages = st.settings.post_messages;
  GST_OBJECT_UNLOCK(self);
  if (late) {
    ++st.dropped;
    GST_DEBUG_OBJECT(self, "skipping a late frame at running time %" GST_TIME_FORMAT, GST_TIME_ARGS(running_time));
    post_qos_drop(self, buffer, running_time);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  const int width = GST_VIDEO_FRAME_WIDTH(frame);
  const int height = GST_VIDEO_FRAME_HEIGHT(frame);
  const sparsepose::MutableImageView view{static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0)), width, height,
                                          static_cast<std::size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0)),
                                          pixel_format(GST_VIDEO_FRAME_FORMAT(frame))};
  // Tracking runs on the frames' running time; frames without timestamps are spaced by the frame rate.
  double t = 0;
  if (GST_CLOCK_TIME_IS_VALID(running_time)) {
    t = static_cast<double>(running_time) / GST_SECOND;
  } else {
    const GstVideoInfo& info = filter->in_info;
    const double fps = info.fps_n > 0 && info.fps_d > 0 ? static_cast<double>(info.fps_n) / info.fps_d : 30.0;
    t = static_cast<double>(st.processed.load()) / fps;
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    st.estimator->run(view, t, st.result);
    if (draw) sparsepose::draw(view, st.result.persons);
  } catch (const sparsepose::Error& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Pose estimation failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  // The stream's frame number: the warm-up runs are not frames of the stream.
  st.result.frame = st.processed.load();
  ++st.processed;
  sp::gst::add_pose_meta(buffer, st.result);
  if (post_messages) {
    sp::gst::FrameContext ctx;
    ctx.pts = pts;
    ctx.running_time = running_time;
    ctx.width = width;
    ctx.height = height;
    ctx.processed = st.processed.load();
    ctx.dropped = st.dropped.load();
    gst_element_post_message(GST_ELEMENT(self),
                             gst_message_new_element(GST_OBJECT(self), sp::gst::pose_message_structure(st.result, ctx)));
  }
  if (st.latency.on_frame(elapsed_since(started))) {
    st.reported_latency = st.latency.reported();
    GST_INFO_OBJECT(self, "frames take longer than reported (p90 %" GST_TIME_FORMAT "): latency now %" GST_TIME_FORMAT,
                    GST_TIME_ARGS(st.latency.recent_p90()), GST_TIME_ARGS(st.latency.reported()));
    // The pipeline asks again only when told (applications call gst_bin_recalculate_latency() on this
    // message, as gst-launch-1.0 does); a file's pipeline has no latency to redistribute.
    if (st.live) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
  return GST_FLOW_OK;
}

}  // namespace

static void gst_sparse_pose_class_init(GstSparsePoseClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  install_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "Sparse pose estimation", "Filter/Analyzer/Video",
      "Finds people and their 17 COCO keypoints in raw video on the CPU (the sparsepose engine, float or int8): "
      "attaches a GstSparsePoseMeta to every buffer, posts a 'sparsepose' element message per frame, and with "
      "draw=true draws the people on the frames. Live sources skip frames that a synchronised sink reports late "
      "(QoS, counted in 'dropped'); files never skip. On live pipelines the element adds its processing time to the "
      "latency (property 'latency').",
      "sparsepose");
  GstCaps* caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE("{ BGR, RGB, BGRx, RGBx }"));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);

  trans_class->start = start;
  trans_class->stop = stop;
  trans_class->sink_event = sink_event;
  trans_class->src_event = src_event;
  trans_class->query = query;
  filter_class->transform_frame_ip = transform_frame_ip;

  gst_type_mark_as_plugin_api(engine_enum_type(), static_cast<GstPluginAPIFlags>(0));
  (void)sp::gst::pose_meta_api_type();
}

static void gst_sparse_pose_init(GstSparsePose* self) {
  self->state = new ElementState();
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  gst_base_transform_set_in_place(trans, TRUE);
  gst_base_transform_set_qos_enabled(trans, TRUE);
}

gboolean gst_sparse_pose_register(GstPlugin* plugin) {
  GST_DEBUG_CATEGORY_INIT(sparse_pose_debug, "sparsepose", 0, "sparsepose pose estimation element");
  return gst_element_register(plugin, "sparsepose", GST_RANK_NONE, GST_TYPE_SPARSE_POSE);
}
