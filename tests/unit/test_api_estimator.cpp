// The public API (include/sparsepose/): the same people as the command line's predict path, every
// pixel format and stride, track IDs across frames, and bad options and frames refused with the
// public exception naming what was wrong.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "imaging/preprocess.h"
#include "models/model_choice.h"
#include "models/pose_model.h"
#include "sparsepose/opencv.h"
#include "sparsepose/sparsepose.h"
#include "tests/test_paths.h"
#include "tracking/pose_tracker.h"

namespace {

cv::Mat bus() {
  cv::Mat img = cv::imread(sp::test::source_path("assets/images/bus.jpg"), cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty());
  return img;
}

void expect_same_persons(const std::vector<sparsepose::Person>& a, const std::vector<sparsepose::Person>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].box.x1, b[i].box.x1) << i;
    EXPECT_EQ(a[i].box.y1, b[i].box.y1) << i;
    EXPECT_EQ(a[i].box.x2, b[i].box.x2) << i;
    EXPECT_EQ(a[i].box.y2, b[i].box.y2) << i;
    EXPECT_EQ(a[i].score, b[i].score) << i;
    EXPECT_EQ(a[i].id, b[i].id) << i;
    for (int k = 0; k < sparsepose::kNumKeypoints; ++k) {
      EXPECT_EQ(a[i].keypoints[k].x, b[i].keypoints[k].x) << i << " " << k;
      EXPECT_EQ(a[i].keypoints[k].y, b[i].keypoints[k].y) << i << " " << k;
      EXPECT_EQ(a[i].keypoints[k].conf, b[i].keypoints[k].conf) << i << " " << k;
    }
  }
}

// The default options open what `sparsepose predict` opens without flags, and find the same people: the
// CLI's path (app/cmd_predict.cpp: load_model, letterbox_into, infer, decode) written out on the
// internal modules, against the facade. tests/integration/install_test.sh also compares the installed
// example's JSON with the in-tree build's.
TEST(ApiEstimator, BusPersonsEqualThePredictPath) {
  sparsepose::PoseEstimator estimator;
  const sparsepose::ModelInfo& info = estimator.info();
  const sp::Isa isa = sp::best_isa();
  const bool int8 = sp::models::int8_pays_on(isa);
  EXPECT_EQ(std::filesystem::path(info.model_path).filename(),
            std::filesystem::path(int8 ? sp::models::kBundledInt8Model : sp::models::kBundledFloatModel).filename());
  EXPECT_TRUE(std::filesystem::exists(info.model_path)) << info.model_path;
  EXPECT_EQ(info.engine, int8 ? "int8" : "fp32");
  EXPECT_EQ(info.isa, std::string(sp::isa_name(isa)));
  EXPECT_EQ(info.input_width, 640);

  cv::Mat img = bus();
  const sparsepose::Result r = sparsepose::run(estimator, img);
  EXPECT_GE(r.persons.size(), 3u);
  EXPECT_GT(r.timing.model_ms, 0.0);
  EXPECT_EQ(r.timing.tracking_ms, 0.0);

  sp::models::PoseModelOptions po;
  po.threads = info.threads;
  po.isa = isa;
  po.integer = info.engine == "int8";
  sp::models::PoseModel model(sp::models::load_pose_graph(info.model_path), po);
  sp::imaging::Preprocessor pre;
  const auto geometry = sp::imaging::letterbox_into(pre, img, model);
  model.infer();
  sp::models::NmsOptions nms;
  nms.iou_threshold = 0.7f;
  std::vector<sp::models::PoseDetection> dets;
  model.decode(0.25f, nms, geometry, dets);
  std::vector<sparsepose::Person> want;
  for (const auto& d : dets) {
    sparsepose::Person p;
    p.box = {d.box.x1, d.box.y1, d.box.x2, d.box.y2};
    p.score = d.score;
    for (int k = 0; k < sparsepose::kNumKeypoints; ++k) p.keypoints[k] = {d.keypoints[k].x, d.keypoints[k].y, d.keypoints[k].conf};
    want.push_back(p);
  }
  expect_same_persons(r.persons, want);
  for (const auto& p : r.persons) EXPECT_EQ(p.id, -1);
}

// One picture as BGR with padded rows, RGB, BGRx and RGBx: the same people, bit for bit.
TEST(ApiEstimator, EveryPixelFormatAndStrideGivesTheSamePersons) {
  sparsepose::Options o;
  o.input_size = 320;
  sparsepose::PoseEstimator estimator(o);
  const cv::Mat img = bus();
  const std::vector<sparsepose::Person> want = sparsepose::run(estimator, img).persons;
  ASSERT_FALSE(want.empty());

  cv::Mat padded(img.rows, img.cols + 7, CV_8UC3, cv::Scalar(1, 2, 3));
  img.copyTo(padded(cv::Rect(0, 0, img.cols, img.rows)));
  const cv::Mat roi = padded(cv::Rect(0, 0, img.cols, img.rows));
  ASSERT_GT(roi.step[0], static_cast<size_t>(img.cols) * 3);
  expect_same_persons(estimator.run(sparsepose::view(roi)).persons, want);

  struct Case {
    int code;
    sparsepose::PixelFormat format;
  };
  for (const Case c : {Case{cv::COLOR_BGR2RGB, sparsepose::PixelFormat::RGB}, Case{cv::COLOR_BGR2BGRA, sparsepose::PixelFormat::BGRx},
                       Case{cv::COLOR_BGR2RGBA, sparsepose::PixelFormat::RGBx}}) {
    cv::Mat converted;
    cv::cvtColor(img, converted, c.code);
    const sparsepose::ImageView frame{converted.data, converted.cols, converted.rows, 0, c.format};
    SCOPED_TRACE(static_cast<int>(c.format));
    expect_same_persons(estimator.run(frame).persons, want);
  }
}

// The bundled clip with tracking on: from the frame a person is confirmed in, the dancer keeps one ID,
// and IDs exist only with tracking.
TEST(ApiEstimator, TrackIdsStayAcrossFramesOfTheBundledClip) {
  cv::VideoCapture clip(sp::test::source_path("assets/videos/dance.mp4"));
  ASSERT_TRUE(clip.isOpened());
  sparsepose::Options o;
  o.input_size = 320;
  o.tracking.enabled = true;
  sparsepose::PoseEstimator estimator(o);
  std::map<int64_t, int> frames_per_id;
  int frames = 0;
  cv::Mat frame;
  for (; frames < 12 && clip.read(frame); ++frames) {
    const double t = clip.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
    const sparsepose::Result r = sparsepose::run(estimator, frame, t);
    EXPECT_EQ(r.frame, static_cast<uint64_t>(frames));
    if (frames >= o.tracking.min_hits) {
      EXPECT_FALSE(r.persons.empty()) << "frame " << frames;
    }
    for (const auto& p : r.persons) {
      EXPECT_GE(p.id, 1);
      ++frames_per_id[p.id];
    }
  }
  ASSERT_EQ(frames, 12);
  // One person dances in the clip: one ID, present in every frame since it was handed out.
  ASSERT_FALSE(frames_per_id.empty());
  const auto& [dancer, seen] = *frames_per_id.begin();
  EXPECT_EQ(dancer, 1);
  EXPECT_GE(seen, frames - o.tracking.min_hits);
  EXPECT_EQ(frames_per_id.size(), 1u);
}

// Several people moving a few pixels per frame: each keeps their ID, IDs are distinct, and
// reset_tracking() starts them over.
TEST(ApiEstimator, SeveralPeopleKeepDistinctIdsAndResetStartsOver) {
  sparsepose::Options o;
  o.input_size = 320;
  o.tracking.enabled = true;
  o.tracking.min_hits = 1;
  sparsepose::PoseEstimator estimator(o);
  const cv::Mat img = bus();
  std::vector<std::set<int64_t>> ids;
  for (int f = 0; f < 5; ++f) {
    const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, 4 * f, 0, 1, 2 * f);
    cv::Mat moved;
    cv::warpAffine(img, moved, shift, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    const sparsepose::Result r = sparsepose::run(estimator, moved, f / 30.0);
    std::set<int64_t> frame_ids;
    for (const auto& p : r.persons) frame_ids.insert(p.id);
    EXPECT_EQ(frame_ids.size(), r.persons.size()) << "IDs in one frame must be distinct";
    ids.push_back(frame_ids);
  }
  ASSERT_GE(ids[0].size(), 3u);
  for (size_t f = 1; f < ids.size(); ++f) EXPECT_EQ(ids[f], ids[0]) << "frame " << f;

  estimator.reset_tracking();
  const sparsepose::Result r = sparsepose::run(estimator, img, 1.0);
  std::set<int64_t> again;
  for (const auto& p : r.persons) again.insert(p.id);
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(*again.begin(), 1);
}

// The public defaults are the tracker's own (what `sparsepose run` uses), so they cannot drift apart.
TEST(ApiEstimator, TrackingDefaultsAreTheTrackersDefaults) {
  const sparsepose::TrackingOptions pub;
  const sp::tracking::TrackerOptions t;
  const sp::tracking::PoseSmootherOptions s;
  EXPECT_FALSE(pub.enabled);
  EXPECT_FALSE(pub.smoothing);
  EXPECT_EQ(pub.track_buffer_s, t.track_buffer_s);
  EXPECT_EQ(pub.min_hits, t.min_hits);
  EXPECT_EQ(pub.low_score, t.low_score);
  EXPECT_EQ(pub.new_track_score, t.new_track_score);
  EXPECT_EQ(pub.match_similarity, t.match_similarity);
  EXPECT_EQ(pub.oks_weight, t.oks_weight);
  EXPECT_EQ(pub.smooth_min_cutoff_hz, s.filter.min_cutoff_hz);
  EXPECT_EQ(pub.smooth_beta, s.filter.beta);
  EXPECT_EQ(pub.smooth_d_cutoff_hz, s.filter.d_cutoff_hz);
  EXPECT_EQ(pub.smooth_min_conf, s.min_conf);
}

struct BadOption {
  const char* what;
  std::function<void(sparsepose::Options&)> set;
  const char* option;   // Error::option()
  const char* message;  // a part of the message
};

TEST(ApiEstimator, BadOptionsThrowThePublicErrorNamingTheOption) {
  const std::string dir = testing::TempDir() + "/api_bad_options";
  std::filesystem::create_directories(dir);
  const std::string garbage = dir + "/garbage.onnx";
  std::ofstream(garbage) << "this is plainly not a model";
  const std::string float_model = sp::test::source_path("assets/models/yolo11n-pose.onnx");

  const std::vector<BadOption> cases = {
      {"negative threads", [](auto& o) { o.threads = -1; }, "threads", "(got -1)"},
      {"too many threads", [](auto& o) { o.threads = 100000; }, "threads", "1..256"},
      {"conf above 1", [](auto& o) { o.conf = 2.0f; }, "conf", "(got 2)"},
      {"NaN conf", [](auto& o) { o.conf = std::numeric_limits<float>::quiet_NaN(); }, "conf", "conf must be"},
      {"negative iou", [](auto& o) { o.iou = -0.5f; }, "iou", "(got -0.5)"},
      {"input size not a multiple of 32", [](auto& o) { o.input_size = 100; }, "input_size", "multiple of 32"},
      {"unknown ISA", [](auto& o) { o.isa = "sse9"; }, "isa", "sse9"},
      {"unknown engine value", [](auto& o) { o.engine = static_cast<sparsepose::Engine>(7); }, "engine", "(got 7)"},
      {"missing model", [&](auto& o) { o.model = dir + "/nope.onnx"; }, "model", "nope.onnx"},
      {"garbage model", [&](auto& o) { o.model = garbage; }, "model", "garbage.onnx"},
      {"directory as model", [&](auto& o) { o.model = dir; }, "model", "model"},
      {"int8 engine on a float model", [&](auto& o) { o.model = float_model; o.engine = sparsepose::Engine::Int8; },
       "engine", "is a float model"},
      {"track buffer 0", [](auto& o) { o.tracking.enabled = true; o.tracking.track_buffer_s = 0; }, "tracking",
       "tracking.track_buffer_s"},
      {"min hits 0", [](auto& o) { o.tracking.enabled = true; o.tracking.min_hits = 0; }, "tracking", "min_hits"},
      {"smoothing without tracking", [](auto& o) { o.tracking.smoothing = true; }, "tracking", "needs tracking.enabled"},
  };
  for (const BadOption& c : cases) {
    SCOPED_TRACE(c.what);
    sparsepose::Options o;
    c.set(o);
    try {
      sparsepose::PoseEstimator estimator(o);
      ADD_FAILURE() << "no error";
    } catch (const sparsepose::Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.option(), c.option) << msg;
      EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    }
  }
}

TEST(ApiEstimator, BadFramesThrowAndTheEstimatorCarriesOn) {
  sparsepose::Options o;
  o.input_size = 320;
  sparsepose::PoseEstimator estimator(o);
  std::vector<std::uint8_t> pixels(64 * 48 * 4, 100);
  auto expect_error = [&](const sparsepose::ImageView& f, const char* part, double t = 0) {
    try {
      estimator.run(f, t);
      ADD_FAILURE() << "no error for " << part;
    } catch (const sparsepose::Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_TRUE(e.option().empty());
    }
  };
  expect_error({nullptr, 64, 48, 0, sparsepose::PixelFormat::BGR}, "null");
  expect_error({pixels.data(), 0, 48, 0, sparsepose::PixelFormat::BGR}, "got 0x48");
  expect_error({pixels.data(), 64, -2, 0, sparsepose::PixelFormat::BGR}, "positive");
  expect_error({pixels.data(), 64, 48, 100, sparsepose::PixelFormat::BGRx}, "stride of 100 bytes");
  expect_error({pixels.data(), 40000, 1, 0, sparsepose::PixelFormat::BGR}, "larger than");
  expect_error({pixels.data(), 64, 48, 0, static_cast<sparsepose::PixelFormat>(9)}, "pixel format");
  expect_error({pixels.data(), 64, 48, 0, sparsepose::PixelFormat::BGR}, "timestamp",
               std::numeric_limits<double>::infinity());
  const sparsepose::Result r = estimator.run({pixels.data(), 64, 48, 0, sparsepose::PixelFormat::BGRx});
  EXPECT_TRUE(r.persons.empty());  // a flat grey frame
  EXPECT_EQ(r.frame, 0u);          // the refused frames did not count
}

TEST(ApiEstimator, MovedEstimatorKeepsItsModel) {
  sparsepose::Options o;
  o.input_size = 320;
  sparsepose::PoseEstimator a(o);
  const std::string path = a.info().model_path;
  sparsepose::PoseEstimator b(std::move(a));
  EXPECT_EQ(b.info().model_path, path);
  EXPECT_EQ(b.options().input_size, 320);
  EXPECT_FALSE(sparsepose::run(b, bus()).persons.empty());
  EXPECT_THROW(a.info(), sparsepose::Error);  // NOLINT(bugprone-use-after-move): a moved-from estimator says so
}

// Drawing in the frame's own format: RGBx gets exactly the BGR drawing with its channels in its order.
TEST(ApiDraw, DrawsInTheFramesOwnFormat) {
  sparsepose::Person p;
  p.box = {100, 80, 300, 400};
  p.score = 0.9f;
  for (int k = 0; k < sparsepose::kNumKeypoints; ++k) p.keypoints[k] = {150.0f + 6 * k, 100.0f + 15 * k, 0.9f};
  p.id = 3;
  const std::vector<sparsepose::Person> persons{p};

  cv::Mat bgr(480, 640, CV_8UC3, cv::Scalar(20, 40, 60));
  sparsepose::draw(bgr, persons);
  EXPECT_GT(cv::norm(bgr, cv::Mat(480, 640, CV_8UC3, cv::Scalar(20, 40, 60)), cv::NORM_L1), 0.0);

  cv::Mat rgbx(480, 640, CV_8UC4, cv::Scalar(60, 40, 20, 0));
  sparsepose::draw({rgbx.data, rgbx.cols, rgbx.rows, rgbx.step[0], sparsepose::PixelFormat::RGBx}, persons);
  cv::Mat back;
  cv::cvtColor(rgbx, back, cv::COLOR_RGBA2BGR);
  EXPECT_EQ(cv::norm(bgr, back, cv::NORM_INF), 0.0);

  cv::Mat untouched = bgr.clone();
  sparsepose::draw(bgr, {});
  EXPECT_EQ(cv::norm(bgr, untouched, cv::NORM_INF), 0.0);

  sparsepose::DrawOptions bad;
  bad.line_width = -1;
  EXPECT_THROW(sparsepose::draw(bgr, persons, bad), sparsepose::Error);
  EXPECT_THROW(sparsepose::draw(sparsepose::MutableImageView{}, persons), sparsepose::Error);
  cv::Mat grey(10, 10, CV_8UC1);
  EXPECT_THROW(sparsepose::draw(grey, persons), sparsepose::Error);
}

TEST(ApiVersion, MatchesTheHeaders) { EXPECT_STREQ(sparsepose::version(), SPARSEPOSE_VERSION_STRING); }

}  // namespace
