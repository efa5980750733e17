#include "pipeline/pose_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/error.h"
#include "pipeline/hud.h"
#include "pipeline/jsonl_writer.h"
#include "pipeline/overlay.h"
#include "pipeline/preprocess.h"
#include "pipeline/spsc_ring.h"
#include "pipeline/video_source.h"
#include "pipeline/video_writer.h"
#include "pipeline/window_sink.h"

namespace sp::pipeline {
namespace {

// A live source gets one slot: the inference thread always takes the newest frame, so a frame never
// waits behind an older one (a 2-slot ring measured ~50 ms p50 queue wait at 30 fps against ~15 ms).
// A file gains nothing from more than a few frames of slack between stages.
constexpr size_t kLiveQueue = 1;
constexpr size_t kFileQueue = 4;

// The first exception any thread raised; later ones are dropped (they are usually consequences).
class FirstError {
 public:
  void set(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = e;
  }
  std::exception_ptr get() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::exception_ptr error_;
};

HudData hud_data(const StatsSnapshot& snap, const PosePipelineOptions& o, const std::string& source, size_t depth,
                 size_t capacity, uint64_t dropped, int64_t frame, int tracked) {
  HudData d;
  for (int s = 0; s < kNumStages; ++s) {
    if (snap.stages[s].count == 0) continue;  // not measured: the HUD shows it as such
    d.p50_ms[s] = snap.stages[s].pct.p50;
    d.p95_ms[s] = snap.stages[s].pct.p95;
  }
  d.fps_in = snap.fps_in;
  d.fps_out = snap.fps_out;
  d.queue_depth = static_cast<int>(depth);
  d.queue_capacity = static_cast<int>(capacity);
  d.dropped = static_cast<int64_t>(dropped);
  d.engine = o.engine_label;
  d.threads = o.threads;
  d.isa = o.isa_label;
  d.source = source;
  d.frame_index = frame;
  d.tracked = tracked;
  return d;
}

// The tracker's options as the pipeline runs them: a detection is what --conf says it is.
tracking::TrackerOptions tracker_options(const PosePipelineOptions& o) {
  tracking::TrackerOptions t = o.tracker;
  t.high_score = o.conf;
  t.low_score = std::min(t.low_score, o.conf);
  return t;
}

}  // namespace

PipelineResult run_pose_pipeline(models::PoseModel& model, const PosePipelineOptions& o, std::atomic<bool>& stop) {
  if (o.track) {  // bad parameters fail before the source opens
    tracker_options(o).validate();
    o.smoother.validate();
  } else if (o.smooth == Smoothing::kOn) {
    throw Error("smoothing works per tracked person: it needs tracking on");
  }
  VideoSourceOptions so;
  so.realtime = o.realtime;
  so.cancel = &stop;
  std::unique_ptr<VideoSource> src = VideoSource::open(o.source, so);
  const bool live = src->live();
  const size_t capacity = live ? kLiveQueue : kFileQueue;
  SpscRing<Frame> captured(capacity), inferred(capacity);
  StageStats stats;
  FirstError first_error;
  std::string capture_end;  // written by the capture thread, read after it is joined
  std::string render_end;   // written by this thread
  std::atomic<bool> source_failed{false};
  std::atomic<uint64_t> discarded{0};  // delivered but refused by a ring already closed for shutdown

  // Sinks are opened before any thread starts, so a bad output path fails fast with nothing to undo.
  std::unique_ptr<VideoWriter> writer;
  std::unique_ptr<JsonlWriter> jsonl;
  std::unique_ptr<WindowSink> window;
  if (!o.json_path.empty()) jsonl = std::make_unique<JsonlWriter>(o.json_path);
  if (o.show) window = std::make_unique<WindowSink>("sparsepose");
  const double out_fps = src->fps() > 0 ? src->fps() : 30.0;
  const bool smoothing = o.track && (o.smooth == Smoothing::kOn || (o.smooth == Smoothing::kAuto && live));
  std::unique_ptr<tracking::PoseTracker> tracker;
  if (o.track) {
    tracker = std::make_unique<tracking::PoseTracker>(
        tracker_options(o), smoothing ? std::optional<tracking::PoseSmootherOptions>(o.smoother) : std::nullopt);
  }
  // With tracking the model reports weaker people too (down to the tracker's low score): they only keep
  // existing tracks alive and are never shown on their own.
  const float decode_conf = tracker ? tracker->options().low_score : o.conf;

  std::thread capture_thread([&] {
    try {
      int64_t n = 0;
      for (; !stop.load() && (o.max_frames <= 0 || n < o.max_frames); ++n) {
        Frame f;
        if (!src->next(f)) {
          if (!src->error().empty()) {
            source_failed = true;
            capture_end = src->error();
          } else {
            capture_end = src->ended_reason();
          }
          break;
        }
        if (o.max_frames > 0 && n + 1 == o.max_frames) capture_end = "reached --max-frames";
        stats.record_input(f.captured);
        f.enqueued = Clock::now();
        bool accepted = live ? captured.push_overwrite(std::move(f)) : captured.push(std::move(f));
        if (!accepted) {  // closed downstream: shutting down
          discarded.fetch_add(1);
          break;
        }
      }
    } catch (...) {
      source_failed = true;
      first_error.set(std::current_exception());
    }
    captured.close();
  });

  std::thread inference_thread([&] {
    try {
      Preprocessor pre;
      models::NmsOptions nms;
      nms.iou_threshold = o.iou;
      Frame f;
      std::vector<models::PoseDetection> tracked;
      std::optional<Clock::time_point> first_captured;
      while (captured.pop(f)) {
        auto t0 = Clock::now();
        f.times[Stage::kQueueWait] = ms_between(f.enqueued, t0);
        auto geom = letterbox_into(pre, f.bgr, model);
        auto t1 = Clock::now();
        model.infer();
        auto t2 = Clock::now();
        model.decode(decode_conf, nms, geom, f.persons);
        f.ids.clear();
        if (tracker) {
          // The stream's own clock, so frames a live source dropped are a longer step, not a jump;
          // without timestamps, the capture clock.
          if (!first_captured) first_captured = f.captured;
          const double t = f.pts_ns >= 0 ? static_cast<double>(f.pts_ns) * 1e-9
                                         : std::chrono::duration<double>(f.captured - *first_captured).count();
          tracked.clear();
          for (const tracking::TrackedPerson& p : tracker->update(f.persons, t)) {
            tracked.push_back(p.pose);
            f.ids.push_back(p.id);
          }
          f.persons.swap(tracked);
        }
        auto t3 = Clock::now();
        f.times[Stage::kPreprocess] = ms_between(t0, t1);
        f.times[Stage::kModel] = ms_between(t1, t2);
        f.times[Stage::kDecode] = ms_between(t2, t3);
        f.enqueued = t3;
        bool accepted = live ? inferred.push_overwrite(std::move(f)) : inferred.push(std::move(f));
        if (!accepted) {
          discarded.fetch_add(1);
          break;
        }
      }
    } catch (...) {
      first_error.set(std::current_exception());
      stop = true;
      captured.close();
    }
    inferred.close();
  });

  // Render and sinks run on this thread: GUI toolkits want the thread that created the window.
  PipelineResult result;
  try {
    Frame f;
    bool hud_on = o.hud;
    auto last_progress = Clock::now();
    while (inferred.pop(f)) {
      auto t0 = Clock::now();
      const bool visual = window || !o.save_path.empty();  // nothing to draw on for JSON-only runs
      if (visual) draw_detections(f.bgr, f.persons, f.ids);
      if (visual && hud_on) {
        uint64_t dropped = captured.dropped() + inferred.dropped() + static_cast<uint64_t>(src->frames_dropped());
        draw_hud(f.bgr, hud_data(stats.snapshot(t0), o, src->description(), captured.size(), capacity, dropped, f.index,
                                 tracker ? static_cast<int>(f.ids.size()) : -1));
      }
      f.times[Stage::kRender] = ms_between(t0, Clock::now());
      if (!o.save_path.empty()) {
        if (!writer) writer = std::make_unique<VideoWriter>(o.save_path, f.bgr.cols, f.bgr.rows, out_fps);
        writer->write(f.bgr, f.pts_ns);
      }
      if (window) {
        WindowEvent ev = window->show(f.bgr);
        if (ev == WindowEvent::kToggleHud) hud_on = window->hud_visible();
        if (window->quit_requested()) {
          render_end = "quit from the window";
          stop = true;
        }
      }
      auto done = Clock::now();
      f.times[Stage::kEndToEnd] = ms_between(f.captured, done);
      stats.record(f.times, done);
      if (jsonl) jsonl->write(f);
      stats.set_dropped(captured.dropped() + inferred.dropped() + static_cast<uint64_t>(src->frames_dropped()) + discarded.load());
      if (!o.quiet && ms_between(last_progress, done) > 2000) {
        auto snap = stats.snapshot(done);
        std::fprintf(stderr, "frame %lld  in %.1f fps  out %.1f fps  model p50 %.1f ms  end-to-end p50 %.1f ms  dropped %llu\n",
                     static_cast<long long>(f.index), snap.fps_in, snap.fps_out, snap[Stage::kModel].pct.p50,
                     snap[Stage::kEndToEnd].pct.p50, static_cast<unsigned long long>(snap.frames_dropped));
        last_progress = done;
      }
      if (stop.load()) {
        src->interrupt();
        captured.close();
      }
    }
  } catch (...) {
    first_error.set(std::current_exception());
    stop = true;
    src->interrupt();
    captured.close();
    inferred.close();
  }
  capture_thread.join();
  inference_thread.join();

  // Finalize every output whatever happened: the video gets its index, the JSON lines are complete.
  if (writer) {
    try {
      writer->close();
    } catch (...) {
      first_error.set(std::current_exception());
    }
    result.video_frames = writer->frames_written();
  }
  if (jsonl) {
    try {
      jsonl->close();
    } catch (...) {
      first_error.set(std::current_exception());
    }
    result.json_lines = jsonl->lines_written();
  }
  stats.set_dropped(captured.dropped() + inferred.dropped() + static_cast<uint64_t>(src->frames_dropped()) + discarded.load());
  result.summary = stats.summary();
  // Frames in counts what the source produced, including frames its appsink dropped to stay live.
  result.frames_in = static_cast<uint64_t>(src->frames_delivered() + src->frames_dropped());
  result.frames_processed = result.summary.frames_processed;
  result.frames_dropped = result.summary.frames_dropped;
  result.source_error = source_failed.load();
  result.ended = !render_end.empty() ? render_end : !capture_end.empty() ? capture_end : stop.load() ? "interrupted" : "end of stream";
  result.summary.frames_in = result.frames_in;
  result.summary.engine = o.engine_label;
  result.summary.isa = o.isa_label;
  if (tracker) {  // the inference thread is joined: its tracker is ours to read
    const tracking::TrackerStats& ts = tracker->stats();
    result.summary.tracks = {true, smoothing, ts.started, ts.ended, ts.max_concurrent, ts.active};
  }
  if (auto e = first_error.get()) std::rethrow_exception(e);
  return result;
}

}  // namespace sp::pipeline
