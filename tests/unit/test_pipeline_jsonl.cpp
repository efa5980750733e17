// JSON-lines sink and run summary: round trip of the per-frame lines, the same persons as predict,
// every line complete after an abrupt end, errors that name the path.
#include "pipeline/jsonl_writer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/detections_json.h"
#include "core/error.h"

namespace sp::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Jsonl : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sp_jsonl_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::string::size_type start = 0, nl;
    while ((nl = text.find('\n', start)) != std::string::npos) {
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    EXPECT_EQ(start, text.size()) << "the file ends in the middle of a line";
    return lines;
  }

  fs::path dir_;
};

models::PoseDetection person(float base) {
  models::PoseDetection d;
  d.box = {base + 0.123456f, base + 1.987654f, base + 100.004999f, base + 200.5f};
  d.score = 0.876543219f;
  for (int k = 0; k < models::kNumKeypoints; ++k)
    d.keypoints[static_cast<size_t>(k)] = {base + k * 10.0f + 0.3333f, base + k * 5.0f + 0.6666f, 0.123456f + k * 0.01f};
  return d;
}

StageTimes some_times(double scale) {
  StageTimes t;
  for (int s = 0; s < kNumStages; ++s) t.ms[s] = scale * (s + 1) + 0.0004567;
  return t;
}

TEST_F(Jsonl, RoundTripOfEveryLine) {
  const std::string p = path("run.jsonl");
  std::vector<std::vector<models::PoseDetection>> frames = {{}, {person(10)}, {person(20), person(300)}};
  {
    JsonlWriter w(p);
    for (size_t i = 0; i < frames.size(); ++i)
      w.write(static_cast<int64_t>(i), 33.3333333 * static_cast<double>(i), frames[i], some_times(1.0 + i));
    EXPECT_EQ(w.lines_written(), 3);
    w.close();
  }
  const auto lines = lines_of(slurp(p));
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i]);
    // Keys in the documented order.
    std::vector<std::string> keys;
    const auto oj = nlohmann::ordered_json::parse(lines[i]);
    for (auto it = oj.begin(); it != oj.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"frame", "pts_ms", "persons", "timing_ms"}));
    EXPECT_EQ(j["frame"].get<int64_t>(), static_cast<int64_t>(i));
    EXPECT_DOUBLE_EQ(j["pts_ms"].get<double>(), std::round(33.3333333 * i * 1000) / 1000);
    ASSERT_EQ(j["persons"].size(), frames[i].size());
    for (size_t k = 0; k < frames[i].size(); ++k) {
      const auto& d = frames[i][k];
      const json& pj = j["persons"][k];
      ASSERT_EQ(pj["box"].size(), 4u);
      EXPECT_DOUBLE_EQ(pj["box"][0].get<double>(), std::round(d.box.x1 * 100.0) / 100.0);
      EXPECT_DOUBLE_EQ(pj["box"][3].get<double>(), std::round(d.box.y2 * 100.0) / 100.0);
      EXPECT_DOUBLE_EQ(pj["score"].get<double>(), 0.87654);
      ASSERT_EQ(pj["keypoints"].size(), 17u);
      for (int kp = 0; kp < 17; ++kp) {
        const json& kj = pj["keypoints"][kp];
        ASSERT_EQ(kj.size(), 3u);
        const auto& ref = d.keypoints[static_cast<size_t>(kp)];
        EXPECT_NEAR(kj[0].get<double>(), ref.x, 0.005 + 1e-6);
        EXPECT_NEAR(kj[1].get<double>(), ref.y, 0.005 + 1e-6);
        EXPECT_NEAR(kj[2].get<double>(), ref.conf, 0.00005 + 1e-7);
      }
    }
    const json& t = j["timing_ms"];
    ASSERT_EQ(t.size(), static_cast<size_t>(kNumStages));
    for (int s = 0; s < kNumStages; ++s) {
      const double expect = std::round(((1.0 + i) * (s + 1) + 0.0004567) * 1000) / 1000;
      EXPECT_DOUBLE_EQ(t[std::string(kStageNames[s])].get<double>(), expect) << kStageNames[s];
    }
  }
  // Rounded values print short (no 0.12300000000000001 noise).
  EXPECT_NE(lines[1].find("\"score\":0.87654"), std::string::npos) << lines[1];
}

TEST_F(Jsonl, PersonsAreIdenticalToPredictJson) {
  std::vector<models::PoseDetection> dets = {person(1), person(2.5f)};
  const std::string line = frame_json_line(0, 0, dets, StageTimes{});
  const auto j = nlohmann::ordered_json::parse(line);
  EXPECT_EQ(j["persons"].dump(), app::persons_json(dets).dump());
}

TEST_F(Jsonl, FrameOverloadUsesPtsOrCaptureTime) {
  const std::string p = path("frames.jsonl");
  {
    JsonlWriter w(p);
    Frame a;
    a.index = 5;
    a.pts_ns = 1'234'567'891;
    a.persons = {person(0)};
    a.times = some_times(2);
    w.write(a);
    Frame b, c;  // no stream timestamps: milliseconds since the first such frame's capture
    b.index = 6;
    b.captured = Clock::now();
    c.index = 7;
    c.captured = b.captured + std::chrono::microseconds(40'500);
    w.write(b);
    w.write(c);
  }
  const auto lines = lines_of(slurp(p));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[0])["frame"], 5);
  EXPECT_DOUBLE_EQ(json::parse(lines[0])["pts_ms"].get<double>(), 1234.568);
  EXPECT_EQ(json::parse(lines[0])["persons"].size(), 1u);
  EXPECT_DOUBLE_EQ(json::parse(lines[1])["pts_ms"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(json::parse(lines[2])["pts_ms"].get<double>(), 40.5);
  EXPECT_TRUE(json::parse(lines[2])["persons"].is_array());
}

TEST_F(Jsonl, AnAbruptEndLeavesOnlyCompleteLines) {
  // The child writes N lines and is killed before it can close or flush anything: what a Ctrl-C or a
  // crash between frames leaves behind.
  const std::string p = path("killed.jsonl");
  constexpr int kLines = 37;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      JsonlWriter w(p);
      std::vector<models::PoseDetection> dets = {person(1), person(2), person(3)};
      for (int i = 0; i < kLines; ++i) w.write(i, i * 33.0, dets, some_times(1));
      ::kill(::getpid(), SIGKILL);
    } catch (...) {
    }
    ::_exit(3);  // only if something failed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::string text = slurp(p);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) {
    json j;
    ASSERT_NO_THROW(j = json::parse(lines[static_cast<size_t>(i)])) << "line " << i;
    EXPECT_EQ(j["frame"], i);
    EXPECT_EQ(j["persons"].size(), 3u);
  }
}

TEST_F(Jsonl, ReadingWhileWritingSeesCompleteLines) {
  // A reader tailing the file (the file as it would be if the run were interrupted now) can parse
  // everything up to the last newline at any moment.
  const std::string p = path("tail.jsonl");
  JsonlWriter w(p);
  std::vector<models::PoseDetection> dets = {person(1)};
  for (int i = 0; i < 50; ++i) {
    w.write(i, i, dets, some_times(1));
    const std::string text = slurp(p);
    ASSERT_EQ(text.back(), '\n');
    EXPECT_EQ(lines_of(text).size(), static_cast<size_t>(i + 1));
  }
}

TEST_F(Jsonl, ErrorsNameThePath) {
  const std::string bad = path("no/such/dir/out.jsonl");
  try {
    JsonlWriter w(bad);
    FAIL() << "opened " << bad;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  if (fs::exists("/dev/full")) {
    JsonlWriter w("/dev/full");
    try {
      w.write(0, 0, {}, StageTimes{});
      FAIL() << "wrote to /dev/full";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
    }
  }
  JsonlWriter w(path("closed.jsonl"));
  w.close();
  EXPECT_THROW(w.write(0, 0, {}, StageTimes{}), Error);
  EXPECT_THROW(write_summary_json(bad, RunSummary{}), Error);
}

RunSummary sample_summary() {
  RunSummary s;
  s.frames_in = 120;
  s.frames_processed = 110;
  s.frames_dropped = 10;
  s.fps = 29.97123;
  s.fps_in = 30.0;
  s.duration_s = 4.0;
  for (int i = 0; i < kNumStages; ++i) {
    auto& st = s.stages[static_cast<size_t>(i)];
    st.pct = {1.00049 * (i + 1), 2.0 * (i + 1), 3.0 * (i + 1)};
    st.mean = 1.5 * (i + 1);
    st.max = 4.0 * (i + 1);
    st.count = i == 5 ? 0 : 110;
  }
  return s;
}

TEST_F(Jsonl, SummaryJsonHasTheContractKeys) {
  const std::string p = path("summary.json");
  write_summary_json(p, sample_summary());
  const json j = json::parse(slurp(p));
  EXPECT_EQ(j["frames_in"], 120);
  EXPECT_EQ(j["frames_processed"], 110);
  EXPECT_EQ(j["frames_dropped"], 10);
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 29.97);
  ASSERT_EQ(j["stages_ms"].size(), static_cast<size_t>(kNumStages));
  for (int i = 0; i < kNumStages; ++i) {
    const json& st = j["stages_ms"][std::string(kStageNames[i])];
    EXPECT_DOUBLE_EQ(st["p50"].get<double>(), std::round(1.00049 * (i + 1) * 1000) / 1000);
    EXPECT_DOUBLE_EQ(st["p95"].get<double>(), 2.0 * (i + 1));
    EXPECT_DOUBLE_EQ(st["p99"].get<double>(), 3.0 * (i + 1));
  }
}

TEST_F(Jsonl, TrackIdsComeFirstInEachPersonAndOnlyWithTracking) {
  std::vector<models::PoseDetection> dets = {person(1), person(50)};
  const std::vector<int64_t> ids = {7, 12};
  const auto with = nlohmann::ordered_json::parse(frame_json_line(3, 100, dets, StageTimes{}, ids));
  ASSERT_EQ(with["persons"].size(), 2u);
  EXPECT_EQ(with["persons"][0].begin().key(), "id");
  EXPECT_EQ(with["persons"][0]["id"], 7);
  EXPECT_EQ(with["persons"][1]["id"], 12);
  // Apart from the id, each person is exactly what predict writes.
  for (size_t k = 0; k < 2; ++k) {
    auto p = with["persons"][k];
    p.erase("id");
    EXPECT_EQ(p.dump(), app::persons_json(dets)[k].dump());
  }
  const auto without = nlohmann::ordered_json::parse(frame_json_line(3, 100, dets, StageTimes{}));
  EXPECT_FALSE(without["persons"][0].contains("id"));
}

TEST_F(Jsonl, SummaryHasTracksOnlyWithTracking) {
  RunSummary s = sample_summary();
  EXPECT_FALSE(json::parse(summary_json(s)).contains("tracks"));
  s.tracks = {true, true, 9, 6, 3, 2};
  const json j = json::parse(summary_json(s));
  ASSERT_TRUE(j.contains("tracks"));
  EXPECT_EQ(j["tracks"]["started"], 9);
  EXPECT_EQ(j["tracks"]["ended"], 6);
  EXPECT_EQ(j["tracks"]["max_concurrent"], 3);
  EXPECT_EQ(j["tracks"]["active_at_end"], 2);
  EXPECT_EQ(j["tracks"]["smoothing"], true);
  std::FILE* f = std::fopen(path("t.txt").c_str(), "w");
  ASSERT_NE(f, nullptr);
  print_summary(f, s);
  std::fclose(f);
  EXPECT_NE(slurp(path("t.txt")).find("tracks: 9 started, 6 ended, 3 most at once"), std::string::npos);
}

TEST_F(Jsonl, SummaryTableIsAligned) {
  const std::string p = path("table.txt");
  std::FILE* f = std::fopen(p.c_str(), "w");
  ASSERT_NE(f, nullptr);
  print_summary(f, sample_summary());
  std::fclose(f);
  const std::string text = slurp(p);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u + kNumStages);
  EXPECT_NE(lines[0].find("120 in"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("10 dropped"), std::string::npos) << lines[0];
  for (int i = 0; i < kNumStages; ++i) {
    EXPECT_EQ(lines[2 + static_cast<size_t>(i)].rfind(std::string(kStageNames[i]), 0), 0u);
    EXPECT_EQ(lines[2 + static_cast<size_t>(i)].size(), lines[1].size()) << "row " << i << " not aligned";
  }
  std::fputs(text.c_str(), stderr);  // visible in the test log
}

// A multi-stream run's aggregate: the totals add up the streams, fps is all frames over the wall time,
// each stream keeps its counts and its end-to-end latency.
TEST_F(Jsonl, AggregateSummaryAddsUpTheStreams) {
  RunSummary a = sample_summary(), b = sample_summary();
  b.frames_in = 50;
  b.frames_processed = 45;
  b.frames_dropped = 5;
  b.stages[static_cast<size_t>(Stage::kEndToEnd)].pct = {7.0, 8.0, 9.5};
  const AggregateSummary agg = aggregate({{"a.mp4", "s.0.json", a}, {"rtsp://b", "", b}}, 5.0);
  EXPECT_EQ(agg.frames_in, 170u);
  EXPECT_EQ(agg.frames_processed, 155u);
  EXPECT_EQ(agg.frames_dropped, 15u);
  EXPECT_DOUBLE_EQ(agg.fps, 155.0 / 5.0);
  const std::string p = path("aggregate.json");
  write_aggregate_summary_json(p, agg);
  const json j = json::parse(slurp(p));
  EXPECT_EQ(j["streams"], 2);
  EXPECT_EQ(j["frames_processed"], 155);
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 31.0);
  ASSERT_EQ(j["per_stream"].size(), 2u);
  EXPECT_EQ(j["per_stream"][0]["source"], "a.mp4");
  EXPECT_EQ(j["per_stream"][0]["summary"], "s.0.json");
  EXPECT_FALSE(j["per_stream"][1].contains("summary"));
  EXPECT_EQ(j["per_stream"][1]["frames_dropped"], 5);
  EXPECT_DOUBLE_EQ(j["per_stream"][1]["latency_ms"]["p50"].get<double>(), 7.0);
  EXPECT_DOUBLE_EQ(j["per_stream"][1]["latency_ms"]["p99"].get<double>(), 9.5);
  EXPECT_THROW(write_aggregate_summary_json(path("no/such/dir/a.json"), agg), Error);
}

}  // namespace
}  // namespace sp::pipeline
