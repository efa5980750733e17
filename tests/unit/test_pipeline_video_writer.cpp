// The H.264 file writer: files play, hold exactly the frames written, have the right duration, and
// are finalized on every way out (close, destructor, close from another thread while writing, and
// even SIGKILL thanks to robust muxing). Files are checked with GStreamer's own command-line tools
// (gst-discoverer-1.0 from gstreamer1.0-plugins-base-apps, gst-launch-1.0 from gstreamer1.0-tools).
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opencv2/imgproc.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "pipeline/video_writer.h"

extern char** environ;

// glib allocates 16 KB in a library constructor that it never frees; LeakSanitizer (SP_SANITIZE=address)
// would fail this binary for it. Only glib's own allocations are suppressed.
extern "C" __attribute__((used)) const char* __lsan_default_suppressions() { return "leak:libglib-2.0.so\n"; }

namespace sp::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int kW = 320, kH = 240;
constexpr double kFps = 30.0;
constexpr int64_t kFrameNs = 33'333'333;

// A frame with a rectangle that moves with i (so the encoder has something to encode).
cv::Mat synthetic_frame(int i, int w = kW, int h = kH) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(40, 90, 30));
  const int x = (i * 7) % std::max(1, w - 60);
  const int y = (i * 3) % std::max(1, h - 40);
  cv::rectangle(img, cv::Rect(x, y, 60, 40), cv::Scalar(20, 200, 250), cv::FILLED);
  cv::putText(img, std::to_string(i), cv::Point(10, h - 10), cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar(255, 255, 255), 2);
  return img;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Duration reported by gst-discoverer-1.0 in seconds, or -1 when it cannot read the file.
double discovered_duration_s(const std::string& path) {
  const std::string out = run("timeout 60 gst-discoverer-1.0 " + quoted(path));
  const auto pos = out.find("Duration: ");
  int h = 0, m = 0;
  double s = 0;
  if (pos == std::string::npos || std::sscanf(out.c_str() + pos, "Duration: %d:%d:%lf", &h, &m, &s) != 3) {
    ADD_FAILURE() << "gst-discoverer-1.0 could not read " << path << ":\n" << out;
    return -1.0;
  }
  return h * 3600.0 + m * 60.0 + s;
}

// Number of frames the file decodes to: decode to GRAY8 (rows are w bytes when w % 4 == 0) and divide.
int64_t decoded_frames(const std::string& path, int w = kW, int h = kH) {
  const std::string raw = path + ".gray";
  // gst-launch waits forever on a file it cannot preroll: bound it.
  const std::string out = run("timeout 60 gst-launch-1.0 -q filesrc location=" + quoted(path) +
                              " ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! filesink location=" + quoted(raw));
  std::error_code ec;
  const auto bytes = fs::file_size(raw, ec);
  fs::remove(raw, ec);
  if (bytes == static_cast<uintmax_t>(-1) || bytes == 0) {
    ADD_FAILURE() << "could not decode " << path << ":\n" << out;
    return -1;
  }
  EXPECT_EQ(bytes % static_cast<uintmax_t>(w * h), 0u);
  return static_cast<int64_t>(bytes / static_cast<uintmax_t>(w * h));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sp_video_writer_XXXXXX";
    dir_ = mkdtemp(tmpl) ? tmpl : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (dir_ != "/tmp") fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

bool tools_available() {
  return std::system("command -v gst-discoverer-1.0 >/dev/null 2>&1 && command -v gst-launch-1.0 >/dev/null 2>&1") == 0;
}

#define REQUIRE_GST_TOOLS()                                                                            \
  do {                                                                                                 \
    if (!tools_available())                                                                            \
      GTEST_SKIP() << "gst-discoverer-1.0 / gst-launch-1.0 missing (scripts/setup.sh installs them)"; \
  } while (0)

TEST(PipelineVideoWriter, WritesPlayableMp4WithExactFramesAndDuration) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("clip.mp4");
  constexpr int kFrames = 45;
  {
    VideoWriter w(path, kW, kH, kFps);
    EXPECT_TRUE(w.is_open());
    EXPECT_EQ(w.muxer(), "mp4mux");
    EXPECT_FALSE(w.encoder().empty());
    const int64_t base = 5'000'000'000;  // stream time of the first frame: the file starts at 0 anyway
    for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(w.write(synthetic_frame(i), base + i * kFrameNs));
    w.close();
    EXPECT_FALSE(w.is_open());
    EXPECT_EQ(w.frames_written(), kFrames);
    EXPECT_FALSE(w.write(synthetic_frame(0), 0)) << "writes after close() are refused";
    w.close();  // idempotent
  }
  EXPECT_NEAR(discovered_duration_s(path), 1.5, 0.05);
  EXPECT_EQ(decoded_frames(path), kFrames);
}

TEST(PipelineVideoWriter, DestructorFinalizes) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("dtor.mp4");
  {
    VideoWriter w(path, kW, kH, kFps);
    for (int i = 0; i < 20; ++i) w.write(synthetic_frame(i), i * kFrameNs);
  }
  EXPECT_NEAR(discovered_duration_s(path), 20 / kFps, 0.05);
  EXPECT_EQ(decoded_frames(path), 20);
}

TEST(PipelineVideoWriter, ClassicLayoutWithoutCrashSafeReservation) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("classic.mp4");
  VideoWriterOptions o;
  o.crash_safe_seconds = 0;
  {
    VideoWriter w(path, kW, kH, kFps, o);
    for (int i = 0; i < 30; ++i) w.write(synthetic_frame(i), i * kFrameNs);
  }
  EXPECT_LT(fs::file_size(path), 1u << 20) << "no reserved index space";
  EXPECT_EQ(decoded_frames(path), 30);
}

// Ctrl-C in the app: the shutdown path calls close() while the render thread is still writing.
TEST(PipelineVideoWriter, CloseFromAnotherThreadWhileWritingFinalizes) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("interrupted.mp4");
  VideoWriter w(path, kW, kH, kFps);
  std::atomic<int> refused{0};
  std::thread writer([&] {
    for (int i = 0; i < 3000 && refused < 5; ++i) {
      if (!w.write(synthetic_frame(i), i * kFrameNs)) ++refused;
    }
  });
  while (w.frames_written() < 25) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  w.close();
  writer.join();
  EXPECT_GE(refused.load(), 1) << "the writer kept going after close() and was refused";
  const int64_t n = w.frames_written();
  EXPECT_GE(n, 25);
  EXPECT_EQ(decoded_frames(path), n) << "every accepted frame is in the file";
  EXPECT_NEAR(discovered_duration_s(path), n / kFps, 0.05);
}

TEST(PipelineVideoWriter, UnwritablePathIsAClearError) {
  const std::string missing_dir = "/nonexistent_sparsepose_dir/out.mp4";
  try {
    VideoWriter w(missing_dir, kW, kH, kFps);
    FAIL() << "expected sp::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(missing_dir), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
  // The directory exists but the file cannot be created: GStreamer's filesink reports it.
  const std::string proc = "/proc/sparsepose_cannot_write_here.mp4";
  try {
    VideoWriter w(proc, kW, kH, kFps);
    FAIL() << "expected sp::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(proc), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
  TempDir tmp;
  EXPECT_THROW(VideoWriter(tmp.file(""), kW, kH, kFps), Error);  // a directory
  EXPECT_THROW(VideoWriter(tmp.file("x.mp4"), 0, kH, kFps), Error);
  VideoWriterOptions o;
  o.encoder = "nosuchenc";
  EXPECT_THROW(VideoWriter(tmp.file("y.mp4"), kW, kH, kFps, o), Error);
}

TEST(PipelineVideoWriter, RejectsWrongPixelType) {
  TempDir tmp;
  VideoWriter w(tmp.file("gray.mp4"), kW, kH, kFps);
  EXPECT_THROW(w.write(cv::Mat(kH, kW, CV_8UC1, cv::Scalar(0))), Error);
  EXPECT_THROW(w.write(cv::Mat()), Error);
}

TEST(PipelineVideoWriter, MissingAndNonMonotonicTimestampsStillGiveEveryFrame) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("pts.mp4");
  {
    VideoWriter w(path, kW, kH, kFps);
    for (int i = 0; i < 10; ++i) w.write(synthetic_frame(i));                   // no pts
    for (int i = 10; i < 20; ++i) w.write(synthetic_frame(i), 1'000'000'000);   // repeated pts
    for (int i = 20; i < 30; ++i) w.write(synthetic_frame(i), 500'000'000 - i);  // going backwards
  }
  EXPECT_EQ(decoded_frames(path), 30);
  EXPECT_NEAR(discovered_duration_s(path), 1.0, 0.05);
}

TEST(PipelineVideoWriter, OddSizeIsCroppedAndOtherSizesResized) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("odd.mp4");
  {
    VideoWriter w(path, kW + 1, kH + 1, kFps);
    EXPECT_EQ(w.size(), cv::Size(kW, kH));
    for (int i = 0; i < 5; ++i) w.write(synthetic_frame(i, kW + 1, kH + 1), i * kFrameNs);
    for (int i = 5; i < 10; ++i) w.write(synthetic_frame(i, 640, 480), i * kFrameNs);
  }
  EXPECT_EQ(decoded_frames(path), 10);
}

// x264 records its settings in the stream (an SEI message: "... rc=cqp ... qp=23 ..."), so the file itself
// says which rate control encoded it: a constant quantizer with ultrafast (above 720p30: its frame
// analysis for CRF costs CPU that the model needs, see video_writer.cpp), CRF with veryfast.
std::string x264_settings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto pos = bytes.find("x264 - core");
  if (pos == std::string::npos) return "";
  return bytes.substr(pos, bytes.find('\0', pos) - pos);
}

TEST(PipelineVideoWriter, ConstantQuantizerAbove720p30AndCrfBelow) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  struct Case {
    int w, h;
    const char* rc;         // x264's rate-control method
    const char* quantizer;  // and the quality setting it records for it
  };
  for (const Case c : {Case{1920, 1080, "rc=cqp", " qp=23"}, Case{640, 360, "rc=crf", " crf=23"}}) {
    const std::string path = tmp.file(std::to_string(c.w) + ".mp4");
    {
      VideoWriter w(path, c.w, c.h, kFps);
      ASSERT_EQ(w.encoder(), "x264enc");
      for (int i = 0; i < 3; ++i) w.write(synthetic_frame(i, c.w, c.h), i * kFrameNs);
    }
    const std::string settings = x264_settings(path);
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + ": " + settings);
    EXPECT_NE(settings.find(c.rc), std::string::npos);
    EXPECT_NE(settings.find(c.quantizer), std::string::npos);
    EXPECT_EQ(decoded_frames(path, c.w, c.h), 3);
  }
}

TEST(PipelineVideoWriter, MatroskaAndOpenH264) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  {
    const std::string path = tmp.file("clip.mkv");
    {
      VideoWriter w(path, kW, kH, kFps);
      EXPECT_EQ(w.muxer(), "matroskamux");
      for (int i = 0; i < 12; ++i) w.write(synthetic_frame(i), i * kFrameNs);
    }
    EXPECT_EQ(decoded_frames(path), 12);
  }
  if (std::system("gst-inspect-1.0 openh264enc >/dev/null 2>&1") != 0) GTEST_SKIP() << "openh264enc not installed";
  const std::string path = tmp.file("openh264.mp4");
  VideoWriterOptions o;
  o.encoder = "openh264enc";
  {
    VideoWriter w(path, kW, kH, kFps, o);
    EXPECT_EQ(w.encoder(), "openh264enc");
    for (int i = 0; i < 15; ++i) w.write(synthetic_frame(i), i * kFrameNs);
  }
  EXPECT_EQ(decoded_frames(path), 15);
}

TEST(PipelineVideoWriter, CrashSafeLengthLimitKeepsTheFileValid) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("limit.mp4");
  VideoWriterOptions o;
  o.crash_safe_seconds = 4;
  VideoWriter w(path, kW, kH, kFps, o);
  int accepted = 0;
  for (int i = 0; i < 240; ++i) accepted += w.write(synthetic_frame(i), i * kFrameNs) ? 1 : 0;
  w.close();
  EXPECT_GT(accepted, 30);
  EXPECT_LT(accepted, 4 * 30);
  EXPECT_EQ(w.frames_written(), accepted);
  EXPECT_EQ(decoded_frames(path), accepted);
}

TEST(PipelineVideoWriter, ZeroFramesLeavesNoFileAndDoesNotHang) {
  TempDir tmp;
  const std::string path = tmp.file("empty.mp4");
  const auto t0 = std::chrono::steady_clock::now();
  {
    VideoWriter w(path, kW, kH, kFps);
    EXPECT_TRUE(fs::exists(path));
    EXPECT_NO_THROW(w.close());
  }
  // Bounded, not timed: close() gives up after its own 10 s timeout, so anything near that is a hang.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  EXPECT_FALSE(fs::exists(path)) << "an unplayable empty file is removed";
}

// SIGKILL (a crash, or a second Ctrl-C that kills the app) while recording: robust muxing has kept
// the index at the head of the file up to date, so the file still plays. The child is this test
// binary re-executed with SP_VIDEO_WRITER_CHILD set (see the hook at the end of this file).
TEST(PipelineVideoWriter, KilledProcessLeavesPlayableFile) {
  REQUIRE_GST_TOOLS();
  TempDir tmp;
  const std::string path = tmp.file("killed.mp4");
  const std::string ready = tmp.file("ready");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("SP_VIDEO_WRITER_CHILD=" + path);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=-*";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const bool was_ready = fs::exists(ready);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(was_ready) << "the child never finished writing";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // 200 frames (6.7 s) were written; the index is rewritten every 2 s of stream time.
  const int64_t n = decoded_frames(path);
  EXPECT_GE(n, 120);
  EXPECT_LE(n, 200);
  EXPECT_NEAR(discovered_duration_s(path), n / kFps, 0.1);
}

// Child side of KilledProcessLeavesPlayableFile: runs before main(), writes, signals, waits to die.
const bool kChildHook = [] {
  const char* out = std::getenv("SP_VIDEO_WRITER_CHILD");
  if (!out || !*out) return false;
  auto* w = new VideoWriter(out, kW, kH, kFps);  // never closed: the process is killed
  for (int i = 0; i < 200; ++i) w->write(synthetic_frame(i), i * kFrameNs);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // let the pipeline mux what it has
  std::ofstream(fs::path(out).parent_path() / "ready") << "ready\n";
  std::this_thread::sleep_for(std::chrono::seconds(60));
  _exit(3);
}();

}  // namespace
}  // namespace sp::pipeline
