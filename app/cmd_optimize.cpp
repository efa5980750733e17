// sparsepose optimize: --prune S (one-shot pruning, app/optimize_prune.cpp) and/or --quantize int8
// (static int8 QDQ, app/optimize_int8.cpp) of a float pose model, calibrated on unlabelled frames.
// Pruning runs first, then quantization of the pruned model (its zeros quantize to exactly 0). The
// result is checked to load in our engine, then written through OUT.tmp and renamed: a failure at any
// step leaves no file behind.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "app/calibration_frames.h"
#include "app/commands.h"
#include "app/common.h"
#include "app/optimize_common.h"
#include "app/optimize_int8.h"
#include "app/optimize_prune.h"
#include "core/error.h"
#include "core/onnx_import.h"
#include "models/pose_head.h"

namespace sp::app {
namespace {

struct OptimizeOptions {
  std::string model;
  std::string quantize;
  std::string calib;
  int calib_n = 128;
  Int8Options int8;
  double prune = 0;  // 0: no pruning
  PruneOptions pruning;
  int imgsz = 0;
  int threads = 0;
  std::string isa = "auto";
  std::string report;
  std::string output;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open model file '" + path + "'");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void run_optimize(OptimizeOptions o, bool prune_given) {
  const auto t_start = OptimizeClock::now();
  if (o.model.empty()) throw Error("--model: give the float ONNX pose model to optimize");
  if (o.quantize.empty() && !prune_given) throw Error("say what to do: --quantize int8 and/or --prune SPARSITY");
  if (!o.quantize.empty() && o.quantize != "int8") throw Error("--quantize: only int8 is supported, got '" + o.quantize + "'");
  o.pruning.sparsity = o.prune;
  if (prune_given) check_prune_options(o.pruning);
  if (!o.quantize.empty()) check_int8_options(o.int8);
  if (o.calib.empty()) throw Error("--calib: give a directory of images or a video to calibrate on");
  if (o.calib_n < 1) throw Error("--calib-n must be at least 1, got " + std::to_string(o.calib_n));
  check_output_writable(o.output);
  if (!o.report.empty()) check_output_writable(o.report);

  // The model: a float pose model with a head we can find.
  std::string bytes = read_file(o.model);
  Graph graph = models::load_pose_graph(o.model);
  int qdq_nodes = 0;
  for (const Node& n : graph.nodes) qdq_nodes += n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear";
  if (qdq_nodes > 0) {
    throw Error(o.model + ": the model is already quantized (" + std::to_string(qdq_nodes) +
                " QuantizeLinear/DequantizeLinear nodes); give the float model");
  }
  if (prune_given) check_prunable(bytes, o.model);
  if (!models::find_pose_head(graph)) throw Error(o.model + ": not a pose model (no YOLO pose head found)");

  models::PoseModelOptions po;
  po.threads = o.threads > 0 ? o.threads : default_threads();
  po.isa = resolve_isa(o.isa);
  po.imgsz = o.imgsz;
  models::PoseModel probe(graph, po);  // validates --imgsz and gives the input size
  const int in_w = probe.input_width(), in_h = probe.input_height();

  auto t0 = OptimizeClock::now();
  CalibrationFrames calib = load_calibration_frames(o.calib, o.calib_n);
  const double t_frames = seconds_since(t0);
  if (calib.skipped > 0) std::fprintf(stderr, "sparsepose: warning: %d unreadable calibration images skipped\n", calib.skipped);

  nlohmann::ordered_json r;
  r["model"] = o.model;
  r["output"] = o.output;
  r["calib"] = o.calib;
  r["calib_source"] = calib.source_kind;
  r["frames"] = calib.frames.size();
  r["frames_skipped"] = calib.skipped;
  r["imgsz"] = in_w;
  const std::string frames_text = std::to_string(calib.frames.size()) + " " +
                                  (calib.source_kind == "video" ? "video frames of " + std::to_string(calib.video_frames) : "images");
  std::vector<std::string> lines;
  if (prune_given) {
    PruneResult pr = prune_pose_model(bytes, o.model, graph, calib, o.pruning, po, in_w, in_h);
    bytes = std::move(pr.bytes);
    graph = load_onnx_bytes(bytes.data(), bytes.size(), "pruned model");
    r["pruning"] = std::move(pr.report);
    lines.push_back("optimize: " + frames_text + ", " + pr.summary);
  }
  if (!o.quantize.empty()) {
    Int8Result qr = quantize_int8(bytes, prune_given ? "pruned model" : o.model, graph, calib, o.int8, po, in_w, in_h);
    bytes = std::move(qr.bytes);
    for (auto& [k, v] : qr.report.items()) r[k] = v;
    lines.push_back("optimize: " + frames_text + ", " + qr.summary + qr.details);
  }
  // The written file must load in our engine before it replaces anything.
  load_onnx_bytes(bytes.data(), bytes.size(), o.output);
  write_atomically(o.output, bytes);
  r["timings_s_total"] = {{"frames", t_frames}, {"total", seconds_since(t_start)}};
  if (!o.report.empty()) write_atomically(o.report, r.dump(1) + "\n");
  for (const auto& l : lines) std::fprintf(stderr, "%s\n", l.c_str());
  std::fprintf(stderr, "optimize: %.1f s -> %s\n", seconds_since(t_start), o.output.c_str());
}

}  // namespace

void add_optimize_command(CLI::App& app) {
  auto o = std::make_shared<OptimizeOptions>();
  CLI::App* cmd = app.add_subcommand("optimize", "Prune and/or quantize a float pose model (ONNX out, runs in ONNX Runtime too)");
  cmd->add_option("--model", o->model, "float ONNX pose model");
  cmd->add_option("--quantize", o->quantize, "int8: static int8 QDQ model (after pruning, when --prune is given too)");
  CLI::Option* prune = cmd->add_option("--prune", o->prune, "prune to this sparsity of the prunable weights, in (0, 0.99]");
  cmd->add_option("--prune-method", o->pruning.method, "obs (default: OBS/SparseGPT, compensates the kept weights) | admm (ADMM, the mask chosen gradually, then the exact refit) | magnitude");
  // Block shapes: what the sparse int8 kernels (core/kernels/spconv_s8/README.md) skip. Their unit is 4 input
  // channels of one tap (one VNNI dword), and 4 output channels can share one list of units: measured
  // on this model's 78 non-first convs (avx512vnni, int8), 50 % gives 1.46x over dense with 4x4 blocks,
  // 1.01x with 1x4 and 0.99x unstructured (70 %: 1.82x / 1.17x / 1.00x).
  cmd->add_option("--pattern", o->pruning.pattern,
                  "unstructured (default) | block-k4 (4 input channels of one tap: one VNNI dword, the sparse int8 "
                  "kernels' skip unit) | block-o4k4 (that dword in 4 consecutive output channels: the shape they skip "
                  "fastest) | any block-kN, block-oN, block-oRkC (N, R, C in 1..64). A block must divide every "
                  "pruned conv's channels, else an error names the conv (the first conv's 3 inputs and the "
                  "head's 51 keypoint outputs are why they stay dense by default)");
  cmd->add_option("--sparsity-profile", o->pruning.profile, "uniform (default) | sensitivity (per-layer, by pose damage per ms saved) | accuracy (per-layer, by pose damage per weight removed)");
  cmd->add_flag("--prune-first", o->pruning.prune_first, "prune the first conv too (kept dense by default)");
  cmd->add_flag("--prune-head", o->pruning.prune_head, "prune the pose head's branch convs too (kept dense by default)");
  cmd->add_flag("--bias-correction", o->pruning.bias_correction,
                "after pruning, re-fit each conv's bias so its mean output on the calibration frames is the float model's");
  cmd->add_flag("--float-target", o->pruning.float_target, "OBS/ADMM aim at the float model's outputs");
  cmd->add_flag("--silu-refit", o->pruning.silu_refit, "with --float-target: refit each pruned conv through its SiLU");
  cmd->add_flag("--mirror", o->pruning.mirror, "calibrate on mirrored frames too");
  cmd->add_option("--prune-seed", o->pruning.sampling_seed,
                  "OBS/ADMM: which calibration pixels the Hessians sample (0: the standard draw; other values give "
                  "other draws, to see how much a result owes to it)")
      ->check(CLI::Validator(
          [](std::string& v) { return v.rfind('-', 0) == 0 ? "must be a non-negative integer, got " + v : std::string(); },
          "SEED"));
  cmd->add_option("--calib", o->calib, "calibration frames: a directory of images (first N by path, searched recursively) or a video (N frames spread evenly)");
  cmd->add_option("--calib-method", o->int8.method, "int8: minmax|percentile|entropy (default: minmax)");
  cmd->add_option("--calib-n", o->calib_n, "calibration frames to use (default: 128)");
  cmd->add_option("--percentile", o->int8.percentile, "percentile method: clip (100 - P)% of the values at each tail (default: 99.99)");
  cmd->add_option("--max-drop", o->int8.max_drop, "int8 sensitivity: the fastest model on this CPU whose predicted keypoint-AP loss is at most D "
                  "(default: 0.01; predicted = 0.45 x the pose-agreement damage, fitted on yolo11n-pose)");
  cmd->add_option("--target-ms", o->int8.target_ms, "int8 sensitivity: instead, the most accurate model whose latency measured here is at most T ms "
                  "(same threads and ISA; if none is, the fastest model found, with a warning)");
  cmd->add_option("--fallback", o->int8.fallback, "int8: precision of the convs kept out of int8: auto (bf16 where this CPU multiplies bf16 "
                  "natively, else fp32), bf16 or fp32 (default: auto)");
  cmd->add_flag("--no-sensitivity", o->int8.no_sensitivity, "int8: quantize every conv; skip the per-layer sensitivity pass");
  cmd->add_option("--imgsz", o->imgsz, "square input size, multiple of 32 (default: the model's)");
  cmd->add_option("--threads", o->threads, "worker threads (default: number of cores)");
  cmd->add_option("--isa", o->isa, "scalar|avx2|avx512|avx512vnni|avxvnni|amx (default: the best the CPU has)");
  cmd->add_option("--report", o->report, "write a JSON report: per-layer sparsity, damage and time; int8 ranges, per-conv damage, float convs; timings");
  cmd->add_option("-o,--output", o->output, "output ONNX model");
  cmd->callback([o, prune] { run_optimize(*o, prune->count() > 0); });
}

}  // namespace sp::app
