// Dense against sparse float convolution on the conv layers of YOLO11n-pose at 640x640, with weights
// magnitude-pruned to the requested sparsities and patterns. Prints one markdown table per ISA and pattern
// (ms per layer, dense and sparse, and the ratio dense / sparse) and the sum over the model's layers.
//
//   bench_spconv_f32 [--isa avx2,avx512] [--sparsity 0.5,0.7,0.9] [--pattern unstructured,oc4,oc8,k4]
//                    [--layers all|i,j,...] [--reps 7] [--min-ms 15] [--group R[,R...]] [--threads 1] [--csv FILE]
//                    [--io nhwc|planar|planar-in|planar-out] [--out-halo 1] [--chunks K[,K...]]
//
// --chunks: the sparse kernels' reduction chunks (SparseConvOptions::reduction_chunks; 0, the default:
// the kernel's own choice). Several (--chunks 1,0) time each as its own column, alternating in one process.
//
// --group: the output-channel group size of the sparse kernels (0, the default: the cost model's pick).
// Several (--group 0,2,4,6) time each as its own column, alternating in one process, and add the sum of
// the fastest group per layer: what the cost model's pick leaves on the table on this CPU.
//
// --io planar: the sparse layers exchange planar tensors (spconv_f32.h, PlanarLayout), as consecutive
// sparse layers would: each reads its input planar where it can (stride 1, its padding as the halo; a
// strided layer still packs from NHWC) and writes its output planar with --out-halo. The dense layers
// stay NHWC, their own layout: the ratio is what a chain of sparse layers saves over the dense kernels.
// planar-in / planar-out: only that side planar (where the cost of each side is). In these modes every
// sparsity is timed both with NHWC and with the planar I/O, alternating in one process, so the two
// columns compare under the same machine noise.
//
// Timing: dense and sparse runs of a layer alternate in the same process (dense, then each sparsity, repeated
// --reps times), each measurement a batch of runs lasting at least --min-ms; the tables show the median of
// the batches and the ratio of medians (the CSV also has the minimum). With one thread the clock is the
// thread's CPU time, which a shared machine disturbs less than wall time (it still counts time lost to
// an SMT sibling); with more threads it is wall time. Depthwise layers are left out: they stay dense.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/yolo11n_pose_convs.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/spconv_f32/spconv_f32.h"
#include "core/thread_pool.h"

namespace {

using sp::kernels::Activation;
using sp::kernels::Conv2dDesc;
using sp::kernels::Conv2dF32;
using sp::kernels::ConvIO;
using sp_bench::kLayers;
using sp_bench::kNumLayers;
using sp_bench::LayerShape;

struct Options {
  std::vector<sp::Isa> isas;
  std::vector<double> sparsities = {0.5, 0.7, 0.9};
  std::vector<std::string> patterns = {"unstructured"};
  std::vector<int> layers;  // empty: all
  int reps = 7;
  double min_ms = 15;
  std::vector<int> groups = {0};
  std::vector<int> chunks = {0};
  int threads = 1;
  std::string csv;
  bool planar_in = false, planar_out = false;
  int out_halo = 1;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(',', i), s.size());
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw sp::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--isa") {
      for (const std::string& s : split(next())) o.isas.push_back(sp::parse_isa(s));
    } else if (a == "--sparsity") {
      o.sparsities.clear();
      for (const std::string& s : split(next())) o.sparsities.push_back(std::stod(s));
    } else if (a == "--pattern") {
      o.patterns = split(next());
    } else if (a == "--layers") {
      const std::string v = next();
      if (v != "all")
        for (const std::string& s : split(v)) o.layers.push_back(std::stoi(s));
    } else if (a == "--reps") {
      o.reps = std::stoi(next());
    } else if (a == "--min-ms") {
      o.min_ms = std::stod(next());
    } else if (a == "--chunks") {
      o.chunks.clear();
      for (const std::string& s : split(next())) o.chunks.push_back(std::stoi(s));
    } else if (a == "--group") {
      o.groups.clear();
      for (const std::string& s : split(next())) o.groups.push_back(std::stoi(s));
    } else if (a == "--threads") {
      o.threads = std::stoi(next());
    } else if (a == "--csv") {
      o.csv = next();
    } else if (a == "--io") {
      const std::string v = next();
      if (v != "nhwc" && v != "planar" && v != "planar-in" && v != "planar-out")
        throw sp::Error("--io takes nhwc, planar, planar-in or planar-out, not '" + v + "'");
      o.planar_in = v == "planar" || v == "planar-in";
      o.planar_out = v == "planar" || v == "planar-out";
    } else if (a == "--out-halo") {
      o.out_halo = std::stoi(next());
    } else {
      throw sp::Error("unknown argument '" + a + "' (see the comment at the top of bench/bench_spconv_f32.cpp)");
    }
  }
  if (o.isas.empty())
    for (sp::Isa isa : {sp::Isa::kAvx2, sp::Isa::kAvx512})
      if (sp::isa_supported(isa)) o.isas.push_back(isa);
  for (const std::string& p : o.patterns)
    if (p != "unstructured" && p != "oc4" && p != "oc8" && p != "oc16" && p != "k4")
      throw sp::Error("unknown pattern '" + p + "' (unstructured, oc4, oc8, oc16, k4)");
  return o;
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

bool same_shape(const LayerShape& x, const LayerShape& y) {
  return x.kernel == y.kernel && x.stride == y.stride && x.groups == y.groups && x.in_c == y.in_c && x.in_h == y.in_h &&
         x.in_w == y.in_w && x.out_c == y.out_c;
}

// Magnitude pruning of `w` (OIHW, groups = 1) to `sparsity`: the blocks with the smallest L2 norm become
// zero. Blocks: one weight (unstructured), n output channels x 1 (ocN), or 4 input channels x 1 (k4).
void prune(std::vector<float>& w, const Conv2dDesc& d, const std::string& pattern, double sparsity) {
  const int ic = d.in_c, oc = d.out_c, taps = d.kernel_h * d.kernel_w;
  auto idx = [&](int o, int i, int t) { return (static_cast<size_t>(o) * ic + i) * taps + t; };
  std::vector<std::vector<size_t>> blocks;
  if (pattern == "unstructured") {
    for (size_t i = 0; i < w.size(); ++i) blocks.push_back({i});
  } else if (pattern == "k4") {
    for (int o = 0; o < oc; ++o)
      for (int t = 0; t < taps; ++t)
        for (int i0 = 0; i0 < ic; i0 += 4) {
          std::vector<size_t> b;
          for (int i = i0; i < std::min(i0 + 4, ic); ++i) b.push_back(idx(o, i, t));
          blocks.push_back(b);
        }
  } else {
    const int n = std::stoi(pattern.substr(2));
    for (int o0 = 0; o0 < oc; o0 += n)
      for (int i = 0; i < ic; ++i)
        for (int t = 0; t < taps; ++t) {
          std::vector<size_t> b;
          for (int o = o0; o < std::min(o0 + n, oc); ++o) b.push_back(idx(o, i, t));
          blocks.push_back(b);
        }
  }
  std::vector<std::pair<double, size_t>> norms;
  for (size_t b = 0; b < blocks.size(); ++b) {
    double s = 0;
    for (size_t i : blocks[b]) s += static_cast<double>(w[i]) * w[i];
    norms.push_back({s, b});
  }
  std::sort(norms.begin(), norms.end());
  const size_t target = static_cast<size_t>(std::llround(sparsity * static_cast<double>(w.size())));
  size_t zeroed = 0;
  for (const auto& [norm, b] : norms) {
    if (zeroed >= target) break;
    for (size_t i : blocks[b]) w[i] = 0.0f;
    zeroed += blocks[b].size();
  }
}

double now_ms(bool cpu) {
  timespec t;
  clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

struct Timing {
  std::vector<double> ms;  // per run, one entry per batch
  double median() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
  double min() const { return ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end()); }
};

// One batch: at least min_ms of back-to-back runs; returns ms per run.
double batch(const Conv2dF32& conv, const ConvIO& io, sp::ThreadPool* pool, double min_ms, bool cpu) {
  conv.run(io, pool);  // warm: caches, scratch
  int iters = 0;
  const double t0 = now_ms(cpu);
  double t = t0;
  do {
    conv.run(io, pool);
    ++iters;
    t = now_ms(cpu);
  } while (t - t0 < min_ms);
  return (t - t0) / iters;
}

struct Row {
  int layer = 0, count = 0;
  Conv2dDesc desc;
  Timing dense;
  std::vector<Timing> sparse;
  std::vector<std::string> kernel;
  std::vector<double> actual_sparsity;
  std::vector<double> estimate;  // the cost model's estimate of the variant's group size / of its pick
};

// One timed sparse column: a sparsity and group size, with NHWC or with the planar I/O the options ask for.
struct Variant {
  double sparsity = 0;
  int group = 0;
  int chunks = 0;
  bool planar = false;
};

std::vector<Variant> variants(const Options& o) {
  std::vector<Variant> v;
  for (double s : o.sparsities)
    for (int g : o.groups)
      for (int k : o.chunks) {
        v.push_back({s, g, k, false});
        if (o.planar_in || o.planar_out) v.push_back({s, g, k, true});
      }
  return v;
}

std::string io_label(const Options& o) {
  const std::string out = "planar output (halo " + std::to_string(o.out_halo) + ")";
  if (o.planar_in) return o.planar_out ? "planar input, " + out : "planar input, NHWC output";
  return o.planar_out ? "NHWC input, " + out : "NHWC";
}

std::string layer_label(const LayerShape& s) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%dx%d s%d %d->%d @%dx%d", s.kernel, s.kernel, s.stride, s.in_c, s.out_c, s.in_h,
                s.in_w);
  return buf;
}

// With several group sizes: per sparsity, I/O and chunk count, the sum over layers of the fastest group's
// median (the per-layer choice a timed pick would make), against the cost model's pick (group 0) if it was
// timed.
void print_fastest_group_sums(const Options& opt, const std::vector<Variant>& cols, const std::vector<Row>& rows) {
  for (size_t k = 0; k < cols.size(); ++k) {
    if (cols[k].group != opt.groups.front()) continue;
    double fastest = 0, first = 0;
    for (const Row& row : rows) {
      double best = 0;
      for (size_t j = 0; j < cols.size(); ++j) {
        if (cols[j].sparsity != cols[k].sparsity || cols[j].planar != cols[k].planar || cols[j].chunks != cols[k].chunks)
          continue;
        const double m = row.sparse[j].median();
        if (best == 0 || m < best) best = m;
      }
      fastest += row.count * best;
      first += row.count * row.sparse[k].median();
    }
    const std::string chunks = opt.chunks.size() > 1 ? " k=" + (cols[k].chunks ? std::to_string(cols[k].chunks) : "auto") : "";
    std::printf("\n%.0f%%%s%s: sum of the fastest group per layer %.2f ms; R=%s %.2f ms (%.3fx the fastest)\n",
                100 * cols[k].sparsity, cols[k].planar ? " planar" : "", chunks.c_str(), fastest,
                cols[k].group ? std::to_string(cols[k].group).c_str() : "auto", first, first / fastest);
  }
}

void run(const Options& opt) {
  std::vector<int> layers;
  for (int i = 0; i < kNumLayers; ++i) {
    if (kLayers[i].groups != 1) continue;  // depthwise stays dense
    if (!opt.layers.empty() && std::find(opt.layers.begin(), opt.layers.end(), i) == opt.layers.end()) continue;
    bool seen = false;
    for (int j : layers) seen |= same_shape(kLayers[i], kLayers[j]);
    if (!seen) layers.push_back(i);
  }
  std::unique_ptr<sp::ThreadPool> pool;
  if (opt.threads > 1) pool = std::make_unique<sp::ThreadPool>(opt.threads);
  const bool cpu_clock = opt.threads <= 1;
  FILE* csv = opt.csv.empty() ? nullptr : std::fopen(opt.csv.c_str(), "w");
  if (!opt.csv.empty() && !csv) throw sp::Error("cannot write " + opt.csv);
  if (csv)
    std::fprintf(csv,
                 "isa,pattern,layer,count,shape,sparsity,kernel,dense_median_ms,dense_min_ms,sparse_median_ms,"
                 "sparse_min_ms,io,estimate_vs_pick\n");
  const std::vector<Variant> cols = variants(opt);
  std::printf(
      "CPU: %s | threads %d | %s clock | median of %d batches of >= %.0f ms | sparse I/O %s | n: occurrences in "
      "the model\n",
      sp::cpu_feature_string().c_str(), opt.threads, cpu_clock ? "thread CPU" : "wall", opt.reps, opt.min_ms,
      io_label(opt).c_str());

  for (sp::Isa isa : opt.isas) {
    for (const std::string& pattern : opt.patterns) {
      std::vector<Row> rows;
      std::mt19937 rng(7);
      for (int li : layers) {
        const LayerShape& s = kLayers[li];
        Row row;
        row.layer = li;
        for (int j = 0; j < kNumLayers; ++j) row.count += same_shape(kLayers[j], s);
        row.desc = make_desc(s);
        const Conv2dDesc& d = row.desc;
        std::normal_distribution<float> nd(0.0f, 0.05f);
        std::vector<float> w(static_cast<size_t>(d.out_c) * d.in_c * d.kernel_h * d.kernel_w), b(d.out_c);
        for (float& x : w) x = nd(rng);
        for (float& x : b) x = nd(rng);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        std::vector<float> in(static_cast<size_t>(d.in_h) * d.in_w * d.in_c);
        for (float& x : in) x = u(rng);
        std::vector<float> out(static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c);
        ConvIO io;
        io.input = in.data();
        io.in_pixel_stride = d.in_c;
        io.output = out.data();
        io.out_pixel_stride = d.out_c;

        auto dense = sp::kernels::create_conv2d_f32(d, w.data(), b.data(), isa);
        // The sparse layers' I/O: the same as the dense one, or planar buffers (the input's interior is
        // `in`; the kernels write every float of the output planes' rows).
        ConvIO sio = io;
        const int in_halo = opt.planar_in ? sp::kernels::sparse_conv_planar_input_halo(d) : -1;
        std::vector<float> planar_in, planar_out;
        if (in_halo >= 0) {
          const sp::kernels::PlanarLayout l = sp::kernels::planar_layout(d.in_h, d.in_w, d.in_c, in_halo);
          planar_in.assign(l.floats, 0.0f);
          for (int y = 0; y < d.in_h; ++y)
            for (int x = 0; x < d.in_w; ++x)
              for (int c = 0; c < d.in_c; ++c)
                planar_in[l.index(c, y, x)] = in[(static_cast<size_t>(y) * d.in_w + x) * d.in_c + c];
          sio.input = planar_in.data();
          sio.in_pixel_stride = 0;
        }
        if (opt.planar_out) {
          planar_out.assign(sp::kernels::planar_layout(d.out_h(), d.out_w(), d.out_c, opt.out_halo).floats, 0.0f);
          sio.output = planar_out.data();
          sio.out_pixel_stride = 0;
        }
        std::vector<std::unique_ptr<Conv2dF32>> sparse;
        for (const Variant& col : cols) {
          std::vector<float> pw = w;
          prune(pw, d, pattern, col.sparsity);
          sp::kernels::SparseConvOptions so;
          so.oc_group = col.group;
          so.reduction_chunks = col.chunks;
          so.planar_input_halo = col.planar ? in_halo : -1;
          so.planar_output_halo = col.planar && opt.planar_out ? opt.out_halo : -1;
          sparse.push_back(sp::kernels::create_sparse_conv2d_f32(d, pw.data(), b.data(), isa, so));
          row.kernel.emplace_back(sparse.back()->name());
          row.actual_sparsity.push_back(sp::kernels::sparsity_stats(d, pw.data(), isa).zero_fraction);
          const sp::kernels::SparseGroupEstimates est = sp::kernels::sparse_conv_group_estimates(d, pw.data(), isa);
          double rel = 0;
          for (const auto& [r, e] : est.relative)
            if (r == (col.group ? col.group : est.pick)) rel = e;
          row.estimate.push_back(rel);
        }
        row.sparse.resize(sparse.size());
        for (int r = 0; r < opt.reps; ++r) {
          row.dense.ms.push_back(batch(*dense, io, pool.get(), opt.min_ms, cpu_clock));
          for (size_t k = 0; k < sparse.size(); ++k)
            row.sparse[k].ms.push_back(batch(*sparse[k], cols[k].planar ? sio : io, pool.get(), opt.min_ms, cpu_clock));
        }
        if (csv)
          for (size_t k = 0; k < sparse.size(); ++k)
            std::fprintf(csv, "%s,%s,%d,%d,%s,%.3f,%s,%.5f,%.5f,%.5f,%.5f,%s,%.3f\n",
                         std::string(sp::isa_name(isa)).c_str(), pattern.c_str(), li, row.count,
                         layer_label(s).c_str(), row.actual_sparsity[k], row.kernel[k].c_str(), row.dense.median(),
                         row.dense.min(), row.sparse[k].median(), row.sparse[k].min(),
                         cols[k].planar ? "planar" : "nhwc", row.estimate[k]);
        rows.push_back(std::move(row));
        std::fprintf(stderr, ".");
      }
      std::fprintf(stderr, "\n");

      // The table.
      std::printf("\n### %s, %s, %d thread(s): ms per layer (dense / sparse = speed-up)\n\n",
                  std::string(sp::isa_name(isa)).c_str(), pattern.c_str(), opt.threads);
      std::printf("| # | layer | n | dense ms |");
      for (const Variant& col : cols) {
        std::string g = opt.groups.size() > 1 ? " R=" + (col.group ? std::to_string(col.group) : "auto") : "";
        if (opt.chunks.size() > 1) g += " k=" + (col.chunks ? std::to_string(col.chunks) : "auto");
        std::printf(" %.0f%%%s%s ms | x |", 100 * col.sparsity, g.c_str(), col.planar ? " planar" : "");
      }
      std::printf(" group size R |\n|---:|---|---:|---:|");
      for (size_t k = 0; k < cols.size(); ++k) std::printf("---:|---:|");
      std::printf("---|\n");
      double dense_sum = 0;
      std::vector<double> sparse_sum(cols.size(), 0.0), best_sum(cols.size(), 0.0);
      for (const Row& row : rows) {
        const double dm = row.dense.median();
        dense_sum += row.count * dm;
        std::printf("| %d | %s | %d | %.3f |", row.layer, layer_label(kLayers[row.layer]).c_str(), row.count, dm);
        for (size_t k = 0; k < row.sparse.size(); ++k) {
          const double sm = row.sparse[k].median();
          sparse_sum[k] += row.count * sm;
          best_sum[k] += row.count * std::min(dm, sm);
          std::printf(" %.3f | %.2f |", sm, dm / sm);
        }
        std::string groups;
        for (const std::string& name : row.kernel) {
          const size_t at = name.find("-r");
          if (!groups.empty()) groups += ",";
          groups += at == std::string::npos ? "-" : name.substr(at + 2, name.find('-', at + 2) - at - 2);
        }
        std::printf(" %s |\n", groups.c_str());
      }
      std::printf("| | **sum, every layer sparse** | | **%.2f** |", dense_sum);
      for (double s : sparse_sum) std::printf(" **%.2f** | **%.2f** |", s, dense_sum / s);
      std::printf(" |\n| | **sum, faster of the two per layer** | | **%.2f** |", dense_sum);
      for (double s : best_sum) std::printf(" **%.2f** | **%.2f** |", s, dense_sum / s);
      // The same sums from each layer's fastest batch: steadier than medians on a shared machine.
      double dense_min = 0;
      std::vector<double> sparse_min(cols.size(), 0.0);
      for (const Row& row : rows) {
        dense_min += row.count * row.dense.min();
        for (size_t k = 0; k < row.sparse.size(); ++k) sparse_min[k] += row.count * row.sparse[k].min();
      }
      std::printf(" |\n| | sum of minima, every layer sparse | | %.2f |", dense_min);
      for (double s : sparse_min) std::printf(" %.2f | %.2f |", s, dense_min / s);
      std::printf(" |\n");
      if (opt.groups.size() > 1) print_fastest_group_sums(opt, cols, rows);
      std::fflush(stdout);
    }
  }
  if (csv) std::fclose(csv);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_spconv_f32: %s\n", e.what());
    return 1;
  }
  return 0;
}
