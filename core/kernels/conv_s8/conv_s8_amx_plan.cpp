// The AMX-INT8 convolution: choice of K layout, weights packed once into B tiles, the per-thread
// scratch, and the work split over the thread pool (baseline code; the tile work is in
// conv_s8_amx_kernel.inc, compiled for the CPU in conv_s8_amx.cpp and for the emulator in
// conv_s8_amx_emulated.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_s8_internal {

namespace {

constexpr int kTile = amx::kMaxRows;        // pixels per A tile, channels per B tile
constexpr int kStep = amx::kBytesPerRow;    // K bytes per step
constexpr int kBlockPixels = 2 * kTile;     // pixels per micro-kernel call

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

using AmxTaskFn = void (*)(const AmxS8Plan&, const uint8_t*, int64_t, void*, int64_t, int, int, int64_t, int64_t);

class Conv2dS8Amx final : public Conv2dS8 {
 public:
  Conv2dS8Amx(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias, AmxBackend backend, bool simd_helpers)
      : desc_(d), task_(backend == AmxBackend::kHardware ? conv_s8_amx_task : conv_s8_amx_emulated_task) {
    AmxS8Plan& p = plan_;
    p.in_h = d.in_h, p.in_w = d.in_w, p.in_c = d.in_c, p.out_h = d.out_h(), p.out_w = d.out_w(), p.out_c = d.out_c;
    p.kernel_h = d.kernel_h, p.kernel_w = d.kernel_w, p.stride_h = d.stride_h, p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h, p.dilation_w = d.dilation_w, p.pad_top = d.pad_top, p.pad_left = d.pad_left;
    p.zx = d.input_zero_point;
    const int taps = d.kernel_h * d.kernel_w;
    // K layout: per tap in_c rounded up to 64 (A tiles can then come straight from the input), unless
    // packing whole receptive fields saves K steps (small in_c with a kernel larger than 1x1).
    p.k_per_tap = static_cast<int>(ceil_div(d.in_c, kStep) * kStep);
    p.chunks = p.k_per_tap / kStep;
    const int direct_steps = taps * p.chunks;
    const int im2col_steps = static_cast<int>(ceil_div(static_cast<int64_t>(taps) * d.in_c, kStep));
    p.im2col = im2col_steps < direct_steps;
    p.ksteps = p.im2col ? im2col_steps : direct_steps;
    p.row_bytes = p.ksteps * kStep;
    p.linear = d.kernel_h == 1 && d.kernel_w == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
               d.pad_left == 0 && d.pad_bottom == 0 && d.pad_right == 0;
    p.n_tiles = static_cast<int>(ceil_div(d.out_c, kTile));

    // B tiles: [n tile][K step][row r = K group of 4][channel n][byte i] = w[16 nt + n][K = 64 s + 4 r + i].
    const int64_t tile_bytes = static_cast<int64_t>(kTile) * kStep;
    weights_ = aligned_zero_bytes(static_cast<int64_t>(p.n_tiles) * p.ksteps * tile_bytes);
    auto weight = [&](int o, int k) -> int8_t {  // k: position in this layout's K order
      int tap, c;
      if (p.im2col) {
        if (k >= taps * d.in_c) return 0;
        tap = k / d.in_c, c = k % d.in_c;
      } else {
        tap = k / p.k_per_tap, c = k % p.k_per_tap;
        if (c >= d.in_c) return 0;
      }
      const int kh = tap / d.kernel_w, kw = tap % d.kernel_w;
      return w[((static_cast<int64_t>(o) * d.in_c + c) * d.kernel_h + kh) * d.kernel_w + kw];
    };
    auto* packed = reinterpret_cast<int8_t*>(weights_.get());
    for (int nt = 0; nt < p.n_tiles; ++nt)
      for (int s = 0; s < p.ksteps; ++s) {
        int8_t* tile = packed + (static_cast<int64_t>(nt) * p.ksteps + s) * tile_bytes;
        for (int r = 0; r < kTile; ++r)
          for (int n = 0; n < kTile; ++n) {
            const int o = nt * kTile + n;
            if (o >= d.out_c) continue;
            for (int i = 0; i < 4; ++i) tile[r * kStep + n * 4 + i] = weight(o, s * kStep + r * 4 + i);
          }
      }

    // Per-channel bias with the zero-point compensation, and the epilogue factors: padded to whole tiles
    // plus one, 64-byte aligned (the epilogue loads them 16 at a time, aligned).
    const int64_t padded = static_cast<int64_t>(p.n_tiles + 1) * kTile;
    bias_ = aligned_zero_bytes(padded * 4);
    requant_ = aligned_zero_bytes(padded * 4);
    dequant_ = aligned_zero_bytes(padded * 4);
    auto* b = reinterpret_cast<int32_t*>(bias_.get());
    auto* rq = reinterpret_cast<float*>(requant_.get());
    auto* dq = reinterpret_cast<float*>(dequant_.get());
    const int64_t per_oc = static_cast<int64_t>(d.in_c) * taps;
    for (int o = 0; o < d.out_c; ++o) {
      int64_t sum = 0;
      for (int64_t i = 0; i < per_oc; ++i) sum += w[o * per_oc + i];
      // bias - zx * sum(w) in int32 arithmetic modulo 2^32, as the reference accumulates.
      const uint32_t comp = static_cast<uint32_t>(static_cast<int64_t>(d.input_zero_point) * sum);
      b[o] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[o] : 0) - comp);
      rq[o] = requant_multiplier(d, o);
      dq[o] = dequant_multiplier(d, o);
    }
    p.weights = packed;
    p.bias = b;
    S8Plan& e = p.epilogue;
    e.out_f32 = d.output == QuantOutput::kF32;
    e.silu = d.activation == Activation::kSilu;
    e.zy = d.output == QuantOutput::kU8 ? d.output_zero_point : 0;
    e.inv_out_scale = inverse_output_scale(d);
    e.requant = rq;
    e.dequant = dq;
    e.out_c = d.out_c;
    const bool simd = backend == AmxBackend::kHardware || (simd_helpers && isa_supported(Isa::kAvx512Vnni));
    p.store = simd ? conv_s8_avx512vnni_store_acc : conv_s8_amx_store_acc_scalar;
    p.gather = simd ? conv_s8_amx_gather_avx512 : conv_s8_amx_gather_scalar;
    name_ = kernel_name_prefix(d) + "-s8-" + (e.out_f32 ? "f32" : "u8") + (p.im2col ? "-im2col" : "") +
            (backend == AmxBackend::kHardware ? "-amx" : "-amx-emu");
  }

  void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
           ThreadPool* pool) const override {
    validate_conv2d_s8_io(desc_, in, in_pixel_stride, out, out_pixel_stride);
    const AmxS8Plan& p = plan_;
    const int64_t pixels = static_cast<int64_t>(p.out_h) * p.out_w;
    const int threads = pool ? pool->num_threads() : 1;
    if (threads <= 1) {
      task_(p, in, in_pixel_stride, out, out_pixel_stride, 0, p.n_tiles, 0, pixels);
      return;
    }
    // About 4 tasks per thread (the pool balances uneven ones). Pixel blocks first: a gathered A block
    // then serves every channel tile of the task; channel tiles are split (in pairs) only when there are
    // too few pixel blocks, as in the deep 20x20 layers.
    const int64_t want = int64_t{4} * threads;
    const int64_t blocks = ceil_div(pixels, kBlockPixels);
    const int64_t pairs = ceil_div(p.n_tiles, 2);
    int64_t groups = blocks >= want ? 1 : ceil_div(want, blocks);
    if (groups > pairs) groups = pairs;
    const int64_t pairs_per_group = ceil_div(pairs, groups);
    groups = ceil_div(pairs, pairs_per_group);
    const int64_t chunks = ceil_div(want, groups);
    const int64_t chunk = ceil_div(blocks, chunks) * kBlockPixels;
    const int64_t pixel_tasks = ceil_div(pixels, chunk);
    pool->parallel_for(groups * pixel_tasks, [&](int64_t t) {
      const int64_t g = t / pixel_tasks;
      const int nt0 = static_cast<int>(g * pairs_per_group * 2);
      const int nt1 = static_cast<int>(std::min<int64_t>((g + 1) * pairs_per_group * 2, p.n_tiles));
      const int64_t p0 = (t % pixel_tasks) * chunk;
      const int64_t p1 = std::min(p0 + chunk, pixels);
      task_(p, in, in_pixel_stride, out, out_pixel_stride, nt0, nt1, p0, p1);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dS8Desc desc_;
  AmxTaskFn task_;
  AmxS8Plan plan_;
  AlignedBytes weights_, bias_, requant_, dequant_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Conv2dS8> create_conv2d_s8_amx(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                               const int32_t* bias, AmxBackend backend, bool simd_helpers) {
  validate_conv2d_s8_desc(desc);
  if (!weights_oihw) throw Error("integer Conv: null weights");
  if (desc.groups != 1) throw Error("integer Conv: the AMX kernel is for dense convolutions (groups=1), not groups=" +
                                    std::to_string(desc.groups));
  if (backend == AmxBackend::kHardware && !amx_hardware_usable())
    throw Error("integer Conv: AMX not usable on this CPU (missing, or not granted by Linux)");
  return std::make_unique<Conv2dS8Amx>(desc, weights_oihw, bias, backend, simd_helpers);
}

}  // namespace sp::kernels::conv_s8_internal
