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

// Everything one stream owns. The capture thread writes capture_end/source_failed; the inference thread
// owns tracker/first_captured; the stream's render thread owns the sinks and render_end.
struct StreamState {
  StreamSpec spec;
  std::unique_ptr<VideoSource> src;
  bool live = false;
  size_t capacity = kFileQueue;
  std::unique_ptr<SpscRing<Frame>> captured, inferred;
  StageStats stats;
  std::string capture_end, render_end;
  std::atomic<bool> source_failed{false};
  std::atomic<uint64_t> discarded{0};  // delivered but refused by a ring already closed for shutdown
  std::unique_ptr<VideoWriter> writer;
  std::unique_ptr<JsonlWriter> jsonl;
  std::unique_ptr<tracking::PoseTracker> tracker;
  bool smoothing = false;
  double out_fps = 30.0;
  std::optional<Clock::time_point> first_captured;
  std::string label;  // progress-line prefix: "" for one stream, "[i] " for several

  uint64_t dropped_now() const {
    return captured->dropped() + inferred->dropped() + static_cast<uint64_t>(src->frames_dropped()) + discarded.load();
  }
};

}  // namespace

MultiPipelineResult run_pose_pipelines(models::PoseModel& model, const PosePipelineOptions& o,
                                       const std::vector<StreamSpec>& specs, std::atomic<bool>& stop) {
  if (specs.empty()) throw Error("no source to run");
  if (o.show && specs.size() > 1) throw Error("--show works with one --source (got " + std::to_string(specs.size()) + ")");
  if (o.track) {  // bad parameters fail before the source opens
    tracker_options(o).validate();
    o.smoother.validate();
  } else if (o.smooth == Smoothing::kOn) {
    throw Error("smoothing works per tracked person: it needs tracking on");
  }
  const size_t n = specs.size();
  VideoSourceOptions so = o.capture;
  so.realtime = o.realtime;
  so.cancel = &stop;
  std::vector<std::unique_ptr<StreamState>> streams;
  for (size_t i = 0; i < n; ++i) {
    auto st = std::make_unique<StreamState>();
    st->spec = specs[i];
    st->label = n > 1 ? "[" + std::to_string(i) + "] " : "";
    st->src = VideoSource::open(st->spec.source, so);
    st->live = st->src->live();
    st->capacity = st->live ? kLiveQueue : kFileQueue;
    st->captured = std::make_unique<SpscRing<Frame>>(st->capacity);
    st->inferred = std::make_unique<SpscRing<Frame>>(st->capacity);
    st->out_fps = st->src->fps() > 0 ? st->src->fps() : 30.0;
    st->smoothing = o.track && (o.smooth == Smoothing::kOn || (o.smooth == Smoothing::kAuto && st->live));
    if (o.track) {
      st->tracker = std::make_unique<tracking::PoseTracker>(
          tracker_options(o), st->smoothing ? std::optional<tracking::PoseSmootherOptions>(o.smoother) : std::nullopt);
    }
    streams.push_back(std::move(st));
  }
  FirstError first_error;

  // Sinks are opened before any thread starts, so a bad output path fails fast with nothing to undo.
  std::unique_ptr<WindowSink> window;
  for (auto& st : streams)
    if (!st->spec.json_path.empty()) st->jsonl = std::make_unique<JsonlWriter>(st->spec.json_path);
  if (o.show) window = std::make_unique<WindowSink>("sparsepose");
  // With tracking the model reports weaker people too (down to the tracker's low score): they only keep
  // existing tracks alive and are never shown on their own.
  const float decode_conf = o.track ? streams[0]->tracker->options().low_score : o.conf;

  auto stop_everything = [&] {
    stop = true;
    for (auto& st : streams) {
      st->src->interrupt();
      st->captured->close();
    }
  };

  const auto started = Clock::now();
  std::vector<std::thread> capture_threads;
  for (auto& sp : streams) {
    capture_threads.emplace_back([&o, &stop, &first_error, st = sp.get()] {
      try {
        int64_t k = 0;
        for (; !stop.load() && (o.max_frames <= 0 || k < o.max_frames); ++k) {
          Frame f;
          if (!st->src->next(f)) {
            if (!st->src->error().empty()) {
              st->source_failed = true;
              st->capture_end = st->src->error();
            } else {
              st->capture_end = st->src->ended_reason();
            }
            break;
          }
          if (o.max_frames > 0 && k + 1 == o.max_frames) st->capture_end = "reached --max-frames";
          st->stats.record_input(f.captured);
          f.enqueued = Clock::now();
          bool accepted = st->live ? st->captured->push_overwrite(std::move(f)) : st->captured->push(std::move(f));
          if (!accepted) {  // closed downstream: shutting down
            st->discarded.fetch_add(1);
            break;
          }
        }
      } catch (...) {
        st->source_failed = true;
        first_error.set(std::current_exception());
      }
      st->captured->close();
    });
  }

  // One inference thread, one engine session: it serves the capture rings in turn, one frame each, so a
  // stream waits at most one model run per other stream; it only sleeps when every ring is empty.
  std::thread inference_thread([&] {
    try {
      Preprocessor pre;
      models::NmsOptions nms;
      nms.iou_threshold = o.iou;
      Frame f;
      std::vector<models::PoseDetection> tracked;
      std::vector<bool> finished(n, false);
      size_t open = n, next = 0;
      while (open > 0) {
        // The next stream in turn that has a frame; a ring closed and drained finishes its stream.
        std::optional<size_t> got;
        for (size_t k = 0; k < n && !got; ++k) {
          const size_t i = (next + k) % n;
          if (finished[i]) continue;
          SpscRing<Frame>& ring = *streams[i]->captured;
          if (ring.try_pop(f)) {
            got = i;
          } else if (ring.is_closed()) {
            if (ring.try_pop(f)) {  // a last push before the close
              got = i;
            } else {
              finished[i] = true;
              streams[i]->inferred->close();
              --open;
            }
          }
        }
        if (!got) {
          if (open == 0) break;
          // Nothing ready: wait on the next open ring in turn (woken by its push); with several open
          // rings, for at most a millisecond so a frame on another stream is not kept waiting.
          size_t i = next;
          while (finished[i]) i = (i + 1) % n;
          if (open == 1 ? streams[i]->captured->pop(f)
                        : streams[i]->captured->pop_for(f, std::chrono::milliseconds(1))) {
            got = i;
          } else {
            if (open > 1) next = (i + 1) % n;
            continue;  // timed out, or closed and drained: the scan above sees it
          }
        }
        const size_t i = *got;
        next = (i + 1) % n;
        StreamState& st = *streams[i];
        auto t0 = Clock::now();
        f.times[Stage::kQueueWait] = ms_between(f.enqueued, t0);
        auto geom = letterbox_into(pre, f.bgr, model);
        auto t1 = Clock::now();
        model.infer();
        auto t2 = Clock::now();
        model.decode(decode_conf, nms, geom, f.persons);
        f.ids.clear();
        if (st.tracker) {
          // The stream's own clock, so frames a live source dropped are a longer step, not a jump;
          // without timestamps, the capture clock.
          if (!st.first_captured) st.first_captured = f.captured;
          const double t = f.pts_ns >= 0 ? static_cast<double>(f.pts_ns) * 1e-9
                                         : std::chrono::duration<double>(f.captured - *st.first_captured).count();
          tracked.clear();
          for (const tracking::TrackedPerson& p : st.tracker->update(f.persons, t)) {
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
        bool accepted = st.live ? st.inferred->push_overwrite(std::move(f)) : st.inferred->push(std::move(f));
        if (!accepted) {  // its render side gave up: that stream is over
          st.discarded.fetch_add(1);
          st.captured->close();
        }
      }
    } catch (...) {
      first_error.set(std::current_exception());
      stop_everything();
    }
    for (auto& st : streams) st->inferred->close();
  });

  // Render and sinks: stream 0 on this thread (GUI toolkits want the thread that created the window),
  // every other stream on its own thread, so a slow encoder on one never holds up another's sinks.
  auto render = [&](StreamState& st) {
    try {
      Frame f;
      bool hud_on = o.hud;
      auto last_progress = Clock::now();
      while (st.inferred->pop(f)) {
        auto t0 = Clock::now();
        const bool visual = window || !st.spec.save_path.empty();  // nothing to draw on for JSON-only runs
        if (visual) draw_detections(f.bgr, f.persons, f.ids);
        if (visual && hud_on) {
          uint64_t dropped = st.captured->dropped() + st.inferred->dropped() + static_cast<uint64_t>(st.src->frames_dropped());
          draw_hud(f.bgr, hud_data(st.stats.snapshot(t0), o, st.src->description(), st.captured->size(), st.capacity,
                                   dropped, f.index, st.tracker ? static_cast<int>(f.ids.size()) : -1));
        }
        f.times[Stage::kRender] = ms_between(t0, Clock::now());
        if (!st.spec.save_path.empty()) {
          if (!st.writer) st.writer = std::make_unique<VideoWriter>(st.spec.save_path, f.bgr.cols, f.bgr.rows, st.out_fps);
          st.writer->write(f.bgr, f.pts_ns);
        }
        if (window) {
          WindowEvent ev = window->show(f.bgr);
          if (ev == WindowEvent::kToggleHud) hud_on = window->hud_visible();
          if (window->quit_requested()) {
            st.render_end = "quit from the window";
            stop = true;
          }
        }
        auto done = Clock::now();
        f.times[Stage::kEndToEnd] = ms_between(f.captured, done);
        st.stats.record(f.times, done);
        if (st.jsonl) st.jsonl->write(f);
        st.stats.set_dropped(st.dropped_now());
        if (!o.quiet && ms_between(last_progress, done) > 2000) {
          auto snap = st.stats.snapshot(done);
          std::fprintf(stderr, "%sframe %lld  in %.1f fps  out %.1f fps  model p50 %.1f ms  end-to-end p50 %.1f ms  dropped %llu\n",
                       st.label.c_str(), static_cast<long long>(f.index), snap.fps_in, snap.fps_out,
                       snap[Stage::kModel].pct.p50, snap[Stage::kEndToEnd].pct.p50,
                       static_cast<unsigned long long>(snap.frames_dropped));
          last_progress = done;
        }
        if (stop.load()) {
          st.src->interrupt();
          st.captured->close();
        }
      }
    } catch (...) {
      first_error.set(std::current_exception());
      stop_everything();
      st.inferred->close();
    }
  };
  std::vector<std::thread> render_threads;
  for (size_t i = 1; i < n; ++i) render_threads.emplace_back([&render, st = streams[i].get()] { render(*st); });
  render(*streams[0]);
  for (auto& t : render_threads) t.join();
  for (auto& t : capture_threads) t.join();
  inference_thread.join();

  MultiPipelineResult all;
  all.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  for (auto& sp : streams) {
    StreamState& st = *sp;
    PipelineResult result;
    // Finalize every output whatever happened: the video gets its index, the JSON lines are complete.
    if (st.writer) {
      try {
        st.writer->close();
      } catch (...) {
        first_error.set(std::current_exception());
      }
      result.video_frames = st.writer->frames_written();
    }
    if (st.jsonl) {
      try {
        st.jsonl->close();
      } catch (...) {
        first_error.set(std::current_exception());
      }
      result.json_lines = st.jsonl->lines_written();
    }
    st.stats.set_dropped(st.dropped_now());
    result.summary = st.stats.summary();
    // Frames in counts what the source produced, including frames its appsink dropped to stay live.
    result.frames_in = static_cast<uint64_t>(st.src->frames_delivered() + st.src->frames_dropped());
    result.frames_processed = result.summary.frames_processed;
    result.frames_dropped = result.summary.frames_dropped;
    result.source_error = st.source_failed.load();
    result.ended = !st.render_end.empty()  ? st.render_end
                   : !st.capture_end.empty() ? st.capture_end
                   : stop.load()             ? "interrupted"
                                             : "end of stream";
    result.summary.frames_in = result.frames_in;
    result.summary.engine = o.engine_label;
    result.summary.isa = o.isa_label;
    result.summary.reconnects = st.src->reconnects();
    if (st.tracker) {  // the inference thread is joined: its tracker is ours to read
      const tracking::TrackerStats& ts = st.tracker->stats();
      result.summary.tracks = {true, st.smoothing, ts.started, ts.ended, ts.max_concurrent, ts.active};
    }
    all.streams.push_back(std::move(result));
  }
  if (auto e = first_error.get()) std::rethrow_exception(e);
  return all;
}

PipelineResult run_pose_pipeline(models::PoseModel& model, const PosePipelineOptions& o, std::atomic<bool>& stop) {
  MultiPipelineResult r = run_pose_pipelines(model, o, {StreamSpec{o.source, o.save_path, o.json_path}}, stop);
  return std::move(r.streams.front());
}

}  // namespace sp::pipeline
