#include "api/model_open.h"

#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>

#include "api/bundled_assets.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "models/model_choice.h"
#include "sparsepose/error.h"

namespace sp::api {
namespace {

// The cores this process may run on (its affinity mask, as the command line counts them).
int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

sp::Isa resolve_isa(const std::string& name) {
  try {
    return sp::resolve_isa(name);
  } catch (const sp::Error& e) {
    throw sparsepose::Error(std::string("isa: ") + e.what(), "isa");
  }
}

}  // namespace

OpenedModel open_model(const sparsepose::Options& o) {
  using sparsepose::Engine;
  OpenedModel m;
  const sp::Isa isa = resolve_isa(o.isa);
  std::string path = o.model;
  if (path.empty()) {
    // The CLI's choice (models/model_choice.h), so an installed program picks what `sparsepose` picks.
    const sp::models::EngineChoice engine = o.engine == Engine::Int8   ? sp::models::EngineChoice::kInt8
                                            : o.engine == Engine::Fp32 ? sp::models::EngineChoice::kFp32
                                                                       : sp::models::EngineChoice::kAuto;
    path = bundled_assets_dir() + "/" + sp::models::bundled_model(engine, isa);
  }
  try {
    sp::Graph g = sp::models::load_pose_graph(path);
    const bool quantized = sp::models::has_quantized_activations(g);
    if (o.engine == Engine::Int8 && !quantized) {
      throw sparsepose::Error("engine int8: " + path + " is a float model; make an int8 model with `sparsepose optimize --model " +
                      path + " --quantize int8 --calib DIR -o OUT.onnx` and open that",
                  "engine");
    }
    const bool integer = quantized && o.engine != Engine::Fp32;
    sp::models::PoseModelOptions po;
    po.threads = o.threads > 0 ? o.threads : available_cores();
    po.isa = isa;
    po.imgsz = o.input_size;
    po.integer = integer;
    m.model = std::make_unique<sp::models::PoseModel>(g, po);
    m.info.engine = integer ? "int8" : "fp32";
  } catch (const sp::Error& e) {
    throw sparsepose::Error(std::string("model: ") + e.what(), "model");
  }
  m.info.model_path = path;
  m.info.isa = std::string(sp::isa_name(isa));
  m.info.kernel_isas = m.model->session().kernel_isa_summary();
  m.info.threads = m.model->session().threads();
  m.info.input_width = m.model->input_width();
  m.info.input_height = m.model->input_height();
  return m;
}

}  // namespace sp::api
