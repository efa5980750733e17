// A kernel-level peer: every convolution of a model, ours against oneDNN's, on the same shape, data and
// thread count, as a markdown table.
//
//   OMP_NUM_THREADS=2 build/bench/bench_onednn_conv [--model M] [--imgsz N] [--threads 2] [--isa I]
//                                                    [--blocks 9] [--block-ms 4] [--only f32|s8]
//
// The model is compiled exactly as `sparsepose bench` compiles it (models::PoseModel: graph cut at the head
// branches; QDQ models on the integer engine), and each Conv / QConv op describes itself (Op::conv_info()).
// For every such layer:
//   ours    the kernel the Session chose, created again from the same descriptor, weights and ISA;
//   oneDNN  convolution_forward on the same descriptor: NHWC activations, weights reordered once into the
//           format oneDNN prefers; int8: u8 src with its zero point, s8 weights with per-output-channel
//           output scales, s32 bias, u8 dst with its zero point (requantized) or f32 dst, SiLU as an
//           eltwise swish post-op (its scale 1/sy for u8 dst); fp32: f32 bias, the activation as an eltwise
//           post-op, a fused residual add as a sum post-op.
// Both get the same random input (int8: around the input zero point, so outputs are not all clamped) in
// their own contiguous buffers. The outputs are checked against each other before timing: int8 by the
// number of differing u8 steps (1 step can differ where SiLU or the rounding of a product differs), fp32
// by the largest difference relative to the largest output magnitude.
//
// Timing: blocks of back-to-back runs of one side, then the other, alternating which goes first, with a
// pause between blocks so that neither side's spinning worker threads (our pool's, OpenMP's) compete with
// the other; the first run of each block is discarded (wake-up); every run is timed on its own, and a layer's
// time is the median of its runs (the fastest run is reported too: on a shared machine it is the closest
// to what the kernel does alone). Threads: our pool gets --threads; oneDNN (OpenMP) gets omp_set_num_threads(--threads)
// and the tool reports omp_get_max_threads(), plus each side's CPU time / wall time while timed (≈ the
// number of threads that were busy or spinning).
#include <dnnl.hpp>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/thread_pool.h"
#include "models/pose_model.h"

namespace {

using namespace sp;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model = std::string(SP_SOURCE_DIR) + "/assets/models/yolo11n-pose_sp-int8.onnx";
  int imgsz = 0, threads = 2, blocks = 9;
  double block_ms = 4.0;
  std::string isa, only;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") o.model = next();
    else if (a == "--imgsz") o.imgsz = std::stoi(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--isa") o.isa = next();
    else if (a == "--blocks") o.blocks = std::stoi(next());
    else if (a == "--block-ms") o.block_ms = std::stod(next());
    else if (a == "--only") o.only = next();
    else throw Error("unknown option " + a + " (see the header of bench/bench_onednn_conv.cpp)");
  }
  if (o.threads < 1 || o.blocks < 1 || o.block_ms <= 0) throw Error("--threads, --blocks and --block-ms must be positive");
  if (!o.only.empty() && o.only != "f32" && o.only != "s8") throw Error("--only takes f32 or s8");
  return o;
}

bool is_qdq(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") return true;
  return false;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// One layer as both libraries run it: a callable per side on its own buffers.
struct Layer {
  std::string name, shape, kind, ours_kernel, dnnl_impl, check;
  std::function<void()> ours, dnnl;
  double ours_ms = 0, dnnl_ms = 0;    // median run
  double ours_min = 0, dnnl_min = 0;  // fastest run: what each side does when the machine leaves it alone
};

// The common geometry of both descriptor kinds.
template <typename D>
std::string shape_of(const D& d) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s%dx%ds%d %d->%d @%dx%d", d.groups > 1 ? "dw" : "", d.kernel_h, d.kernel_w,
                d.stride_h, d.in_c, d.out_c, d.in_h, d.in_w);
  return buf;
}

template <typename D>
dnnl::convolution_forward::desc conv_desc(const D& d, dt src, dt wei, dt bias, dt dst, bool with_bias) {
  const dnnl::memory::dims src_dims{1, d.in_c, d.in_h, d.in_w}, dst_dims{1, d.out_c, d.out_h(), d.out_w()};
  const dnnl::memory::dims w_dims = d.groups > 1
      ? dnnl::memory::dims{d.groups, d.out_c / d.groups, d.in_c / d.groups, d.kernel_h, d.kernel_w}
      : dnnl::memory::dims{d.out_c, d.in_c, d.kernel_h, d.kernel_w};
  const dnnl::memory::desc src_md(src_dims, src, tag::nhwc), dst_md(dst_dims, dst, tag::nhwc);
  const dnnl::memory::desc w_md(w_dims, wei, tag::any), b_md({d.out_c}, bias, tag::x);
  const dnnl::memory::dims strides{d.stride_h, d.stride_w}, dil{d.dilation_h - 1, d.dilation_w - 1};
  const dnnl::memory::dims pad_l{d.pad_top, d.pad_left}, pad_r{d.pad_bottom, d.pad_right};
  if (with_bias) {
    return {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_md, b_md, dst_md,
            strides, dil, pad_l, pad_r};
  }
  return {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_md, dst_md, strides, dil,
          pad_l, pad_r};
}

// Reorders OIHW (or GOIHW, same bytes) user weights once into the layout the primitive wants.
dnnl::memory reorder_weights(const dnnl::engine& eng, dnnl::stream& s, const dnnl::convolution_forward::primitive_desc& pd,
                             dt type, const void* oihw, int groups) {
  dnnl::memory::desc want = pd.weights_desc();
  dnnl::memory::desc user(want.dims(), type, groups > 1 ? tag::goihw : tag::oihw);
  dnnl::memory src(user, eng, const_cast<void*>(oihw));
  dnnl::memory dst(want, eng);
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
  return dst;
}

// The owner of everything one layer's two callables use.
struct LayerData {
  std::vector<uint8_t> in_u8, out_u8_ours, out_u8_dnnl;
  std::vector<float> in_f32, out_f32_ours, out_f32_dnnl, residual;
  std::unique_ptr<kernels::Conv2dS8> s8;
  std::unique_ptr<kernels::Conv2dF32> f32;
  dnnl::convolution_forward prim;
  std::unordered_map<int, dnnl::memory> args;
};

std::string check_s8(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int64_t diff = 0, clamped = 0;
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    int d = std::abs(int(a[i]) - int(b[i]));
    diff += d != 0;
    worst = std::max(worst, d);
    clamped += a[i] == 0 || a[i] == 255;
  }
  char buf[128];
  if (worst == 0) std::snprintf(buf, sizeof buf, "identical");
  else std::snprintf(buf, sizeof buf, "%s%d step at %.2g%%", worst > 1 ? "**" : "", worst, 100.0 * diff / a.size());
  return std::string(buf) + (clamped * 2 > int64_t(a.size()) ? " (mostly clamped)" : "");
}

std::string check_f32(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(a[i])));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%.1e rel", worst > 1e-3 * scale ? "**" : "", scale > 0 ? worst / scale : worst);
  return buf;
}

void setup_s8(Layer& L, LayerData& D, const ConvOpInfo& info, Isa isa, ThreadPool& pool, const dnnl::engine& eng,
              dnnl::stream& strm, std::mt19937& rng) {
  const kernels::Conv2dS8Desc& d = *info.s8;
  const bool out_u8 = d.output == kernels::QuantOutput::kU8;
  const bool silu = d.activation == kernels::Activation::kSilu;
  const int64_t in_n = int64_t(d.in_h) * d.in_w * d.in_c, out_n = int64_t(d.out_h()) * d.out_w() * d.out_c;
  std::normal_distribution<float> noise(0.0f, 24.0f);
  D.in_u8.resize(in_n);
  for (auto& v : D.in_u8) v = uint8_t(std::clamp(std::lround(d.input_zero_point + noise(rng)), 0L, 255L));
  if (out_u8) {
    D.out_u8_ours.resize(out_n);
    D.out_u8_dnnl.resize(out_n);
  } else {
    D.out_f32_ours.resize(out_n);
    D.out_f32_dnnl.resize(out_n);
  }
  D.s8 = kernels::create_conv2d_s8(d, static_cast<const int8_t*>(info.weights), static_cast<const int32_t*>(info.bias), isa);
  L.ours_kernel = std::string(D.s8->name());
  void* ours_out = out_u8 ? static_cast<void*>(D.out_u8_ours.data()) : static_cast<void*>(D.out_f32_ours.data());
  L.ours = [&D, &pool, ours_out, d] { D.s8->run(D.in_u8.data(), d.in_c, ours_out, d.out_c, &pool); };

  // oneDNN: dst = post_ops(output_scale[o] * (conv(src - zx, w) + bias)) (+ zy), with the factors conv_s8.h
  // defines: requantization m[o] = float(double(sx)*sw[o]/sy) without activation; d[o] = sx*sw[o], then
  // swish, then 1/sy.
  std::vector<float> scales(d.out_c);
  for (int o = 0; o < d.out_c; ++o) {
    scales[o] = out_u8 && !silu ? static_cast<float>(static_cast<double>(d.input_scale) * d.weight_scales[o] / d.output_scale)
                                : d.input_scale * d.weight_scales[o];
  }
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, scales);
  attr.set_zero_points(DNNL_ARG_SRC, 0, {int32_t(d.input_zero_point)});
  if (out_u8) attr.set_zero_points(DNNL_ARG_DST, 0, {int32_t(d.output_zero_point)});
  if (silu) {
    dnnl::post_ops po;
    po.append_eltwise(out_u8 ? static_cast<float>(1.0 / d.output_scale) : 1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
    attr.set_post_ops(po);
  }
  auto cd = conv_desc(d, dt::u8, dt::s8, dt::s32, out_u8 ? dt::u8 : dt::f32, info.bias != nullptr);
  dnnl::convolution_forward::primitive_desc pd(cd, attr, eng);
  L.dnnl_impl = pd.impl_info_str();
  D.prim = dnnl::convolution_forward(pd);
  void* dnnl_out = out_u8 ? static_cast<void*>(D.out_u8_dnnl.data()) : static_cast<void*>(D.out_f32_dnnl.data());
  D.args[DNNL_ARG_SRC] = dnnl::memory(pd.src_desc(), eng, D.in_u8.data());
  D.args[DNNL_ARG_WEIGHTS] = reorder_weights(eng, strm, pd, dt::s8, info.weights, d.groups);
  if (info.bias) D.args[DNNL_ARG_BIAS] = dnnl::memory(pd.bias_desc(), eng, const_cast<void*>(info.bias));
  D.args[DNNL_ARG_DST] = dnnl::memory(pd.dst_desc(), eng, dnnl_out);
  L.dnnl = [&D, &strm] {
    D.prim.execute(strm, D.args);
    strm.wait();
  };
  L.ours();
  L.dnnl();
  L.check = out_u8 ? check_s8(D.out_u8_ours, D.out_u8_dnnl) : check_f32(D.out_f32_ours, D.out_f32_dnnl);
}

dnnl::algorithm eltwise_of(kernels::Activation a) {
  switch (a) {
    case kernels::Activation::kRelu: return dnnl::algorithm::eltwise_relu;
    case kernels::Activation::kSigmoid: return dnnl::algorithm::eltwise_logistic;
    case kernels::Activation::kSilu: return dnnl::algorithm::eltwise_swish;
    default: return dnnl::algorithm::undef;
  }
}

void setup_f32(Layer& L, LayerData& D, const ConvOpInfo& info, Isa isa, ThreadPool& pool, const dnnl::engine& eng,
               dnnl::stream& strm, std::mt19937& rng) {
  const kernels::Conv2dDesc& d = *info.f32;
  const int64_t in_n = int64_t(d.in_h) * d.in_w * d.in_c, out_n = int64_t(d.out_h()) * d.out_w() * d.out_c;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  D.in_f32.resize(in_n);
  for (auto& v : D.in_f32) v = u(rng);
  D.out_f32_ours.resize(out_n);
  D.out_f32_dnnl.resize(out_n);
  if (info.residual) {
    D.residual.resize(out_n);
    for (auto& v : D.residual) v = u(rng);
  }
  D.f32 = kernels::create_conv2d_f32(d, static_cast<const float*>(info.weights), static_cast<const float*>(info.bias), isa);
  L.ours_kernel = std::string(D.f32->name());
  kernels::ConvIO io;
  io.input = D.in_f32.data();
  io.in_pixel_stride = d.in_c;
  io.output = D.out_f32_ours.data();
  io.out_pixel_stride = d.out_c;
  if (info.residual) {
    io.residual = D.residual.data();
    io.residual_pixel_stride = d.out_c;
  }
  L.ours = [&D, &pool, io] { D.f32->run(io, &pool); };

  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  if (eltwise_of(d.activation) != dnnl::algorithm::undef) {
    po.append_eltwise(1.0f, eltwise_of(d.activation), d.activation == kernels::Activation::kSilu ? 1.0f : 0.0f, 0.0f);
  }
  if (info.residual) po.append_sum(1.0f);  // dst = activation(conv + bias) + dst: dst holds the residual
  attr.set_post_ops(po);
  auto cd = conv_desc(d, dt::f32, dt::f32, dt::f32, dt::f32, info.bias != nullptr);
  dnnl::convolution_forward::primitive_desc pd(cd, attr, eng);
  L.dnnl_impl = pd.impl_info_str();
  D.prim = dnnl::convolution_forward(pd);
  D.args[DNNL_ARG_SRC] = dnnl::memory(pd.src_desc(), eng, D.in_f32.data());
  D.args[DNNL_ARG_WEIGHTS] = reorder_weights(eng, strm, pd, dt::f32, info.weights, d.groups);
  if (info.bias) D.args[DNNL_ARG_BIAS] = dnnl::memory(pd.bias_desc(), eng, const_cast<void*>(info.bias));
  D.args[DNNL_ARG_DST] = dnnl::memory(pd.dst_desc(), eng, D.out_f32_dnnl.data());
  // Timed runs keep summing into dst (the values grow linearly, no special values): the time of the sum
  // post-op is what matters there. The check below starts from the residual.
  L.dnnl = [&D, &strm] {
    D.prim.execute(strm, D.args);
    strm.wait();
  };
  if (info.residual) D.out_f32_dnnl = D.residual;
  L.ours();
  L.dnnl();
  L.check = check_f32(D.out_f32_ours, D.out_f32_dnnl);
}

// Every run timed on its own, in blocks that alternate between the sides: per side the median and the
// fastest run (ms); CPU/wall per side accumulated.
void time_layer(Layer& L, const Options& o, double cpu_wall[2][2]) {
  auto once_ms = [](const std::function<void()>& f) {
    auto t0 = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  // Runs per block from one warm run of each side.
  const double single = std::max({once_ms(L.ours), once_ms(L.dnnl), 1e-3});
  const int runs = std::max(3, int(std::ceil(o.block_ms / single)));
  std::vector<double> t[2];
  for (int b = 0; b < o.blocks; ++b) {
    for (int k = 0; k < 2; ++k) {
      const int side = (b + k) % 2;  // 0 ours, 1 oneDNN; who goes first alternates
      const auto& f = side == 0 ? L.ours : L.dnnl;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the other side's spinning threads sleep
      f();                                                          // wake-up run, not timed
      const double c0 = cpu_seconds();
      const auto t0 = Clock::now();
      auto prev = t0;
      for (int r = 0; r < runs; ++r) {
        f();
        const auto now = Clock::now();
        t[side].push_back(std::chrono::duration<double, std::milli>(now - prev).count());
        prev = now;
      }
      cpu_wall[side][0] += cpu_seconds() - c0;
      cpu_wall[side][1] += std::chrono::duration<double>(prev - t0).count();
    }
  }
  for (auto& v : t) std::sort(v.begin(), v.end());
  L.ours_ms = t[0][t[0].size() / 2];
  L.dnnl_ms = t[1][t[1].size() / 2];
  L.ours_min = t[0].front();
  L.dnnl_min = t[1].front();
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env && std::atoi(env) != o.threads) {
    std::fprintf(stderr, "bench_onednn_conv: OMP_NUM_THREADS=%s differs from --threads %d; using %d for both\n", env,
                 o.threads, o.threads);
  }
  omp_set_num_threads(o.threads);

  Graph g = models::load_pose_graph(o.model);
  models::PoseModelOptions mo;
  mo.threads = o.threads;
  mo.isa = resolve_isa(o.isa);
  mo.imgsz = o.imgsz;
  mo.integer = is_qdq(g);
  models::PoseModel model(g, mo);
  const Session& s = model.session();

  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  ThreadPool pool(o.threads);
  std::mt19937 rng(12345);
  std::vector<Layer> layers;
  std::vector<std::unique_ptr<LayerData>> data;
  for (size_t i = 0; i < s.num_ops(); ++i) {
    const ConvOpInfo* info = s.op(i).conv_info();
    if (!info || (o.only == "f32" && !info->f32) || (o.only == "s8" && !info->s8)) continue;
    Layer L;
    L.name = s.op(i).node_name;
    data.push_back(std::make_unique<LayerData>());
    try {
      if (info->s8) {
        L.kind = "int8";
        L.shape = shape_of(*info->s8);
        setup_s8(L, *data.back(), *info, s.isa(), pool, eng, strm, rng);
      } else {
        // Convs a model marks bf16 run our bf16 kernel in the Session; this tool times them as fp32 on both
        // sides (no bf16 comparison yet) and says so, so that they are summed apart from the real fp32 convs.
        const bool bf16_in_model = s.op(i).kernel().find("bf16") != std::string::npos;
        L.kind = bf16_in_model ? "fp32 (bf16 in the model)" : "fp32";
        L.shape = shape_of(*info->f32);
        setup_f32(L, *data.back(), *info, s.isa(), pool, eng, strm, rng);
      }
    } catch (const dnnl::error& e) {
      std::fprintf(stderr, "bench_onednn_conv: %s (%s): oneDNN: %s\n", L.name.c_str(), L.shape.c_str(), e.what());
      return 1;
    }
    layers.push_back(std::move(L));
  }
  if (layers.empty()) throw Error(o.model + ": no convolution to compare");

  double cpu_wall[2][2] = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < layers.size(); ++i) {
    time_layer(layers[i], o, cpu_wall);
    if (isatty(2)) std::fprintf(stderr, "\r%zu/%zu layers timed", i + 1, layers.size());
  }
  if (isatty(2)) std::fprintf(stderr, "\n");

  const CpuFeatures& cpu = detect_cpu();
  std::printf("model %s, %dx%d, %s engine; ours: --isa %s, %d pool threads; oneDNN %d.%d.%d: %d OpenMP threads "
              "(omp_get_max_threads)\n",
              o.model.c_str(), model.input_width(), model.input_height(), mo.integer ? "int8" : "fp32",
              std::string(isa_name(s.isa())).c_str(), pool.num_threads(), dnnl_version()->major,
              dnnl_version()->minor, dnnl_version()->patch, omp_get_max_threads());
  std::printf("CPU %s; features: %s\n", cpu.brand.c_str(), cpu_feature_string(cpu).c_str());
  std::printf("CPU time / wall time while timed: ours %.2f, oneDNN %.2f\n\n", cpu_wall[0][0] / cpu_wall[0][1],
              cpu_wall[1][0] / cpu_wall[1][1]);
  std::printf("| # | layer | type | shape | ours kernel | ours ms | oneDNN ms | ours/oneDNN | ours fastest | oneDNN fastest | "
              "ours/oneDNN fastest | oneDNN impl | output check |\n");
  std::printf("|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n");
  struct Sum {
    size_t n = 0;
    double ours = 0, dnnl = 0, ours_min = 0, dnnl_min = 0;
  };
  std::map<std::string, Sum> sums;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& L = layers[i];
    std::printf("| %zu | %s | %s | %s | %s | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f | %s | %s |\n", i, L.name.c_str(),
                L.kind.c_str(), L.shape.c_str(), L.ours_kernel.c_str(), L.ours_ms, L.dnnl_ms, L.ours_ms / L.dnnl_ms,
                L.ours_min, L.dnnl_min, L.ours_min / L.dnnl_min, L.dnnl_impl.c_str(), L.check.c_str());
    for (const std::string& k : {L.kind, std::string("all")}) {
      Sum& x = sums[k];
      x.n += 1;
      x.ours += L.ours_ms;
      x.dnnl += L.dnnl_ms;
      x.ours_min += L.ours_min;
      x.dnnl_min += L.dnnl_min;
    }
  }
  std::printf("\n| convs | count | ours ms | oneDNN ms | ours/oneDNN | ours ms, fastest runs | oneDNN ms, fastest runs | ours/oneDNN |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& [k, v] : sums) {
    std::printf("| %s | %zu | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f |\n", k.c_str(), v.n, v.ours, v.dnnl, v.ours / v.dnnl,
                v.ours_min, v.dnnl_min, v.ours_min / v.dnnl_min);
  }
  // Ranked by the fastest runs: on a shared machine one preemption inside a multi-millisecond layer moves its
  // median by a whole scheduler slice, which would decide the ranking; the fastest run is what the kernel costs.
  std::vector<const Layer*> worst;
  for (const Layer& L : layers) worst.push_back(&L);
  std::sort(worst.begin(), worst.end(),
            [](const Layer* a, const Layer* b) { return a->ours_min - a->dnnl_min > b->ours_min - b->dnnl_min; });
  std::printf("\nWorst layers (ours - oneDNN, fastest runs, ms):\n\n| layer | type | shape | ours ms | oneDNN ms | ours/oneDNN | "
              "lost ms | ours median | oneDNN median |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < std::min<size_t>(8, worst.size()); ++i) {
    const Layer& L = *worst[i];
    std::printf("| %s | %s | %s | %.3f | %.3f | %.2f | %.3f | %.3f | %.3f |\n", L.name.c_str(), L.kind.c_str(),
                L.shape.c_str(), L.ours_min, L.dnnl_min, L.ours_min / L.dnnl_min, L.ours_min - L.dnnl_min, L.ours_ms,
                L.dnnl_ms);
  }
  std::printf("\nTimes: the median run of %d alternating blocks per side (>= %.1f ms per block, every run timed); "
              "\"fastest runs\": the sum of each layer's fastest run. Output check: int8 the largest difference in u8 steps and the "
              "share of outputs that differ, fp32 max |diff| / max |output|; ** marks more than 1 step or 1e-3.\n",
              o.blocks, o.block_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_onednn_conv: %s\n", e.what());
    return 1;
  }
}
