// sparsepose run: the live pipeline on a camera, a file, a stream or a test source, with overlay, HUD,
// window, H.264 file, JSON lines and an end-of-run summary. Ctrl-C finishes cleanly: the video file is
// finalized and every JSON line written is complete.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "app/commands.h"
#include "app/common.h"
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
};

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

void run_run(RunOptions& o) {
  std::atomic<bool> stop{false};
  SignalStopper stopper(stop);  // before any other thread exists, so they all inherit the mask
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

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Pose overlay on live video or a video file");
  add_engine_options(*cmd, o->engine, true);
  cmd->add_option("--source", o->pipe.source,
                  "camera index or /dev/videoN, a video file, rtsp://, http(s)://, file://, 'test', or gst:PIPELINE "
                  "ending in 'appsink name=sink' (default: the bundled sample clip)");
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
  cmd->callback([o] { run_run(*o); });
}

}  // namespace sp::app
