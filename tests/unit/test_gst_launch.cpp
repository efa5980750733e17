// The pipeline from the issue, through the plugin module GStreamer loads (GST_PLUGIN_PATH=build/gst, set
// by ctest; nothing registered statically here):
//   filesrc location=dance.mp4 ! decodebin ! videoconvert ! sparsepose draw=true ! videoconvert
//     ! x264enc ! mp4mux ! filesink location=out.mp4
// The bus carries exactly one "sparsepose" message per frame of the clip, in order; the MP4 decodes
// (OpenCV) to as many frames, and each is the source frame with the messages' people drawn on it.
#include <gtest/gtest.h>

#include <gst/gst.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "sparsepose/opencv.h"
#include "tests/test_paths.h"

namespace {

// The people of one message (the same floats the element had: the message holds them as doubles).
std::vector<sparsepose::Person> message_persons(const GstStructure* s) {
  std::vector<sparsepose::Person> out;
  const GValue* persons = gst_structure_get_value(s, "persons");
  if (persons == nullptr) return out;
  auto number = [](const GValue* array, guint i) {
    return static_cast<float>(g_value_get_double(gst_value_array_get_value(array, i)));
  };
  for (guint i = 0; i < gst_value_array_get_size(persons); ++i) {
    const GstStructure* p = gst_value_get_structure(gst_value_array_get_value(persons, i));
    sparsepose::Person q;
    gdouble score = 0;
    gint64 id = -1;
    EXPECT_TRUE(gst_structure_get_double(p, "score", &score));
    EXPECT_TRUE(gst_structure_get_int64(p, "id", &id));
    q.score = static_cast<float>(score);
    q.id = id;
    const GValue* box = gst_structure_get_value(p, "box");
    q.box = {number(box, 0), number(box, 1), number(box, 2), number(box, 3)};
    const GValue* kps = gst_structure_get_value(p, "keypoints");
    EXPECT_EQ(gst_value_array_get_size(kps), static_cast<guint>(sparsepose::kNumKeypoints));
    for (int k = 0; k < sparsepose::kNumKeypoints; ++k) {
      const GValue* kp = gst_value_array_get_value(kps, k);
      q.keypoints[k] = {number(kp, 0), number(kp, 1), number(kp, 2)};
    }
    out.push_back(q);
  }
  return out;
}

TEST(GstLaunch, ClipToMp4WithTheOverlayAndOneMessagePerFrame) {
  // A plugin registry of the build tree's own, not the user's (ctest sets GST_PLUGIN_PATH only).
  g_setenv("GST_REGISTRY", SP_GST_TEST_REGISTRY, FALSE);
  gst_init(nullptr, nullptr);
  const std::string clip = sp::test::source_path("assets/videos/dance.mp4");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sp_gst_launch_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string out_mp4 = (dir / "out.mp4").string();
  // imgsz=320 keeps the test short; everything else is the line.
  const std::string launch = "filesrc location=" + clip +
                             " ! decodebin ! videoconvert ! sparsepose name=pose draw=true imgsz=320 ! videoconvert ! "
                             "x264enc ! mp4mux ! filesink location=" + out_mp4;
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  ASSERT_NE(pipeline, nullptr) << (err ? err->message : "") << " (is GST_PLUGIN_PATH the build's gst/?)";
  ASSERT_EQ(err, nullptr) << err->message;
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

  std::vector<GstStructure*> messages;
  std::string error;
  GstBus* bus = gst_element_get_bus(pipeline);
  for (bool done = false; !done;) {
    GstMessage* m = gst_bus_timed_pop(bus, 300 * GST_SECOND);
    if (m == nullptr) {
      error = "no end of stream within 300 s";
      break;
    }
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_structure_has_name(gst_message_get_structure(m), "sparsepose")) {
      messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      error = e ? e->message : "?";
      g_clear_error(&e);
      done = true;
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
      done = true;
    }
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  guint64 processed = 0, dropped = 0;
  GstElement* pose = gst_bin_get_by_name(GST_BIN(pipeline), "pose");
  g_object_get(pose, "processed", &processed, "dropped", &dropped, nullptr);
  gst_object_unref(pose);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  ASSERT_TRUE(error.empty()) << error;

  // The clip's frames, decoded independently of GStreamer, and the MP4 the pipeline wrote.
  cv::VideoCapture source(clip), written(out_mp4);
  ASSERT_TRUE(source.isOpened());
  ASSERT_TRUE(written.isOpened()) << out_mp4 << " does not open";
  size_t frames = 0, with_people = 0;
  double worst_ratio = 0;  // the largest L1(written, drawn) / L1(written, plain) over the frames
  cv::Mat src, out;
  while (source.read(src)) {
    SCOPED_TRACE(frames);
    ASSERT_TRUE(written.read(out)) << "the MP4 ends early";
    ASSERT_LT(frames, messages.size());
    guint64 index = 0;
    EXPECT_TRUE(gst_structure_get_uint64(messages[frames], "frame", &index));
    EXPECT_EQ(index, frames) << "messages in frame order";
    const std::vector<sparsepose::Person> persons = message_persons(messages[frames]);
    if (!persons.empty()) {
      // The written frame is the source frame with these people drawn: closer to that than to the
      // plain frame (both sides carry the same encoding loss).
      ++with_people;
      cv::Mat drawn = src.clone();
      sparsepose::draw(drawn, persons);
      const double to_drawn = cv::norm(out, drawn, cv::NORM_L1), to_plain = cv::norm(out, src, cv::NORM_L1);
      EXPECT_LT(to_drawn, to_plain);
      worst_ratio = std::max(worst_ratio, to_drawn / to_plain);
    }
    ++frames;
  }
  EXPECT_FALSE(written.read(out)) << "the MP4 has more frames than the clip";
  EXPECT_GT(frames, 0u);
  EXPECT_EQ(messages.size(), frames) << "exactly one message per frame";
  EXPECT_EQ(processed, frames);
  EXPECT_EQ(dropped, 0u) << "a file never drops";
  EXPECT_GT(with_people, frames / 2) << "the dancer is found in most frames";
  std::printf("frames %zu, sparsepose messages %zu, frames with people %zu, worst L1 to drawn / L1 to plain %.3f\n",
              frames, messages.size(), with_people, worst_ratio);
  for (GstStructure* s : messages) gst_structure_free(s);
  std::filesystem::remove_all(dir);
}

}  // namespace
