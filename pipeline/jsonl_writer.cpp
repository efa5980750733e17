#include "pipeline/jsonl_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "pipeline/detections_json.h"

namespace sp::pipeline {

namespace {

using ojson = nlohmann::ordered_json;

double round_to(double v, double scale) { return std::isfinite(v) ? std::round(v * scale) / scale : 0.0; }
double r3(double v) { return round_to(v, 1e3); }

std::string errno_text(int err) { return std::strerror(err); }

int open_for_writing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open '" + path + "' for writing: " + errno_text(errno));
  return fd;
}

// write() until everything is out (short writes, EINTR).
void write_all(int fd, const std::string& path, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + path + "': " + errno_text(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void close_fd(int fd, const std::string& path) {
  if (::close(fd) != 0 && errno != EINTR) throw Error("cannot close '" + path + "': " + errno_text(errno));
}

}  // namespace

std::string frame_json_line(int64_t frame_index, double pts_ms, std::span<const models::PoseDetection> persons,
                            const StageTimes& times, std::span<const int64_t> ids) {
  ojson j;
  j["frame"] = frame_index;
  j["pts_ms"] = r3(pts_ms);
  j["persons"] = persons_json(persons, ids);
  ojson timing = ojson::object();
  for (int s = 0; s < kNumStages; ++s) timing[std::string(kStageNames[s])] = r3(times.ms[s]);
  j["timing_ms"] = std::move(timing);
  // Invalid UTF-8 cannot occur (no strings from outside), but never let dump() throw mid-run.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonlWriter::JsonlWriter(std::string path) : path_(std::move(path)) { fd_ = open_for_writing(path_); }

JsonlWriter::~JsonlWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlWriter::write(const Frame& frame) {
  double pts_ms;
  if (frame.pts_ns >= 0) {
    pts_ms = static_cast<double>(frame.pts_ns) / 1e6;
  } else {
    if (!first_captured_) first_captured_ = frame.captured;
    pts_ms = ms_between(*first_captured_, frame.captured);
  }
  write(frame.index, pts_ms, frame.persons, frame.times, frame.ids);
}

void JsonlWriter::write(int64_t frame_index, double pts_ms, std::span<const models::PoseDetection> persons,
                        const StageTimes& times, std::span<const int64_t> ids) {
  std::string line = frame_json_line(frame_index, pts_ms, persons, times, ids);
  line.push_back('\n');
  write_line(line);
}

void JsonlWriter::write_line(const std::string& line) {
  if (fd_ < 0) throw Error("cannot write '" + path_ + "': already closed");
  write_all(fd_, path_, line.data(), line.size());  // one write() per line in practice: never half a line
  ++lines_;
}

void JsonlWriter::close() {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  close_fd(fd, path_);
}

std::string summary_json(const RunSummary& s) {
  ojson j;
  if (!s.engine.empty()) j["engine"] = s.engine;
  if (!s.isa.empty()) j["isa"] = s.isa;
  j["frames_in"] = s.frames_in;
  j["frames_processed"] = s.frames_processed;
  j["frames_dropped"] = s.frames_dropped;
  j["fps"] = round_to(s.fps, 1e2);
  j["fps_in"] = round_to(s.fps_in, 1e2);
  j["duration_s"] = r3(s.duration_s);
  j["reconnects"] = s.reconnects;
  ojson stages = ojson::object();
  for (int i = 0; i < kNumStages; ++i) {
    const StageSummary& st = s.stages[i];
    stages[std::string(kStageNames[i])] = {{"p50", r3(st.pct.p50)}, {"p95", r3(st.pct.p95)},
                                           {"p99", r3(st.pct.p99)}, {"mean", r3(st.mean)},
                                           {"max", r3(st.max)},     {"count", st.count}};
  }
  j["stages_ms"] = std::move(stages);
  if (s.tracks.enabled) {
    j["tracks"] = {{"started", s.tracks.started},
                   {"ended", s.tracks.ended},
                   {"max_concurrent", s.tracks.max_concurrent},
                   {"active_at_end", s.tracks.active_at_end},
                   {"smoothing", s.tracks.smoothing}};
  }
  return j.dump(2) + "\n";
}

void write_summary_json(const std::string& path, const RunSummary& summary) {
  const std::string text = summary_json(summary);
  const int fd = open_for_writing(path);
  try {
    write_all(fd, path, text.data(), text.size());
  } catch (...) {
    ::close(fd);
    throw;
  }
  close_fd(fd, path);
}

AggregateSummary aggregate(std::vector<StreamReport> streams, double wall_s) {
  AggregateSummary a;
  for (const StreamReport& r : streams) {
    a.frames_in += r.summary.frames_in;
    a.frames_processed += r.summary.frames_processed;
    a.frames_dropped += r.summary.frames_dropped;
  }
  a.wall_s = wall_s;
  a.fps = wall_s > 0 ? static_cast<double>(a.frames_processed) / wall_s : 0;
  a.streams = std::move(streams);
  return a;
}

std::string aggregate_summary_json(const AggregateSummary& a) {
  ojson j;
  j["streams"] = a.streams.size();
  j["frames_in"] = a.frames_in;
  j["frames_processed"] = a.frames_processed;
  j["frames_dropped"] = a.frames_dropped;
  j["fps"] = round_to(a.fps, 1e2);
  j["wall_s"] = r3(a.wall_s);
  ojson per = ojson::array();
  for (const StreamReport& r : a.streams) {
    const StageSummary& e2e = r.summary[Stage::kEndToEnd];
    ojson s;
    s["source"] = r.source;
    if (!r.summary_path.empty()) s["summary"] = r.summary_path;
    s["frames_in"] = r.summary.frames_in;
    s["frames_processed"] = r.summary.frames_processed;
    s["frames_dropped"] = r.summary.frames_dropped;
    s["fps"] = round_to(r.summary.fps, 1e2);
    s["latency_ms"] = {{"p50", r3(e2e.pct.p50)}, {"p99", r3(e2e.pct.p99)}};
    per.push_back(std::move(s));
  }
  j["per_stream"] = std::move(per);
  return j.dump(2) + "\n";
}

void write_aggregate_summary_json(const std::string& path, const AggregateSummary& summary) {
  const std::string text = aggregate_summary_json(summary);
  const int fd = open_for_writing(path);
  try {
    write_all(fd, path, text.data(), text.size());
  } catch (...) {
    ::close(fd);
    throw;
  }
  close_fd(fd, path);
}

void print_summary(std::FILE* out, const RunSummary& s) {
  std::fprintf(out, "frames: %llu in, %llu processed, %llu dropped; %.2f fps out, %.2f fps in, %.2f s\n",
               static_cast<unsigned long long>(s.frames_in), static_cast<unsigned long long>(s.frames_processed),
               static_cast<unsigned long long>(s.frames_dropped), s.fps, s.fps_in, s.duration_s);
  if (s.reconnects > 0) std::fprintf(out, "reconnect attempts: %d\n", s.reconnects);
  if (!s.engine.empty() || !s.isa.empty())
    std::fprintf(out, "engine: %s, kernels: %s\n", s.engine.empty() ? "?" : s.engine.c_str(), s.isa.empty() ? "?" : s.isa.c_str());
  std::fprintf(out, "%-12s %10s %10s %10s %10s %8s\n", "stage (ms)", "p50", "p95", "p99", "mean", "frames");
  for (int i = 0; i < kNumStages; ++i) {
    const StageSummary& st = s.stages[i];
    const std::string name(kStageNames[i]);
    if (st.count == 0) {
      std::fprintf(out, "%-12s %10s %10s %10s %10s %8d\n", name.c_str(), "-", "-", "-", "-", 0);
      continue;
    }
    std::fprintf(out, "%-12s %10.3f %10.3f %10.3f %10.3f %8llu\n", name.c_str(), st.pct.p50, st.pct.p95, st.pct.p99,
                 st.mean, static_cast<unsigned long long>(st.count));
  }
  if (s.tracks.enabled) {
    std::fprintf(out, "tracks: %lld started, %lld ended, %d most at once, %d active at the end; smoothing %s\n",
                 static_cast<long long>(s.tracks.started), static_cast<long long>(s.tracks.ended),
                 s.tracks.max_concurrent, s.tracks.active_at_end, s.tracks.smoothing ? "on" : "off");
  }
  std::fflush(out);
}

}  // namespace sp::pipeline
