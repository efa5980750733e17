// BF16 against float convolution on the layers the bundled int8 model keeps in float, with their real
// shapes at 640x640 (read from the float model after shape inference) and random weights.
//
//   BM_FloatLayer/<layer>/<kind>   kind 0: our fp32 kernel, 1: bf16 (create_conv2d_bf16: vdpbf16ps where
//                                  the CPU has it), 2: the bf16 emulation on the float AVX-512 kernels
//   BM_AllConvs/<kind>             every conv of the float model once per iteration (depthwise ones in
//                                  float for every kind, as the engine runs them)
//
// One thread (SP_BENCH_THREADS to change); the ISA is the best the CPU has unless SP_BENCH_ISA names one.
// GFLOP/s counts 2 * MACs of the convolution; the bf16 time includes its input conversion. Run with
// --benchmark_repetitions=N --benchmark_enable_random_interleaving=true on a shared machine.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/graph.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/onnx_import.h"
#include "core/shape_inference.h"
#include "core/thread_pool.h"

namespace {

using sp::kernels::Activation;
using sp::kernels::Conv2dDesc;
using sp::kernels::Conv2dF32;
using sp::kernels::ConvIO;

struct Layer {
  std::string name;
  Conv2dDesc desc;
};

std::string source_path(const std::string& rel) { return std::string(SP_SOURCE_DIR) + "/" + rel; }

sp::Isa bench_isa() {
  const char* env = std::getenv("SP_BENCH_ISA");
  return sp::resolve_isa(env ? env : "");
}

int bench_threads() {
  const char* env = std::getenv("SP_BENCH_THREADS");
  return env ? std::atoi(env) : 1;
}

// Every Conv of the float model at 640x640, by node name, with SiLU (the model fuses it into nearly all).
std::map<std::string, Conv2dDesc> model_convs() {
  sp::Graph g = sp::load_onnx_file(source_path("assets/models/yolo11n-pose.onnx"));
  sp::specialize_shapes(g, {{1, 3, 640, 640}});
  std::map<std::string, Conv2dDesc> out;
  for (const sp::Node& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    const sp::Shape& x = g.values[n.inputs[0]].shape;
    const sp::Shape& w = g.values[n.inputs[1]].shape;
    const sp::Shape& y = g.values[n.outputs[0]].shape;
    if (x.size() != 4 || y.size() != 4) continue;
    Conv2dDesc d;
    const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    const auto strides = n.attr_ints("strides", {1, 1});
    d.in_c = static_cast<int>(x[1]);
    d.in_h = static_cast<int>(x[2]);
    d.in_w = static_cast<int>(x[3]);
    d.out_c = static_cast<int>(y[1]);
    d.kernel_h = static_cast<int>(w[2]);
    d.kernel_w = static_cast<int>(w[3]);
    d.stride_h = static_cast<int>(strides[0]);
    d.stride_w = static_cast<int>(strides[1]);
    d.pad_top = static_cast<int>(pads[0]);
    d.pad_left = static_cast<int>(pads[1]);
    d.pad_bottom = static_cast<int>(pads[2]);
    d.pad_right = static_cast<int>(pads[3]);
    d.groups = static_cast<int>(n.attr_int("group", 1));
    d.activation = Activation::kSilu;
    out[n.name] = d;
  }
  return out;
}

// The convs the bundled int8 model keeps in float, as `sparsepose bench --engine int8 --profile` lists them
// (its "Conv" rows; the others are "QConv"); SP_BENCH_LAYERS=name,name,... picks others.
const char* kInt8ModelFloatConvs =
    "/model.1/conv/Conv,/model.2/cv1/conv/Conv,/model.2/m.0/cv1/conv/Conv,/model.4/cv2/conv/Conv,"
    "/model.5/conv/Conv,/model.13/cv1/conv/Conv,/model.16/cv1/conv/Conv,/model.19/cv1/conv/Conv,"
    "/model.19/cv2/conv/Conv,/model.23/cv3.2/cv3.2.2/Conv";

std::vector<Layer> float_layers(const std::map<std::string, Conv2dDesc>& convs) {
  const char* env = std::getenv("SP_BENCH_LAYERS");
  const std::string list = env ? env : kInt8ModelFloatConvs;
  std::vector<Layer> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    auto it = convs.find(name);
    if (it == convs.end()) throw sp::Error("the float model has no Conv node '" + name + "'");
    out.push_back({name, it->second});
    start = end + 1;
  }
  return out;
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

bool depthwise(const Conv2dDesc& d) { return d.groups > 1 && d.groups == d.in_c && d.groups == d.out_c; }

std::unique_ptr<Conv2dF32> make_conv(const Conv2dDesc& d, int kind, std::mt19937& rng) {
  const auto w = random_floats(static_cast<size_t>(d.out_c) * (d.in_c / d.groups) * d.kernel_h * d.kernel_w, 0.1f, rng);
  const auto b = random_floats(d.out_c, 1.0f, rng);
  if (kind == 0 || depthwise(d)) return sp::kernels::create_conv2d_f32(d, w.data(), b.data(), bench_isa());
  if (kind == 1) return sp::kernels::create_conv2d_bf16(d, w.data(), b.data(), bench_isa());
  return sp::kernels::conv_bf16_internal::create_conv2d_bf16_emulated(d, w.data(), b.data(),
                                                                      sp::float_isa(bench_isa()));
}

std::unique_ptr<sp::ThreadPool> make_pool() {
  const int threads = bench_threads();
  return threads > 1 ? std::make_unique<sp::ThreadPool>(threads) : nullptr;
}

void BM_FloatLayer(benchmark::State& state, const Layer& layer, int kind) {
  const Conv2dDesc& d = layer.desc;
  std::mt19937 rng(1);
  auto conv = make_conv(d, kind, rng);
  const auto in = random_floats(static_cast<size_t>(d.in_h) * d.in_w * d.in_c, 1.0f, rng);
  std::vector<float> out(static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c);
  auto pool = make_pool();
  ConvIO io;
  io.input = in.data();
  io.in_pixel_stride = d.in_c;
  io.output = out.data();
  io.out_pixel_stride = d.out_c;
  for (auto _ : state) {
    conv->run(io, pool.get());
    benchmark::ClobberMemory();
  }
  char shape[96];
  std::snprintf(shape, sizeof shape, " %dx%d s%d %d->%d at %dx%d ", d.kernel_h, d.kernel_w, d.stride_h, d.in_c, d.out_c,
                d.in_h, d.in_w);
  state.SetLabel(layer.name + shape + std::string(conv->name()));
  state.counters["GFLOP/s"] = benchmark::Counter(flops(d) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Every conv once per iteration, ping-ponging between two activation buffers like a planned arena.
void BM_AllConvs(benchmark::State& state, const std::vector<Layer>& layers, int kind) {
  std::mt19937 rng(1);
  size_t max_floats = 0;
  double total = 0;
  std::vector<std::unique_ptr<Conv2dF32>> convs;
  for (const Layer& l : layers) {
    const Conv2dDesc& d = l.desc;
    convs.push_back(make_conv(d, kind, rng));
    max_floats = std::max({max_floats, static_cast<size_t>(d.in_h) * d.in_w * d.in_c,
                           static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c});
    total += flops(d);
  }
  std::vector<float> a = random_floats(max_floats, 1.0f, rng), b(max_floats);
  auto pool = make_pool();
  for (auto _ : state) {
    for (size_t i = 0; i < convs.size(); ++i) {
      const Conv2dDesc& d = layers[i].desc;
      ConvIO io;
      io.input = (i % 2 ? b : a).data();
      io.in_pixel_stride = d.in_c;
      io.output = (i % 2 ? a : b).data();
      io.out_pixel_stride = d.out_c;
      convs[i]->run(io, pool.get());
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(total * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    static const std::map<std::string, Conv2dDesc> convs = model_convs();
    static const std::vector<Layer> layers = float_layers(convs);
    static std::vector<Layer> all;
    for (const auto& [name, d] : convs) all.push_back({name, d});
    static const char* kKinds[] = {"fp32", "bf16", "bf16emu"};
    for (size_t i = 0; i < layers.size(); ++i)
      for (int kind = 0; kind < 3; ++kind) {
        const std::string name = "BM_FloatLayer/" + std::to_string(i) + "/" + kKinds[kind];
        benchmark::RegisterBenchmark(name.c_str(), BM_FloatLayer, layers[i], kind)->Unit(benchmark::kMillisecond);
      }
    for (int kind = 0; kind < 3; ++kind) {
      const std::string name = std::string("BM_AllConvs/") + kKinds[kind];
      benchmark::RegisterBenchmark(name.c_str(), BM_AllConvs, all, kind)->Unit(benchmark::kMillisecond);
    }
  } catch (const sp::Error& e) {
    std::fprintf(stderr, "bench_conv_bf16: %s\n", e.what());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
