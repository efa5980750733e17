// The sparsepose GStreamer element, registered statically and driven through appsrc/appsink: one meta and
// one bus message per frame with the same people, drawing only when asked, every accepted pixel format,
// QoS drops on live sources only (counted), the meta through copies and scaling, and wrong property
// values failing the state change with an error naming the property.
#include <gtest/gtest.h>

#include <gst/gst.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "gst/gstsparsepose.h"
#include "tests/unit/gst_test_environment.h"
#include "sparsepose/gst_meta.h"
#include "tests/test_paths.h"

namespace {

// bus.jpg at about half size: four people, and cheap enough for several pipelines. 404 pixels wide so a
// packed BGR row (1212 bytes) has GStreamer's default stride (rows padded to 4 bytes).
cv::Mat bus_bgr() {
  cv::Mat img = cv::imread(sp::test::source_path("assets/images/bus.jpg"), cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty());
  cv::Mat half;
  cv::resize(img, half, cv::Size(404, 540), 0, 0, cv::INTER_AREA);
  return half;
}

struct Outcome {
  std::vector<std::vector<guint8>> frames;          // the output pixels, tightly packed
  std::vector<std::vector<GstSparsePosePerson>> meta;  // per output buffer (empty vector + has_meta false if none)
  std::vector<bool> has_meta;
  std::vector<GstStructure*> messages;               // the "sparsepose" element messages, in order
  int qos_messages = 0;
  guint64 qos_dropped = 0;                           // the last QoS message's dropped count
  guint64 processed = 0, dropped = 0;                // the element's statistics properties at the end
  std::string error;                                 // the first error message, if any
  bool state_change_failed = false;

  Outcome() = default;
  Outcome(const Outcome&) = delete;
  Outcome& operator=(const Outcome&) = delete;
  ~Outcome() {
    for (GstStructure* s : messages) gst_structure_free(s);
  }
};

std::string caps_for(const cv::Mat& frame, const char* format) {
  return std::string("video/x-raw,format=") + format + ",width=" + std::to_string(frame.cols) +
         ",height=" + std::to_string(frame.rows) + ",framerate=30/1";
}

// Files one bus message into `out`; true for end of stream and errors.
bool take_message(GstMessage* m, Outcome& out) {
  bool done = false;
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
    const GstStructure* s = gst_message_get_structure(m);
    if (s && gst_structure_has_name(s, "sparsepose")) out.messages.push_back(gst_structure_copy(s));
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_QOS) {
    ++out.qos_messages;
    GstFormat format;
    guint64 processed = 0, dropped = 0;
    gst_message_parse_qos_stats(m, &format, &processed, &dropped);
    out.qos_dropped = dropped;
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    if (out.error.empty()) {
      GError* err = nullptr;
      gst_message_parse_error(m, &err, nullptr);
      out.error = err ? err->message : "?";
      g_clear_error(&err);
    }
    done = true;
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
    done = true;
  }
  gst_message_unref(m);
  return done;
}

// Every message until end of stream or an error (`wait`), or those queued now.
void collect_bus(GstElement* pipeline, Outcome& out, bool wait) {
  GstBus* bus = gst_element_get_bus(pipeline);
  for (;;) {
    GstMessage* m = wait ? gst_bus_timed_pop(bus, 120 * GST_SECOND) : gst_bus_pop(bus);
    if (m == nullptr) {
      EXPECT_FALSE(wait) << "no end of stream within 120 s";
      break;
    }
    if (take_message(m, out) && wait) break;
  }
  gst_object_unref(bus);
}

void take_sample(GstSample* sample, Outcome& out) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstMapInfo map;
  ASSERT_TRUE(gst_buffer_map(buffer, &map, GST_MAP_READ));
  out.frames.emplace_back(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  const GstSparsePoseMeta* meta = gst_buffer_get_sparse_pose_meta(buffer);
  out.has_meta.push_back(meta != nullptr);
  out.meta.emplace_back();
  if (meta) out.meta.back().assign(meta->persons, meta->persons + meta->n_persons);
  gst_sample_unref(sample);
}

// Runs `appsrc ! <middle> ! appsink` on the frames (timestamps 1/30 s apart). `after_first` runs once the
// first output buffer has arrived, before the other frames are pushed.
void run(const std::string& middle, const std::vector<cv::Mat>& frames, const char* format, bool live, Outcome& out,
         const std::function<void(GstElement*)>& after_first = {}) {
  const std::string launch = "appsrc name=src format=time is-live=" + std::string(live ? "true" : "false") + " caps=\"" +
                             caps_for(frames.front(), format) + "\" ! " + middle + " ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  ASSERT_NE(pipeline, nullptr) << (err ? err->message : "") << " in " << launch;
  g_clear_error(&err);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstElement* pose = gst_bin_get_by_name(GST_BIN(pipeline), "pose");

  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    out.state_change_failed = true;
  } else {
    for (size_t i = 0; i < frames.size(); ++i) {
      const cv::Mat& f = frames[i];
      ASSERT_TRUE(f.isContinuous());
      GstBuffer* buffer = gst_buffer_new_memdup(f.data, f.total() * f.elemSize());
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(i, GST_SECOND, 30);
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, 30);
      GstFlowReturn flow = GST_FLOW_OK;
      g_signal_emit_by_name(src, "push-buffer", buffer, &flow);
      gst_buffer_unref(buffer);
      if (i == 0 && after_first) {
        GstSample* sample = nullptr;
        g_signal_emit_by_name(sink, "pull-sample", &sample);
        ASSERT_NE(sample, nullptr);
        take_sample(sample, out);
        after_first(pose);
      }
    }
    GstFlowReturn flow = GST_FLOW_OK;
    g_signal_emit_by_name(src, "end-of-stream", &flow);
    for (;;) {
      GstSample* sample = nullptr;
      g_signal_emit_by_name(sink, "pull-sample", &sample);
      if (sample == nullptr) break;  // end of stream (or an error)
      take_sample(sample, out);
    }
    collect_bus(pipeline, out, true);
  }
  if (pose) g_object_get(pose, "processed", &out.processed, "dropped", &out.dropped, nullptr);
  collect_bus(pipeline, out, false);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (pose) gst_object_unref(pose);
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

// The people of one bus message, as the meta holds them.
std::vector<GstSparsePosePerson> message_persons(const GstStructure* s) {
  std::vector<GstSparsePosePerson> out;
  const GValue* persons = gst_structure_get_value(s, "persons");
  EXPECT_NE(persons, nullptr);
  if (!persons) return out;
  for (guint i = 0; i < gst_value_array_get_size(persons); ++i) {
    const GstStructure* p = gst_value_get_structure(gst_value_array_get_value(persons, i));
    GstSparsePosePerson q{};
    gdouble score = 0;
    EXPECT_TRUE(gst_structure_get_int64(p, "id", &q.id));
    EXPECT_TRUE(gst_structure_get_double(p, "score", &score));
    q.score = static_cast<gfloat>(score);
    const GValue* box = gst_structure_get_value(p, "box");
    EXPECT_EQ(gst_value_array_get_size(box), 4u);
    q.x1 = static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(box, 0)));
    q.y1 = static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(box, 1)));
    q.x2 = static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(box, 2)));
    q.y2 = static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(box, 3)));
    const GValue* kps = gst_structure_get_value(p, "keypoints");
    EXPECT_EQ(gst_value_array_get_size(kps), static_cast<guint>(SPARSEPOSE_META_NUM_KEYPOINTS));
    for (guint k = 0; k < SPARSEPOSE_META_NUM_KEYPOINTS && k < gst_value_array_get_size(kps); ++k) {
      const GValue* kp = gst_value_array_get_value(kps, k);
      q.keypoints[k] = {static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(kp, 0))),
                        static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(kp, 1))),
                        static_cast<gfloat>(g_value_get_double(gst_value_array_get_value(kp, 2)))};
    }
    out.push_back(q);
  }
  return out;
}

void expect_same(const std::vector<GstSparsePosePerson>& a, const std::vector<GstSparsePosePerson>& b, float scale = 1.0f) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_FLOAT_EQ(a[i].score, b[i].score);
    EXPECT_FLOAT_EQ(a[i].x1 * scale, b[i].x1);
    EXPECT_FLOAT_EQ(a[i].y1 * scale, b[i].y1);
    EXPECT_FLOAT_EQ(a[i].x2 * scale, b[i].x2);
    EXPECT_FLOAT_EQ(a[i].y2 * scale, b[i].y2);
    for (int k = 0; k < SPARSEPOSE_META_NUM_KEYPOINTS; ++k) {
      EXPECT_FLOAT_EQ(a[i].keypoints[k].x * scale, b[i].keypoints[k].x);
      EXPECT_FLOAT_EQ(a[i].keypoints[k].y * scale, b[i].keypoints[k].y);
      EXPECT_FLOAT_EQ(a[i].keypoints[k].conf, b[i].keypoints[k].conf);
    }
  }
}

TEST(GstElement, RegistersWithDocumentedProperties) {
  GstElement* e = gst_element_factory_make("sparsepose", nullptr);
  ASSERT_NE(e, nullptr);
  for (const char* name : {"model", "engine", "threads", "isa", "imgsz", "conf", "iou", "draw", "track", "smooth",
                           "post-messages", "latency", "processed", "dropped"}) {
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_GT(std::string(g_param_spec_get_blurb(spec)).size(), 10u) << name;
  }
  GParamSpec* engine = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "engine");
  GEnumClass* values = G_ENUM_CLASS(g_type_class_ref(engine->value_type));
  for (const char* nick : {"auto", "fp32", "int8"}) EXPECT_NE(g_enum_get_value_by_nick(values, nick), nullptr) << nick;
  g_type_class_unref(values);
  gst_object_unref(e);
}

// Four frames of a file-like (not live) stream: four buffers with a meta each, four messages with the
// same people, frames counted in order, nothing dropped, and the pixels untouched without draw.
TEST(GstElement, EveryFrameGetsOneMetaAndOneMessageWithTheSamePeople) {
  const cv::Mat img = bus_bgr();
  const std::vector<cv::Mat> frames(4, img);
  Outcome out;
  run("sparsepose name=pose imgsz=320", frames, "BGR", false, out);
  ASSERT_TRUE(out.error.empty()) << out.error;
  ASSERT_EQ(out.frames.size(), 4u);
  ASSERT_EQ(out.messages.size(), 4u);
  EXPECT_EQ(out.processed, 4u);
  EXPECT_EQ(out.dropped, 0u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(out.has_meta[i]);
    guint64 frame = 99, dropped = 99, pts = 0;
    gint width = 0;
    gdouble model_ms = -1;
    EXPECT_TRUE(gst_structure_get_uint64(out.messages[i], "frame", &frame));
    EXPECT_EQ(frame, i);
    EXPECT_TRUE(gst_structure_get_uint64(out.messages[i], "dropped", &dropped));
    EXPECT_EQ(dropped, 0u);
    EXPECT_TRUE(gst_structure_get_uint64(out.messages[i], "pts", &pts));
    EXPECT_EQ(pts, gst_util_uint64_scale(i, GST_SECOND, 30));
    EXPECT_TRUE(gst_structure_get_int(out.messages[i], "width", &width));
    EXPECT_EQ(width, img.cols);
    EXPECT_TRUE(gst_structure_get_double(out.messages[i], "model-ms", &model_ms));
    EXPECT_GT(model_ms, 0.0);
    expect_same(out.meta[i], message_persons(out.messages[i]));
    EXPECT_EQ(out.frames[i], std::vector<guint8>(img.data, img.data + img.total() * img.elemSize()))
        << "draw=false leaves the pixels alone";
  }
  // Tracking is on by default: the people have IDs, the same ones in the last two frames.
  ASSERT_GE(out.meta[3].size(), 3u);
  for (const auto& p : out.meta[3]) EXPECT_GE(p.id, 1);
  expect_same(out.meta[2], out.meta[3]);
}

// draw=true draws on the frames (in their own pixel format); the people found are the same in every
// format the element accepts.
TEST(GstElement, DrawsWhenAskedAndReadsEveryAcceptedFormat) {
  const cv::Mat img = bus_bgr();
  Outcome bgr;
  run("sparsepose name=pose imgsz=320 track=false draw=true", {img}, "BGR", false, bgr);
  ASSERT_TRUE(bgr.error.empty()) << bgr.error;
  ASSERT_EQ(bgr.frames.size(), 1u);
  ASSERT_GE(bgr.meta[0].size(), 3u);
  const cv::Mat drawn(img.rows, img.cols, CV_8UC3, bgr.frames[0].data());
  EXPECT_GT(cv::norm(drawn, img, cv::NORM_L1), 1000.0) << "draw=true changes the pixels";

  struct Format {
    const char* name;
    int code;
  };
  for (const Format f : {Format{"RGB", cv::COLOR_BGR2RGB}, Format{"BGRx", cv::COLOR_BGR2BGRA}, Format{"RGBx", cv::COLOR_BGR2RGBA}}) {
    SCOPED_TRACE(f.name);
    cv::Mat converted;
    cv::cvtColor(img, converted, f.code);
    Outcome out;
    run("sparsepose name=pose imgsz=320 track=false draw=true", {converted}, f.name, false, out);
    ASSERT_TRUE(out.error.empty()) << out.error;
    ASSERT_EQ(out.meta.size(), 1u);
    expect_same(bgr.meta[0], out.meta[0]);
    for (const auto& p : out.meta[0]) EXPECT_EQ(p.id, -1);
    // The drawing, converted back to BGR, is the BGR drawing.
    cv::Mat back;
    const cv::Mat got(img.rows, img.cols, converted.type(), out.frames[0].data());
    cv::cvtColor(got, back, f.code == cv::COLOR_BGR2RGB ? cv::COLOR_RGB2BGR
                            : f.code == cv::COLOR_BGR2BGRA ? cv::COLOR_BGRA2BGR
                                                           : cv::COLOR_RGBA2BGR);
    EXPECT_EQ(cv::norm(back, drawn, cv::NORM_INF), 0.0);
  }
}

// A downstream report that the stream is 10 s late: a live source skips the frames behind it (each
// counted, with a QoS message, and without a pose message); a non-live one processes every frame.
TEST(GstElement, LateFramesAreDroppedOnLiveSourcesOnly) {
  const std::vector<cv::Mat> frames(4, bus_bgr());
  auto report_late = [](GstElement* pose) {
    GstPad* src = gst_element_get_static_pad(pose, "src");
    gst_pad_send_event(src, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.0, 10 * GST_SECOND, 0));
    gst_object_unref(src);
  };
  Outcome live;
  run("sparsepose name=pose imgsz=320", frames, "BGR", true, live, report_late);
  ASSERT_TRUE(live.error.empty()) << live.error;
  EXPECT_EQ(live.frames.size(), 1u);
  EXPECT_EQ(live.messages.size(), 1u);
  EXPECT_EQ(live.processed, 1u);
  EXPECT_EQ(live.dropped, 3u);
  EXPECT_EQ(live.qos_messages, 3);
  EXPECT_EQ(live.qos_dropped, 3u);

  Outcome file;
  run("sparsepose name=pose imgsz=320", frames, "BGR", false, file, report_late);
  ASSERT_TRUE(file.error.empty()) << file.error;
  EXPECT_EQ(file.frames.size(), 4u);
  EXPECT_EQ(file.messages.size(), 4u);
  EXPECT_EQ(file.dropped, 0u);
  EXPECT_EQ(file.qos_messages, 0);

  // qos=false: a live source processes every frame too.
  Outcome no_qos;
  run("sparsepose name=pose imgsz=320 qos=false", frames, "BGR", true, no_qos, report_late);
  EXPECT_EQ(no_qos.frames.size(), 4u);
  EXPECT_EQ(no_qos.dropped, 0u);
}

// The meta is copied by elements that copy buffers and rescaled by videoscale; post-messages=false
// keeps the bus quiet.
TEST(GstElement, MetaFollowsCopiesAndScaling) {
  const cv::Mat img = bus_bgr();
  Outcome direct;
  run("sparsepose name=pose imgsz=320 track=false", {img}, "BGR", false, direct);
  ASSERT_EQ(direct.meta.size(), 1u);
  ASSERT_FALSE(direct.meta[0].empty());

  Outcome scaled;
  const std::string half = "video/x-raw,width=" + std::to_string(img.cols / 2) + ",height=" + std::to_string(img.rows / 2);
  run("sparsepose name=pose imgsz=320 track=false post-messages=false ! queue ! videoconvert ! videoscale ! " + half,
      {img}, "BGR", false, scaled);
  ASSERT_TRUE(scaled.error.empty()) << scaled.error;
  EXPECT_TRUE(scaled.messages.empty());
  ASSERT_EQ(scaled.meta.size(), 1u);
  ASSERT_TRUE(scaled.has_meta[0]);
  expect_same(direct.meta[0], scaled.meta[0], 0.5f);
}

// Wrong values fail the state change with an error that names the property.
TEST(GstElement, WrongPropertyValuesFailTheStateChangeNamingTheProperty) {
  const std::vector<cv::Mat> frames(1, bus_bgr());
  struct Case {
    std::string properties;
    std::string property;
  };
  const std::vector<Case> cases = {
      {"threads=-1", "'threads'"},
      {"model=/nonexistent/model.onnx", "'model'"},
      {"conf=2", "'conf'"},
      {"iou=-1", "'iou'"},
      {"imgsz=100", "'imgsz'"},
      {"isa=sse9", "'isa'"},
      {"engine=int8 model=" + sp::test::source_path("assets/models/yolo11n-pose.onnx"), "'engine'"},
      {"track=false smooth=true", "'smooth'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.properties);
    Outcome out;
    run("sparsepose name=pose " + c.properties, frames, "BGR", false, out);
    EXPECT_TRUE(out.state_change_failed);
    EXPECT_NE(out.error.find("property " + c.property), std::string::npos) << out.error;
    EXPECT_EQ(out.error.find('\n'), std::string::npos) << out.error;
    EXPECT_TRUE(out.frames.empty());
  }
}

}  // namespace
