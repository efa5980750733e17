// The element's QoS on real sources, not a synthetic QoS event: a live test source far faster than the
// model (1280x720 at 300 fps into one inference thread at 640) through a synchronised, QoS-reporting
// sink, and the bundled clip from a file through the same slow element.
//
// Only structural facts are asserted, none that depends on the machine's speed: on the live source
// some frames are skipped and some processed, every buffer that reaches the element is one or the
// other, one bus message per processed frame and one QoS message per skipped one, and the stream ends;
// from the file, nothing is skipped although the sink reported frames late. `identity sleep-time`
// behind the element is a floor on the time a processed frame takes (several frame periods), so even a
// CPU that ran the model within a frame period could not keep up; skipped frames never reach it.
// The element reports its processing latency, but that does not make these frames on time: the source
// outruns the model, so each processed frame waited behind the previous ones and is still reported late.
// A live source the model keeps up with loses nothing, and the latency queries show the element's part.
#include <gtest/gtest.h>

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>

#include "gst/gstsparsepose.h"
#include "tests/unit/gst_test_environment.h"
#include "tests/test_paths.h"

namespace {

struct Observed {
  std::atomic<guint64> reached{0};     // buffers into the element's sink pad
  std::atomic<guint64> late_reports{0};  // QoS events from downstream saying a frame was late (jitter > 0)
  guint64 pose_messages = 0;           // "sparsepose" element messages (one per processed frame)
  guint64 qos_messages = 0;            // QoS messages the element posted (one per skipped frame)
  guint64 last_qos_processed = 0, last_qos_dropped = 0;  // the last QoS message's statistics
  guint64 processed = 0, dropped = 0;  // the element's properties at the end
  // LATENCY queries once the first frame was processed (the pipeline is playing): the element's src
  // pad's (upstream plus the element) and its upstream peer's; and the latency the pipeline configured
  // on a sink named "sink" (the largest minimum latency of its sinks' queries).
  bool latency_queried = false;
  bool live = false;
  GstClockTime element_min = 0, upstream_min = 0, configured = 0;
  guint64 sink_rendered = 0, sink_dropped = 0;  // a sink named "sink": its statistics at the end
  bool eos = false;
  std::string error;
};

GstPadProbeReturn count_buffer(GstPad*, GstPadProbeInfo*, gpointer data) {
  ++static_cast<Observed*>(data)->reached;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn count_late_report(GstPad*, GstPadProbeInfo* info, gpointer data) {
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstClockTimeDiff jitter = 0;
    gst_event_parse_qos(event, nullptr, nullptr, &jitter, nullptr);
    if (jitter > 0) ++static_cast<Observed*>(data)->late_reports;
  }
  return GST_PAD_PROBE_OK;
}

GstClockTime min_latency(GstQuery* q, bool* live = nullptr) {
  gboolean is_live = FALSE;
  GstClockTime min = 0;
  gst_query_parse_latency(q, &is_live, &min, nullptr);
  if (live) *live = is_live;
  return min;
}

void query_latencies(GstElement* pose, Observed& out) {
  GstPad* src = gst_element_get_static_pad(pose, "src");
  GstQuery* q = gst_query_new_latency();
  if (gst_pad_query(src, q)) out.element_min = min_latency(q, &out.live);
  gst_query_unref(q);
  gst_object_unref(src);
  GstPad* sink = gst_element_get_static_pad(pose, "sink");
  q = gst_query_new_latency();
  if (gst_pad_peer_query(sink, q)) out.upstream_min = min_latency(q);
  gst_query_unref(q);
  gst_object_unref(sink);
  out.latency_queried = true;
}

// Runs the pipeline (its sparsepose element named "pose") to end of stream, an error, or a bound of
// `limit_s` seconds that only a hang reaches (then eos stays false).
void run(const std::string& launch, Observed& out, int limit_s = 300) {
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  ASSERT_NE(pipeline, nullptr) << (err ? err->message : "") << " in " << launch;
  ASSERT_EQ(err, nullptr) << err->message << " in " << launch;
  GstElement* pose = gst_bin_get_by_name(GST_BIN(pipeline), "pose");
  ASSERT_NE(pose, nullptr);
  GstPad* sink = gst_element_get_static_pad(pose, "sink");
  GstPad* src = gst_element_get_static_pad(pose, "src");
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &out, nullptr);
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, count_late_report, &out, nullptr);
  gst_object_unref(sink);
  gst_object_unref(src);

  EXPECT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(limit_s) * G_USEC_PER_SEC;
  while (!out.eos && out.error.empty()) {
    const gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0) break;
    GstMessage* m = gst_bus_timed_pop(bus, static_cast<GstClockTime>(left) * GST_USECOND);
    if (m == nullptr) break;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && GST_MESSAGE_SRC(m) == GST_OBJECT(pose) &&
        gst_structure_has_name(gst_message_get_structure(m), "sparsepose")) {
      ++out.pose_messages;
      if (!out.latency_queried) query_latencies(pose, out);
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_QOS && GST_MESSAGE_SRC(m) == GST_OBJECT(pose)) {
      ++out.qos_messages;
      GstFormat format;
      gst_message_parse_qos_stats(m, &format, &out.last_qos_processed, &out.last_qos_dropped);
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_LATENCY) {
      gst_bin_recalculate_latency(GST_BIN(pipeline));  // as gst-launch-1.0 does
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      out.error = e ? e->message : "?";
      g_clear_error(&e);
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
      out.eos = true;
    }
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  g_object_get(pose, "processed", &out.processed, "dropped", &out.dropped, nullptr);
  if (GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink")) {
    out.configured = gst_base_sink_get_latency(GST_BASE_SINK(sink));
    GstStructure* stats = nullptr;
    g_object_get(sink, "stats", &stats, nullptr);
    if (stats) {
      gst_structure_get_uint64(stats, "rendered", &out.sink_rendered);
      gst_structure_get_uint64(stats, "dropped", &out.sink_dropped);
      gst_structure_free(stats);
    }
    gst_object_unref(sink);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pose);
  gst_object_unref(pipeline);
}

// Far more frames per second than one thread can run the model on at 640 on any CPU, on a live source.
TEST(GstLiveQos, ALiveSourceTooFastForTheModelSkipsLateFramesAndCountsEveryOne) {
  const int buffers = 240;  // 0.8 s of stream
  Observed r;
  run("videotestsrc is-live=true num-buffers=" + std::to_string(buffers) +
          " ! video/x-raw,format=BGRx,width=1280,height=720,framerate=300/1"
          " ! sparsepose name=pose threads=1 imgsz=640 ! identity sleep-time=10000 ! fakesink sync=true qos=true",
      r);
  std::printf("live: %llu buffers reached the element, %llu processed, %llu dropped, %llu late reports\n",
              static_cast<unsigned long long>(r.reached.load()), static_cast<unsigned long long>(r.processed),
              static_cast<unsigned long long>(r.dropped), static_cast<unsigned long long>(r.late_reports.load()));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.eos) << "no end of stream within the bound";
  EXPECT_EQ(r.reached.load(), static_cast<guint64>(buffers)) << "nothing upstream of the element drops";
  EXPECT_GT(r.late_reports.load(), 0u) << "the sink reported late frames";
  EXPECT_GT(r.processed, 0u);
  EXPECT_GT(r.dropped, 0u) << "a live source the element cannot keep up with skips frames";
  EXPECT_EQ(r.processed + r.dropped, r.reached.load()) << "every frame is processed or counted as dropped";
  EXPECT_EQ(r.pose_messages, r.processed) << "one bus message per processed frame, none for a skipped one";
  EXPECT_EQ(r.qos_messages, r.dropped) << "one QoS message per skipped frame";
  EXPECT_EQ(r.last_qos_dropped, r.dropped);
}

// A live source the model keeps up with easily (5 fps at 320; a frame takes tens of milliseconds) into a
// sink that throws away frames more than 20 ms late, as video sinks do. The element adds its processing
// latency to the pipeline's, so every frame is rendered and none is skipped. (videotestsrc itself reports
// one frame period of latency, which here would hide a processing time under 200 ms: the latency queries
// are what show the element's part.)
TEST(GstLiveQos, ALiveSourceTheModelKeepsUpWithGetsItsProcessingLatencyAndLosesNoFrame) {
  const int buffers = 25;  // 5 s of stream
  Observed r;
  run("videotestsrc is-live=true num-buffers=" + std::to_string(buffers) +
          " ! video/x-raw,format=BGRx,width=320,height=240,framerate=5/1"
          " ! sparsepose name=pose threads=1 imgsz=320 ! fakesink name=sink sync=true qos=true max-lateness=20000000",
      r);
  std::printf("live 5 fps: latency configured %.1f ms, upstream %.1f ms, with the element %.1f ms; %llu processed, "
              "%llu dropped, sink rendered %llu dropped %llu, %llu late reports\n",
              r.configured / 1e6, r.upstream_min / 1e6, r.element_min / 1e6,
              static_cast<unsigned long long>(r.processed), static_cast<unsigned long long>(r.dropped),
              static_cast<unsigned long long>(r.sink_rendered), static_cast<unsigned long long>(r.sink_dropped),
              static_cast<unsigned long long>(r.late_reports.load()));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.eos) << "no end of stream within the bound";
  ASSERT_TRUE(r.latency_queried);
  EXPECT_TRUE(r.live);
  EXPECT_GT(r.element_min, r.upstream_min) << "the element adds its processing latency";
  EXPECT_GE(r.configured, r.element_min) << "the pipeline's latency includes the element's";
  EXPECT_EQ(r.dropped, 0u) << "a model that keeps up skips nothing";
  EXPECT_EQ(r.processed, static_cast<guint64>(buffers));
  EXPECT_EQ(r.sink_rendered, static_cast<guint64>(buffers)) << "every processed frame in time for the sink";
  EXPECT_EQ(r.sink_dropped, 0u);
}

// A latency set on the element is what it adds, whatever the frames take.
TEST(GstLiveQos, ASetLatencyIsAddedAsGiven) {
  const GstClockTime latency = 150 * GST_MSECOND;
  Observed r;
  run("videotestsrc is-live=true num-buffers=10 ! video/x-raw,format=BGRx,width=320,height=240,framerate=5/1"
      " ! sparsepose name=pose threads=1 imgsz=320 latency=" + std::to_string(latency) +
          " ! fakesink name=sink sync=true qos=true",
      r);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(r.latency_queried);
  EXPECT_EQ(r.element_min - r.upstream_min, latency);
  EXPECT_GE(r.configured, r.element_min);
}

// Runs a pipeline without a sparsepose element to end of stream (false on an error or a hang).
bool run_plain(const std::string& launch) {
  GstElement* pipeline = gst_parse_launch(launch.c_str(), nullptr);
  if (pipeline == nullptr) return false;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m != nullptr && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ok;
}

// The same slow element on frames of the bundled clip read from a file: the sink reports frames late,
// every frame reaches the element, and it skips none. The file holds raw frames (written here from the
// clip) so that no decoder sits upstream: decoders and converters with QoS of their own skip late
// frames themselves (avdec_h264 even with qos=false), and the element would never see one.
TEST(GstLiveQos, AFileThroughTheSameSlowElementDropsNothing) {
  const int width = 288, height = 288;
  const std::string raw = testing::TempDir() + "sp_gst_live_qos_" + std::to_string(getpid()) + ".bgrx";
  ASSERT_TRUE(run_plain("filesrc location=" + sp::test::source_path("assets/videos/dance.mp4") +
                        " ! decodebin ! videoconvert ! videoscale ! video/x-raw,format=BGRx,width=" +
                        std::to_string(width) + ",height=" + std::to_string(height) +
                        " ! identity eos-after=40 ! filesink location=" + raw));
  const auto bytes = std::filesystem::file_size(raw);
  const guint64 frames = bytes / (width * height * 4);
  ASSERT_EQ(bytes % (width * height * 4), 0u);
  ASSERT_GT(frames, 1u);

  Observed r;
  // 30 fps: a processed frame takes at least 40 ms behind the element, so the frames fall behind.
  run("filesrc location=" + raw + " ! rawvideoparse format=bgrx width=" + std::to_string(width) +
          " height=" + std::to_string(height) + " framerate=30/1"
          " ! sparsepose name=pose threads=1 imgsz=640 ! identity sleep-time=40000 ! fakesink sync=true qos=true",
      r);
  std::filesystem::remove(raw);
  std::printf("file: %llu frames, %llu reached the element, %llu processed, %llu dropped, %llu late reports\n",
              static_cast<unsigned long long>(frames), static_cast<unsigned long long>(r.reached.load()),
              static_cast<unsigned long long>(r.processed), static_cast<unsigned long long>(r.dropped),
              static_cast<unsigned long long>(r.late_reports.load()));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.eos) << "no end of stream within the bound";
  EXPECT_GT(r.late_reports.load(), 0u) << "the sink reported late frames, so not skipping them is the element's choice";
  EXPECT_EQ(r.reached.load(), frames);
  EXPECT_EQ(r.dropped, 0u) << "files never drop";
  EXPECT_EQ(r.processed, frames);
  EXPECT_EQ(r.pose_messages, r.processed);
  EXPECT_EQ(r.qos_messages, 0u);
}

}  // namespace
