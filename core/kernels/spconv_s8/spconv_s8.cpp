// Sparse integer convolution: descriptor checks, weight compression, the packed-input geometry,
// dispatch and threading (baseline code). The arithmetic lives in spconv_s8_avx512vnni.cpp,
// spconv_s8_avxvnni.cpp and spconv_s8_avx2.cpp (one micro-kernel source, spconv_s8_kernel.inc),
// spconv_s8_scalar.cpp (portable), and the input repacking in spconv_s8_pack.cpp.
#include "core/kernels/spconv_s8/spconv_s8.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/kernels/spconv_s8/spconv_s8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace {

using namespace spconv_s8_internal;
namespace cs8 = conv_s8_internal;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

enum class Kind { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };

using TilesFn = void (*)(const SpPlan&, const uint8_t*, int64_t, void*, int64_t, int, int64_t, int64_t, int, int);
using PackFn = void (*)(const SpPlan&, const uint8_t*, int64_t, uint8_t*, int, int, int);

struct KindInfo {
  TilesFn tiles;
  PackFn pack;
  int native_unit;
  int lanes;              // pixels per vector: tile sizes are 2, 4 or 8 vectors
  int max_acc;            // out_block * tile vectors must not exceed it (accumulators in registers)
  int default_tile[3];    // for out_block 1, 2, 4
  double entry_cost[3];   // time of one entry of a group of 1, 2, 4 channels, relative to 1
  const char* suffix;
};

// Default tiles and entry costs measured with bench_spconv_s8 on the YOLO11n-pose layers (README.md): the
// time of a layer fits F + k(out_block) x entries; entry_cost = k per entry, relative to out_block 1.
KindInfo kind_info(Kind k) {
  switch (k) {
    case Kind::kAvx512Vnni:
      return {spconv_s8_avx512vnni_tiles, spconv_s8_avx512vnni_pack_rows, 4, 16, 16, {64, 64, 64}, {1.0, 1.19, 2.0}, "avx512vnni"};
    case Kind::kAvxVnni:
      return {spconv_s8_avxvnni_tiles, spconv_s8_avxvnni_pack_rows, 4, 8, 8, {32, 32, 16}, {1.0, 1.37, 2.68}, "avxvnni"};
    case Kind::kAvx2:
      return {spconv_s8_avx2_tiles, spconv_s8_avx2_pack_rows, 2, 8, 8, {32, 16, 16}, {1.0, 1.74, 2.76}, "avx2"};
    case Kind::kScalar: break;
  }
  return {spconv_s8_scalar_tiles, spconv_s8_pack_rows, 4, 1, 1 << 30, {16, 16, 16}, {1.0, 2.0, 4.0}, "scalar"};
}

int block_index(int out_block) { return out_block == 4 ? 2 : out_block - 1; }

Kind kind_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni:
    case Isa::kAmx: return Kind::kAvx512Vnni;
    case Isa::kAvxVnni: return Kind::kAvxVnni;
    case Isa::kAvx2:
    case Isa::kAvx512: return Kind::kAvx2;
    case Isa::kScalar: break;
  }
  return Kind::kScalar;
}

// The unit's weights of output channel o, tap (kh, kw), channel group g, packed like a cell; zero if all
// of them are zero (channels past in_c count as zero).
int32_t unit_weights(const Conv2dS8Desc& d, const int8_t* w, int unit, int o, int g, int kh, int kw) {
  uint32_t packed = 0;
  for (int i = 0; i < unit; ++i) {
    const int c = g * unit + i;
    if (c >= d.in_c) break;
    const int8_t v = w[((static_cast<int64_t>(o) * d.in_c + c) * d.kernel_h + kh) * d.kernel_w + kw];
    if (unit == 4)
      packed |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * i);
    else
      packed |= static_cast<uint32_t>(static_cast<uint16_t>(static_cast<int16_t>(v))) << (16 * i);
  }
  return static_cast<int32_t>(packed);
}

// Units where any channel of a group of `block` consecutive output channels is nonzero, summed over the
// groups: the entries the kernel executes with that out_block.
int64_t group_units(const Conv2dS8Desc& d, const int8_t* w, int unit, int block) {
  const int groups = static_cast<int>(ceil_div(d.in_c, unit));
  int64_t n = 0;
  for (int o0 = 0; o0 < d.out_c; o0 += block)
    for (int kh = 0; kh < d.kernel_h; ++kh)
      for (int kw = 0; kw < d.kernel_w; ++kw)
        for (int g = 0; g < groups; ++g) {
          bool any = false;
          for (int o = o0; o < o0 + block && o < d.out_c && !any; ++o) any = unit_weights(d, w, unit, o, g, kh, kw) != 0;
          n += any;
        }
  return n;
}

// The out_block with the least estimated time: the entries it executes x their measured relative cost.
int choose_out_block(const Conv2dS8Desc& d, const int8_t* w, int unit, const KindInfo& info) {
  int best = 1;
  double best_cost = 0;
  for (int block : {1, 2, 4}) {
    const double cost = static_cast<double>(group_units(d, w, unit, block)) * info.entry_cost[block_index(block)];
    if (block == 1 || cost < best_cost) best = block, best_cost = cost;
  }
  return best;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], FreeDeleter>;

AlignedBuffer aligned_buffer(int64_t bytes) {
  const size_t n = static_cast<size_t>((std::max<int64_t>(bytes, 1) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, n);
  if (!p) throw std::bad_alloc();
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

// The packed-input workspace of the calling thread: reused by every sparse convolution the thread runs
// (a band of ~256 KiB stays in L2 from one band and one layer to the next, where a buffer per kernel
// object was cold at every run: measured in README.md). Grows to the largest request, never shrinks; freed
// at thread exit.
uint8_t* workspace(int64_t bytes) {
  thread_local AlignedBuffer buffer;
  thread_local int64_t capacity = 0;
  if (bytes > capacity) {
    buffer = aligned_buffer(bytes);
    std::memset(buffer.get(), 0, static_cast<size_t>(bytes));  // cells no output reads: defined anyway
    capacity = bytes;
  }
  return buffer.get();
}

class SparseConv2dS8 final : public Conv2dS8 {
 public:
  SparseConv2dS8(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias, Kind kind,
                 const SparseConvS8Options& opt)
      : desc_(d) {
    const KindInfo info = kind_info(kind);
    tiles_fn_ = info.tiles;
    pack_fn_ = info.pack;
    const int unit = opt.unit == 0 ? info.native_unit : opt.unit;
    if (unit != 4 && unit != 2) throw Error("sparse integer Conv: unit must be 4 or 2, not " + std::to_string(unit));
    if (kind != Kind::kScalar && unit != info.native_unit)
      throw Error(std::string("sparse integer Conv: the ") + info.suffix + " kernel runs unit " +
                  std::to_string(info.native_unit) + " only");
    const int block = opt.out_block == 0 ? choose_out_block(d, w, unit, info) : opt.out_block;
    if (block != 1 && block != 2 && block != 4)
      throw Error("sparse integer Conv: out_block must be 1, 2 or 4, not " + std::to_string(block));
    tile_ = opt.tile_pixels == 0 ? info.default_tile[block_index(block)] : opt.tile_pixels;
    const int vectors = tile_ / info.lanes;
    if (tile_ <= 0 || tile_ % info.lanes != 0 || tile_ > kMaxTilePixels ||
        (kind != Kind::kScalar && ((vectors != 2 && vectors != 4 && vectors != 8) || vectors * block > info.max_acc)))
      throw Error("sparse integer Conv: a tile of " + std::to_string(tile_) + " pixels with out_block " +
                  std::to_string(block) + " is not supported by the " + info.suffix + " kernel");

    SpPlan& p = plan_;
    p.in_h = d.in_h, p.in_w = d.in_w, p.in_c = d.in_c, p.out_h = d.out_h(), p.out_w = d.out_w(), p.out_c = d.out_c;
    p.stride_h = d.stride_h, p.stride_w = d.stride_w, p.pad_top = d.pad_top, p.pad_left = d.pad_left;
    p.pad_right = d.pad_right;
    p.unit = unit;
    p.groups = static_cast<int>(ceil_div(d.in_c, unit));
    p.hq = static_cast<int>(ceil_div(d.pad_top + d.in_h + d.pad_bottom, d.stride_h));
    p.wq = static_cast<int>(ceil_div(d.pad_left + d.in_w + d.pad_right, d.stride_w));
    p.q_count = static_cast<int64_t>(p.out_h) * p.wq;
    if (opt.band_bytes < 0) throw Error("sparse integer Conv: negative band_bytes");
    plan_bands(p, d, tile_, opt.band_bytes > 0 ? opt.band_bytes : kBandBytes);
    p.zx_cell = unit == 4 ? 0x01010101u * d.input_zero_point : 0x00010001u * d.input_zero_point;
    p.out_f32 = d.output == QuantOutput::kF32;
    p.silu = d.activation == Activation::kSilu;
    p.zy = d.output == QuantOutput::kU8 ? d.output_zero_point : 0;
    p.inv_out_scale = cs8::inverse_output_scale(d);

    // Compressed weights: per group of `block` output channels, the units where any of them is nonzero,
    // sorted by offset (plane-major: the taps of one channel group read neighbouring cells).
    p.oc_block = block;
    p.oc_groups = static_cast<int>(ceil_div(d.out_c, block));
    row_start_.assign(static_cast<size_t>(p.oc_groups) + 1, 0);
    struct Unit {
      uint32_t offset;
      int32_t w[4];
    };
    std::vector<Unit> units;
    for (int gr = 0; gr < p.oc_groups; ++gr) {
      units.clear();
      for (int kh = 0; kh < d.kernel_h; ++kh)
        for (int kw = 0; kw < d.kernel_w; ++kw) {
          const int rh = kh * d.dilation_h, rw = kw * d.dilation_w;
          const int64_t plane0 = (static_cast<int64_t>(rh % d.stride_h) * d.stride_w + rw % d.stride_w) * p.groups;
          const int64_t tap = static_cast<int64_t>(rh / d.stride_h) * p.wq + rw / d.stride_w;
          for (int g = 0; g < p.groups; ++g) {
            Unit u{static_cast<uint32_t>(((plane0 + g) * p.plane_cells + tap) * 4), {0, 0, 0, 0}};
            bool any = false;
            for (int c = 0; c < block && gr * block + c < d.out_c; ++c) {
              u.w[c] = unit_weights(d, w, unit, gr * block + c, g, kh, kw);
              any |= u.w[c] != 0;
            }
            if (any) units.push_back(u);
          }
        }
      std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) { return a.offset < b.offset; });
      for (const Unit& u : units) {
        offsets_.push_back(u.offset);
        weights_.insert(weights_.end(), u.w, u.w + block);
      }
      if (offsets_.size() > static_cast<size_t>(INT32_MAX)) throw Error("sparse integer Conv: too many weights");
      row_start_[gr + 1] = static_cast<int32_t>(offsets_.size());
    }
    // Sentinels no row reaches: data() is never null, even with no nonzero weight at all.
    offsets_.push_back(0);
    weights_.push_back(0);
    offsets_.shrink_to_fit();
    weights_.shrink_to_fit();

    const size_t padded_oc = static_cast<size_t>(p.oc_groups) * block;
    bias_.assign(padded_oc, 0);
    requant_.assign(padded_oc, 0.0f);
    dequant_.assign(padded_oc, 0.0f);
    const int64_t per_oc = static_cast<int64_t>(d.in_c) * d.kernel_h * d.kernel_w;
    for (int o = 0; o < d.out_c; ++o) {
      int64_t sum = 0;
      for (int64_t i = 0; i < per_oc; ++i) sum += w[o * per_oc + i];
      // int32 arithmetic modulo 2^32, like the reference's accumulation and the dense kernels' bias.
      const uint32_t comp = static_cast<uint32_t>(static_cast<int64_t>(d.input_zero_point) * sum);
      bias_[o] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[o] : 0) - comp);
      requant_[o] = cs8::requant_multiplier(d, o);
      dequant_[o] = cs8::dequant_multiplier(d, o);
    }
    p.row_start = row_start_.data();
    p.offsets = offsets_.data();
    p.weights = weights_.data();
    p.bias = bias_.data();
    p.requant = requant_.data();
    p.dequant = dequant_.data();

    name_ = "sp" + cs8::kernel_name_prefix(d) + "-s8-" + (p.out_f32 ? "f32" : "u8") + "-b" + std::to_string(block) +
            "x" + std::to_string(unit) + "-" + info.suffix;
  }

  void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
           ThreadPool* pool) const override {
    cs8::validate_conv2d_s8_io(desc_, in, in_pixel_stride, out, out_pixel_stride);
    const SpPlan& p = plan_;
    const int threads = pool ? pool->num_threads() : 1;
    const int64_t blocks = ceil_div(p.out_c, kChannelBlock);
    // Part `part` of `parts` of band b's input rows into its segment (part 0 also writes the padding).
    auto pack = [&](int b, uint8_t* seg, int64_t part, int64_t parts) {
      const Band band = band_of(b);
      if (part == 0) spconv_s8_fill_padding(p, seg, band.row0);
      const int r0 = band.ih_begin + static_cast<int>(part * (band.ih_end - band.ih_begin) / parts);
      const int r1 = band.ih_begin + static_cast<int>((part + 1) * (band.ih_end - band.ih_begin) / parts);
      if (r0 < r1) pack_fn_(p, in, in_pixel_stride, seg, band.row0, r0, r1);
    };
    auto compute = [&](int b, const uint8_t* seg, int64_t t0, int64_t t1, int o0, int o1) {
      if (t0 < t1 && o0 < o1) tiles_fn_(p, seg, band_of(b).q_origin, out, out_pixel_stride, tile_, t0, t1, o0, o1);
    };
    if (threads <= 1 || p.bands >= 2 * threads) {  // per band: pack into this thread's workspace, consume
      auto band_task = [&](int64_t task) {
        const int b = static_cast<int>(task);
        uint8_t* seg = workspace(p.seg_bytes);
        pack(b, seg, 0, 1);
        compute(b, seg, band_of(b).t0, band_of(b).t1, 0, p.out_c);
      };
      if (threads <= 1)
        for (int b = 0; b < p.bands; ++b) band_task(b);
      else
        pool->parallel_for(p.bands, band_task);
      return;
    }
    // Few bands for the threads: every band's segment in the calling thread's workspace, packed in parts,
    // then each band's tiles and, when there are still too few tasks, its channels (blocks of
    // kChannelBlock) split over the threads.
    uint8_t* segs = workspace(p.bands * p.seg_bytes);
    const int64_t want = 4 * static_cast<int64_t>(threads);
    const int64_t pack_parts = ceil_div(want, p.bands);
    pool->parallel_for(p.bands * pack_parts, [&](int64_t task) {
      const int b = static_cast<int>(task / pack_parts);
      pack(b, segs + b * p.seg_bytes, task % pack_parts, pack_parts);
    });
    const int64_t tile_tasks = std::min(p.band_tiles, ceil_div(want, p.bands));
    const int64_t ch_tasks = std::min(blocks, ceil_div(want, p.bands * tile_tasks));
    pool->parallel_for(p.bands * tile_tasks * ch_tasks, [&](int64_t task) {
      const int b = static_cast<int>(task / (tile_tasks * ch_tasks));
      const int64_t tt = task / ch_tasks % tile_tasks, ct = task % ch_tasks;
      const Band band = band_of(b);
      const int64_t n = band.t1 - band.t0;
      const int o0 = static_cast<int>(ct * blocks / ch_tasks) * kChannelBlock;
      const int o1 = std::min(p.out_c, static_cast<int>((ct + 1) * blocks / ch_tasks) * kChannelBlock);
      compute(b, segs + b * p.seg_bytes, band.t0 + tt * n / tile_tasks, band.t0 + (tt + 1) * n / tile_tasks, o0, o1);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  // Band b: its tiles, the phase rows its segment holds, the input rows that map to them.
  struct Band {
    int64_t t0, t1;       // tiles
    int row0;             // first phase row of the segment
    int64_t q_origin;     // row0 * wq
    int ih_begin, ih_end; // input rows to pack
  };
  static Band band_of(const SpPlan& p, int tile, int b) {
    Band band;
    const int64_t tiles = ceil_div(p.q_count, tile);
    band.t0 = b * p.band_tiles;
    band.t1 = std::min(tiles, band.t0 + p.band_tiles);
    band.row0 = static_cast<int>(band.t0 * tile / p.wq);
    band.q_origin = static_cast<int64_t>(band.row0) * p.wq;
    band.ih_begin = std::max(0, band.row0 * p.stride_h - p.pad_top);
    band.ih_end = std::min(p.in_h, (band.row0 + p.seg_rows) * p.stride_h - p.pad_top);
    return band;
  }
  Band band_of(int b) const { return band_of(plan_, tile_, b); }

  // Bands of about band_bytes of packed cells (the packed input of a small layer is one band), and the
  // segment geometry: every plane holds all the cells its band's tiles read (need), in whole phase rows.
  // The default leaves room in a 1 MB L2 for the weights streaming by (measured in README.md).
  static constexpr int64_t kBandBytes = 256 * 1024;
  static void plan_bands(SpPlan& p, const Conv2dS8Desc& d, int tile, int64_t band_bytes) {
    const int64_t planes = static_cast<int64_t>(d.stride_h) * d.stride_w * p.groups;
    const int64_t max_tap = static_cast<int64_t>((d.kernel_h - 1) * d.dilation_h / d.stride_h) * p.wq +
                            (d.kernel_w - 1) * d.dilation_w / d.stride_w;
    const int64_t tiles = ceil_div(p.q_count, tile);
    const int64_t row_bytes = planes * p.wq * 4;
    const int64_t band_rows = std::max<int64_t>(1, band_bytes / row_bytes);
    p.band_tiles = std::min(tiles, std::max<int64_t>(1, band_rows * p.wq / tile));
    p.bands = static_cast<int>(ceil_div(tiles, p.band_tiles));
    int64_t need_max = 0;
    p.seg_rows = 0;
    p.plane_cells = 0;
    for (int b = 0; b < p.bands; ++b) {
      const Band band = band_of(p, tile, b);
      const int64_t need = band.t1 * tile - band.q_origin + max_tap;  // cells read, exclusive end
      need_max = std::max(need_max, need);
      p.seg_rows = std::max(p.seg_rows, static_cast<int>(ceil_div(need, p.wq)));
    }
    p.plane_cells = ceil_div(std::max<int64_t>(need_max, static_cast<int64_t>(p.seg_rows) * p.wq), 16) * 16;
    p.seg_bytes = ceil_div((planes * p.plane_cells + 16) * 4, 64) * 64;  // 64-byte aligned segments
    if (planes * p.plane_cells * 4 >= (int64_t{1} << 32))
      throw Error("sparse integer Conv: input too large for 32-bit offsets");
  }

  Conv2dS8Desc desc_;
  TilesFn tiles_fn_ = nullptr;
  PackFn pack_fn_ = nullptr;
  int tile_ = 0;
  SpPlan plan_;
  std::vector<int32_t> row_start_;
  std::vector<uint32_t> offsets_;
  std::vector<int32_t> weights_;
  std::vector<int32_t> bias_;
  std::vector<float> requant_, dequant_;
  std::string name_;
};

void check_desc(const Conv2dS8Desc& desc, const int8_t* weights_oihw) {
  cs8::validate_conv2d_s8_desc(desc);
  if (!weights_oihw) throw Error("sparse integer Conv: null weights");
  if (cs8::is_depthwise(desc)) throw Error("sparse integer Conv: depthwise convolution is not sparse (use the dense kernel)");
  if (desc.residual) throw Error("sparse integer Conv: no residual epilogue (use the dense kernel)");
}

}  // namespace

std::unique_ptr<Conv2dS8> create_sparse_conv2d_s8(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                  const int32_t* bias, Isa isa, const SparseConvS8Options& options) {
  check_desc(desc, weights_oihw);
  if (!isa_supported(isa))
    throw Error(std::string("sparse integer Conv: ISA ") + std::string(isa_name(isa)) + " not supported by this CPU");
  return std::make_unique<SparseConv2dS8>(desc, weights_oihw, bias, kind_for(isa), options);
}

SparseConvS8Stats sparse_conv2d_s8_stats(const Conv2dS8Desc& desc, const int8_t* weights_oihw, Isa isa) {
  check_desc(desc, weights_oihw);
  const int unit = kind_info(kind_for(isa)).native_unit;
  const int groups = static_cast<int>(ceil_div(desc.in_c, unit));
  SparseConvS8Stats s;
  s.weights = static_cast<int64_t>(desc.out_c) * desc.in_c * desc.kernel_h * desc.kernel_w;
  for (int64_t i = 0; i < s.weights; ++i) s.zero_weights += weights_oihw[i] == 0;
  s.units = static_cast<int64_t>(desc.out_c) * groups * desc.kernel_h * desc.kernel_w;
  for (int o = 0; o < desc.out_c; ++o)
    for (int kh = 0; kh < desc.kernel_h; ++kh)
      for (int kw = 0; kw < desc.kernel_w; ++kw)
        for (int g = 0; g < groups; ++g) s.nonzero_units += unit_weights(desc, weights_oihw, unit, o, g, kh, kw) != 0;
  return s;
}

}  // namespace sp::kernels
