// Micro-benchmark of the integer convolution against the float one on one shape: 3x3, stride 1, pad 1,
// 64 -> 64 channels at 80x80 (a YOLO11n-pose backbone layer), 1 thread, warm caches.
//
//   BM_ConvS8/<isa>/<silu>   u8 in, requantized u8 out (silu = 0/1); reports GOP/s (1 MAC = 2 ops)
//   BM_ConvF32/<silu>        create_conv2d_f32 at the best float ISA on the same shape (GFLOP/s)
//
// ISAs the CPU lacks are skipped. Not wired into bench/CMakeLists.txt; to build it there add:
//   add_executable(bench_conv_s8 bench_conv_s8.cpp)
//   target_link_libraries(bench_conv_s8 PRIVATE sp_core benchmark::benchmark benchmark::benchmark_main)
//   sp_target_warnings(bench_conv_s8)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/conv_f32.h"
#include "core/kernels/conv_s8.h"

namespace {

using namespace sp::kernels;

constexpr int kH = 80, kW = 80, kC = 64, kO = 64, kK = 3;
constexpr double kOps = 2.0 * kH * kW * kO * kC * kK * kK;  // stride 1, pad 1: out = in size

void BM_ConvS8(benchmark::State& state) {
  const sp::Isa isa = static_cast<sp::Isa>(state.range(0));
  if (!sp::isa_supported(isa)) {
    state.SkipWithError((std::string(sp::isa_name(isa)) + " not supported by this CPU").c_str());
    return;
  }
  Conv2dS8Desc d;
  d.in_h = kH, d.in_w = kW, d.in_c = kC, d.out_c = kO;
  d.kernel_h = d.kernel_w = kK;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  d.input_scale = 0.02f;
  d.input_zero_point = 3;
  d.weight_scales.assign(kO, 0.01f);
  d.output_scale = 0.05f;
  d.output_zero_point = 10;
  d.activation = state.range(1) ? Activation::kSilu : Activation::kNone;
  std::mt19937 rng(7);
  std::vector<int8_t> w(static_cast<size_t>(kO) * kC * kK * kK);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  std::vector<int32_t> bias(kO, 100);
  std::vector<uint8_t> in(static_cast<size_t>(kH) * kW * kC), out(static_cast<size_t>(kH) * kW * kO);
  for (auto& v : in) v = static_cast<uint8_t>(rng() % 256);
  auto conv = create_conv2d_s8(d, w.data(), bias.data(), isa);
  state.SetLabel(std::string(conv->name()));
  for (auto _ : state) {
    conv->run(in.data(), kC, out.data(), kO, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(kOps * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_ConvF32(benchmark::State& state) {
  Conv2dDesc d;
  d.in_h = kH, d.in_w = kW, d.in_c = kC, d.out_c = kO;
  d.kernel_h = d.kernel_w = kK;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  d.activation = state.range(0) ? Activation::kSilu : Activation::kNone;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(kO) * kC * kK * kK), bias(kO, 0.1f);
  for (auto& v : w) v = u(rng);
  std::vector<float> in(static_cast<size_t>(kH) * kW * kC), out(static_cast<size_t>(kH) * kW * kO);
  for (auto& v : in) v = u(rng);
  auto conv = create_conv2d_f32(d, w.data(), bias.data(), sp::float_isa(sp::best_isa()));
  state.SetLabel(std::string(conv->name()));
  ConvIO io;
  io.input = in.data(), io.in_pixel_stride = kC, io.output = out.data(), io.out_pixel_stride = kO;
  for (auto _ : state) {
    conv->run(io, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(kOps * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

BENCHMARK(BM_ConvS8)
    ->ArgNames({"isa", "silu"})
    ->ArgsProduct({{static_cast<int>(sp::Isa::kScalar), static_cast<int>(sp::Isa::kAvx2),
                    static_cast<int>(sp::Isa::kAvx512Vnni)},
                   {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvF32)->ArgNames({"silu"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
