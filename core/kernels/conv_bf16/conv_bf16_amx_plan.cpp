// The AMX-BF16 convolution (baseline code): the converted-input geometry, weights packed once into B
// tiles, the conversion pass and the split of the tile work over the thread pool. The tile work is
// conv_bf16_amx_kernel.inc (conv_bf16_amx.cpp on the CPU, conv_bf16_amx_emulated.cpp on the emulator).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_bf16_internal {

const Bf16DotModel kTdpbf16psAmxModel = [] {
  Bf16DotModel m = kTdpbf16psSdmModel;  // 16 pairs per tdpbf16ps, even/odd sums joined even + odd
  m.tap_pairs_multiple = 16;            // each tap padded with zero pairs to whole tiles of K
  return m;
}();

namespace {

constexpr int kTile = amx::kMaxRows;   // pixels per A tile, channels per B tile
constexpr int kStepPairs = 16;         // pairs per A-tile row
constexpr int kBlockPixels = 2 * kTile;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;

Buffer zeroed(int64_t bytes) {
  const size_t n = static_cast<size_t>(ceil_div(bytes > 0 ? bytes : 1, 64) * 64);
  Buffer b(static_cast<uint8_t*>(std::aligned_alloc(64, n)));
  if (!b) throw std::bad_alloc();
  std::memset(b.get(), 0, n);
  return b;
}

uint32_t weight_pair(const float* w, int o, int in_c, int taps, int t, int k) {
  auto one = [&](int c) -> uint32_t {
    return c < in_c ? bf16_round(w[(static_cast<int64_t>(o) * in_c + c) * taps + t]) : 0u;
  };
  return one(2 * k) | (one(2 * k + 1) << 16);
}

using TaskFn = void (*)(const AmxBf16Plan&, const ConvIO&, int, int, int64_t, int64_t);

class Conv2dBf16Amx final : public Conv2dF32 {
 public:
  Conv2dBf16Amx(const Conv2dDesc& d, const float* weights, const float* bias, AmxBf16Backend backend)
      : desc_(d), task_(backend == AmxBf16Backend::kHardware ? conv_bf16_amx_task : conv_bf16_amx_emulated_task) {
    // The converted input: conv_bf16_internal's padded geometry, pixels of whole 16-pair rows.
    Bf16InputPlan& in = in_;
    in.in_w = d.in_w;
    in.groups = 1;
    in.ic_g = d.in_c;
    in.pairs_per_group = (d.in_c + 1) / 2;
    in.pad_top = d.pad_top;
    in.pad_left = d.pad_left;
    in.padded_h = (d.out_h() - 1) * d.stride_h + (d.kernel_h - 1) * d.dilation_h + 1;
    in.padded_w = (d.out_w() - 1) * d.stride_w + (d.kernel_w - 1) * d.dilation_w + 1;
    auto clamp = [](int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; };
    in.rows = clamp(in.padded_h - d.pad_top, d.in_h);
    in.cols = clamp(in.padded_w - d.pad_left, d.in_w);
    in.pixel_pairs = ceil_div(in.pairs_per_group, kStepPairs) * kStepPairs;
    input_ = zeroed(static_cast<int64_t>(in.padded_h) * in.padded_w * in.pixel_pairs * 4);
    in.buffer = reinterpret_cast<uint32_t*>(input_.get());
    convert_ = detect_cpu().avx512_bf16 && isa_supported(Isa::kAvx512) ? kAvx512Bf16Kernels.convert : convert_rows_scalar;

    AmxBf16Plan& p = plan_;
    p.out_h = d.out_h(), p.out_w = d.out_w(), p.out_c = d.out_c;
    p.kernel_h = d.kernel_h, p.kernel_w = d.kernel_w, p.stride_h = d.stride_h, p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h, p.dilation_w = d.dilation_w;
    p.linear = d.kernel_h == 1 && d.kernel_w == 1 && d.stride_h == 1 && d.stride_w == 1 && in.padded_w == p.out_w;
    p.padded_w = in.padded_w;
    p.pixel_pairs = in.pixel_pairs;
    p.chunks = static_cast<int>(in.pixel_pairs / kStepPairs);
    const int taps = d.kernel_h * d.kernel_w;
    p.ksteps = taps * p.chunks;
    p.n_tiles = static_cast<int>(ceil_div(d.out_c, kTile));
    p.activation = d.activation;
    p.input = in.buffer;

    // B tiles: [n tile][step = (tap, chunk)][row = pair of the chunk][channel] pairs.
    const int64_t tile_words = int64_t{kStepPairs} * kTile;
    weights_ = zeroed(static_cast<int64_t>(p.n_tiles) * p.ksteps * tile_words * 4);
    auto* w = reinterpret_cast<uint32_t*>(weights_.get());
    for (int nt = 0; nt < p.n_tiles; ++nt)
      for (int t = 0; t < taps; ++t)
        for (int c = 0; c < p.chunks; ++c) {
          uint32_t* tile = w + (static_cast<int64_t>(nt) * p.ksteps + t * p.chunks + c) * tile_words;
          for (int r = 0; r < kStepPairs; ++r) {
            const int k = c * kStepPairs + r;
            if (k >= in.pairs_per_group) break;
            for (int n = 0; n < kTile && nt * kTile + n < d.out_c; ++n)
              tile[r * kTile + n] = weight_pair(weights, nt * kTile + n, d.in_c, taps, t, k);
          }
        }
    bias_ = zeroed(static_cast<int64_t>(p.n_tiles + 1) * kTile * 4);
    if (bias) std::memcpy(bias_.get(), bias, static_cast<size_t>(d.out_c) * 4);
    p.weights = w;
    p.bias = reinterpret_cast<const float*>(bias_.get());
    p.store = conv_bf16_amx_store_avx512;

    name_ = "conv" + std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w) + "s" + std::to_string(d.stride_h);
    name_ += backend == AmxBf16Backend::kHardware ? "-bf16-amx" : "-bf16-amx-emu";
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(desc_, io);
    const int threads = pool ? pool->num_threads() : 1;
    // 1. The input to bf16 pairs, by rows.
    const int rows = in_.rows;
    if (threads <= 1 || rows < 2) {
      if (rows > 0) convert_(in_, io.input, io.in_pixel_stride, 0, rows);
    } else {
      const int64_t per = ceil_div(rows, std::min<int64_t>(int64_t{4} * threads, rows));
      pool->parallel_for(ceil_div(rows, per), [&](int64_t t) {
        const int r0 = static_cast<int>(t * per);
        convert_(in_, io.input, io.in_pixel_stride, r0, static_cast<int>(std::min<int64_t>(r0 + per, rows)));
      });
    }
    // 2. The tiles: pixel blocks of 32, channel tiles in pairs split too when pixels are few (as the
    // AMX-INT8 convolution does).
    const AmxBf16Plan& p = plan_;
    const int64_t pixels = static_cast<int64_t>(p.out_h) * p.out_w;
    if (threads <= 1) {
      task_(p, io, 0, p.n_tiles, 0, pixels);
      return;
    }
    const int64_t want = int64_t{4} * threads;
    const int64_t blocks = ceil_div(pixels, kBlockPixels);
    const int64_t pairs = ceil_div(p.n_tiles, 2);
    int64_t groups = blocks >= want ? 1 : std::min(pairs, ceil_div(want, blocks));
    const int64_t pairs_per_group = ceil_div(pairs, groups);
    groups = ceil_div(pairs, pairs_per_group);
    const int64_t chunk = ceil_div(blocks, ceil_div(want, groups)) * kBlockPixels;
    const int64_t pixel_tasks = ceil_div(pixels, chunk);
    pool->parallel_for(groups * pixel_tasks, [&](int64_t t) {
      const int64_t g = t / pixel_tasks;
      const int nt0 = static_cast<int>(g * pairs_per_group * 2);
      const int nt1 = static_cast<int>(std::min<int64_t>((g + 1) * pairs_per_group * 2, p.n_tiles));
      const int64_t p0 = (t % pixel_tasks) * chunk;
      task_(p, io, nt0, nt1, p0, std::min(p0 + chunk, pixels));
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dDesc desc_;
  TaskFn task_;
  Bf16InputPlan in_;
  Bf16ConvertRowsFn convert_ = nullptr;
  AmxBf16Plan plan_;
  Buffer input_, weights_, bias_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Conv2dF32> create_conv2d_bf16_amx(const Conv2dDesc& desc, const float* weights, const float* bias,
                                                  AmxBf16Backend backend) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("conv2d: missing weights");
  if (desc.groups != 1) throw Error("conv2d bf16: the AMX kernel is for groups=1, not groups=" + std::to_string(desc.groups));
  if (backend == AmxBf16Backend::kHardware && !amx_hardware_usable())
    throw Error("conv2d bf16: AMX not usable on this CPU (missing, or not granted by Linux)");
  if (!isa_supported(Isa::kAvx512)) throw Error("conv2d bf16: the AMX kernel's epilogue needs AVX-512");
  return std::make_unique<Conv2dBf16Amx>(desc, weights, bias, backend);
}

}  // namespace sp::kernels::conv_bf16_internal
