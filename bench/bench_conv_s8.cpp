// Micro-benchmark of the integer convolution against the float one on one shape: 3x3, stride 1, pad 1,
// 64 -> 64 channels at 80x80 (a YOLO11n-pose backbone layer), and depthwise 3x3 layers, 1 thread, warm
// caches.
//
//   BM_ConvS8/<isa>/<silu>   u8 in, requantized u8 out (silu = 0/1); reports GOP/s (1 MAC = 2 ops)
//   BM_ConvF32/<silu>        create_conv2d_f32 at the best float ISA on the same shape (GFLOP/s)
//   BM_ConvS8Shape/<isa>/<shape>  small-channel YOLO11n-pose layers (pixel stride = channels, pad k/2),
//                            output and SiLU as in the bundled int8 model:
//                            0 = the first layer, 3x3 s2, 3 -> 16 at 640x640 (packed RGB), f32 + SiLU;
//                            1 = 3x3 s1 16 -> 8 at 160x160, u8 + SiLU; 2 = 3x3 s1 8 -> 16 at 160x160, f32 + SiLU;
//                            3 = 3x3 s2 64 -> 128 at 80x80, u8 + SiLU; 4 = 3x3 s2 16 -> 32 at 320x320, u8 + SiLU;
//                            5 = 1x1 48 -> 64 at 160x160, u8 + SiLU; 6 = 3x3 s1 32 -> 16 at 80x80, u8 + SiLU;
//                            7 = 3x3 s1 16 -> 32 at 80x80, f32 + SiLU; 8 = 1x1 64 -> 64 at 80x80, f32 (head);
//                            9 = 1x1 64 -> 1 at 80x80, f32 (score head); 10 = shape 0 with u8 output;
//                            11 = 3x3 s1 256 -> 256 at 20x20, u8 + SiLU (the deepest layers); GOP/s
//   BM_DwConvS8/<isa>/<shape>/<silu>  depthwise 3x3 pad 1, the YOLO11n-pose layers and one stride-2 layer:
//                            shape 0 = s1, 64 ch @ 80x80, u8 out (head cv3.0.0.0 and cv3.0.1.0); 1 = s2, 128 ch
//                            @ 40x40, u8 out; 2 = s1, 128 ch @ 40x40, u8 (cv3.1.0.0); 3 = s1, 64 ch @ 40x40, u8
//                            (cv3.1.1.0); 4 = s1, 256 ch @ 20x20, u8 (cv3.2.0.0); 5 = s1, 64 ch @ 20x20, u8
//                            (cv3.2.1.0); 6 = s1, 128 ch @ 20x20, f32 out (attention pe, no SiLU in the model);
//                            GOP/s as above
//
//   BM_Int8DotPeak/<isa>      the register-only peak loop of `bench --profile` (core/kernels/isa_peak) for
//                            that ISA's integer kernels, timed in the same process: on a shared machine,
//                            compare a kernel's GOP/s with this rather than with a figure measured elsewhere
//
// ISAs the CPU lacks are skipped, and so is amx when it is only emulated (SP_AMX=emulate): the emulator's
// speed is not AMX's. isa = 5 (amx) runs the AMX tdpbusd kernel where the CPU has AMX.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/isa_peak/isa_peak_internal.h"

namespace {

using namespace sp::kernels;

// False (and the benchmark skipped with the reason) when `isa` cannot be timed here.
bool timeable(benchmark::State& state, sp::Isa isa) {
  if (!sp::isa_supported(isa)) {
    state.SkipWithError((std::string(sp::isa_name(isa)) + " not supported by this CPU").c_str());
    return false;
  }
  if (isa == sp::Isa::kAmx && sp::detect_cpu().amx_emulated) {
    state.SkipWithError("amx is emulated in software (SP_AMX=emulate): not timed");
    return false;
  }
  return true;
}

constexpr int kH = 80, kW = 80, kC = 64, kO = 64, kK = 3;
constexpr double kOps = 2.0 * kH * kW * kO * kC * kK * kK;  // stride 1, pad 1: out = in size

void BM_ConvS8(benchmark::State& state) {
  const sp::Isa isa = static_cast<sp::Isa>(state.range(0));
  if (!timeable(state, isa)) return;
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

struct DenseShape {
  int hw, in_c, out_c, k, stride;
  bool out_f32, silu;
};
constexpr DenseShape kDenseShapes[] = {
    {640, 3, 16, 3, 2, true, true},   {160, 16, 8, 3, 1, false, true}, {160, 8, 16, 3, 1, true, true},
    {80, 64, 128, 3, 2, false, true}, {320, 16, 32, 3, 2, false, true}, {160, 48, 64, 1, 1, false, true},
    {80, 32, 16, 3, 1, false, true},  {80, 16, 32, 3, 1, true, true},   {80, 64, 64, 1, 1, true, false},
    {80, 64, 1, 1, 1, true, false},   {640, 3, 16, 3, 2, false, true},  {20, 256, 256, 3, 1, false, true}};

void BM_ConvS8Shape(benchmark::State& state) {
  const sp::Isa isa = static_cast<sp::Isa>(state.range(0));
  if (!timeable(state, isa)) return;
  const DenseShape& sh = kDenseShapes[state.range(1)];
  Conv2dS8Desc d;
  d.in_h = d.in_w = sh.hw, d.in_c = sh.in_c, d.out_c = sh.out_c;
  d.kernel_h = d.kernel_w = sh.k;
  d.stride_h = d.stride_w = sh.stride;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = sh.k / 2;
  d.input_scale = 0.02f;
  d.input_zero_point = 3;
  d.weight_scales.assign(sh.out_c, 0.01f);
  d.output = sh.out_f32 ? QuantOutput::kF32 : QuantOutput::kU8;
  d.output_scale = 0.05f;
  d.output_zero_point = 10;
  d.activation = sh.silu ? Activation::kSilu : Activation::kNone;
  const int taps = sh.k * sh.k;
  std::mt19937 rng(7);
  std::vector<int8_t> w(static_cast<size_t>(sh.out_c) * sh.in_c * taps);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  std::vector<int32_t> bias(sh.out_c, 100);
  const int64_t out_pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  std::vector<uint8_t> in(static_cast<size_t>(sh.hw) * sh.hw * sh.in_c);
  std::vector<uint8_t> out(out_pixels * sh.out_c * (sh.out_f32 ? 4 : 1) + 64);
  for (auto& v : in) v = static_cast<uint8_t>(rng() % 256);
  auto conv = create_conv2d_s8(d, w.data(), bias.data(), isa);
  state.SetLabel(std::string(conv->name()));
  void* dst = out.data() + (sh.out_f32 ? (64 - reinterpret_cast<uintptr_t>(out.data()) % 64) % 64 : 0);
  for (auto _ : state) {
    conv->run(in.data(), sh.in_c, dst, sh.out_c, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * static_cast<double>(out_pixels) * sh.out_c * sh.in_c * taps;
  state.counters["GOP/s"] = benchmark::Counter(ops * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

struct DwShape {
  int hw, channels, stride;
  bool out_f32;
};
constexpr DwShape kDwShapes[] = {{80, 64, 1, false},  {40, 128, 2, false}, {40, 128, 1, false}, {40, 64, 1, false},
                                 {20, 256, 1, false}, {20, 64, 1, false},  {20, 128, 1, true}};

void BM_DwConvS8(benchmark::State& state) {
  const sp::Isa isa = static_cast<sp::Isa>(state.range(0));
  if (!sp::isa_supported(isa)) {
    state.SkipWithError((std::string(sp::isa_name(isa)) + " not supported by this CPU").c_str());
    return;
  }
  const DwShape& sh = kDwShapes[state.range(1)];
  Conv2dS8Desc d;
  d.in_h = d.in_w = sh.hw;
  d.in_c = d.out_c = d.groups = sh.channels;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = sh.stride;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  d.input_scale = 0.02f;
  d.input_zero_point = 3;
  d.weight_scales.assign(sh.channels, 0.01f);
  d.output_scale = 0.05f;
  d.output_zero_point = 10;
  d.activation = state.range(2) ? Activation::kSilu : Activation::kNone;
  d.output = sh.out_f32 ? QuantOutput::kF32 : QuantOutput::kU8;
  std::mt19937 rng(7);
  std::vector<int8_t> w(static_cast<size_t>(sh.channels) * 9);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  std::vector<int32_t> bias(sh.channels, 100);
  const int64_t out_pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  std::vector<uint8_t> in(static_cast<size_t>(sh.hw) * sh.hw * sh.channels);
  std::vector<uint8_t> out(out_pixels * sh.channels * (sh.out_f32 ? 4 : 1) + 64);
  for (auto& v : in) v = static_cast<uint8_t>(rng() % 256);
  auto conv = create_conv2d_s8(d, w.data(), bias.data(), isa);
  state.SetLabel(std::string(conv->name()));
  void* dst = out.data() + (sh.out_f32 ? (64 - reinterpret_cast<uintptr_t>(out.data()) % 64) % 64 : 0);
  for (auto _ : state) {
    conv->run(in.data(), sh.channels, dst, sh.channels, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * static_cast<double>(out_pixels) * sh.channels * 9;
  state.counters["GOP/s"] = benchmark::Counter(ops * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_Int8DotPeak(benchmark::State& state) {
  const sp::Isa isa = static_cast<sp::Isa>(state.range(0));
  if (!sp::isa_supported(isa)) {
    state.SkipWithError((std::string(sp::isa_name(isa)) + " not supported by this CPU").c_str());
    return;
  }
  namespace ip = sp::kernels::isa_peak_internal;
  double (*loop)(int64_t) = isa == sp::Isa::kAvx512Vnni ? ip::int8_dot_avx512vnni
                            : isa == sp::Isa::kAvx512   ? ip::int8_dot_avx512
                                                        : ip::int8_dot_avx2;
  double ops = 0;
  for (auto _ : state) ops += loop(1 << 16);
  state.SetLabel(isa == sp::Isa::kAvx512Vnni ? "vpdpbusd zmm" : isa == sp::Isa::kAvx512 ? "vpmaddwd zmm" : "vpmaddwd ymm");
  state.counters["GOP/s"] = benchmark::Counter(ops, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

BENCHMARK(BM_Int8DotPeak)
    ->ArgName("isa")
    ->Arg(static_cast<int>(sp::Isa::kAvx2))
    ->Arg(static_cast<int>(sp::Isa::kAvx512))
    ->Arg(static_cast<int>(sp::Isa::kAvx512Vnni))
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConvS8)
    ->ArgNames({"isa", "silu"})
    ->ArgsProduct({{static_cast<int>(sp::Isa::kScalar), static_cast<int>(sp::Isa::kAvx2),
                    static_cast<int>(sp::Isa::kAvx512Vnni), static_cast<int>(sp::Isa::kAvxVnni),
                    static_cast<int>(sp::Isa::kAmx)},
                   {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvS8Shape)
    ->ArgNames({"isa", "shape"})
    ->ArgsProduct({{static_cast<int>(sp::Isa::kAvx2), static_cast<int>(sp::Isa::kAvx512Vnni),
                    static_cast<int>(sp::Isa::kAvxVnni), static_cast<int>(sp::Isa::kAmx)},
                   {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvF32)->ArgNames({"silu"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DwConvS8)
    ->ArgNames({"isa", "shape", "silu"})
    ->ArgsProduct({{static_cast<int>(sp::Isa::kAvx2), static_cast<int>(sp::Isa::kAvx512),
                    static_cast<int>(sp::Isa::kAvx512Vnni), static_cast<int>(sp::Isa::kAvxVnni)},
                   {0, 1, 2, 3, 4, 5, 6},
                   {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
