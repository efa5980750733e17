// sparsepose bench: pure model time — the input already in place, the output not decoded — measured
// exactly as the HUD's "model" stage, with warm-up, reported as mean/p50/p90/p99/std/min.
#include <algorithm>
#include <chrono>
#include <vector>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/common.h"
#include "app/latency_stats.h"
#include "core/error.h"
#include "core/kernels/isa_peak/isa_peak.h"
#include "core/kernels/quant_u8/quant_u8.h"

namespace sp::app {
namespace {

struct BenchOptions {
  EngineOptions engine;
  int warmup = 10;
  int iters = 50;
  bool json = false;
  bool profile = false;
};

// The benchmark input "lcg32-v1", identical to bench/ort_bench.js: byte b_i = top byte of a 32-bit LCG,
// value b_i / 255, element i in CHW order. We store it NHWC (our engine's input layout), same values.
// A u8 model input (integer first layer) gets those values quantized as letterboxing would.
void fill_bench_input(models::PoseModel& model) {
  const int h = model.input_height(), w = model.input_width();
  std::vector<float> nhwc(static_cast<size_t>(h) * w * 3);
  uint32_t state = 0x2545F491u;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        state = 1664525u * state + 1013904223u;
        nhwc[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<float>(state >> 24) / 255.0f;
      }
    }
  }
  Session& s = model.session();
  if (model.input_is_u8()) {
    const int64_t pixels = static_cast<int64_t>(h) * w;
    kernels::quantize_f32_u8(nhwc.data(), 3, pixels, 3, kernels::U8Grid{s.input_scale(0), s.input_zero_point(0)}, s.input_u8(0), 3,
                             Isa::kScalar);
  } else {
    std::copy(nhwc.begin(), nhwc.end(), model.input_nhwc());
  }
}

// The measured peak (G-ops/s with this many threads) for a layer's arithmetic on the ISA its kernel runs,
// or 0 when that ISA has no measured peak here (a tag outside the Isa list, e.g. a future bf16 kernel).
// "amx-emu" (AMX kernels on the tile emulator, SP_AMX=emulate) is measured against the emulator's own
// tdpbusd loop, which is what isa_peak_gops(kAmx) times in that mode.
double layer_peak_gops(const OpProfile& p, int threads) {
  std::string_view tag = p.isa;
  if (tag == "amx-emu") tag = "amx";
  Isa isa;
  try {
    isa = parse_isa(tag);
  } catch (const Error&) {
    return 0.0;
  }
  if (!isa_supported(isa)) return 0.0;
  const auto kind = p.integer ? kernels::PeakKind::kInt8Dot : kernels::PeakKind::kF32Fma;
  return kernels::isa_peak_gops(isa, kind) * threads;
}

// Per layer: kernel, the ISA that kernel runs (its own variant, not the requested one), time, GOP/s
// (a multiply-accumulate = 2 ops) and the share of that ISA's peak for that arithmetic (int8 dot or
// float FMA) with this many threads — the peak measured on this machine by kernels::isa_peak_gops,
// not a datasheet figure.
void print_profile(const Session& s) {
  const auto& prof = s.profile();
  int runs = std::max(1, s.profiled_runs());
  double total = 0;
  for (const auto& p : prof) total += p.total_ms;
  std::printf("\n%s\n", kernel_plan_text(s.kernel_plan()).c_str());
  std::printf("\n| # | node | op | kernel | isa | zero weights | choice | ms | %% time | GOP/s | %% of peak |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < prof.size(); ++i) {
    const auto& p = prof[i];
    double ms = p.total_ms / runs;
    std::printf("| %zu | %s | %s | %s | %s | %s | %s | %.3f | %.1f |", i, p.node.c_str(), p.op_type.c_str(), p.kernel.c_str(),
                p.isa.c_str(), weight_zeros_text(p).c_str(), kernel_choice_text(p).c_str(), ms,
                100.0 * p.total_ms / std::max(total, 1e-9));
    const double peak = p.macs > 0 ? layer_peak_gops(p, s.threads()) : 0.0;
    if (p.macs > 0 && ms > 0) {
      double gops = 2.0 * p.macs / (ms * 1e6);
      if (peak > 0)
        std::printf(" %.1f | %.0f |\n", gops, 100.0 * gops / peak);
      else
        std::printf(" %.1f | - |\n", gops);
    } else {
      std::printf(" - | - |\n");
    }
  }
  std::printf("| | total | | | %s | | | %.3f | 100 | %.1f | |\n", s.kernel_isa_summary().c_str(), total / runs,
              2.0 * s.total_macs() / (total / runs * 1e6));
  // The peaks of the ISAs whose kernels ran (one line per ISA and arithmetic).
  std::printf("\nPeak on this machine (%d thread%s, measured):", s.threads(), s.threads() == 1 ? "" : "s");
  for (const auto& k : s.kernel_isas()) {
    for (bool integer : {true, false}) {
      bool used = false;
      for (const auto& p : prof) used = used || (p.isa == k.isa && p.integer == integer && p.macs > 0);
      if (!used) continue;
      OpProfile probe;
      probe.isa = k.isa;
      probe.integer = integer;
      const double peak = layer_peak_gops(probe, s.threads());
      if (peak > 0)
        std::printf(" %s %s %.0f GOP/s;", k.isa.c_str(), integer ? "int8 dot" : "float FMA", peak);
      else
        std::printf(" %s %s: no measured peak;", k.isa.c_str(), integer ? "int8 dot" : "float FMA");
    }
  }
  std::printf("\n");
  // AMX: where its kernels ran, its peak is above (the emulator's under SP_AMX=emulate: say so);
  // elsewhere one line says what this CPU offers.
  bool amx_ran = false;
  bool amx_emulated_ran = false;
  for (const auto& k : s.kernel_isas()) {
    amx_ran = amx_ran || k.isa == "amx" || k.isa == "amx-emu";
    amx_emulated_ran = amx_emulated_ran || k.isa == "amx-emu";
  }
  if (!amx_ran)
    std::printf("%s.\n", kernels::amx_peak_note(s.threads()).c_str());
  else if (amx_emulated_ran)
    std::printf("amx-emu int8 dot: %s.\n", kernels::int8_peak_instruction(Isa::kAmx).c_str());
}

void run_bench(const BenchOptions& o) {
  LoadedModel m = load_model(o.engine, o.profile);
  models::PoseModel& model = *m.model;
  fill_bench_input(model);
  for (int i = 0; i < o.warmup; ++i) model.infer();
  model.session().reset_profile();
  std::vector<double> ms;
  ms.reserve(o.iters);
  for (int i = 0; i < o.iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.infer();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  LatencyStats st = latency_stats(ms);
  const Session& s = model.session();
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = m.path;
    j["engine"] = m.engine;
    // "isa": what the kernels ran (the largest share of the multiply-accumulates); the request and
    // the full split are separate keys.
    j["isa"] = s.kernel_isas().empty() ? std::string(isa_name(m.isa)) : s.kernel_isas().front().isa;
    j["isa_requested"] = std::string(isa_name(m.isa));
    j["kernel_isas"] = nlohmann::ordered_json::array();
    for (const auto& k : s.kernel_isas())
      j["kernel_isas"].push_back({{"isa", k.isa}, {"ops", k.ops}, {"gmacs", k.macs / 1e9}});
    j["kernels"] = kernel_mode_name(s.kernel_plan().mode);
    j["sparse_convs"] = s.kernel_plan().sparse;
    j["threads"] = s.threads();
    j["imgsz"] = model.input_width();
    j["iters"] = o.iters;
    j["warmup"] = o.warmup;
    j["input"] = "lcg32-v1";
    j["decode_path"] = model.decode_path();
    j["latency_ms"] = {{"mean", st.mean}, {"p50", st.p50}, {"p90", st.p90}, {"p99", st.p99}, {"std", st.std}, {"min", st.min}};
    j["gmacs"] = s.total_macs() / 1e9;
    j["arena_mib"] = s.arena_bytes() / 1048576.0;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("| model | engine | isa | threads | imgsz | iters | mean ms | p50 ms | p90 ms | p99 ms | std | min |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %s | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", m.path.c_str(),
                m.engine.c_str(), s.kernel_isa_summary().c_str(), s.threads(), model.input_width(), o.iters,
                st.mean, st.p50, st.p90, st.p99, st.std, st.min);
    std::printf("\n%.2f GMAC per run, %.1f GMAC/s at p50, arena %.1f MiB, %zu ops, decode path: %s\n", s.total_macs() / 1e9,
                s.total_macs() / (st.p50 * 1e6), s.arena_bytes() / 1048576.0, s.num_ops(), model.decode_path());
    if (s.kernel_plan().candidates > 0) std::printf("%s\n", kernel_plan_text(s.kernel_plan()).c_str());
  }
  if (o.profile) print_profile(s);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure pure model latency (no pre/post-processing)");
  add_engine_options(*cmd, o->engine, true);
  cmd->add_option("--warmup", o->warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  cmd->add_option("--iters", o->iters, "timed runs")->check(CLI::Range(1, 1000000));
  cmd->add_flag("--json", o->json, "print one JSON object");
  cmd->add_flag("--profile", o->profile, "per-layer kernel, ISA, ms, GOP/s and % of the ISA's measured peak");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace sp::app
