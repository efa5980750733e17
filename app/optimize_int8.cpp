#include "app/optimize_int8.h"

#include <cstdio>
#include <span>

#include "app/optimize_common.h"
#include "core/error.h"
#include "core/quantize/activation_observer.h"
#include "core/quantize/quantizable_model.h"
#include "core/quantize/sensitivity.h"
#include "models/pose_head.h"
#include "pipeline/preprocess.h"

namespace sp::app {
namespace {

// Sensitivity runs every conv alone on this many calibration frames at most (the anchor-aligned
// measure is smooth, so few frames suffice): ~100 convs x 16 frames at 640 on the integer engine.
constexpr int kMaxSensitivityFrames = 16;
constexpr int kFallbackConvsPerStep = 2;
// The predicted keypoint-AP loss of a damage (the anchor-aligned agreement proxy): AP points per unit
// of damage, measured on yolo11n-pose (dev set, 80 unlabelled calibration images, minmax): every conv
// int8 gave damage 0.0343 and a pose AP loss of 0.0160 (0.47 AP per unit); 56 convs float gave 0.0096
// and 0.0061 (0.64). The lower slope is the one that errs on the safe side for the large damages that
// decide how many convs go float. Check after the fact: the bundled model (10 convs float) has damage
// 0.0221, predicted loss 0.0099, measured 0.0047. One model's fit, said so in the report, not a law.
constexpr double kApLossPerDamage = 0.45;

}  // namespace

void check_int8_options(const Int8Options& o) {
  try {
    quant::parse_calib_method(o.method);
  } catch (const Error& e) {
    throw Error(std::string("--calib-method: ") + e.what());
  }
  if (!(o.percentile > 50 && o.percentile <= 100)) throw Error("--percentile must be in (50, 100], got " + std::to_string(o.percentile));
  if (!(o.max_drop >= 0 && o.max_drop <= 1)) throw Error("--max-drop must be in [0, 1], got " + std::to_string(o.max_drop));
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
  quant::ActivationObserver observer(graph, qm.observed_tensors(), so);
  pipeline::Preprocessor pre;
  const size_t input_floats = static_cast<size_t>(in_w) * in_h * 3;
  auto feed = [&](const cv::Mat& f) {
    pre.run(f, in_w, in_h, std::span<float>(observer.input(), input_floats), pipeline::TensorLayout::NHWC);
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

  // Sensitivity: which convs stay float. The reference is the float model being quantized (pruned or
  // not), so that the damage measured is what quantization adds.
  const std::vector<std::string>& convs = qm.quantizable_convs();
  quant::SensitivityResult sens;
  double t_sens = 0;
  size_t sens_frames = 0;
  if (!o.no_sensitivity) {
    t0 = OptimizeClock::now();
    PoseDamage damage(graph, po, spread(calib.frames, kMaxSensitivityFrames));
    sens_frames = damage.frames();
    std::fprintf(stderr, "sensitivity: %zu convs on %zu frames at %dx%d\n", convs.size(), sens_frames, in_w, in_h);
    auto damage_of = [&](const std::vector<std::string>& int8) { return damage(qm.write(qm.plan(int8), ranges, ""), true); };
    size_t done = 0;
    auto progress = [&](const std::string& msg) {
      // Per-conv lines only every 16 convs; every fallback step is shown.
      bool per_conv = msg.rfind("sensitivity ", 0) == 0;
      if (!per_conv || ++done % 16 == 0 || done == convs.size()) {
        std::fprintf(stderr, "  [%.0f s] %s\n", seconds_since(t0), msg.c_str());
      }
    };
    sens = quant::choose_float_convs(convs, damage_of, o.max_drop / kApLossPerDamage, kFallbackConvsPerStep, progress);
    t_sens = seconds_since(t0);
  }
  const std::vector<std::string> int8_convs = quant::without(convs, sens.float_convs);

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
  note["float_convs"] = sens.float_convs;
  note["sensitivity"] = !o.no_sensitivity;
  if (!o.no_sensitivity) note["damage"] = sens.damage_after;
  Int8Result res;
  res.bytes = qm.write(plan, ranges, note.dump());
  const double t_write = seconds_since(t0);

  nlohmann::ordered_json& r = res.report;
  r["method"] = quant::calib_method_name(method);
  r["percentile"] = o.percentile;
  r["convs_total"] = convs.size() + qm.skipped_convs().size();
  r["convs_int8"] = int8_convs.size();
  r["float_convs"] = sens.float_convs;
  nlohmann::ordered_json skipped = nlohmann::ordered_json::object();
  for (const auto& [c, why] : qm.skipped_convs()) skipped[c] = why;
  r["never_quantized"] = skipped;
  nlohmann::ordered_json s;
  s["enabled"] = !o.no_sensitivity;
  s["frames"] = sens_frames;
  s["max_drop"] = o.max_drop;
  s["ap_loss_per_damage"] = kApLossPerDamage;
  s["predicted_ap_loss_before"] = sens.damage_before * kApLossPerDamage;
  s["predicted_ap_loss_after"] = sens.damage_after * kApLossPerDamage;
  s["metric"] = "damage = 1 - weighted mean, over every anchor where the float model sees a person (score >= 0.25), "
                "of OKS(float, int8) * (1 - |score difference|), weight = float score: a proxy for keypoint AP points, not AP";
  s["damage_before"] = sens.damage_before;
  s["damage_after"] = sens.damage_after;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (const auto& d : sens.per_conv) per.push_back({{"conv", d.conv}, {"damage", d.damage}});
  s["per_conv"] = per;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& st : sens.steps) steps.push_back({{"moved_to_float", st.moved_to_float}, {"damage", st.damage}});
  s["steps"] = steps;
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
  for (const auto& c : sens.float_convs) floats += "\n  float: " + c;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "method %s, %zu of %zu convs int8, %zu kept float by sensitivity%s, "
                "%zu never quantized (decode tail), %zu QDQ tensors in %d groups, %.1f s (calibration %.1f s, sensitivity %.1f s)",
                quant::calib_method_name(method),
                int8_convs.size(), convs.size() + qm.skipped_convs().size(), sens.float_convs.size(),
                o.no_sensitivity ? " (off)" : (" (damage " + std::to_string(sens.damage_before) + " -> " + std::to_string(sens.damage_after) + ")").c_str(),
                qm.skipped_convs().size(), plan.tensors.size(), plan.num_groups, seconds_since(t_start), t_calib, t_sens);
  res.summary = buf;
  res.details = floats;
  return res;
}

}  // namespace sp::app
