#include "app/common.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "app/commands.h"
#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "models/model_choice.h"

namespace sp::app {
namespace fs = std::filesystem;

void add_engine_options(CLI::App& cmd, EngineOptions& o, bool with_imgsz) {
  cmd.add_option("--model", o.model, "ONNX pose model (default: the bundled yolo11n-pose, its int8 version where "
                 "this CPU runs int8 faster than float)");
  cmd.add_option("--engine", o.engine, "auto: integer kernels for QDQ models, and the bundled int8 model by default where "
                 "this CPU has int8 dot products (VNNI/AMX); fp32: float kernels (QDQ emulated exactly); int8: integer kernels")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}));
  cmd.add_option("--threads", o.threads, "worker threads (default: number of cores)")->check(CLI::Range(1, 256));
  cmd.add_option("--isa", o.isa, "scalar|avx2|avx512|avx512vnni|avxvnni|amx (default: the best the CPU has)");
  if (with_imgsz) cmd.add_option("--imgsz", o.imgsz, "square input size, multiple of 32 (default: the model's)");
  cmd.add_option("--decode", o.decode, "head: cut the graph at the head branches and decode them in float (default); "
                 "exported: run the whole graph and decode its [1,56,N] output")
      ->check(CLI::IsMember({"head", "exported"}));
  cmd.add_option("--kernels", o.kernels, "auto: time dense against sparse kernels on each conv with >= 20% zero weights "
                 "and keep the faster (the plan is cached per model and CPU); dense; sparse: the sparse kernel on every "
                 "such conv")
      ->check(CLI::IsMember({"auto", "dense", "sparse"}));
}

std::string kernel_choice_text(const OpProfile& p) {
  if (p.weight_zeros < 0) return "-";
  std::string s = p.sparse ? "sparse" : "dense";
  if (p.choice == "timed" || p.choice == "cached") {
    char buf[96];
    std::snprintf(buf, sizeof buf, ", %s %.3f vs %.3f ms", p.choice.c_str(), p.dense_ms, p.sparse_ms);
    s += buf;
  } else if (!p.choice.empty()) {
    s += ", " + p.choice;
  }
  return s;
}

std::string weight_zeros_text(const OpProfile& p) {
  if (p.weight_zeros < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * p.weight_zeros);
  return buf;
}

std::string kernel_plan_text(const KernelPlanReport& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "--kernels %s: %d conv(s), %d with >= %.0f%% zero weights, %d sparse", kernel_mode_name(r.mode),
                r.convs, r.candidates, 100 * kSparseMinZeros, r.sparse);
  std::string s = buf;
  if (r.from_cache) {
    s += " (plan cached in " + r.cache_file + ")";
  } else if (r.timed > 0) {
    if (r.busy)
      std::snprintf(buf, sizeof buf, " (%d timed in %.2f s, not cached: other programs were using the CPU, %.0f preemptions/s per thread)",
                    r.timed, r.timing_s, r.preemptions_per_s);
    else
      std::snprintf(buf, sizeof buf, " (%d timed in %.2f s, %.0f preemptions/s per thread%s%s)", r.timed, r.timing_s, r.preemptions_per_s,
                    r.cache_file.empty() ? ", not cached" : ", plan saved to ", r.cache_file.c_str());
    s += buf;
  }
  return s;
}

std::string assets_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      if (fs::exists(dir / "assets" / "models")) return (dir / "assets").string();
      if (fs::exists(dir / "share" / "sparsepose" / "assets")) return (dir / "share" / "sparsepose" / "assets").string();
    }
  }
#ifdef SP_SOURCE_DIR
  return std::string(SP_SOURCE_DIR) + "/assets";
#else
  return "assets";
#endif
}

int default_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// A QDQ model: its activations pass through QuantizeLinear (weight-only DequantizeLinear does not count).
bool has_quantized_activations(const Graph& g) {
  return models::has_quantized_activations(g);
}

// One notice when convs run in bf16, naming how (the kernel names in --profile say it per layer).
void report_bf16_convs(const Session& s, Isa isa) {
  int n = 0;
  for (const OpProfile& p : s.profile()) n += p.kernel.find("bf16") != std::string::npos;
  if (n == 0) return;
  const char* how = "";
  switch (kernels::conv2d_bf16_path(isa)) {
    case kernels::Bf16Path::kAmx: how = "AMX-BF16 tdpbf16ps"; break;
    case kernels::Bf16Path::kNative: how = "AVX-512 BF16"; break;
    case kernels::Bf16Path::kEmulated: how = "emulated exactly on float FMA kernels"; break;
    case kernels::Bf16Path::kReference: how = "scalar reference"; break;
  }
  std::fprintf(stderr, "sparsepose: %d conv(s) run in bf16 (%s)\n", n, how);
}

}  // namespace

std::string resolve_model_path(const EngineOptions& o) {
  if (!o.model.empty()) return o.model;
  // Without --model: the bundled int8 model for --engine int8, and for --engine auto where the integer
  // kernels beat float on this CPU (the product's default engine); else the bundled float model.
  const models::EngineChoice engine = o.engine == "int8"   ? models::EngineChoice::kInt8
                                      : o.engine == "fp32" ? models::EngineChoice::kFp32
                                                           : models::EngineChoice::kAuto;
  return assets_dir() + "/" + models::bundled_model(engine, resolve_isa(o.isa));
}

LoadedModel load_model(const EngineOptions& o, bool profile) {
  LoadedModel m;
  m.isa = resolve_isa(o.isa);
  m.path = resolve_model_path(o);
  // --engine int8 with the bundled float model means the bundled int8 model made from it by
  // `sparsepose optimize` (calibrated on unlabelled COCO images; see assets/README.md).

  Graph g = models::load_pose_graph(m.path);
  bool quantized = has_quantized_activations(g);
  if (o.engine == "int8" && !quantized) {
    throw Error("--engine int8: " + m.path + " is a float model; make an int8 model with `sparsepose optimize --model " + m.path +
                " --quantize int8 --calib DIR -o OUT.onnx` and run it with --model OUT.onnx");
  }
  m.engine = quantized && o.engine != "fp32" ? "int8" : "fp32";
  models::PoseModelOptions po;
  po.threads = o.threads > 0 ? o.threads : default_threads();
  po.isa = m.isa;
  po.imgsz = o.imgsz;
  po.profile = profile;
  po.use_exported_output = o.decode == "exported";
  po.integer = m.engine == "int8";
  po.kernels = parse_kernel_mode(o.kernels);
  // The busy limit above which a timed kernel plan is not cached (0: cache always): for scripts and CI on
  // loaded machines, kept off the command line, whose contract is fixed.
  if (const char* limit = std::getenv("SP_PLAN_BUSY_LIMIT"); limit && *limit) {
    char* end = nullptr;
    po.kernel_cache_busy_limit = std::strtod(limit, &end);
    if (*end || !std::isfinite(po.kernel_cache_busy_limit))
      throw Error(std::string("SP_PLAN_BUSY_LIMIT: not a number: '") + limit + "'");
  }
  // Float convs in bf16: those the model's metadata names (default), none, or all — an experiment switch
  // kept off the command line, whose contract is fixed.
  if (const char* bf16 = std::getenv("SPARSEPOSE_BF16_CONVS"); bf16 && *bf16) {
    po.bf16_convs = passes::parse_bf16_convs(bf16);
  }
  m.model = std::make_unique<models::PoseModel>(g, po);
  if (std::getenv("SPARSEPOSE_BF16_CONVS")) report_bf16_convs(m.model->session(), m.isa);
  // Timing dense against sparse kernels delays the first start of a pruned model: say so when the delay
  // is noticeable (a plan timed on a busy CPU is not cached, so then it is said on every start).
  if (const KernelPlanReport& kp = m.model->session().kernel_plan(); kp.timed > 0 && kp.timing_s >= 0.1)
    std::fprintf(stderr, "sparsepose: %s\n", kernel_plan_text(kp).c_str());
  const auto& report = m.model->session().integer_report();
  if (!report.float_fallbacks.empty()) {
    std::string first = report.float_fallbacks.front();
    std::fprintf(stderr, "sparsepose: warning: %zu quantized node(s) have no integer kernel and run in float (exactly emulated), e.g. %s\n",
                 report.float_fallbacks.size(), first.c_str());
  }
  return m;
}

}  // namespace sp::app

namespace sp::app {
namespace {
int g_exit_code = 0;
}
void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }
}  // namespace sp::app
