// Depthwise integer convolution (groups == in_c == out_c): the plan, weight packing and threading
// (baseline code). The arithmetic is in conv_s8_dw_avx2.cpp / conv_s8_dw_avx512.cpp (shared body
// conv_s8_dw_simd.inc); the reference is the grouped loop of conv_s8_scalar.cpp.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_s8_internal {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// First output index whose window starts inside the input, and one past the last whose window ends
// inside it (both clamped to [0, out]); lo >= hi means no interior.
void interior_range(int in, int out, int kernel, int stride, int dilation, int pad, int& lo, int& hi) {
  lo = static_cast<int>(ceil_div(pad, stride));
  const int64_t last_start = static_cast<int64_t>(in) - 1 - static_cast<int64_t>(dilation) * (kernel - 1) + pad;
  hi = last_start < 0 ? 0 : static_cast<int>(last_start / stride + 1);
  if (hi > out) hi = out;
  if (lo > out) lo = out;
  if (hi < lo) hi = lo;
}

using DwRowsFn = void (*)(const DwPlan&, const uint8_t*, int64_t, void*, int64_t, int, int);

class Conv2dS8Dw final : public Conv2dS8 {
 public:
  Conv2dS8Dw(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias, bool avx512)
      : desc_(d), rows_(avx512 ? conv_s8_dw_avx512_rows : conv_s8_dw_avx2_rows) {
    DwPlan& p = plan_;
    p.in_h = d.in_h, p.in_w = d.in_w, p.channels = d.in_c, p.out_h = d.out_h(), p.out_w = d.out_w();
    p.kernel_h = d.kernel_h, p.kernel_w = d.kernel_w, p.stride_h = d.stride_h, p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h, p.dilation_w = d.dilation_w, p.pad_top = d.pad_top, p.pad_left = d.pad_left;
    interior_range(d.in_h, p.out_h, d.kernel_h, d.stride_h, d.dilation_h, d.pad_top, p.oh_lo, p.oh_hi);
    interior_range(d.in_w, p.out_w, d.kernel_w, d.stride_w, d.dilation_w, d.pad_left, p.ow_lo, p.ow_hi);
    p.out_f32 = d.output == QuantOutput::kF32;
    p.silu = d.activation == Activation::kSilu;
    p.zy = d.output == QuantOutput::kU8 ? d.output_zero_point : 0;
    p.inv_out_scale = inverse_output_scale(d);
    p.padded_c = static_cast<int>(ceil_div(d.in_c, kDwChannelAlign) * kDwChannelAlign);

    // One allocation: weights [taps][padded_c] int32, bias, requant, dequant (padded_c each), zx pixel.
    const int taps = d.kernel_h * d.kernel_w;
    const int64_t pc = p.padded_c;
    storage_ = aligned_zero_bytes((taps + 3) * pc * 4 + pc);
    int32_t* weights = reinterpret_cast<int32_t*>(storage_.get());
    int32_t* packed_bias = weights + taps * pc;
    float* requant = reinterpret_cast<float*>(packed_bias + pc);
    float* dequant = requant + pc;
    uint8_t* zx_pixel = reinterpret_cast<uint8_t*>(dequant + pc);
    std::memset(zx_pixel, d.input_zero_point, static_cast<size_t>(pc));
    for (int c = 0; c < d.in_c; ++c) {
      int32_t sum = 0;
      for (int t = 0; t < taps; ++t) {
        const int8_t v = w[static_cast<int64_t>(c) * taps + t];  // OIHW with I == 1
        weights[t * pc + c] = v;
        sum += v;
      }
      // bias - zx * sum(w) in int32 arithmetic modulo 2^32, exactly like the reference's accumulation.
      const uint32_t comp = static_cast<uint32_t>(d.input_zero_point) * static_cast<uint32_t>(sum);
      packed_bias[c] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[c] : 0) - comp);
      requant[c] = requant_multiplier(d, c);
      dequant[c] = dequant_multiplier(d, c);
    }
    p.weights = weights, p.bias = packed_bias, p.requant = requant, p.dequant = dequant, p.zx_pixel = zx_pixel;
    name_ = kernel_name_prefix(d) + "-s8-" + (p.out_f32 ? "f32" : "u8") + (avx512 ? "-avx512" : "-avx2");
  }

  void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
           ThreadPool* pool) const override {
    validate_conv2d_s8_io(desc_, in, in_pixel_stride, out, out_pixel_stride);
    const int rows = plan_.out_h;
    const int threads = pool ? pool->num_threads() : 1;
    if (threads <= 1 || rows < 2) {
      rows_(plan_, in, in_pixel_stride, out, out_pixel_stride, 0, rows);
      return;
    }
    // About 4 chunks of whole output rows per thread: enough to balance, few enough to stay cheap.
    const int64_t tasks = rows < 4 * threads ? rows : 4 * threads;
    const int64_t chunk = ceil_div(rows, tasks);
    pool->parallel_for(ceil_div(rows, chunk), [&](int64_t t) {
      const int r0 = static_cast<int>(t * chunk);
      const int r1 = static_cast<int>(r0 + chunk < rows ? r0 + chunk : rows);
      rows_(plan_, in, in_pixel_stride, out, out_pixel_stride, r0, r1);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dS8Desc desc_;
  DwRowsFn rows_;
  DwPlan plan_;
  AlignedBytes storage_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Conv2dS8> create_conv2d_s8_dw_simd(const Conv2dS8Desc& desc, const int8_t* weights_oi1hw,
                                                   const int32_t* bias, bool avx512) {
  return std::make_unique<Conv2dS8Dw>(desc, weights_oi1hw, bias, avx512);
}

}  // namespace sp::kernels::conv_s8_internal
