// Sparse float convolution: validation, weight compression, the plane geometry, the choice of micro-kernel
// per layer, scratch and the split into thread-pool tasks. The arithmetic is in spconv_f32_kernels.inc
// (instantiated by spconv_f32_{avx2,avx512}.cpp) and the reference in spconv_f32_scalar.cpp.
//
// Compression: output channels in groups of R (the micro-kernel's register block). For each group, every
// column (input channel, kernel tap) that at least one of its channels uses is tagged with the mask of
// those channels; columns are then sorted by mask (runs), and inside a run by input offset. A column
// carries its offset into the planes (phase, channel, row and column shift folded into one int32) and
// popcount(mask) weights. Columns no channel of the group uses are simply absent.
#include "core/kernels/spconv_f32/spconv_f32.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/kernels/spconv_f32/spconv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace {

using spconv_internal::BandScratch;
using spconv_internal::IsaSpconvKernels;
using spconv_internal::SparsePlan;
using spconv_internal::SpGroup;
using spconv_internal::SpKernel;
using spconv_internal::SpRun;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Floats of channel planes a band may use: a band's planes then stay in L2 while its tiles read them.
constexpr int64_t kPlaneBudget = 96 * 1024;
// What one tile of a reduction chunk streams through L1: the input its columns read, which every group of
// output channels reads again, and the groups' weight streams between those re-reads. Kept within this
// budget (Zen 5's L1D is 48 KiB; Zen 4's 32 KiB), the input stays in L1 from one group to the next.
constexpr int64_t kChunkL1Budget = 48 * 1024;
// Fewest columns (input channel x tap) per chunk, per channel mask a group of R can have (2^R - 1), and
// most chunks: a chunk's columns are sorted into runs by mask, and runs of a column or two spend more on
// their dispatch than the re-reads from L2 they save. Measured on a Zen 5 (70 % unstructured,
// bench_spconv_f32 --chunks): with AVX-512, 1x1 384->256 and 512->256 at R = 6 gain from 2 chunks and
// lose from 3 (128 and 170 columns per chunk), 1x1 128-channel layers at R = 5 lose from 2; inside the
// engine, where a layer's weights arrive cold once per frame, 4 to 6 chunks of the strided and 20x20
// layers ran 10-27 % slower than one, while with 2 the chunked layers together ran 1-3.5 % faster (single
// layers from 9 % slower to 11 % faster). With AVX2 (16-position tiles, so little input per tile), 2 chunks
// gained 2-6 % in the bench exactly where input + weight stream exceed the budget (3x3 64->64, 1x1
// 192->128 and wider) and lost 3-9 % on the smaller layers.
constexpr int kMinChunkColumnsPerMask = 4;
constexpr int kMaxChunks = 2;
// Tasks per thread a parallel run aims for (bands are handed out dynamically).
constexpr int kTasksPerThread = 4;

// 64-byte aligned float storage, zero-initialised.
class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
    data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw Error("sparse conv2d: out of memory");
    std::memset(data_.get(), 0, bytes);
    size_ = n;
  }
  float* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

// Per-thread scratch, grown on demand and reused by every sparse conv that thread runs: after the first
// inference no run allocates. (Pool workers are long-lived threads, so this is one buffer per worker.)
float* thread_scratch(size_t floats) {
  thread_local AlignedFloats buf;
  if (buf.size() < floats) buf = AlignedFloats(floats + floats / 4);
  return buf.data();
}

const IsaSpconvKernels* isa_kernels(Isa isa) {
  switch (float_isa(isa)) {
    case Isa::kAvx512: return &spconv_internal::kAvx512SpconvKernels;
    case Isa::kAvx2: return &spconv_internal::kAvx2SpconvKernels;
    default: return nullptr;
  }
}

// ---- Columns ---------------------------------------------------------------------------------------------

// Column key of (absolute input channel, tap): reduction order, as the scalar reference walks it.
struct Columns {
  int kh = 1, kw = 1;
  int key(int c, int y, int x) const { return (c * kh + y) * kw + x; }
};

// One output-channel group's columns: key -> mask of the group's channels that use it, with their weights.
struct GroupColumns {
  std::vector<int> keys;        // sorted
  std::vector<uint32_t> masks;  // per key
};

GroupColumns group_columns(const Conv2dDesc& d, const float* weights, int oc_begin, int oc_count) {
  const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
  const Columns cols{d.kernel_h, d.kernel_w};
  std::vector<std::pair<int, uint32_t>> entries;
  for (int r = 0; r < oc_count; ++r) {
    const int o = oc_begin + r, g = o / oc_g;
    const float* w = weights + static_cast<int64_t>(o) * ic_g * taps;
    for (int i = 0; i < ic_g; ++i)
      for (int t = 0; t < taps; ++t)
        if (w[i * taps + t] != 0.0f)
          entries.push_back({cols.key(g * ic_g + i, t / d.kernel_w, t % d.kernel_w), 1u << r});
  }
  std::sort(entries.begin(), entries.end());
  GroupColumns gc;
  for (const auto& [key, bit] : entries) {
    if (gc.keys.empty() || gc.keys.back() != key) {
      gc.keys.push_back(key);
      gc.masks.push_back(0);
    }
    gc.masks.back() |= bit;
  }
  return gc;
}

// Work counts of one layer compressed with group size r: what the cost model needs.
struct WorkCounts {
  int64_t groups = 0, cols = 0, nnz = 0;
};

// Adds one group's columns and nonzeros to `wc`.
void add_group_work(const GroupColumns& gc, WorkCounts* wc) {
  wc->groups++;
  wc->cols += static_cast<int64_t>(gc.masks.size());
  for (uint32_t x : gc.masks) wc->nnz += __builtin_popcount(x);
}

WorkCounts count_work(const Conv2dDesc& d, const float* weights, int r) {
  WorkCounts wc;
  for (int oc = 0; oc < d.out_c; oc += r) add_group_work(group_columns(d, weights, oc, std::min(r, d.out_c - oc)), &wc);
  return wc;
}

// ---- Geometry --------------------------------------------------------------------------------------------

bool is_flat(const Conv2dDesc& d) {
  return d.kernel_h == 1 && d.kernel_w == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
         d.pad_left == 0 && d.pad_bottom == 0 && d.pad_right == 0;
}

// Fills the plan's geometry for micro-kernel tile `tile` (positions).
void plan_geometry(const Conv2dDesc& d, int tile, SparsePlan* p) {
  p->in_h = d.in_h;
  p->in_w = d.in_w;
  p->in_c = d.in_c;
  p->out_h = d.out_h();
  p->out_w = d.out_w();
  p->out_c = d.out_c;
  p->stride_h = d.stride_h;
  p->stride_w = d.stride_w;
  p->pad_top = d.pad_top;
  p->pad_left = d.pad_left;
  p->flat = is_flat(d);
  p->tile = tile;
  if (p->flat) {
    // A range of pixels per band: the budget's worth, but at least four tiles.
    const int64_t pixels = static_cast<int64_t>(p->out_h) * p->out_w;
    const int64_t by_budget = std::max<int64_t>(4 * tile, kPlaneBudget / d.in_c / tile * tile);
    p->band_pixels = std::min(round_up(pixels, tile), by_budget);
    p->plane_stride = round_up(p->band_pixels + tile, 16);
  } else {
    p->phases_y = d.stride_h;
    p->phases_x = d.stride_w;
    p->max_row_off = (d.kernel_h - 1) * d.dilation_h / d.stride_h;
    p->plane_w = p->out_w + (d.kernel_w - 1) * d.dilation_w / d.stride_w;
    // Rows per band: the budget's worth, but at least four tiles of positions. Plane floats for r rows:
    // (r + max_row_off + 1) * plane_w + tile (see zero_slack's reach).
    const int64_t phases = static_cast<int64_t>(p->phases_y) * p->phases_x;
    const int64_t per_row = phases * d.in_c * p->plane_w;
    const int64_t fixed = phases * d.in_c * ((p->max_row_off + 1) * static_cast<int64_t>(p->plane_w) + tile + 16);
    const int64_t by_budget = kPlaneBudget > fixed ? (kPlaneBudget - fixed) / per_row : 0;
    const int64_t min_rows = ceil_div(4 * tile, p->plane_w);
    p->band_rows = static_cast<int>(std::clamp<int64_t>(std::max(by_budget, min_rows), 1, p->out_h));
    p->plane_stride = round_up((p->band_rows + p->max_row_off + 1) * static_cast<int64_t>(p->plane_w) + tile + 16, 16);
  }
  p->phase_stride = p->plane_stride * d.in_c;
  if (4 * p->phase_stride * p->phases_y * p->phases_x > std::numeric_limits<int32_t>::max())
    throw Error("sparse conv2d: input too large for the sparse kernel (" + std::to_string(d.in_c) + " channels x " +
                std::to_string(p->plane_stride) + " floats per plane)");
}

// Bytes of one input channel that a tile of `tile` positions reads: per stride phase, the union of the
// position ranges its taps' rows and column shifts cover (plane rows are plane_w floats apart, so a tile
// wider than a row reads overlapping ranges), in 64-byte lines. From the descriptor alone (plane_w as
// plan_geometry sets it), so the chunks, and with them each output's order of summation, are the same
// whichever sides are planar.
int64_t tile_input_bytes_per_channel(const Conv2dDesc& d, int64_t tile) {
  if (is_flat(d)) return round_up(tile, 16) * 4;
  const int64_t plane_w = d.out_w() + (d.kernel_w - 1) * d.dilation_w / d.stride_w;
  int64_t bytes = 0;
  for (int py = 0; py < d.stride_h; ++py)
    for (int px = 0; px < d.stride_w; ++px) {
      std::vector<std::pair<int64_t, int64_t>> spans;  // [begin, end) in floats from the tile's position
      for (int y = 0; y < d.kernel_h; ++y)
        for (int x = 0; x < d.kernel_w; ++x) {
          const int dy = y * d.dilation_h, dx = x * d.dilation_w;
          if (dy % d.stride_h != py || dx % d.stride_w != px) continue;
          const int64_t begin = static_cast<int64_t>(dy / d.stride_h) * plane_w + dx / d.stride_w;
          spans.emplace_back(begin, begin + tile);
        }
      std::sort(spans.begin(), spans.end());
      int64_t end = std::numeric_limits<int64_t>::min();
      for (const auto& [b, e] : spans) {
        bytes += std::max<int64_t>(0, e - std::max(b, end)) * 4;
        end = std::max(end, e);
      }
    }
  return round_up(bytes, 64);
}

// Reduction chunks for a plan of group size p.r whose groups hold `work` (options:
// SparseConvOptions::reduction_chunks): as many as keep a chunk's tile input and weight stream within
// kChunkL1Budget, with at least kMinChunkColumnsPerMask columns per mask each, and at most kMaxChunks.
int reduction_chunks(const Conv2dDesc& d, const SparsePlan& p, const WorkCounts& work, int requested) {
  if (requested > 0) return std::min(requested, d.in_c);
  const int64_t stream_bytes = (work.cols + work.nnz) * 4;  // per column its offset, then its weights
  const int64_t bytes = tile_input_bytes_per_channel(d, p.tile) * d.in_c + stream_bytes;
  const int64_t by_budget = ceil_div(bytes, kChunkL1Budget);
  const int64_t columns = static_cast<int64_t>(d.in_c) * d.kernel_h * d.kernel_w;
  const int64_t by_runs = columns / (kMinChunkColumnsPerMask * ((int64_t{1} << p.r) - 1));
  return static_cast<int>(std::clamp<int64_t>(std::min({by_budget, by_runs, int64_t{kMaxChunks}}), 1, d.in_c));
}

// A column's offset in bytes (< 2^31: plan_geometry checks the planes' size).
int32_t column_offset(const Conv2dDesc& d, const SparsePlan& p, int key) {
  const int x = key % d.kernel_w, y = key / d.kernel_w % d.kernel_h, c = key / (d.kernel_w * d.kernel_h);
  if (p.flat) return static_cast<int32_t>(c * p.plane_stride * 4);
  const int dy = y * d.dilation_h, dx = x * d.dilation_w;
  const int phase = (dy % d.stride_h) * d.stride_w + dx % d.stride_w;
  return static_cast<int32_t>(4 * (phase * p.phase_stride + c * p.plane_stride +
                                   static_cast<int64_t>(dy / d.stride_h) * p.plane_w + dx / d.stride_w));
}

// ---- Cost model ------------------------------------------------------------------------------------------
//
// Time of kernel k on a layer ~ tiles * (c_group * groups + c_col * columns + c_nz * nonzeros) + c_in *
// input floats (the transposes), and of the dense kernel ~ c_mac * MACs + c_out * outputs: linear models
// fitted (least squares on relative error) to every YOLO11n-pose conv shape x {unstructured, oc4, oc8}
// x {50, 70, 80, 90 %} x each group size, timed on the AVX-512 / AVX2 Zen 5 this was developed on
// (coefficients in ns, in the ISA tables). Picking the group size by the model came within 3.5 % (AVX-512)
// and 4.5 % (AVX2) of always picking the fastest, and beat any fixed group size; median error of the
// absolute estimate ~15 %, so est_sparse_over_dense is a hint, not a decision.

// One tile of positions through every group.
double tile_cost(const SpKernel& k, const WorkCounts& wc) {
  return static_cast<double>(wc.groups) * k.c_group + static_cast<double>(wc.cols) * k.c_col +
         static_cast<double>(wc.nnz) * k.c_nz;
}

double estimate_cost(const Conv2dDesc& d, const IsaSpconvKernels& isa, const SpKernel& k, const WorkCounts& wc) {
  const double positions =
      is_flat(d) ? static_cast<double>(d.out_h()) * d.out_w()
                 : static_cast<double>(d.out_h()) * (d.out_w() + (d.kernel_w - 1) * d.dilation_w / d.stride_w);
  const double tiles = positions / (static_cast<double>(isa.lanes) * k.v);
  return tiles * tile_cost(k, wc) + isa.c_in * static_cast<double>(d.in_h) * d.in_w * d.in_c;
}

// The ISA's kernel for group size r, or null.
const SpKernel* kernel_for_group(const IsaSpconvKernels& isa, int r) {
  for (int i = 0; i < isa.num_kernels; ++i)
    if (isa.kernels[i].r == r) return &isa.kernels[i];
  return nullptr;
}

// The cost model's estimate for each of the ISA's kernels, in the ISA's order.
std::vector<double> kernel_costs(const Conv2dDesc& d, const float* weights, const IsaSpconvKernels& isa) {
  std::vector<double> costs;
  for (int i = 0; i < isa.num_kernels; ++i) {
    const SpKernel& k = isa.kernels[i];
    costs.push_back(estimate_cost(d, isa, k, count_work(d, weights, k.r)));
  }
  return costs;
}

// The first cheapest kernel by the cost model (nullptr if the ISA has none).
const SpKernel* pick_kernel(const Conv2dDesc& d, const float* weights, const IsaSpconvKernels& isa,
                            double* best_cost) {
  const std::vector<double> costs = kernel_costs(d, weights, isa);
  const auto best = std::min_element(costs.begin(), costs.end());
  *best_cost = best == costs.end() ? std::numeric_limits<double>::infinity() : *best;
  return best == costs.end() ? nullptr : &isa.kernels[best - costs.begin()];
}

double dense_cost(const Conv2dDesc& d, const IsaSpconvKernels& isa) {
  const double outputs = static_cast<double>(d.out_h()) * d.out_w() * d.out_c;
  return isa.c_mac * outputs * (d.in_c / d.groups) * d.kernel_h * d.kernel_w + isa.c_out * outputs;
}

// ---- The convolution -------------------------------------------------------------------------------------

class SparseConv2d final : public Conv2dF32 {
 public:
  SparseConv2d(const Conv2dDesc& d, const float* weights, const float* bias, const IsaSpconvKernels& isa,
               const SpKernel& k, const SparseConvOptions& options)
      : desc_(d), kernel_(k) {
    SparsePlan& p = plan_;
    plan_geometry(d, isa.lanes * k.v, &p);
    if (options.planar_input_halo >= 0) use_planar_input(d, options.planar_input_halo, &p);
    if (options.planar_output_halo >= 0) {
      const PlanarLayout out = planar_layout(p.out_h, p.out_w, d.out_c, options.planar_output_halo);
      p.out_planar = true;
      p.out_halo = out.halo;
      p.out_row_stride = out.row_stride;
      p.out_channel_stride = out.channel_stride;
    }
    p.r = k.r;
    p.v = k.v;
    p.activation = d.activation;
    p.num_groups = static_cast<int>(ceil_div(d.out_c, k.r));

    std::vector<float> stream;
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
    std::vector<GroupColumns> columns;
    WorkCounts work;
    for (int oc = 0; oc < d.out_c; oc += k.r) {
      columns.push_back(group_columns(d, weights, oc, std::min(k.r, d.out_c - oc)));
      add_group_work(columns.back(), &work);
    }
    p.chunks = reduction_chunks(d, p, work, options.reduction_chunks);
    const auto chunk_of = [&](int key) { return key / taps * p.chunks / d.in_c; };
    // Per group, its columns sorted by reduction chunk, then by mask (runs); inside a run, in reduction order
    // (ascending offsets within a phase).
    std::vector<std::vector<int>> orders;
    for (const GroupColumns& gc : columns) {
      std::vector<int> order(gc.keys.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return std::pair(chunk_of(gc.keys[a]), gc.masks[a]) < std::pair(chunk_of(gc.keys[b]), gc.masks[b]);
      });
      orders.push_back(std::move(order));
    }
    // The stream chunk by chunk, each chunk group by group: the order the band kernel reads it in, so a
    // layer's weights, which come from L3 or memory once per run, stream in sequentially.
    std::vector<size_t> next(p.num_groups, 0);
    for (int chunk = 0; chunk < p.chunks; ++chunk) {
      for (int g = 0; g < p.num_groups; ++g) {
        const int oc = g * k.r, oc_count = std::min(k.r, d.out_c - oc);
        const GroupColumns& gc = columns[g];
        const std::vector<int>& order = orders[g];
        SpGroup grp;  // groups_[chunk * p.num_groups + g]
        grp.run_begin = static_cast<int>(runs_.size());
        grp.stream_begin = static_cast<int64_t>(stream.size());
        for (; next[g] < order.size() && chunk_of(gc.keys[order[next[g]]]) == chunk; ++next[g]) {
          const int col = order[next[g]];
          const uint32_t mask = gc.masks[col];
          if (grp.run_count == 0 || runs_.back().mask != mask) {
            runs_.push_back({mask, 0});
            grp.run_count++;
          }
          runs_.back().count++;
          const int32_t off = column_offset(d, p, gc.keys[col]);
          float off_bits;
          std::memcpy(&off_bits, &off, sizeof off);
          stream.push_back(off_bits);
          const int c = gc.keys[col] / taps, t = gc.keys[col] % taps;
          for (int r = 0; r < oc_count; ++r) {
            if (!((mask >> r) & 1)) continue;
            const int o = oc + r;
            stream.push_back(weights[(static_cast<int64_t>(o) * ic_g + (c - o / oc_g * ic_g)) * taps + t]);
          }
        }
        groups_.push_back(grp);
      }
    }
    stream_ = std::move(stream);
    bias_ = AlignedFloats(round_up(static_cast<int64_t>(p.num_groups) * k.r, 16));
    if (bias) std::memcpy(bias_.data(), bias, sizeof(float) * d.out_c);
    zeros_ = AlignedFloats(round_up(d.in_c, 16) + 16);
    p.groups = groups_.data();
    p.runs = runs_.data();
    p.stream = stream_.data();
    p.bias = bias_.data();
    p.zeros = zeros_.data();

    WorkCounts built;  // what the cost model counts, of the compressed groups
    built.groups = static_cast<int64_t>(p.num_groups) * p.chunks;  // each chunk of a group loads and stores its sums
    for (const SpRun& run : runs_) built.cols += run.count;
    built.nnz = static_cast<int64_t>(stream_.size()) - built.cols;  // the stream: per column, offset + weights
    tile_ns_ = tile_cost(k, built);
    pack_row_ns_ = p.in_planar ? 0.0 : isa.c_in * static_cast<double>(p.phases_y) * d.in_w * d.in_c;
    tile_rows_ = round_up(std::max<int64_t>(static_cast<int64_t>(p.num_groups) * k.r, d.out_c), 16);
    planes_floats_ = p.in_planar ? 0 : round_up(p.phase_stride * p.phases_y * p.phases_x, 16);
    name_ = p.flat ? std::string("spconv1x1") : conv_internal::shape_name("spconv", d);
    name_ += "-r";
    name_ += std::to_string(k.r);
    name_ += '-';
    name_ += layout_tag(options.planar_input_halo);
    if (options.planar_input_halo >= 0 || options.planar_output_halo >= 0) {
      name_ += '-';
      name_ += layout_tag(options.planar_output_halo);
    }
    if (p.chunks > 1) {
      name_ += "-k";
      name_ += std::to_string(p.chunks);
    }
    name_ += '-';
    name_ += isa.isa_name;
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    validate_io(io);
    const SparsePlan& p = plan_;
    const int64_t total = p.flat ? static_cast<int64_t>(p.out_h) * p.out_w : p.out_h;
    const int64_t full = p.flat ? p.band_pixels : p.band_rows;
    const int threads = pool ? pool->num_threads() : 1;
    int64_t band = full;
    if (threads > 1 && p.flat) {
      // Enough bands for the pool to balance, but not below two tiles; whole tiles, so none is wasted.
      const int64_t want = ceil_div(total, int64_t{kTasksPerThread} * threads);
      band = round_up(std::min(full, std::max<int64_t>(want, 2 * int64_t{p.tile})), p.tile);
    } else if (threads > 1) {
      band = parallel_band_rows(threads);
    }
    const int64_t bands = ceil_div(total, band);
    const int64_t tile_floats = tile_rows_ * p.tile;
    const size_t scratch_floats = static_cast<size_t>(planes_floats_ + tile_floats + 16 * round_up(p.in_c, 16));
    auto task = [&](int64_t b) {
      float* s = thread_scratch(scratch_floats);
      kernel_.fn(p, io, b, band, BandScratch{s, s + planes_floats_, s + planes_floats_ + tile_floats});
    };
    if (threads <= 1 || bands == 1) {
      for (int64_t b = 0; b < bands; ++b) task(b);
    } else {
      pool->parallel_for(bands, task);
    }
  }

  std::string_view name() const override { return name_; }

 private:
  // Output rows per band when `threads` share a general conv. A band computes whole tiles of positions
  // (its rows x plane_w, rounded up to the tile) and packs its rows plus the taps' overlap, so thin bands
  // of a small image compute mostly positions they drop: at 20x20 with 64-position tiles, bands of 3 rows
  // (66 positions, 2 tiles each) did 13 tiles where one band does 7, and two threads ran no faster than
  // one. So: the height with the least modelled makespan (the bands dealt out in turns, each costing its
  // tiles and its packing by the cost model), among those within 2 % of it the one with the most bands
  // (the pool balances them dynamically on a noisy machine).
  int64_t parallel_band_rows(int threads) const {
    const SparsePlan& p = plan_;
    auto makespan = [&](int64_t rows) {
      const int64_t bands = ceil_div(p.out_h, rows);
      const double tiles = static_cast<double>(ceil_div(rows * p.plane_w, p.tile));
      const double band_ns = tiles * tile_ns_ + static_cast<double>(rows + p.max_row_off) * pack_row_ns_;
      return static_cast<double>(ceil_div(bands, threads)) * band_ns;
    };
    double best = std::numeric_limits<double>::infinity();
    for (int64_t rows = 1; rows <= p.band_rows; ++rows) best = std::min(best, makespan(rows));
    for (int64_t rows = 1; rows <= p.band_rows; ++rows)
      if (makespan(rows) <= 1.02 * best) return rows;
    return p.band_rows;
  }

  // "nhwc", or "chw" and the halo.
  static std::string layout_tag(int planar_halo) {
    return planar_halo < 0 ? std::string("nhwc") : "chw" + std::to_string(planar_halo);
  }

  // General convs: the input tensor becomes the planes, its channel stride the planes' stride and its
  // rows the plane rows (plane_geometry's plane_w is in_w + 2 * pad, which is the layout's row stride,
  // because create_sparse_conv2d_f32 accepted only the conv's own padding as the halo). Bands keep their
  // size. Flat (1x1) convs copy each band's pixel range instead: read in place, a tile's few positions
  // from every one of up to 512 full-image planes touch a page per channel (measured on Zen 4: slower than
  // packing from NHWC for wide layers, 1.6x slower for 256 channels at 80x80 with AVX2), while the copy
  // is one sequential run per plane into the band's compact planes.
  static void use_planar_input(const Conv2dDesc& d, int halo, SparsePlan* p) {
    const PlanarLayout in = planar_layout(d.in_h, d.in_w, d.in_c, halo);
    if (p->flat) {
      p->in_copy_stride = in.channel_stride;
      return;
    }
    if (p->plane_w != in.row_stride)
      throw Error("sparse conv2d: internal error: planar input rows of " + std::to_string(in.row_stride) +
                  " floats for plane rows of " + std::to_string(p->plane_w));
    p->in_planar = true;
    p->plane_stride = in.channel_stride;
    p->phase_stride = in.channel_stride * d.in_c;
    if (4 * p->phase_stride > std::numeric_limits<int32_t>::max())
      throw Error("sparse conv2d: planar input too large for the sparse kernel (" + std::to_string(d.in_c) +
                  " planes of " + std::to_string(in.channel_stride) + " floats)");
  }

  // conv_internal::validate_conv_io for the NHWC sides; a planar side's pixel stride must be 0 (its layout
  // is fixed at creation), and a residual takes the output's layout.
  void validate_io(const ConvIO& io) const {
    const SparsePlan& p = plan_;
    const bool in_planar = p.in_planar || p.in_copy_stride > 0;
    if (!in_planar && !p.out_planar) return conv_internal::validate_conv_io(desc_, io);
    if (!io.input || !io.output) throw Error("sparse conv2d: missing input or output buffer");
    auto check = [](const char* what, bool planar, int64_t stride, int channels) {
      if (planar ? stride != 0 : stride < channels)
        throw Error(std::string("sparse conv2d: ") + what + " pixel stride " + std::to_string(stride) +
                    (planar ? " for a planar tensor (must be 0)" : " smaller than its " + std::to_string(channels) +
                                                                       " channels"));
    };
    check("input", in_planar, io.in_pixel_stride, desc_.in_c);
    check("output", p.out_planar, io.out_pixel_stride, desc_.out_c);
    if (io.residual) check("residual", p.out_planar, io.residual_pixel_stride, desc_.out_c);
  }

  Conv2dDesc desc_;
  SpKernel kernel_;
  SparsePlan plan_;
  std::vector<SpGroup> groups_;
  std::vector<SpRun> runs_;
  std::vector<float> stream_;  // per group, per run, per column: byte offset, weights
  AlignedFloats bias_, zeros_;
  int64_t tile_rows_ = 0, planes_floats_ = 0;
  // Cost model (estimate_cost's terms): one tile through every group, and packing one plane row's input rows.
  double tile_ns_ = 0, pack_row_ns_ = 0;
  std::string name_;
};

}  // namespace

std::string SparsityStats::to_string() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "zeros %.1f%%, zero blocks: oc4 %.1f%% oc8 %.1f%% oc16 %.1f%% k4 %.1f%%, zero rows %.1f%%, zero "
                "columns %.1f%%, est. sparse/dense %.2f",
                100 * zero_fraction, 100 * zero_oc4, 100 * zero_oc8, 100 * zero_oc16, 100 * zero_k4, 100 * zero_rows,
                100 * zero_columns, est_sparse_over_dense);
  return buf;
}

SparsityStats sparsity_stats(const Conv2dDesc& d, const float* weights, Isa isa) {
  conv_internal::validate_conv2d_desc(d);
  if (!weights) throw Error("sparse conv2d: missing weights");
  const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
  auto w = [&](int o, int i, int t) { return weights[(static_cast<int64_t>(o) * ic_g + i) * taps + t]; };
  SparsityStats s;
  s.weights = static_cast<int64_t>(d.out_c) * ic_g * taps;
  int64_t zeros = 0, zero_rows = 0;
  for (int o = 0; o < d.out_c; ++o) {
    int64_t row_zeros = 0;
    for (int i = 0; i < ic_g; ++i)
      for (int t = 0; t < taps; ++t) row_zeros += w(o, i, t) == 0.0f;
    zeros += row_zeros;
    zero_rows += row_zeros == static_cast<int64_t>(ic_g) * taps;
  }
  s.zero_fraction = static_cast<double>(zeros) / s.weights;
  s.zero_rows = static_cast<double>(zero_rows) / d.out_c;
  // Output-channel blocks of n (inside one group), per (input channel, tap).
  auto oc_blocks = [&](int n) {
    int64_t blocks = 0, zero = 0;
    for (int g = 0; g < d.groups; ++g)
      for (int o0 = 0; o0 < oc_g; o0 += n)
        for (int i = 0; i < ic_g; ++i)
          for (int t = 0; t < taps; ++t) {
            bool all = true;
            for (int o = o0; o < std::min(o0 + n, oc_g) && all; ++o) all = w(g * oc_g + o, i, t) == 0.0f;
            ++blocks;
            zero += all;
          }
    return static_cast<double>(zero) / static_cast<double>(blocks);
  };
  s.zero_oc4 = oc_blocks(4);
  s.zero_oc8 = oc_blocks(8);
  s.zero_oc16 = oc_blocks(16);
  {
    int64_t blocks = 0, zero = 0;
    for (int o = 0; o < d.out_c; ++o)
      for (int t = 0; t < taps; ++t)
        for (int i0 = 0; i0 < ic_g; i0 += 4) {
          bool all = true;
          for (int i = i0; i < std::min(i0 + 4, ic_g) && all; ++i) all = w(o, i, t) == 0.0f;
          ++blocks;
          zero += all;
        }
    s.zero_k4 = static_cast<double>(zero) / static_cast<double>(blocks);
  }
  {
    int64_t zero_cols = 0;
    for (int g = 0; g < d.groups; ++g)
      for (int i = 0; i < ic_g; ++i)
        for (int t = 0; t < taps; ++t) {
          bool all = true;
          for (int o = 0; o < oc_g && all; ++o) all = w(g * oc_g + o, i, t) == 0.0f;
          zero_cols += all;
        }
    s.zero_columns = static_cast<double>(zero_cols) / (static_cast<double>(d.in_c) * taps);
  }
  if (const IsaSpconvKernels* k = isa_supported(isa) ? isa_kernels(isa) : nullptr) {
    double cost = 0;
    if (pick_kernel(d, weights, *k, &cost)) s.est_sparse_over_dense = cost / dense_cost(d, *k);
  }
  return s;
}

PlanarLayout planar_layout(int h, int w, int c, int halo) {
  if (h <= 0 || w <= 0 || c <= 0 || halo < 0)
    throw Error("planar layout: bad shape " + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) +
                " with halo " + std::to_string(halo));
  PlanarLayout l;
  l.h = h;
  l.w = w;
  l.c = c;
  l.halo = halo;
  l.row_stride = w + 2 * static_cast<int64_t>(halo);
  // An odd number of 64-byte lines from plane to plane: the tiles read (and write) one vector of every
  // channel at the same position, and strides of an even number of lines, worst a multiple of 4 KiB,
  // would send all channels to a few L1 sets.
  l.channel_stride = round_up((h + 2 * static_cast<int64_t>(halo)) * l.row_stride, 16);
  if ((l.channel_stride / 16) % 2 == 0) l.channel_stride += 16;
  // A reader's last tile may run a row and a tile (<= 16 x 8 positions) past a plane's end.
  l.floats = c * l.channel_stride + l.row_stride + 256;
  return l;
}

bool sparse_conv_planar_supported(Isa isa) { return isa_supported(isa) && isa_kernels(isa) != nullptr; }

int sparse_conv_planar_input_halo(const Conv2dDesc& d) {
  const bool same_pad = d.pad_top == d.pad_left && d.pad_top == d.pad_bottom && d.pad_top == d.pad_right;
  return d.stride_h == 1 && d.stride_w == 1 && same_pad ? d.pad_top : -1;
}

int sparse_conv_default_group(const Conv2dDesc& desc, const float* weights, Isa isa) {
  return sparse_conv_group_estimates(desc, weights, isa).pick;
}

SparseGroupEstimates sparse_conv_group_estimates(const Conv2dDesc& desc, const float* weights, Isa isa) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("sparse conv2d: missing weights");
  const IsaSpconvKernels* k = isa_supported(isa) ? isa_kernels(isa) : nullptr;
  SparseGroupEstimates est;
  if (!k) return est;
  const std::vector<double> costs = kernel_costs(desc, weights, *k);
  if (costs.empty()) return est;
  const size_t best = static_cast<size_t>(std::min_element(costs.begin(), costs.end()) - costs.begin());  // as pick_kernel
  est.pick = k->kernels[best].r;
  for (size_t i = 0; i < costs.size(); ++i) est.relative.emplace_back(k->kernels[i].r, costs[i] / costs[best]);
  return est;
}

int sparse_conv_group_sizes(Isa isa, int* sizes, int max) {
  const IsaSpconvKernels* k = isa_kernels(isa);
  if (!k) return 0;
  int n = 0;
  for (int i = 0; i < k->num_kernels; ++i) {
    bool seen = false;
    for (int j = 0; j < i; ++j) seen |= k->kernels[j].r == k->kernels[i].r;
    if (seen) continue;
    if (n < max) sizes[n] = k->kernels[i].r;
    ++n;
  }
  return n;
}

std::unique_ptr<Conv2dF32> create_sparse_conv2d_f32(const Conv2dDesc& desc, const float* weights, const float* bias,
                                                    Isa isa, const SparseConvOptions& options) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("sparse conv2d: missing weights");
  if (!isa_supported(isa))
    throw Error("sparse conv2d: this CPU does not support ISA '" + std::string(isa_name(isa)) + "'");
  if (options.oc_group < 0) throw Error("sparse conv2d: negative output-channel group size");
  const bool planar = options.planar_input_halo >= 0 || options.planar_output_halo >= 0;
  if (options.planar_input_halo < -1 || options.planar_output_halo < -1)
    throw Error("sparse conv2d: negative planar halo");
  if (options.planar_input_halo >= 0 && options.planar_input_halo != sparse_conv_planar_input_halo(desc))
    throw Error("sparse conv2d: cannot read a planar input with halo " + std::to_string(options.planar_input_halo) +
                " (" + conv_internal::shape_name("conv", desc) + ", padding " + std::to_string(desc.pad_top) + "," +
                std::to_string(desc.pad_left) + "," + std::to_string(desc.pad_bottom) + "," +
                std::to_string(desc.pad_right) + ": only stride 1 with its padding as the halo)");
  const IsaSpconvKernels* k = isa_kernels(isa);
  if (!k) {
    if (planar) throw Error("sparse conv2d: planar input or output needs a vector ISA (avx2 or avx512)");
    if (options.oc_group > 0)
      throw Error("sparse conv2d: the scalar reference has no output-channel groups (asked for " +
                  std::to_string(options.oc_group) + ")");
    return spconv_internal::create_sparse_conv2d_f32_scalar(desc, weights, bias);
  }
  double cost = 0;
  const SpKernel* kernel =
      options.oc_group > 0 ? kernel_for_group(*k, options.oc_group) : pick_kernel(desc, weights, *k, &cost);
  if (!kernel)
    throw Error("sparse conv2d: no " + std::string(k->isa_name) + " kernel for output-channel groups of " +
                std::to_string(options.oc_group));
  return std::make_unique<SparseConv2d>(desc, weights, bias, *k, *kernel, options);
}

}  // namespace sp::kernels
