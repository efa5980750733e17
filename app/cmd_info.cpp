// sparsepose info: what the model is (ops, parameters, MACs, head) and what the CPU can do.
#include <cstdio>
#include <map>

#include "app/commands.h"
#include "app/common.h"
#include "core/build_identity.h"
#include "core/onnx_import.h"

namespace sp::app {
namespace {

void run_info(const EngineOptions& o) {
  const CpuFeatures& cpu = detect_cpu();
  std::printf("CPU:        %s (%s)\n", cpu.brand.c_str(), cpu.vendor.c_str());
  std::printf("features:   %s\n", cpu_feature_string(cpu).c_str());
  std::string isas;
  for (Isa i : supported_isas()) isas += std::string(isa_name(i)) + " ";
  std::printf("ISAs:       %s\n", isas.c_str());
  Isa chosen = resolve_isa(o.isa);
  std::printf("chosen ISA: %s (the kernels each layer runs are listed below)\n", std::string(isa_name(chosen)).c_str());
  // The kernel plan cache is keyed by it (core/build_identity.h); `readelf -n` prints the same ID.
  std::printf("build ID:   %s\n", build_identity().c_str());
  std::printf("threads:    %d\n\n", o.threads > 0 ? o.threads : default_threads());

  std::string path = resolve_model_path(o);
  Graph g = models::load_pose_graph(path);
  std::map<std::string, int> ops;
  for (const Node& n : g.nodes) ops[n.op_type]++;
  int64_t params = 0;
  for (const Value& v : g.values) {
    if (v.constant && v.constant->dtype != DType::kInt64) params += v.constant->numel();
  }
  std::printf("model:      %s\n", path.c_str());
  std::printf("opset:      %lld\n", static_cast<long long>(g.opset));
  for (int in : g.inputs) std::printf("input:      %s %s\n", g.values[in].name.c_str(), shape_string(g.values[in].shape).c_str());
  for (int out : g.outputs) {
    const Value& v = g.values[out];
    std::printf("output:     %s %s\n", v.name.c_str(), v.shape.empty() ? "(shape not stored in the file)" : shape_string(v.shape).c_str());
  }
  std::printf("nodes:      %zu\n", g.nodes.size());
  std::string op_list;
  for (const auto& [op, count] : ops) op_list += op + " " + std::to_string(count) + ", ";
  if (!op_list.empty()) op_list.resize(op_list.size() - 2);
  std::printf("ops:        %s\n", op_list.c_str());
  std::printf("parameters: %.3f M\n", params / 1e6);
  for (const char* key : {"task", "version", "kpt_shape", "imgsz"}) {
    auto it = g.metadata.find(key);
    if (it != g.metadata.end()) std::printf("meta %-6s %s\n", key, it->second.c_str());
  }

  EngineOptions eo = o;
  LoadedModel m = load_model(eo);
  const Session& s = m.model->session();
  std::printf("\ncompiled for %dx%d: %zu ops, %.3f GMACs per frame, arena %.1f MiB, decode path: %s\n",
              m.model->input_width(), m.model->input_height(), s.num_ops(), s.total_macs() / 1e9,
              s.arena_bytes() / 1048576.0, m.model->decode_path());
  // What actually runs: each kernel's own ISA, by share of the multiply-accumulates.
  std::printf("engine:     %s\nkernels:   ", m.engine.c_str());
  for (const auto& k : s.kernel_isas())
    std::printf(" %s (%d op%s, %.2f GMAC)", k.isa.c_str(), k.ops, k.ops == 1 ? "" : "s", k.macs / 1e9);
  std::printf("\n");
  // Every conv's kernel, with its weights' sparsity and how dense vs sparse was chosen.
  std::printf("%s\n", kernel_plan_text(s.kernel_plan()).c_str());
  std::printf("| conv | kernel | isa | zero weights | choice |\n|---|---|---|---|---|\n");
  for (const OpProfile& p : s.profile()) {
    if (p.weight_zeros < 0) continue;
    std::printf("| %s | %s | %s | %s | %s |\n", p.node.c_str(), p.kernel.c_str(), p.isa.c_str(), weight_zeros_text(p).c_str(),
                kernel_choice_text(p).c_str());
  }
  if (const auto& head = m.model->head()) {
    for (const auto& sc : head->scales) {
      std::printf("  head stride %2d: box %s (%d ch), score %s (%d ch), keypoints %s (%d ch)\n", sc.stride,
                  sc.box.c_str(), sc.box_channels, sc.score.c_str(), sc.score_channels, sc.kpt.c_str(), sc.kpt_channels);
    }
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto o = std::make_shared<EngineOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe the model, the CPU and the chosen kernels");
  add_engine_options(*cmd, *o, true);
  cmd->callback([o] { run_info(*o); });
}

}  // namespace sp::app
