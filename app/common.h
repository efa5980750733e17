// Options every engine-running command shares (--model, --engine, --threads, --isa, --imgsz), and the
// bundled defaults.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "core/cpu_features.h"
#include "models/pose_model.h"

namespace sp::app {

struct EngineOptions {
  std::string model;          // empty: the bundled model
  std::string engine = "auto";
  int threads = 0;            // 0: one per core
  std::string isa = "auto";
  int imgsz = 0;              // 0: the model's own size
  std::string decode = "head";  // head: decode the head branches in float; exported: the graph's own output
  std::string kernels = "auto";  // dense / sparse convolution kernels per layer (core/kernel_plan.h)
};

void add_engine_options(CLI::App& cmd, EngineOptions& o, bool with_imgsz);

// The repository's assets/ directory, found next to the executable (build tree or install).
std::string assets_dir();
// --model, or the bundled model the options choose (int8 for --engine int8, and for --engine auto where
// models::int8_pays_on() the resolved ISA; else the float model). models/model_choice.h decides, for the
// library too.
std::string resolve_model_path(const EngineOptions& o);

struct LoadedModel {
  std::string path;
  Isa isa = Isa::kScalar;
  std::string engine;
  std::unique_ptr<models::PoseModel> model;
};

LoadedModel load_model(const EngineOptions& o, bool profile = false);

// A conv's kernel choice for `info` and `bench --profile`: "sparse, timed 1.20 vs 0.80 ms", "dense, few
// zeros", ... ("-" for other ops); and its weights' zero fraction as "70.0%" ("-").
std::string kernel_choice_text(const OpProfile& p);
std::string weight_zeros_text(const OpProfile& p);
// One line about the session's kernel plan (convs, candidates, sparse, timed or cached), no newline.
std::string kernel_plan_text(const KernelPlanReport& r);

// Hardware threads available to this process.
int default_threads();

}  // namespace sp::app
