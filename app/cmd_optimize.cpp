// sparsepose optimize --quantize int8: post-training static quantization of a float pose model into a
// standard ONNX QDQ model (contract in core/quantize/quantizable_model.h). Calibrates activation
// ranges on unlabelled frames letterboxed exactly as inference does, then keeps in float the convs
// whose quantization moves the decoded poses most (agreement with the float model; no labels).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>

#include "app/calibration_frames.h"
#include "app/commands.h"
#include "app/common.h"
#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/onnx_import.h"
#include "core/passes/passes.h"
#include "core/quantize/activation_observer.h"
#include "core/quantize/quantizable_model.h"
#include "core/quantize/sensitivity.h"
#include "imaging/preprocess.h"
#include "models/pose_agreement.h"

namespace sp::app {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Sensitivity runs every conv alone on this many calibration frames at most (the anchor-aligned
// measure is smooth, so few frames suffice): ~100 convs x 16 frames at 640 on the integer engine.
constexpr int kMaxSensitivityFrames = 16;
constexpr float kReferenceConf = 0.25f;  // anchors where the float model sees a person (predict/run's threshold)
constexpr int kFallbackConvsPerStep = 2;
constexpr int kTimingIters = 15;  // runs per timed model (median): per-conv profiles and candidate latencies
// The predicted keypoint-AP loss of a damage (the anchor-aligned agreement proxy): AP points per unit
// of damage, measured on yolo11n-pose (dev set, 80 unlabelled calibration images, minmax): every conv
// int8 gave damage 0.0343 and a pose AP loss of 0.0160 (0.47 AP per unit); 56 convs float gave 0.0096
// and 0.0061 (0.64). The lower slope is the one that errs on the safe side for the large damages that
// decide how many convs go float. Check after the fact: the bundled model (10 convs float) has damage
// 0.0221, predicted loss 0.0099, measured 0.0047. One model's fit, said so in the report, not a law.
constexpr double kApLossPerDamage = 0.45;

struct OptimizeOptions {
  std::string model;
  std::string quantize;
  std::string calib;
  // minmax by default, as measured on yolo11n-pose with 80 unlabelled COCO images (pose / box AP on the
  // dev set; float 0.5591 / 0.7622). Every conv int8: minmax 0.5448 / 0.7554, percentile 99.99
  // 0.5440 / 0.7566, entropy 0.5385 / 0.7500. With the sensitivity pass: minmax 0.5538 / 0.7596 with 44
  // convs int8, entropy 0.5565 / 0.7604 with 30, percentile 0.5441 / 0.7609 with 38. Only minmax and
  // entropy meet float - 0.010 on both, and minmax keeps more convs int8.
  std::string method = "minmax";
  int calib_n = 128;
  double percentile = 99.99;
  double max_drop = 0.01;
  double target_ms = 0;          // > 0: the most accurate model whose measured latency meets it
  std::string fallback = "auto"; // precision of the convs kept out of int8: auto (bf16 where native) | bf16 | fp32
  bool no_sensitivity = false;
  int imgsz = 0;
  int threads = 0;
  std::string isa = "auto";
  std::string report;
  std::string output;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void check_output_writable(const std::string& out) {
  if (out.empty()) throw Error("-o: give the output model path");
  fs::path dir = fs::path(out).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("-o: directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw Error("-o: directory '" + dir.string() + "' is not writable");
  if (fs::is_directory(out, ec)) throw Error("-o: '" + out + "' is a directory");
}

// Writes `bytes` to path.tmp and renames it into place, so a failure never leaves a partial file.
void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("cannot write '" + tmp + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

// Evenly spread subset of the frames.
std::vector<const cv::Mat*> spread(const std::vector<cv::Mat>& frames, size_t n) {
  std::vector<const cv::Mat*> out;
  n = std::min(n, frames.size());
  for (size_t i = 0; i < n; ++i) out.push_back(&frames[(2 * i + 1) * frames.size() / (2 * n)]);
  return out;
}

// Pose agreement of candidate QDQ models with the float model on a fixed set of frames, anchor by
// anchor (models::anchor_agreement). Candidates run on the integer engine, as users will run them.
class PoseDamage {
 public:
  PoseDamage(const Graph& float_graph, const models::PoseModelOptions& opt, std::vector<const cv::Mat*> frames)
      : opt_(opt), frames_(std::move(frames)) {
    models::PoseModel ref(float_graph, opt_);
    reference_ = decode_all(ref);
  }
  // 1 - (reference-score-weighted mean agreement over every compared anchor of every frame).
  double operator()(const std::string& model_bytes) {
    Graph g = load_onnx_bytes(model_bytes.data(), model_bytes.size(), "quantized candidate");
    models::PoseModelOptions co = opt_;
    co.integer = true;
    models::PoseModel cand(g, co);
    auto anchors = decode_all(cand);
    double sum = 0, weight = 0;
    for (size_t i = 0; i < anchors.size(); ++i) {
      auto a = models::anchor_agreement(reference_[i], anchors[i], kReferenceConf);
      sum += a.weighted_sum;
      weight += a.weight;
    }
    ++evaluations_;
    return weight > 0 ? 1.0 - sum / weight : 0.0;
  }
  size_t frames() const { return frames_.size(); }
  int evaluations() const { return evaluations_; }

 private:
  std::vector<std::vector<models::PoseDetection>> decode_all(models::PoseModel& m) {
    std::vector<std::vector<models::PoseDetection>> out;
    for (const cv::Mat* f : frames_) {
      imaging::letterbox_into(pre_, *f, m);
      m.infer();
      out.emplace_back();
      m.decode_all_anchors(out.back());
    }
    return out;
  }
  models::PoseModelOptions opt_;
  std::vector<const cv::Mat*> frames_;
  imaging::Preprocessor pre_;
  std::vector<std::vector<models::PoseDetection>> reference_;
  int evaluations_ = 0;
};

// Time per Conv/QConv node (ms per run) of a model on this CPU, from a profiled session fed one
// calibration frame: what each conv costs in this precision, for the latency-aware choice.
std::map<std::string, double> conv_times(const Graph& g, models::PoseModelOptions opt, const cv::Mat& frame, int iters) {
  opt.profile = true;
  models::PoseModel m(g, opt);
  imaging::Preprocessor pre;
  imaging::letterbox_into(pre, frame, m);
  for (int i = 0; i < 3; ++i) m.infer();
  m.session().reset_profile();
  for (int i = 0; i < iters; ++i) m.infer();
  std::map<std::string, double> out;
  const int runs = std::max(1, m.session().profiled_runs());
  for (const OpProfile& p : m.session().profile()) {
    if (p.op_type == "Conv" || p.op_type == "QConv") out[p.node] += p.total_ms / runs;
  }
  return out;
}

// Median latency (ms) of a candidate model on the integer engine, fed one calibration frame: the
// measured figure --target-ms and the report speak of (same threads and ISA as the optimize run).
class ModelLatency {
 public:
  ModelLatency(const models::PoseModelOptions& opt, const cv::Mat& frame, int iters) : opt_(opt), frame_(frame), iters_(iters) {}
  double operator()(const std::string& model_bytes) {
    Graph g = load_onnx_bytes(model_bytes.data(), model_bytes.size(), "quantized candidate");
    models::PoseModelOptions co = opt_;
    co.integer = true;
    models::PoseModel m(g, co);
    imaging::Preprocessor pre;
    imaging::letterbox_into(pre, frame_, m);
    for (int i = 0; i < 3; ++i) m.infer();
    std::vector<double> ms;
    for (int i = 0; i < iters_; ++i) {
      const auto t0 = Clock::now();
      m.infer();
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
  }

 private:
  models::PoseModelOptions opt_;
  const cv::Mat& frame_;
  int iters_;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

void run_optimize(const OptimizeOptions& o) {
  const auto t_start = Clock::now();
  if (o.model.empty()) throw Error("--model: give the float ONNX pose model to quantize");
  if (o.quantize.empty()) throw Error("--quantize: say what to do (only int8 is supported)");
  if (o.quantize != "int8") throw Error("--quantize: only int8 is supported, got '" + o.quantize + "'");
  if (o.calib.empty()) throw Error("--calib: give a directory of images or a video to calibrate on");
  quant::CalibMethod method;
  try {
    method = quant::parse_calib_method(o.method);
  } catch (const Error& e) {
    throw Error(std::string("--calib-method: ") + e.what());
  }
  if (o.calib_n < 1) throw Error("--calib-n must be at least 1, got " + std::to_string(o.calib_n));
  if (!(o.percentile > 50 && o.percentile <= 100)) throw Error("--percentile must be in (50, 100], got " + std::to_string(o.percentile));
  if (!(o.max_drop >= 0 && o.max_drop <= 1)) throw Error("--max-drop must be in [0, 1], got " + std::to_string(o.max_drop));
  if (!(o.target_ms >= 0) || !std::isfinite(o.target_ms))
    throw Error("--target-ms must be a positive number of milliseconds, got " + std::to_string(o.target_ms));
  if (o.fallback != "auto" && o.fallback != "bf16" && o.fallback != "fp32")
    throw Error("--fallback must be auto, bf16 or fp32, got '" + o.fallback + "'");
  if (o.target_ms > 0 && o.no_sensitivity) throw Error("--target-ms needs the sensitivity pass (drop --no-sensitivity)");
  check_output_writable(o.output);
  if (!o.report.empty()) check_output_writable(o.report);

  // The model: a float pose model with a head we can find.
  Graph graph = models::load_pose_graph(o.model);
  int qdq_nodes = 0;
  for (const Node& n : graph.nodes) qdq_nodes += n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear";
  if (qdq_nodes > 0) {
    throw Error(o.model + ": the model is already quantized (" + std::to_string(qdq_nodes) +
                " QuantizeLinear/DequantizeLinear nodes); give the float model");
  }
  std::optional<models::PoseHead> head = models::find_pose_head(graph);
  if (!head) throw Error(o.model + ": not a pose model (no YOLO pose head found)");
  quant::QuantizableModel qm = quant::QuantizableModel::from_file(o.model, head->output_names());

  models::PoseModelOptions po;
  po.threads = o.threads > 0 ? o.threads : default_threads();
  po.isa = resolve_isa(o.isa);
  po.imgsz = o.imgsz;
  models::PoseModel probe(graph, po);  // validates --imgsz and gives the input size
  const int in_w = probe.input_width(), in_h = probe.input_height();

  auto t0 = Clock::now();
  CalibrationFrames calib = load_calibration_frames(o.calib, o.calib_n);
  const double t_frames = seconds_since(t0);
  if (calib.skipped > 0) std::fprintf(stderr, "sparsepose: warning: %d unreadable calibration images skipped\n", calib.skipped);

  // Calibration: min/max, then histograms, over every tensor the QDQ set may contain.
  t0 = Clock::now();
  SessionOptions so;
  so.threads = po.threads;
  so.isa = po.isa;
  so.input_hw = {in_h, in_w};
  quant::ActivationObserver observer(graph, qm.observed_tensors(), so);
  imaging::Preprocessor pre;
  const size_t input_floats = static_cast<size_t>(in_w) * in_h * 3;
  auto feed = [&](const cv::Mat& f) {
    pre.run(f, in_w, in_h, std::span<float>(observer.input(), input_floats), imaging::TensorLayout::NHWC);
  };
  for (const cv::Mat& f : calib.frames) {
    feed(f);
    observer.observe_minmax();
  }
  if (method != quant::CalibMethod::kMinMax) {
    for (const cv::Mat& f : calib.frames) {
      feed(f);
      observer.observe_histogram();
    }
  }
  const quant::RangeTable ranges = observer.ranges(method, o.percentile);
  const double t_calib = seconds_since(t0);

  // Precision per conv: which convs stay out of int8, in which precision. A conv kept out runs bf16 where
  // this CPU multiplies bf16 natively (--fallback auto), else fp32; the choice weighs each conv's damage
  // against the time keeping it out costs on this CPU (measured), re-measuring the whole model as it goes.
  const std::vector<std::string>& convs = qm.quantizable_convs();
  const bool fallback_bf16 =
      o.fallback == "bf16" || (o.fallback == "auto" && kernels::conv2d_bf16_path(po.isa) == kernels::Bf16Path::kNative);
  auto write_candidate = [&](const std::vector<std::string>& int8, const std::string& note) {
    std::map<std::string, std::string> meta{{"sparsepose.quantization", note}};
    const std::vector<std::string> out = quant::without(convs, int8);
    if (fallback_bf16 && !out.empty()) meta[passes::kBf16ConvsMetadataKey] = join(out, ",");
    return qm.write(qm.plan(int8), ranges, meta);
  };
  std::vector<quant::ConvDamage> per_conv;
  std::vector<quant::ConvCost> costs;
  quant::LatencyAwareResult choice;
  std::map<std::string, double> ms_int8, ms_fallback;
  double t_sens = 0;
  size_t sens_frames = 0;
  if (!o.no_sensitivity) {
    t0 = Clock::now();
    PoseDamage damage(graph, po, spread(calib.frames, kMaxSensitivityFrames));
    sens_frames = damage.frames();
    std::fprintf(stderr, "sensitivity: %zu convs on %zu frames at %dx%d; kept-out convs run %s\n", convs.size(), sens_frames,
                 in_w, in_h, fallback_bf16 ? "bf16" : "fp32");
    auto damage_of = [&](const std::vector<std::string>& int8) { return damage(write_candidate(int8, "")); };
    size_t done = 0;
    auto progress = [&](const std::string& msg) {
      // Per-conv lines only every 16 convs; every search step is shown.
      bool per_conv_line = msg.rfind("sensitivity ", 0) == 0;
      if (!per_conv_line || ++done % 16 == 0 || done == convs.size()) {
        std::fprintf(stderr, "  [%.0f s] %s\n", seconds_since(t0), msg.c_str());
      }
    };
    per_conv = quant::measure_conv_damages(convs, damage_of, progress);
    // What each conv costs on this CPU in int8 and kept out (the whole model profiled both ways).
    const cv::Mat& timing_frame = calib.frames[calib.frames.size() / 2];
    {
      const std::string all8 = write_candidate(convs, "");
      Graph g8 = load_onnx_bytes(all8.data(), all8.size(), "quantized candidate");
      models::PoseModelOptions io = po;
      io.integer = true;
      ms_int8 = conv_times(g8, io, timing_frame, kTimingIters);
      models::PoseModelOptions fo = po;
      fo.bf16_convs = fallback_bf16 ? passes::Bf16Convs::kAll : passes::Bf16Convs::kNone;
      ms_fallback = conv_times(graph, fo, timing_frame, kTimingIters);
    }
    for (const auto& d : per_conv) {
      const double extra = ms_fallback.count(d.conv) && ms_int8.count(d.conv) ? ms_fallback[d.conv] - ms_int8[d.conv] : 0.0;
      costs.push_back({d.conv, d.damage, extra});
    }
    ModelLatency latency(po, timing_frame, kTimingIters);
    std::map<std::vector<std::string>, double> latency_cache;  // the searches re-ask for the same models
    auto latency_of = [&](const std::vector<std::string>& int8) {
      auto it = latency_cache.find(int8);
      if (it == latency_cache.end()) it = latency_cache.emplace(int8, latency(write_candidate(int8, ""))).first;
      return it->second;
    };
    if (o.target_ms > 0) {
      choice = quant::choose_most_accurate_within(convs, costs, damage_of, latency_of, o.target_ms, progress);
      if (!choice.goal_met) {
        std::fprintf(stderr, "sparsepose: warning: no model meets --target-ms %.2f: the fastest found (every conv int8) runs "
                     "%.2f ms here; writing it\n", o.target_ms, choice.latency_ms);
      }
    } else {
      choice = quant::choose_fastest_within(convs, costs, damage_of, latency_of, o.max_drop / kApLossPerDamage,
                                            kFallbackConvsPerStep, progress);
    }
    t_sens = seconds_since(t0);
  }
  const std::vector<std::string>& kept_out = choice.kept_out;
  const std::vector<std::string> int8_convs = quant::without(convs, kept_out);

  // The model.
  t0 = Clock::now();
  const quant::QdqPlan plan = qm.plan(int8_convs);
  nlohmann::ordered_json note;
  note["method"] = quant::calib_method_name(method);
  if (method == quant::CalibMethod::kPercentile) note["percentile"] = o.percentile;
  note["frames"] = calib.frames.size();
  note["calib_source"] = calib.source_kind;
  note["imgsz"] = in_w;
  note["int8_convs"] = int8_convs.size();
  note["float_convs"] = kept_out;  // kept out of int8, in the precision below
  note["float_precision"] = fallback_bf16 ? "bf16" : "fp32";
  note["sensitivity"] = !o.no_sensitivity;
  if (!o.no_sensitivity) {
    note["damage"] = choice.damage;
    note["latency_ms"] = choice.latency_ms;  // on the CPU and threads optimize ran with
    if (o.target_ms > 0) note["target_ms"] = o.target_ms;
  }
  const std::string bytes = write_candidate(int8_convs, note.dump());
  // The written file must load in our engine before it replaces anything.
  load_onnx_bytes(bytes.data(), bytes.size(), o.output);
  write_atomically(o.output, bytes);
  const double t_write = seconds_since(t0);
  const double t_total = seconds_since(t_start);

  if (!o.report.empty()) {
    nlohmann::ordered_json r;
    r["model"] = o.model;
    r["output"] = o.output;
    r["method"] = quant::calib_method_name(method);
    r["percentile"] = o.percentile;
    r["calib"] = o.calib;
    r["calib_source"] = calib.source_kind;
    r["frames"] = calib.frames.size();
    r["frames_skipped"] = calib.skipped;
    r["imgsz"] = in_w;
    r["convs_total"] = convs.size() + qm.skipped_convs().size();
    r["convs_int8"] = int8_convs.size();
    r["float_convs"] = kept_out;  // kept out of int8, in the precision below
    r["float_precision"] = fallback_bf16 ? "bf16" : "fp32";
    nlohmann::ordered_json skipped = nlohmann::ordered_json::object();
    for (const auto& [c, why] : qm.skipped_convs()) skipped[c] = why;
    r["never_quantized"] = skipped;
    nlohmann::ordered_json s;
    s["enabled"] = !o.no_sensitivity;
    s["frames"] = sens_frames;
    s["goal"] = o.target_ms > 0 ? "most accurate model within --target-ms" : "fastest model within --max-drop";
    s["max_drop"] = o.max_drop;
    if (o.target_ms > 0) s["target_ms"] = o.target_ms;
    s["goal_met"] = o.no_sensitivity || choice.goal_met;
    s["ap_loss_per_damage"] = kApLossPerDamage;
    s["predicted_ap_loss_before"] = choice.all_int8_damage * kApLossPerDamage;
    s["predicted_ap_loss_after"] = choice.damage * kApLossPerDamage;
    s["latency_ms_all_int8"] = choice.all_int8_ms;
    s["latency_ms"] = choice.latency_ms;
    s["metric"] = "damage = 1 - weighted mean, over every anchor where the float model sees a person (score >= 0.25), "
                  "of OKS(float, int8) * (1 - |score difference|), weight = float score: a proxy for keypoint AP points, not AP";
    s["damage_before"] = choice.all_int8_damage;
    s["damage_after"] = choice.damage;
    // Per conv: its damage alone and what it costs here in int8 and kept out (ms per frame, profiled).
    nlohmann::ordered_json per = nlohmann::ordered_json::array();
    for (const auto& c : costs) {
      const bool out = std::find(kept_out.begin(), kept_out.end(), c.conv) != kept_out.end();
      per.push_back({{"conv", c.conv}, {"damage", c.damage}, {"ms_int8", ms_int8[c.conv]},
                     {fallback_bf16 ? "ms_bf16" : "ms_fp32", ms_fallback[c.conv]}, {"kept_out", out}});
    }
    s["per_conv"] = per;
    s["steps"] = choice.log;
    r["sensitivity"] = s;
    const quant::ResolvedParams params = qm.resolve(plan, ranges);
    nlohmann::ordered_json rj = nlohmann::ordered_json::object();
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      const std::string& t = plan.tensors[i];
      const auto& q = params.tensor.at(t);
      auto own = ranges.find(t);
      nlohmann::ordered_json e;
      e["group"] = plan.group[i];
      if (own != ranges.end()) e["range"] = {own->second.lo, own->second.hi};
      e["group_range"] = {params.group_range.at(t).lo, params.group_range.at(t).hi};
      e["scale"] = q.scale;
      e["zero_point"] = q.zero_point;
      rj[t] = e;
    }
    r["activations"] = rj;
    r["timings_s"] = {{"frames", t_frames}, {"calibration", t_calib}, {"sensitivity", t_sens}, {"write", t_write}, {"total", t_total}};
    write_atomically(o.report, r.dump(1) + "\n");
  }

  std::string floats;
  double kept_ms = 0;  // what the kept-out convs cost per frame here, in their precision
  for (const auto& c : kept_out) {
    kept_ms += ms_fallback[c];
    char line[256];
    std::snprintf(line, sizeof line, "\n  %s: %s (%.3f ms; int8 would take %.3f ms)", fallback_bf16 ? "bf16" : "float",
                  c.c_str(), ms_fallback[c], ms_int8[c]);
    floats += line;
  }
  if (!o.no_sensitivity) {
    char line[160];
    std::snprintf(line, sizeof line, "\n  model: %.2f ms here (every conv int8: %.2f ms); kept-out convs %.2f ms", choice.latency_ms,
                  choice.all_int8_ms, kept_ms);
    floats += line;
  }
  std::fprintf(stderr,
               "optimize: %zu %s%s, method %s, %zu of %zu convs int8, %zu kept out of int8 by sensitivity%s, "
               "%zu never quantized (decode tail), %zu QDQ tensors in %d groups, %.1f s (calibration %.1f s, sensitivity %.1f s) -> %s%s\n",
               calib.frames.size(), calib.source_kind == "video" ? "video frames" : "images",
               calib.source_kind == "video" ? (" of " + std::to_string(calib.video_frames)).c_str() : "",
               quant::calib_method_name(method), int8_convs.size(), convs.size() + qm.skipped_convs().size(),
               kept_out.size(),
               o.no_sensitivity ? " (off)" : (" (damage " + std::to_string(choice.all_int8_damage) + " -> " + std::to_string(choice.damage) + ")").c_str(),
               qm.skipped_convs().size(), plan.tensors.size(), plan.num_groups, t_total, t_calib, t_sens, o.output.c_str(),
               floats.c_str());
}

}  // namespace

void add_optimize_command(CLI::App& app) {
  auto o = std::make_shared<OptimizeOptions>();
  CLI::App* cmd = app.add_subcommand("optimize", "Quantize a float pose model to an int8 QDQ ONNX model");
  cmd->add_option("--model", o->model, "float ONNX pose model to quantize");
  cmd->add_option("--quantize", o->quantize, "int8 (the only mode)");
  cmd->add_option("--calib", o->calib, "calibration frames: a directory of images (first N by path, searched recursively) or a video (N frames spread evenly)");
  cmd->add_option("--calib-method", o->method, "minmax|percentile|entropy (default: minmax)");
  cmd->add_option("--calib-n", o->calib_n, "calibration frames to use (default: 128)");
  cmd->add_option("--percentile", o->percentile, "percentile method: clip (100 - P)% of the values at each tail (default: 99.99)");
  cmd->add_option("--max-drop", o->max_drop, "sensitivity: the fastest model on this CPU whose predicted keypoint-AP loss is at most D "
                  "(default: 0.01; predicted = 0.45 x the pose-agreement damage, fitted on yolo11n-pose)");
  cmd->add_option("--target-ms", o->target_ms, "sensitivity: instead, the most accurate model whose latency measured here is at most T ms "
                  "(same threads and ISA; if none is, the fastest model found, with a warning)");
  cmd->add_option("--fallback", o->fallback, "precision of the convs kept out of int8: auto (bf16 where this CPU multiplies bf16 "
                  "natively, else fp32), bf16 or fp32 (default: auto)");
  cmd->add_flag("--no-sensitivity", o->no_sensitivity, "quantize every conv; skip the per-layer sensitivity pass");
  cmd->add_option("--imgsz", o->imgsz, "square input size, multiple of 32 (default: the model's)");
  cmd->add_option("--threads", o->threads, "worker threads (default: number of cores)");
  cmd->add_option("--isa", o->isa, "scalar|avx2|avx512|avx512vnni|avxvnni|amx (default: the best the CPU has)");
  cmd->add_option("--report", o->report, "write a JSON report: ranges, per-conv damage, float convs, timings");
  cmd->add_option("-o,--output", o->output, "output QDQ ONNX model");
  cmd->callback([o] { run_optimize(*o); });
}

}  // namespace sp::app
