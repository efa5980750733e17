#include "app/optimize_int8.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <span>

#include "app/optimize_common.h"
#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/onnx_import.h"
#include "core/passes/passes.h"
#include "core/quantize/activation_observer.h"
#include "core/quantize/quantizable_model.h"
#include "core/quantize/sensitivity.h"
#include "models/pose_head.h"
#include "imaging/preprocess.h"

namespace sp::app {
namespace {

// Sensitivity runs every conv alone on this many calibration frames at most (the anchor-aligned
// measure is smooth, so few frames suffice): ~100 convs x 16 frames at 640 on the integer engine.
constexpr int kMaxSensitivityFrames = 16;
constexpr int kFallbackConvsPerStep = 2;
constexpr int kTimingIters = 15;  // runs per timed model (median): per-conv profiles and candidate latencies
// The predicted keypoint-AP loss of a damage (the anchor-aligned agreement proxy): AP points per unit
// of damage, measured on yolo11n-pose (dev set, 80 unlabelled calibration images, minmax): every conv
// int8 gave damage 0.0343 and a pose AP loss of 0.0160 (0.47 AP per unit); 56 convs float gave 0.0096
// and 0.0061 (0.64). The lower slope is the one that errs on the safe side for the large damages that
// decide how many convs go float. Check after the fact: the bundled model (10 convs float) has damage
// 0.0221, predicted loss 0.0099, measured 0.0047. One model's fit, said so in the report, not a law.
constexpr double kApLossPerDamage = 0.45;

// One-line JSON-free list.
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

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
      const auto t0 = OptimizeClock::now();
      m.infer();
      ms.push_back(std::chrono::duration<double, std::milli>(OptimizeClock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
  }

 private:
  models::PoseModelOptions opt_;
  const cv::Mat& frame_;
  int iters_;
};

}  // namespace

void check_int8_options(const Int8Options& o) {
  try {
    quant::parse_calib_method(o.method);
  } catch (const Error& e) {
    throw Error(std::string("--calib-method: ") + e.what());
  }
  if (!(o.percentile > 50 && o.percentile <= 100)) throw Error("--percentile must be in (50, 100], got " + std::to_string(o.percentile));
  if (!(o.max_drop >= 0 && o.max_drop <= 1)) throw Error("--max-drop must be in [0, 1], got " + std::to_string(o.max_drop));
  if (!(o.target_ms >= 0) || !std::isfinite(o.target_ms))
    throw Error("--target-ms must be a positive number of milliseconds, got " + std::to_string(o.target_ms));
  if (o.fallback != "auto" && o.fallback != "bf16" && o.fallback != "fp32")
    throw Error("--fallback must be auto, bf16 or fp32, got '" + o.fallback + "'");
  if (o.target_ms > 0 && o.no_sensitivity) throw Error("--target-ms needs the sensitivity pass (drop --no-sensitivity)");
}

Int8Result quantize_int8(const std::string& model_bytes, const std::string& origin, const Graph& graph,
                         const CalibrationFrames& calib, const Int8Options& o, const models::PoseModelOptions& po,
                         int in_w, int in_h) {
  const auto t_start = OptimizeClock::now();
  const quant::CalibMethod method = quant::parse_calib_method(o.method);
  std::optional<models::PoseHead> head = models::find_pose_head(graph);
  if (!head) throw Error(origin + ": not a pose model (no YOLO pose head found)");
  quant::QuantizableModel qm = quant::QuantizableModel::from_bytes(model_bytes, origin, head->output_names());

  // Calibration: min/max, then histograms, over every tensor the QDQ set may contain.
  auto t0 = OptimizeClock::now();
  SessionOptions so;
  so.threads = po.threads;
  so.isa = po.isa;
  so.input_hw = {in_h, in_w};
  so.kernels = KernelMode::kDense;  // statistics only: no start-up timing of sparse kernels
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
  // this CPU multiplies bf16 natively, AVX-512 BF16 or AMX-BF16 (--fallback auto), else fp32; the choice
  // weighs each conv's damage against the time keeping it out costs on this CPU (measured), re-measuring
  // the whole model as it goes.
  // The reference is the float model being quantized (pruned or not), so that the damage measured is
  // what quantization adds.
  const std::vector<std::string>& convs = qm.quantizable_convs();
  const bool fallback_bf16 =
      o.fallback == "bf16" || (o.fallback == "auto" && kernels::conv2d_bf16_native(po.isa));
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
    t0 = OptimizeClock::now();
    PoseDamage damage(graph, po, spread(calib.frames, kMaxSensitivityFrames));
    sens_frames = damage.frames();
    std::fprintf(stderr, "sensitivity: %zu convs on %zu frames at %dx%d; kept-out convs run %s\n", convs.size(), sens_frames,
                 in_w, in_h, fallback_bf16 ? "bf16" : "fp32");
    auto damage_of = [&](const std::vector<std::string>& int8) { return damage(write_candidate(int8, ""), true); };
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
  t0 = OptimizeClock::now();
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
  Int8Result res;
  res.bytes = write_candidate(int8_convs, note.dump());
  const double t_write = seconds_since(t0);

  nlohmann::ordered_json& r = res.report;
  r["method"] = quant::calib_method_name(method);
  r["percentile"] = o.percentile;
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
  r["timings_s"] = {{"calibration", t_calib}, {"sensitivity", t_sens}, {"write", t_write}, {"total", seconds_since(t_start)}};

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
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "method %s, %zu of %zu convs int8, %zu kept out of int8 by sensitivity%s, "
                "%zu never quantized (decode tail), %zu QDQ tensors in %d groups, %.1f s (calibration %.1f s, sensitivity %.1f s)",
                quant::calib_method_name(method), int8_convs.size(), convs.size() + qm.skipped_convs().size(), kept_out.size(),
                o.no_sensitivity ? " (off)" : (" (damage " + std::to_string(choice.all_int8_damage) + " -> " + std::to_string(choice.damage) + ")").c_str(),
                qm.skipped_convs().size(), plan.tensors.size(), plan.num_groups, seconds_since(t_start), t_calib, t_sens);
  res.summary = buf;
  res.details = floats;
  return res;
}

}  // namespace sp::app
