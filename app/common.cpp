#include "app/common.h"

#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "app/commands.h"
#include "core/error.h"

namespace sp::app {
namespace fs = std::filesystem;

void add_engine_options(CLI::App& cmd, EngineOptions& o, bool with_imgsz) {
  cmd.add_option("--model", o.model, "ONNX pose model (default: the bundled yolo11n-pose)");
  cmd.add_option("--engine", o.engine, "auto|fp32|int8")->check(CLI::IsMember({"auto", "fp32", "int8"}));
  cmd.add_option("--threads", o.threads, "worker threads (default: number of cores)")->check(CLI::Range(1, 256));
  cmd.add_option("--isa", o.isa, "scalar|avx2|avx512|avx512vnni|avxvnni|amx (default: the best the CPU has)");
  if (with_imgsz) cmd.add_option("--imgsz", o.imgsz, "square input size, multiple of 32 (default: the model's)");
  cmd.add_option("--decode", o.decode, "head: cut the graph at the head branches and decode them in float (default); "
                 "exported: run the whole graph and decode its [1,56,N] output")
      ->check(CLI::IsMember({"head", "exported"}));
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

std::string default_model_path() { return assets_dir() + "/models/yolo11n-pose.onnx"; }

std::string resolve_model_path(const std::string& model) { return model.empty() ? default_model_path() : model; }

int default_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

LoadedModel load_model(const EngineOptions& o, bool profile) {
  LoadedModel m;
  m.path = resolve_model_path(o.model);
  m.isa = resolve_isa(o.isa);
  if (o.engine == "int8") {
    throw Error("--engine int8: the integer engine is not available yet; run with --engine fp32 (QDQ models run with float kernels)");
  }
  m.engine = "fp32";
  Graph g = models::load_pose_graph(m.path);
  models::PoseModelOptions po;
  po.threads = o.threads > 0 ? o.threads : default_threads();
  po.isa = m.isa;
  po.imgsz = o.imgsz;
  po.profile = profile;
  po.use_exported_output = o.decode == "exported";
  m.model = std::make_unique<models::PoseModel>(g, po);
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
