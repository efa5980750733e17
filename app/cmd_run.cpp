// sparsepose run: the live pipeline on a camera, a file, a stream or a test source, with overlay, HUD,
// window, H.264 file, JSON lines and an end-of-run summary. Ctrl-C finishes cleanly: the video file is
// finalized and every JSON line written is complete. People are tracked with stable IDs (--no-track to
// turn off) and their keypoints smoothed (--smooth/--no-smooth; default on for live sources only).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "app/sources_list.h"
#include "core/error.h"
#include "pipeline/jsonl_writer.h"
#include "pipeline/pose_pipeline.h"
#include "pipeline/window_sink.h"

namespace sp::app {
namespace {

struct RunOptions {
  EngineOptions engine;
  pipeline::PosePipelineOptions pipe;
  std::string summary_path;
  bool no_hud = false;
  bool smooth = false;
  bool no_smooth = false;
  std::vector<std::string> sources;  // --source, once per stream
  std::string sources_file;          // --sources FILE: more streams, after the --source ones
  bool sources_given = false;        // (so --sources "" is an error, not ignored)
};

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

void require(bool ok, const std::string& flag, const std::string& rule, double got) {
  if (!ok) throw Error(flag + " must be " + rule + " (got " + number(got) + ")");
}

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

// The tracking and smoothing flags, checked here so the message names the flag the user typed.
void check_tracking_flags(const RunOptions& o) {
  const tracking::TrackerOptions& t = o.pipe.tracker;
  const tracking::PoseSmootherOptions& s = o.pipe.smoother;
  require(std::isfinite(s.filter.min_cutoff_hz) && s.filter.min_cutoff_hz > 0, "--smooth-min-cutoff", "> 0 Hz",
          s.filter.min_cutoff_hz);
  require(std::isfinite(s.filter.beta) && s.filter.beta >= 0, "--smooth-beta", ">= 0", s.filter.beta);
  require(std::isfinite(s.filter.d_cutoff_hz) && s.filter.d_cutoff_hz > 0, "--smooth-d-cutoff", "> 0 Hz",
          s.filter.d_cutoff_hz);
  require(finite_in(s.min_conf, 0, 1), "--smooth-min-conf", "in [0, 1]", s.min_conf);
  require(std::isfinite(t.track_buffer_s) && t.track_buffer_s > 0, "--track-buffer", "> 0 seconds", t.track_buffer_s);
  require(finite_in(t.low_score, 0, 1), "--track-low", "in [0, 1]", t.low_score);
  require(finite_in(t.new_track_score, 0, 1), "--track-new", "in [0, 1]", t.new_track_score);
  require(std::isfinite(t.match_similarity) && t.match_similarity >= 0 && t.match_similarity < 1, "--track-match",
          "in [0, 1)", t.match_similarity);
  require(finite_in(t.oks_weight, 0, 1), "--track-oks-weight", "in [0, 1]", t.oks_weight);
  require(t.min_hits >= 1, "--track-min-hits", ">= 1", t.min_hits);
  if (!o.pipe.track && o.smooth) throw Error("--smooth needs tracking (smoothing is per tracked person): drop --no-track");
}

// Ctrl-C and SIGTERM are received by one thread with sigwait (blocked everywhere else), which only
// raises the stop flag: no work in a signal handler, and every thread sees an orderly shutdown.
// A second Ctrl-C gives up on finalizing and exits at once.
class SignalStopper {
 public:
  explicit SignalStopper(std::atomic<bool>& stop) : stop_(stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);  // our own "done" wake-up
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      for (int count = 0;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
        if (++count > 1) {
          std::fprintf(stderr, "sparsepose: interrupted twice, exiting without finalizing outputs\n");
          std::_Exit(130);
        }
        std::fprintf(stderr, "sparsepose: interrupted, finishing the outputs (Ctrl-C again to abort)\n");
        interrupted_ = true;
        stop_ = true;
      }
    });
  }
  ~SignalStopper() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
  }
  bool interrupted() const { return interrupted_; }

 private:
  std::atomic<bool>& stop_;
  std::atomic<bool> interrupted_{false};
  sigset_t set_;
  std::thread thread_;
};

// Stream i's name for an output: the index before the extension (out.mp4 -> out.1.mp4), so the files
// of one run sort together and keep the extension their players and parsers expect.
std::string stream_output(const std::string& path, size_t i) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + std::to_string(i) + p.extension().string())).string();
}

// Two outputs of a multi-stream run must not land in the same file (say --json out.1.jsonl next to
// --json out.jsonl for stream 1): refused before anything is opened.
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  std::vector<std::string> seen;
  for (const auto& [flag, path] : outputs) {
    std::error_code ec;
    std::string key = std::filesystem::weakly_canonical(path, ec).string();
    if (ec) key = std::filesystem::path(path).lexically_normal().string();
    for (size_t j = 0; j < seen.size(); ++j)
      if (seen[j] == key)
        throw Error(flag + ": output " + path + " collides with " + outputs[j].first + " " + outputs[j].second);
    seen.push_back(key);
  }
}

void run_many(RunOptions& o, std::atomic<bool>& stop, SignalStopper& stopper);

void run_run(RunOptions& o) {
  check_tracking_flags(o);
  o.pipe.smooth = o.smooth ? pipeline::Smoothing::kOn : o.no_smooth ? pipeline::Smoothing::kOff : pipeline::Smoothing::kAuto;
  // Every stream, --source ones first, each with where it came from; checked before anything opens.
  std::vector<SourceEntry> entries;
  for (const std::string& s : o.sources) entries.push_back({s, "--source"});
  if (o.sources_given) {
    std::vector<SourceEntry> listed = read_sources_list(o.sources_file);
    entries.insert(entries.end(), listed.begin(), listed.end());
  }
  check_distinct_sources(entries);
  o.sources.clear();
  for (const SourceEntry& e : entries) o.sources.push_back(e.source);
  std::atomic<bool> stop{false};
  SignalStopper stopper(stop);  // before any other thread exists, so they all inherit the mask
  if (o.sources.size() > 1) {
    run_many(o, stop, stopper);
    return;
  }
  if (!o.sources.empty()) o.pipe.source = o.sources.front();
  if (o.pipe.source.empty()) o.pipe.source = assets_dir() + "/videos/dance.mp4";
  if (o.pipe.show && !pipeline::WindowSink::display_available()) {
    throw Error("--show: no display available (" + pipeline::WindowSink::display_problem() + ")");
  }
  LoadedModel m = load_model(o.engine);
  o.pipe.engine_label = m.engine;
  o.pipe.isa_label = m.model->session().kernel_isa_summary();  // what runs, not what was asked for
  o.pipe.threads = m.model->session().threads();
  o.pipe.hud = !o.no_hud;
  pipeline::PipelineResult r = pipeline::run_pose_pipeline(*m.model, o.pipe, stop);

  std::fprintf(stderr, "\n%s: %s\n", o.pipe.source.c_str(), r.ended.c_str());
  pipeline::print_summary(stderr, r.summary);
  if (!o.pipe.save_path.empty()) std::fprintf(stderr, "video: %s (%lld frames)\n", o.pipe.save_path.c_str(), static_cast<long long>(r.video_frames));
  if (!o.pipe.json_path.empty()) std::fprintf(stderr, "json lines: %s (%lld lines)\n", o.pipe.json_path.c_str(), static_cast<long long>(r.json_lines));
  if (!o.summary_path.empty()) pipeline::write_summary_json(o.summary_path, r.summary);
  if (r.source_error) {
    std::fprintf(stderr, "sparsepose: error: %s\n", r.ended.c_str());
    set_exit_code(1);
  } else if (stopper.interrupted()) {
    set_exit_code(130);
  }
}

// Several --source: one engine, one inference thread, per-stream outputs and summaries, plus the aggregate.
void run_many(RunOptions& o, std::atomic<bool>& stop, SignalStopper& stopper) {
  const size_t n = o.sources.size();
  if (o.pipe.show) throw Error("--show works with one --source (got " + std::to_string(n) + ")");
  std::vector<pipeline::StreamSpec> specs;
  std::vector<std::pair<std::string, std::string>> outputs;
  if (!o.summary_path.empty()) outputs.emplace_back("--summary", o.summary_path);  // the aggregate
  for (size_t i = 0; i < n; ++i) {
    pipeline::StreamSpec s{o.sources[i], stream_output(o.pipe.save_path, i), stream_output(o.pipe.json_path, i)};
    if (!s.save_path.empty()) outputs.emplace_back("--save", s.save_path);
    if (!s.json_path.empty()) outputs.emplace_back("--json", s.json_path);
    if (!o.summary_path.empty()) outputs.emplace_back("--summary", stream_output(o.summary_path, i));
    specs.push_back(std::move(s));
  }
  check_distinct_outputs(outputs);
  LoadedModel m = load_model(o.engine);
  o.pipe.engine_label = m.engine;
  o.pipe.isa_label = m.model->session().kernel_isa_summary();
  o.pipe.threads = m.model->session().threads();
  o.pipe.hud = !o.no_hud;
  pipeline::MultiPipelineResult r = pipeline::run_pose_pipelines(*m.model, o.pipe, specs, stop);

  bool source_error = false;
  std::vector<pipeline::StreamReport> reports;
  for (size_t i = 0; i < n; ++i) {
    const pipeline::PipelineResult& s = r.streams[i];
    std::fprintf(stderr, "\n[%zu] %s: %s\n", i, specs[i].source.c_str(), s.ended.c_str());
    pipeline::print_summary(stderr, s.summary);
    if (!specs[i].save_path.empty()) std::fprintf(stderr, "video: %s (%lld frames)\n", specs[i].save_path.c_str(), static_cast<long long>(s.video_frames));
    if (!specs[i].json_path.empty()) std::fprintf(stderr, "json lines: %s (%lld lines)\n", specs[i].json_path.c_str(), static_cast<long long>(s.json_lines));
    const std::string summary_i = stream_output(o.summary_path, i);
    if (!summary_i.empty()) pipeline::write_summary_json(summary_i, s.summary);
    reports.push_back({specs[i].source, summary_i, s.summary});
    if (s.source_error) {
      std::fprintf(stderr, "sparsepose: error: stream %zu (%s): %s\n", i, specs[i].source.c_str(), s.ended.c_str());
      source_error = true;
    }
  }
  const pipeline::AggregateSummary total = pipeline::aggregate(reports, r.wall_s);
  std::fprintf(stderr, "\nall %zu streams: %llu in, %llu processed, %llu dropped; %.2f fps aggregate over %.2f s\n", n,
               static_cast<unsigned long long>(total.frames_in), static_cast<unsigned long long>(total.frames_processed),
               static_cast<unsigned long long>(total.frames_dropped), total.fps, total.wall_s);
  if (!o.summary_path.empty()) pipeline::write_aggregate_summary_json(o.summary_path, total);
  if (source_error) {
    set_exit_code(1);
  } else if (stopper.interrupted()) {
    set_exit_code(130);
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Pose overlay on live video or a video file");
  add_engine_options(*cmd, o->engine, true);
  cmd->add_option("--source", o->sources,
                  "camera index or /dev/videoN, a video file, rtsp://, http(s)://, file://, 'test', or gst:PIPELINE "
                  "ending in 'appsink name=sink' (default: the bundled sample clip); repeat for several streams on "
                  "one engine (outputs then get the stream index: out.mp4 -> out.0.mp4, out.1.mp4)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);  // one value per --source: a stray word stays an error
  // A function, not a plain string option, so that --sources "" reaches read_sources_list and fails there.
  auto sources_file = [o](const std::string& f) {
    o->sources_file = f;
    o->sources_given = true;
  };
  cmd->add_option_function<std::string>("--sources", sources_file,
                                        "a text file listing sources, one per line (anything --source takes), run "
                                        "as streams after the --source ones; blank lines and lines starting with # "
                                        "are skipped, whitespace around an entry is trimmed, and a relative file path "
                                        "is relative to the list file's directory")
      ->type_name("FILE");
  cmd->add_option("--conf", o->pipe.conf, "person confidence threshold")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--iou", o->pipe.iou, "NMS IoU threshold")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_flag("--show", o->pipe.show, "show a window (h: toggle HUD, q/Esc: quit)");
  cmd->add_option("--save", o->pipe.save_path, "write the annotated video (H.264 .mp4)");
  cmd->add_option("--json", o->pipe.json_path, "write one JSON line per frame");
  cmd->add_option("--summary", o->summary_path, "write the end-of-run summary as JSON");
  cmd->add_flag("--realtime", o->pipe.realtime, "pace a file like a camera (newest frame wins)");
  cmd->add_option("--max-frames", o->pipe.max_frames, "stop after N frames")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-hud", o->no_hud, "no latency HUD on the window and video");
  cmd->add_flag("--quiet", o->pipe.quiet, "no progress lines");
  // Live sources that vanish (pipeline/video_source.h): bounded reconnects, each logged on stderr.
  auto& c = o->pipe.capture;
  cmd->add_option("--retries", c.retries, "reconnect attempts when a live source is lost (0: end at once)")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  cmd->add_option_function<double>("--retry-backoff", [&c](double s) {
        require(std::isfinite(s) && s >= 0 && s <= 60, "--retry-backoff", "in [0, 60] seconds", s);
        c.retry_backoff_ms = static_cast<int>(std::lround(s * 1000));
      }, "seconds before reconnect attempt k is k times this (default 0.5)");
  cmd->add_option_function<double>("--stall-timeout", [&c](double s) {
        require(std::isfinite(s) && s >= 0.1 && s <= 600, "--stall-timeout", "in [0.1, 600] seconds", s);
        c.stall_timeout_ms = static_cast<int>(std::lround(s * 1000));
      }, "a live camera/rtsp/http stream silent this long is lost (default 5)");

  // Tracking and smoothing (tracking/pose_tracker.h, tracking/one_euro.h; docs/TRACKING.md).
  auto& t = o->pipe.tracker;
  auto& s = o->pipe.smoother;
  cmd->add_flag("--track,!--no-track", o->pipe.track, "track people with stable IDs (default: on)");
  auto* smooth = cmd->add_flag("--smooth", o->smooth, "smooth keypoints per person (default: on for live sources, off for files)");
  auto* no_smooth = cmd->add_flag("--no-smooth", o->no_smooth, "do not smooth keypoints");
  smooth->excludes(no_smooth);
  cmd->add_option("--smooth-min-cutoff", s.filter.min_cutoff_hz,
                  "One-Euro cutoff of a still keypoint, Hz: lower is smoother")->capture_default_str();
  cmd->add_option("--smooth-beta", s.filter.beta,
                  "One-Euro speed coefficient, per (person heights / s): higher follows fast motion closer")->capture_default_str();
  cmd->add_option("--smooth-d-cutoff", s.filter.d_cutoff_hz, "One-Euro cutoff of the speed estimate, Hz")->capture_default_str();
  cmd->add_option("--smooth-min-conf", s.min_conf,
                  "keypoints below this confidence hold their smoothed position instead of updating it")->capture_default_str();
  cmd->add_option("--track-buffer", t.track_buffer_s, "seconds a lost person can come back with the same ID")->capture_default_str();
  cmd->add_option("--track-low", t.low_score,
                  "detections from this score up to --conf only keep existing tracks alive")->capture_default_str();
  cmd->add_option("--track-new", t.new_track_score, "score a detection needs to start a new track (and >= --conf)")->capture_default_str();
  cmd->add_option("--track-match", t.match_similarity,
                  "minimum similarity (IoU fused with keypoint OKS) to continue a track")->capture_default_str();
  cmd->add_option("--track-oks-weight", t.oks_weight, "weight of keypoint OKS against box IoU in the similarity")->capture_default_str();
  cmd->add_option("--track-min-hits", t.min_hits, "frames a new person must be seen in before getting an ID")->capture_default_str();
  cmd->callback([o] { run_run(*o); });
}

}  // namespace sp::app
