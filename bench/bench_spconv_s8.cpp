// Sparse against dense integer convolution on the int8 conv layers of YOLO11n-pose at 640x640 (the
// bundled yolo11n-pose_sp-int8.onnx: the 79 non-depthwise QConv nodes that `sparsepose bench --engine int8
// --profile` lists, with their pixel strides, u8/float outputs and SiLU), 1 thread, per ISA.
//
// Weights are random s8 pruned to each sparsity in three patterns: "b" (1x4 blocks) zeroes aligned groups
// of 4 input channels of one tap of one output channel (the VNNI skip unit), "q" (4x4 blocks) the same
// group in 4 consecutive output channels, "u" (unstructured) single weights.
// Dense (create_conv2d_s8 at the same ISA) and every sparse configuration of a layer are interleaved in
// one process, timed in thread CPU time: each round times every configuration once (order rotated per round) for at least --min-ms;
// the table shows the median over rounds (and the sum of per-layer minimums). Speed-up = dense / sparse.
//
//   bench_spconv_s8 [--isa avx512vnni,avxvnni,avx2] [--rounds 5] [--min-ms 2] [--filter SUBSTR]
//                   [--sparsity 0,0.3,0.5,0.7,0.9] [--patterns 1x4,4x4,unstructured] [--tile N] [--block B]
//                   [--band-bytes N] [--csv FILE] [--threads N]   (N > 1: a thread pool, wall-clock time)
//                   [--iters N]   (fixed iterations, no rounds: for valgrind --tool=callgrind)
//
// Depthwise layers are not listed: they stay on the dense kernel (create_sparse_conv2d_s8 rejects them).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/spconv_s8/spconv_s8.h"
#include "core/thread_pool.h"

namespace {

using namespace sp::kernels;

struct Layer {
  const char* name;  // node name without "/model." and "/conv/Conv"
  int hw, in_c, out_c, k, stride, pad;
  int ips, ops;  // pixel strides of the input and output buffers (concat slices)
  int u8, silu;
};

// From the bundled int8 model at 640 (in_h = in_w = hw).
const Layer kLayers[] = {
    {"0", 640, 3, 16, 3, 2, 1, 3, 16, 0, 1},
    {"2/m.0/cv2", 160, 8, 16, 3, 1, 1, 8, 16, 0, 1},
    {"2/cv2", 160, 48, 64, 1, 1, 0, 48, 64, 1, 1},
    {"3", 160, 64, 64, 3, 2, 1, 64, 64, 1, 1},
    {"4/cv1", 80, 64, 64, 1, 1, 0, 64, 96, 1, 1},
    {"4/m.0/cv1", 80, 32, 16, 3, 1, 1, 96, 16, 1, 1},
    {"4/m.0/cv2", 80, 16, 32, 3, 1, 1, 16, 32, 0, 1},
    {"6/cv1", 40, 128, 128, 1, 1, 0, 128, 192, 1, 1},
    {"6/m.0/cv1", 40, 64, 32, 1, 1, 0, 192, 32, 1, 1},
    {"6/m.0/cv2", 40, 64, 32, 1, 1, 0, 192, 64, 1, 1},
    {"6/m.0/m/m.0/cv1", 40, 32, 32, 3, 1, 1, 32, 32, 1, 1},
    {"6/m.0/m/m.0/cv2", 40, 32, 32, 3, 1, 1, 32, 32, 0, 1},
    {"6/m.0/m/m.1/cv1", 40, 32, 32, 3, 1, 1, 32, 32, 1, 1},
    {"6/m.0/m/m.1/cv2", 40, 32, 32, 3, 1, 1, 32, 32, 0, 1},
    {"6/m.0/cv3", 40, 64, 64, 1, 1, 0, 64, 192, 1, 1},
    {"6/cv2", 40, 192, 128, 1, 1, 0, 192, 384, 1, 1},
    {"7", 40, 128, 256, 3, 2, 1, 384, 256, 1, 1},
    {"8/cv1", 20, 256, 256, 1, 1, 0, 256, 384, 1, 1},
    {"8/m.0/cv1", 20, 128, 64, 1, 1, 0, 384, 64, 1, 1},
    {"8/m.0/cv2", 20, 128, 64, 1, 1, 0, 384, 128, 1, 1},
    {"8/m.0/m/m.0/cv1", 20, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"8/m.0/m/m.0/cv2", 20, 64, 64, 3, 1, 1, 64, 64, 0, 1},
    {"8/m.0/m/m.1/cv1", 20, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"8/m.0/m/m.1/cv2", 20, 64, 64, 3, 1, 1, 64, 64, 0, 1},
    {"8/m.0/cv3", 20, 128, 128, 1, 1, 0, 128, 384, 1, 1},
    {"8/cv2", 20, 384, 256, 1, 1, 0, 384, 256, 1, 1},
    {"9/cv1", 20, 256, 128, 1, 1, 0, 256, 512, 1, 1},
    {"9/cv2", 20, 512, 256, 1, 1, 0, 512, 256, 1, 1},
    {"10/cv1", 20, 256, 256, 1, 1, 0, 256, 256, 1, 1},
    {"10/m/m.0/attn/qkv", 20, 128, 256, 1, 1, 0, 256, 256, 0, 0},
    {"10/m/m.0/attn/proj", 20, 128, 128, 1, 1, 0, 128, 128, 0, 0},
    {"10/m/m.0/ffn/ffn.0", 20, 128, 256, 1, 1, 0, 128, 256, 1, 1},
    {"10/m/m.0/ffn/ffn.1", 20, 256, 128, 1, 1, 0, 256, 128, 0, 0},
    {"10/cv2", 20, 256, 256, 1, 1, 0, 256, 384, 1, 1},
    {"13/m.0/cv1", 40, 64, 32, 3, 1, 1, 192, 32, 1, 1},
    {"13/m.0/cv2", 40, 32, 64, 3, 1, 1, 32, 64, 0, 1},
    {"13/cv2", 40, 192, 128, 1, 1, 0, 192, 192, 0, 1},
    {"16/m.0/cv1", 80, 32, 16, 3, 1, 1, 96, 16, 1, 1},
    {"16/m.0/cv2", 80, 16, 32, 3, 1, 1, 16, 32, 0, 1},
    {"16/cv2", 80, 96, 64, 1, 1, 0, 96, 64, 1, 1},
    {"17", 80, 64, 64, 3, 2, 1, 64, 192, 0, 1},
    {"23/cv2.0/cv2.0.0", 80, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"23/cv4.0/cv4.0.0", 80, 64, 51, 3, 1, 1, 64, 51, 1, 1},
    {"23/cv2.0/cv2.0.1", 80, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"23/cv3.0/cv3.0.0/cv3.0.0.1", 80, 64, 64, 1, 1, 0, 64, 64, 1, 1},
    {"23/cv4.0/cv4.0.1", 80, 51, 51, 3, 1, 1, 51, 51, 1, 1},
    {"23/cv2.0/cv2.0.2", 80, 64, 64, 1, 1, 0, 64, 64, 0, 0},
    {"23/cv4.0/cv4.0.2", 80, 51, 51, 1, 1, 0, 51, 51, 0, 0},
    {"19/m.0/cv1", 40, 64, 32, 3, 1, 1, 192, 32, 1, 1},
    {"23/cv3.0/cv3.0.1/cv3.0.1.1", 80, 64, 64, 1, 1, 0, 64, 64, 1, 1},
    {"19/m.0/cv2", 40, 32, 64, 3, 1, 1, 32, 64, 0, 1},
    {"23/cv3.0/cv3.0.2", 80, 64, 1, 1, 1, 0, 64, 1, 0, 0},
    {"20", 40, 128, 128, 3, 2, 1, 128, 384, 1, 1},
    {"23/cv2.1/cv2.1.0", 40, 128, 64, 3, 1, 1, 128, 64, 1, 1},
    {"23/cv4.1/cv4.1.0", 40, 128, 51, 3, 1, 1, 128, 51, 1, 1},
    {"23/cv2.1/cv2.1.1", 40, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"23/cv3.1/cv3.1.0/cv3.1.0.1", 40, 128, 64, 1, 1, 0, 128, 64, 1, 1},
    {"23/cv4.1/cv4.1.1", 40, 51, 51, 3, 1, 1, 51, 51, 1, 1},
    {"22/cv1", 20, 384, 256, 1, 1, 0, 384, 384, 1, 1},
    {"23/cv2.1/cv2.1.2", 40, 64, 64, 1, 1, 0, 64, 64, 0, 0},
    {"23/cv4.1/cv4.1.2", 40, 51, 51, 1, 1, 0, 51, 51, 0, 0},
    {"22/m.0/cv1", 20, 128, 64, 1, 1, 0, 384, 64, 1, 1},
    {"22/m.0/cv2", 20, 128, 64, 1, 1, 0, 384, 128, 1, 1},
    {"23/cv3.1/cv3.1.1/cv3.1.1.1", 40, 64, 64, 1, 1, 0, 64, 64, 1, 1},
    {"22/m.0/m/m.0/cv1", 20, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"23/cv3.1/cv3.1.2", 40, 64, 1, 1, 1, 0, 64, 1, 0, 0},
    {"22/m.0/m/m.0/cv2", 20, 64, 64, 3, 1, 1, 64, 64, 0, 1},
    {"22/m.0/m/m.1/cv1", 20, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"22/m.0/m/m.1/cv2", 20, 64, 64, 3, 1, 1, 64, 64, 0, 1},
    {"22/m.0/cv3", 20, 128, 128, 1, 1, 0, 128, 384, 1, 1},
    {"22/cv2", 20, 384, 256, 1, 1, 0, 384, 256, 1, 1},
    {"23/cv2.2/cv2.2.0", 20, 256, 64, 3, 1, 1, 256, 64, 1, 1},
    {"23/cv4.2/cv4.2.0", 20, 256, 51, 3, 1, 1, 256, 51, 1, 1},
    {"23/cv2.2/cv2.2.1", 20, 64, 64, 3, 1, 1, 64, 64, 1, 1},
    {"23/cv3.2/cv3.2.0/cv3.2.0.1", 20, 256, 64, 1, 1, 0, 256, 64, 1, 1},
    {"23/cv4.2/cv4.2.1", 20, 51, 51, 3, 1, 1, 51, 51, 1, 1},
    {"23/cv2.2/cv2.2.2", 20, 64, 64, 1, 1, 0, 64, 64, 0, 0},
    {"23/cv4.2/cv4.2.2", 20, 51, 51, 1, 1, 0, 51, 51, 0, 0},
    {"23/cv3.2/cv3.2.1/cv3.2.1.1", 20, 64, 64, 1, 1, 0, 64, 64, 0, 1},
};

enum class Pattern { kBlock4, kBlock4x4, kUnstructured };

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string pattern_letter(Pattern p) { return p == Pattern::kBlock4 ? "b" : p == Pattern::kBlock4x4 ? "q" : "u"; }
const char* pattern_name(Pattern p) { return p == Pattern::kBlock4 ? "1x4" : p == Pattern::kBlock4x4 ? "4x4" : "unstructured"; }

const char* layer_type(const Layer& l) {
  if (l.in_c < 4) return "first (in_c 3)";
  if (l.k == 1) return "1x1 s1";
  return l.stride == 1 ? "3x3 s1" : "3x3 s2";
}

Conv2dS8Desc make_desc(const Layer& l) {
  Conv2dS8Desc d;
  d.in_h = d.in_w = l.hw, d.in_c = l.in_c, d.out_c = l.out_c;
  d.kernel_h = d.kernel_w = l.k, d.stride_h = d.stride_w = l.stride;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = l.pad;
  d.input_scale = 0.02f, d.input_zero_point = 3;
  d.weight_scales.assign(l.out_c, 0.01f);
  d.output = l.u8 ? QuantOutput::kU8 : QuantOutput::kF32;
  d.output_scale = 0.05f, d.output_zero_point = 10;
  d.activation = l.silu ? Activation::kSilu : Activation::kNone;
  return d;
}

// Random nonzero s8 weights, then `sparsity` of the 4-along-K blocks or of the single weights zeroed.
std::vector<int8_t> make_weights(const Layer& l, Pattern pat, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int taps = l.k * l.k;
  std::vector<int8_t> w(static_cast<size_t>(l.out_c) * l.in_c * taps);
  for (auto& v : w) {
    v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    if (v == 0) v = 1;
  }
  if (pat == Pattern::kUnstructured) {
    for (auto& v : w)
      if (u(rng) < sparsity) v = 0;
  } else if (pat == Pattern::kBlock4x4) {
    for (int o0 = 0; o0 < l.out_c; o0 += 4)
      for (int t = 0; t < taps; ++t)
        for (int c0 = 0; c0 < l.in_c; c0 += 4)
          if (u(rng) < sparsity)
            for (int o = o0; o < o0 + 4 && o < l.out_c; ++o)
              for (int c = c0; c < c0 + 4 && c < l.in_c; ++c) w[(static_cast<size_t>(o) * l.in_c + c) * taps + t] = 0;
  } else {
    for (int o = 0; o < l.out_c; ++o)
      for (int t = 0; t < taps; ++t)
        for (int c0 = 0; c0 < l.in_c; c0 += 4)
          if (u(rng) < sparsity)
            for (int c = c0; c < c0 + 4 && c < l.in_c; ++c) w[(static_cast<size_t>(o) * l.in_c + c) * taps + t] = 0;
  }
  return w;
}

struct Config {
  std::string label;  // "dense", "b50", "u70", ...
  Pattern pattern = Pattern::kBlock4;
  double sparsity = 0;
  bool dense = false;
  std::unique_ptr<Conv2dS8> conv;
  std::vector<double> ms;  // per round
  double unit_sparsity = 0;
};

// With 1 thread, CPU time of this thread: on a shared machine the process is often descheduled for whole
// time slices, which wall-clock time would count, and the kernel runs on this thread only. With a pool,
// wall-clock time (the other threads' work would not show in this thread's clock).
bool g_wall_clock = false;
double now_ms() {
  timespec ts;
  clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The sparsity at which sparse and dense take the same time, linearly interpolated between the measured
// levels of one pattern; -1 if sparse never catches up, 0 if it is faster already at the first level.
double crossover(const std::vector<double>& levels, const std::vector<double>& speedup) {
  for (size_t i = 0; i < levels.size(); ++i) {
    if (speedup[i] < 1.0) continue;
    if (i == 0) return 0.0;
    const double a = speedup[i - 1], b = speedup[i];
    return levels[i - 1] + (levels[i] - levels[i - 1]) * (1.0 - a) / (b - a);
  }
  return -1.0;
}

std::string fmt_cross(double c) {
  char buf[32];
  if (c < 0) return "never";
  std::snprintf(buf, sizeof buf, "%.0f %%", c * 100);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> isas = {"avx512vnni", "avxvnni", "avx2"};
  std::vector<double> levels = {0.0, 0.3, 0.5, 0.7, 0.9};
  std::vector<Pattern> patterns = {Pattern::kBlock4, Pattern::kBlock4x4, Pattern::kUnstructured};
  int rounds = 5, fixed_iters = 0, threads = 1;
  double min_ms = 2.0;
  std::string filter, csv_path;
  SparseConvS8Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_spconv_s8: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--isa") isas = split(next());
    else if (a == "--rounds") rounds = std::max(1, std::atoi(next().c_str()));
    else if (a == "--min-ms") min_ms = std::atof(next().c_str());
    else if (a == "--iters") fixed_iters = std::max(1, std::atoi(next().c_str()));
    else if (a == "--threads") threads = std::max(1, std::atoi(next().c_str()));
    else if (a == "--filter") filter = next();
    else if (a == "--tile") opt.tile_pixels = std::atoi(next().c_str());
    else if (a == "--block") opt.out_block = std::atoi(next().c_str());
    else if (a == "--band-bytes") opt.band_bytes = std::atoll(next().c_str());
    else if (a == "--csv") csv_path = next();
    else if (a == "--sparsity") {
      levels.clear();
      for (const auto& s : split(next())) levels.push_back(std::atof(s.c_str()));
    } else if (a == "--patterns") {
      patterns.clear();
      for (const auto& s : split(next()))
        patterns.push_back(s == "unstructured" ? Pattern::kUnstructured : s == "4x4" ? Pattern::kBlock4x4 : Pattern::kBlock4);
    } else {
      std::fprintf(stderr, "bench_spconv_s8: unknown option %s (see the comment at the top of bench_spconv_s8.cpp)\n", a.c_str());
      return 2;
    }
  }
  if (fixed_iters) rounds = 1;
  std::unique_ptr<sp::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<sp::ThreadPool>(threads), g_wall_clock = true;
  std::ofstream csv;
  if (!csv_path.empty()) {
    csv.open(csv_path);
    csv << "isa,layer,type,config,pattern,sparsity,unit_sparsity,median_ms,min_ms,dense_median_ms\n";
  }
  std::printf("# bench_spconv_s8: YOLO11n-pose 640 int8 convs, %d thread(s) (%s time), %d rounds (median; min summed), CPU %s\n",
              threads, g_wall_clock ? "wall" : "thread CPU", rounds, sp::detect_cpu().brand.c_str());

  for (const std::string& isa_s : isas) {
    sp::Isa isa;
    try {
      isa = sp::parse_isa(isa_s);
    } catch (const sp::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
    if (!sp::isa_supported(isa)) {
      std::printf("\n## %s: not supported by this CPU, skipped\n", isa_s.c_str());
      continue;
    }
    // Column order: dense, then per pattern each level.
    std::vector<std::string> labels = {"dense"};
    for (Pattern pat : patterns)
      for (double s : levels) labels.push_back(pattern_letter(pat) + std::to_string(static_cast<int>(std::lround(s * 100))));
    std::vector<double> sum_med(labels.size(), 0.0), sum_min(labels.size(), 0.0);
    struct TypeSums { std::string type; std::vector<double> med; };
    std::vector<TypeSums> type_sums;
    std::string dense_name, sparse_name;

    std::printf("\n## %s\n\n| layer | shape | dense ms | sparse ms b0 |", isa_s.c_str());
    for (size_t c = 1; c < labels.size(); ++c) std::printf(" %s |", labels[c].c_str());
    for (Pattern pat : patterns) std::printf(" crossover %s |", pattern_name(pat));
    std::printf("\n|---|---|---:|---:|");
    for (size_t c = 1; c < labels.size() + patterns.size(); ++c) std::printf("---:|");
    std::printf("\n");

    for (const Layer& l : kLayers) {
      if (!filter.empty() && std::string(l.name).find(filter) == std::string::npos) continue;
      const Conv2dS8Desc d = make_desc(l);
      std::mt19937 rng(42);
      std::vector<uint8_t> in(static_cast<size_t>(l.hw) * l.hw * l.ips);
      for (auto& v : in) v = static_cast<uint8_t>(rng() % 256);
      const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
      std::vector<uint8_t> out(static_cast<size_t>(pixels) * l.ops * (l.u8 ? 1 : 4));
      std::vector<int32_t> bias(l.out_c, 100);
      std::vector<Config> cfgs;
      {
        Config c;
        c.label = "dense", c.dense = true;
        const auto w = make_weights(l, Pattern::kBlock4, 0.0, 7);
        c.conv = create_conv2d_s8(d, w.data(), bias.data(), isa);
        dense_name = std::string(c.conv->name());
        cfgs.push_back(std::move(c));
      }
      for (Pattern pat : patterns)
        for (double s : levels) {
          Config c;
          c.label = pattern_letter(pat) + std::to_string(static_cast<int>(std::lround(s * 100)));
          c.pattern = pat, c.sparsity = s;
          const auto w = make_weights(l, pat, s, 7);
          c.conv = create_sparse_conv2d_s8(d, w.data(), bias.data(), isa, opt);
          c.unit_sparsity = sparse_conv2d_s8_stats(d, w.data(), isa).unit_sparsity();
          sparse_name = std::string(c.conv->name());
          cfgs.push_back(std::move(c));
        }
      // Iterations per timing: enough for min_ms, from one warm-up run of the dense kernel.
      int iters = fixed_iters;
      if (!iters) {
        for (auto& c : cfgs) c.conv->run(in.data(), l.ips, out.data(), l.ops, pool.get());  // warm-up
        const double t0 = now_ms();
        cfgs[0].conv->run(in.data(), l.ips, out.data(), l.ops, pool.get());
        const double one = std::max(1e-4, now_ms() - t0);
        iters = std::max(1, static_cast<int>(std::ceil(min_ms / one)));
      }
      for (int r = 0; r < rounds; ++r)
        for (size_t k = 0; k < cfgs.size(); ++k) {
          Config& c = cfgs[(k + r) % cfgs.size()];  // rotated order
          const double t0 = now_ms();
          for (int it = 0; it < iters; ++it) c.conv->run(in.data(), l.ips, out.data(), l.ops, pool.get());
          c.ms.push_back((now_ms() - t0) / iters);
        }
      const double dense_med = median(cfgs[0].ms);
      char shape[96];
      std::snprintf(shape, sizeof shape, "%dx%d %dx%d s%d %d->%d%s", l.hw, l.hw, l.k, l.k, l.stride, l.in_c, l.out_c,
                    l.u8 ? "" : " f32");
      std::printf("| %s | %s | %.3f | %.3f |", l.name, shape, dense_med, median(cfgs[1].ms));
      auto ts = std::find_if(type_sums.begin(), type_sums.end(), [&](const TypeSums& t) { return t.type == layer_type(l); });
      if (ts == type_sums.end()) {
        type_sums.push_back({layer_type(l), std::vector<double>(labels.size(), 0.0)});
        ts = type_sums.end() - 1;
      }
      for (size_t c = 0; c < cfgs.size(); ++c) {
        const double med = median(cfgs[c].ms), mn = *std::min_element(cfgs[c].ms.begin(), cfgs[c].ms.end());
        sum_med[c] += med, sum_min[c] += mn, ts->med[c] += med;
        if (c > 0) std::printf(" %.2fx |", dense_med / med);
        if (csv.is_open())
          csv << isa_s << "," << l.name << "," << layer_type(l) << "," << cfgs[c].label << ","
              << (cfgs[c].dense ? "dense" : pattern_name(cfgs[c].pattern)) << ","
              << cfgs[c].sparsity << "," << cfgs[c].unit_sparsity << "," << med << "," << mn << "," << dense_med << "\n";
      }
      for (size_t pi = 0; pi < patterns.size(); ++pi) {
        std::vector<double> sp;
        for (size_t li = 0; li < levels.size(); ++li) sp.push_back(dense_med / median(cfgs[1 + pi * levels.size() + li].ms));
        std::printf(" %s |", fmt_cross(crossover(levels, sp)).c_str());
      }
      std::printf("\n");
      std::fflush(stdout);
    }
    std::printf("| **sum (median)** | | **%.3f** | %.3f |", sum_med[0], sum_med[1]);
    for (size_t c = 1; c < labels.size(); ++c) std::printf(" %.2fx |", sum_med[0] / sum_med[c]);
    for (size_t pi = 0; pi < patterns.size(); ++pi) {
      std::vector<double> sp;
      for (size_t li = 0; li < levels.size(); ++li) sp.push_back(sum_med[0] / sum_med[1 + pi * levels.size() + li]);
      std::printf(" %s |", fmt_cross(crossover(levels, sp)).c_str());
    }
    std::printf("\n| sum (min) | | %.3f | %.3f |", sum_min[0], sum_min[1]);
    for (size_t c = 1; c < labels.size(); ++c) std::printf(" %.2fx |", sum_min[0] / sum_min[c]);
    for (size_t pi = 0; pi < patterns.size(); ++pi) std::printf(" |");
    std::printf("\n");
    std::printf("\nkernels: dense %s, sparse %s. Sum in ms per configuration (median):", dense_name.c_str(), sparse_name.c_str());
    for (size_t c = 0; c < labels.size(); ++c) std::printf(" %s %.2f%s", labels[c].c_str(), sum_med[c], c + 1 < labels.size() ? "," : "\n");
    std::printf("\nPer layer type (sum of medians; speed-up dense/sparse; crossover):\n\n| type | dense ms |");
    for (size_t c = 1; c < labels.size(); ++c) std::printf(" %s |", labels[c].c_str());
    for (Pattern pat : patterns) std::printf(" crossover %s |", pattern_name(pat));
    std::printf("\n|---|---:|");
    for (size_t c = 1; c < labels.size() + patterns.size(); ++c) std::printf("---:|");
    std::printf("\n");
    for (const TypeSums& t : type_sums) {
      std::printf("| %s | %.3f |", t.type.c_str(), t.med[0]);
      for (size_t c = 1; c < labels.size(); ++c) std::printf(" %.2fx |", t.med[0] / t.med[c]);
      for (size_t pi = 0; pi < patterns.size(); ++pi) {
        std::vector<double> sp;
        for (size_t li = 0; li < levels.size(); ++li) sp.push_back(t.med[0] / t.med[1 + pi * levels.size() + li]);
        std::printf(" %s |", fmt_cross(crossover(levels, sp)).c_str());
      }
      std::printf("\n");
    }
  }
  return 0;
}
