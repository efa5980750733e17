// Micro-benchmarks of the float convolution on the conv layers of YOLO11n-pose at 640x640.
//
//   BM_ConvLayer/<layer>/<threads>  one layer, run repeatedly (warm caches); reports GFLOP/s
//   BM_ModelConvs/<threads>         every conv of the model once per iteration, ping-ponging between two
//                                   activation buffers like a planned arena (close to a real inference)
//
// The ISA is the best the CPU has unless SP_BENCH_ISA names one (scalar, avx2, avx512). Layers run with
// SiLU, which the model fuses into nearly every conv. Build: link with sp_core and benchmark::benchmark
// (benchmark_main supplies main()).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/yolo11n_pose_convs.h"
#include "core/cpu_features.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/thread_pool.h"

namespace {

using sp::kernels::Activation;
using sp::kernels::Conv2dDesc;
using sp::kernels::Conv2dF32;
using sp::kernels::ConvIO;

using sp_bench::kLayers;
using sp_bench::kNumLayers;
using sp_bench::LayerShape;

sp::Isa bench_isa() {
  const char* env = std::getenv("SP_BENCH_ISA");
  return sp::resolve_isa(env ? env : "");
}

Conv2dDesc make_desc(const LayerShape& s) {
  Conv2dDesc d;
  d.in_h = s.in_h;
  d.in_w = s.in_w;
  d.in_c = s.in_c;
  d.out_c = s.out_c;
  d.kernel_h = d.kernel_w = s.kernel;
  d.stride_h = d.stride_w = s.stride;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = s.kernel / 2;
  d.groups = s.groups;
  d.activation = Activation::kSilu;
  return d;
}

double flops(const Conv2dDesc& d) {
  return 2.0 * d.out_h() * d.out_w() * d.out_c * (d.in_c / d.groups) * d.kernel_h * d.kernel_w;
}

std::vector<float> random_floats(size_t n, float scale, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

std::unique_ptr<Conv2dF32> make_conv(const Conv2dDesc& d, std::mt19937& rng) {
  const auto w = random_floats(static_cast<size_t>(d.out_c) * (d.in_c / d.groups) * d.kernel_h * d.kernel_w, 0.1f, rng);
  const auto b = random_floats(d.out_c, 1.0f, rng);
  return sp::kernels::create_conv2d_f32(d, w.data(), b.data(), bench_isa());
}

void BM_ConvLayer(benchmark::State& state) {
  const LayerShape& s = kLayers[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  const Conv2dDesc d = make_desc(s);
  std::mt19937 rng(1);
  auto conv = make_conv(d, rng);
  const auto in = random_floats(static_cast<size_t>(d.in_h) * d.in_w * d.in_c, 1.0f, rng);
  std::vector<float> out(static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c);
  std::unique_ptr<sp::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<sp::ThreadPool>(threads);
  ConvIO io;
  io.input = in.data();
  io.in_pixel_stride = d.in_c;
  io.output = out.data();
  io.out_pixel_stride = d.out_c;
  for (auto _ : state) {
    conv->run(io, pool.get());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(conv->name()));
  state.counters["GFLOP/s"] = benchmark::Counter(flops(d) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ModelConvs(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  std::mt19937 rng(1);
  size_t max_floats = 0;
  double total_flops = 0;
  std::vector<std::unique_ptr<Conv2dF32>> convs;
  for (const LayerShape& s : kLayers) {
    const Conv2dDesc d = make_desc(s);
    convs.push_back(make_conv(d, rng));
    const size_t in_n = static_cast<size_t>(d.in_h) * d.in_w * d.in_c;
    const size_t out_n = static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c;
    max_floats = std::max(max_floats, std::max(in_n, out_n));
    total_flops += flops(d);
  }
  std::vector<float> ping = random_floats(max_floats, 1.0f, rng), pong = random_floats(max_floats, 1.0f, rng);
  std::unique_ptr<sp::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<sp::ThreadPool>(threads);
  for (auto _ : state) {
    for (int i = 0; i < kNumLayers; ++i) {
      const Conv2dDesc d = make_desc(kLayers[i]);
      ConvIO io;
      io.input = (i % 2 ? pong : ping).data();
      io.in_pixel_stride = d.in_c;
      io.output = (i % 2 ? ping : pong).data();
      io.out_pixel_stride = d.out_c;
      convs[i]->run(io, pool.get());
    }
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(sp::isa_name(sp::float_isa(bench_isa()))));
  state.counters["GFLOP/s"] = benchmark::Counter(total_flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void layer_args(benchmark::internal::Benchmark* b) {
  for (int i = 0; i < kNumLayers; ++i) {
    // Each distinct shape once (the model repeats some).
    bool seen = false;
    for (int j = 0; j < i; ++j) {
      const LayerShape &x = kLayers[i], &y = kLayers[j];
      seen |= x.kernel == y.kernel && x.stride == y.stride && x.groups == y.groups && x.in_c == y.in_c &&
              x.in_h == y.in_h && x.in_w == y.in_w && x.out_c == y.out_c;
    }
    if (seen) continue;
    for (int threads : {1, 2}) b->Args({i, threads});
  }
}

BENCHMARK(BM_ConvLayer)
    ->Apply(layer_args)
    ->ArgNames({"layer", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_ModelConvs)->Arg(1)->Arg(2)->ArgNames({"threads"})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
