// Depthwise integer convolution (groups == in_c == out_c): the plan, weight packing and threading
// (baseline code). The arithmetic is the shared body conv_s8_dw_simd.inc, compiled per ISA in
// conv_s8_dw_{avx2,avx512,avx512vnni,avxvnni}.cpp (and conv_s8_dw_vnni256_avx512vnni.cpp for the tests);
// the reference is the grouped loop of conv_s8_scalar.cpp.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_s8_internal {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

using DwRowsFn = void (*)(const DwPlan&, const uint8_t*, int64_t, void*, int64_t, int, int);

struct DwKernelInfo {
  DwRowsFn rows;
  int lanes;      // int32 lanes per vector
  bool vnni;      // vpdpbusd (else vpmaddwd on int16 pairs)
  Isa needs;      // what the CPU must support
  const char* suffix;
};

DwKernelInfo kernel_info(DwKernel k) {
  switch (k) {
    case DwKernel::kAvx2: return {conv_s8_dw_avx2_rows, 8, false, Isa::kAvx2, "-avx2"};
    case DwKernel::kAvx512: return {conv_s8_dw_avx512_rows, 16, false, Isa::kAvx512, "-avx512"};
    case DwKernel::kAvx512Vnni: return {conv_s8_dw_avx512vnni_rows, 16, true, Isa::kAvx512Vnni, "-avx512vnni"};
    case DwKernel::kAvxVnni: return {conv_s8_dw_avxvnni_rows, 8, true, Isa::kAvxVnni, "-avxvnni"};
    case DwKernel::kVnni256Evex: return {conv_s8_dw_vnni256_evex_rows, 8, true, Isa::kAvx512Vnni, "-vnni256-evex"};
  }
  return {conv_s8_dw_avx2_rows, 8, false, Isa::kAvx2, "-avx2"};
}

class Conv2dS8Dw final : public Conv2dS8 {
 public:
  Conv2dS8Dw(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias, const DwKernelInfo& k)
      : desc_(d), rows_(k.rows) {
    DwPlan& p = plan_;
    p.in_h = d.in_h, p.in_w = d.in_w, p.channels = d.in_c, p.out_h = d.out_h(), p.out_w = d.out_w();
    p.kernel_h = d.kernel_h, p.kernel_w = d.kernel_w, p.stride_h = d.stride_h, p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h, p.dilation_w = d.dilation_w, p.pad_top = d.pad_top, p.pad_left = d.pad_left;
    p.row_groups = static_cast<int>(ceil_div(d.kernel_h, 4));
    p.out_f32 = d.output == QuantOutput::kF32;
    p.silu = d.activation == Activation::kSilu;
    p.zy = d.output == QuantOutput::kU8 ? d.output_zero_point : 0;
    p.inv_out_scale = inverse_output_scale(d);
    const int lanes = k.lanes, cb = kDwVectors * lanes;
    p.block_channels = cb;
    p.num_blocks = static_cast<int>(ceil_div(d.in_c, cb));
    const int kh_n = d.kernel_h, kw_n = d.kernel_w, taps = kh_n * kw_n;
    p.block_weight_bytes = static_cast<int64_t>(p.row_groups) * kw_n * kDwVectors * cb * (k.vnni ? 1 : 2);

    // One allocation: weights, then bias, requant, dequant (num_blocks * cb each), then the zx row.
    const int64_t pc = static_cast<int64_t>(p.num_blocks) * cb;
    const int64_t wbytes = p.block_weight_bytes * p.num_blocks;
    storage_ = aligned_zero_bytes(wbytes + 3 * pc * 4 + pc);
    int8_t* weights = reinterpret_cast<int8_t*>(storage_.get());
    int32_t* packed_bias = reinterpret_cast<int32_t*>(storage_.get() + wbytes);
    float* requant = reinterpret_cast<float*>(packed_bias + pc);
    float* dequant = requant + pc;
    uint8_t* zx_row = reinterpret_cast<uint8_t*>(dequant + pc);
    std::memset(zx_row, d.input_zero_point, static_cast<size_t>(pc));

    // Weight of channel c at kernel row kh (any: 0 past the kernel) and column kw; OIHW with I == 1.
    auto wt = [&](int c, int kh, int kw) -> int {
      return c < d.in_c && kh < kh_n ? w[static_cast<int64_t>(c) * taps + kh * kw_n + kw] : 0;
    };
    for (int b = 0; b < p.num_blocks; ++b) {
      for (int vec = 0; vec < kDwVectors; ++vec)
        for (int l = 0; l < lanes; ++l) {
          const int c = b * cb + 16 * (l / 4) + 4 * vec + (l % 4);  // the lane order (conv_s8_internal.h)
          for (int g = 0; g < p.row_groups; ++g)
            for (int kw = 0; kw < kw_n; ++kw) {
              int8_t* v = weights + b * p.block_weight_bytes +
                          ((static_cast<int64_t>(g) * kw_n + kw) * kDwVectors + vec) * cb * (k.vnni ? 1 : 2);
              if (k.vnni) {
                for (int i = 0; i < 4; ++i) v[l * 4 + i] = static_cast<int8_t>(wt(c, 4 * g + i, kw));
              } else {
                int16_t* even = reinterpret_cast<int16_t*>(v);
                int16_t* odd = even + 2 * lanes;
                even[l * 2] = static_cast<int16_t>(wt(c, 4 * g, kw));
                even[l * 2 + 1] = static_cast<int16_t>(wt(c, 4 * g + 2, kw));
                odd[l * 2] = static_cast<int16_t>(wt(c, 4 * g + 1, kw));
                odd[l * 2 + 1] = static_cast<int16_t>(wt(c, 4 * g + 3, kw));
              }
            }
          if (c >= d.in_c) continue;
          int32_t sum = 0;
          for (int t = 0; t < taps; ++t) sum += w[static_cast<int64_t>(c) * taps + t];
          // bias - zx * sum(w) in int32 arithmetic modulo 2^32, exactly like the reference's accumulation.
          const uint32_t comp = static_cast<uint32_t>(d.input_zero_point) * static_cast<uint32_t>(sum);
          const int64_t at = static_cast<int64_t>(b) * cb + vec * lanes + l;
          packed_bias[at] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[c] : 0) - comp);
          requant[at] = requant_multiplier(d, c);
          dequant[at] = dequant_multiplier(d, c);
        }
    }
    p.weights = weights, p.bias = packed_bias, p.requant = requant, p.dequant = dequant, p.zx_row = zx_row;
    name_ = kernel_name_prefix(d) + "-s8-" + (p.out_f32 ? "f32" : "u8") + k.suffix;
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

std::unique_ptr<Conv2dS8> create_conv2d_s8_dw(const Conv2dS8Desc& desc, const int8_t* weights_oi1hw,
                                              const int32_t* bias, DwKernel kernel) {
  validate_conv2d_s8_desc(desc);
  if (!weights_oi1hw) throw Error("integer Conv: null weights");
  if (!is_depthwise(desc)) throw Error("integer Conv: create_conv2d_s8_dw is for depthwise convolutions");
  const DwKernelInfo info = kernel_info(kernel);
  if (!isa_supported(info.needs))
    throw Error(std::string("integer Conv: depthwise kernel") + info.suffix + " not supported by this CPU");
  return std::make_unique<Conv2dS8Dw>(desc, weights_oi1hw, bias, info);
}

}  // namespace sp::kernels::conv_s8_internal
