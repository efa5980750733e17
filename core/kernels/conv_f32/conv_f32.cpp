// Float convolution: validation, weight packing, the choice of kernel per ISA and shape, and the split of
// the work into thread-pool tasks. The arithmetic itself lives in conv_f32_{scalar,avx2,avx512}.cpp.
//
// Design (numbers in bench/bench_conv_f32.cpp):
//  - groups == in_c == out_c: the depthwise kernel, channels in the vector lanes.
//  - Everything else (groups = 1 and general groups): a direct NHWC convolution as an implicit GEMM.
//    The output channels of each group are cut into blocks of up to 64 (AVX-512) or 24 (AVX2) channels,
//    in steps of 8 so a tail wastes at most 7 lanes (51 channels: 3 zmm + 1 ymm). A micro-tile is MR
//    consecutive output pixels x one block, accumulated in registers (about 24 accumulators: AVX-512
//    6 x 64, 8 x 48, 12 x 32, 8 x 16 ...; AVX2 4 x 24, 6 x 16, 12 x 8) over the reduction (kh, kw, ic):
//    one broadcast input value against the block's weight vectors. Weights are packed once per block as
//    [kh][kw][ic][block channels], zero padded, so the kernel reads them strictly sequentially. Interior
//    tiles address the input rows directly (with a dense input the kw taps of a kernel row are one
//    contiguous reduction); border and row-wrapping tiles check every tap per pixel and read zeros for
//    padding. Bias, activation and the residual are applied in the store.
//  - Threads: tasks are (block, chunk of whole micro-tiles), about 8 per thread, handed out dynamically.
#include "core/kernels/conv_f32/conv_f32.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace conv_internal {

void validate_conv2d_desc(const Conv2dDesc& d) {
  auto fail = [&](const std::string& what) {
    throw Error("conv2d: " + what + " (in " + std::to_string(d.in_c) + "x" + std::to_string(d.in_h) + "x" +
                std::to_string(d.in_w) + ", out_c " + std::to_string(d.out_c) + ", kernel " +
                std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w) + ", groups " + std::to_string(d.groups) +
                ")");
  };
  if (d.in_h <= 0 || d.in_w <= 0 || d.in_c <= 0 || d.out_c <= 0) fail("empty input or output");
  if (d.kernel_h <= 0 || d.kernel_w <= 0) fail("kernel size must be positive");
  if (d.stride_h <= 0 || d.stride_w <= 0) fail("stride must be positive");
  if (d.dilation_h <= 0 || d.dilation_w <= 0) fail("dilation must be positive");
  if (d.pad_top < 0 || d.pad_left < 0 || d.pad_bottom < 0 || d.pad_right < 0) fail("negative padding");
  if (d.groups <= 0 || d.in_c % d.groups != 0 || d.out_c % d.groups != 0) fail("channels not divisible by groups");
  if (d.out_h() <= 0 || d.out_w() <= 0) fail("kernel larger than the padded input");
  const int64_t taps = static_cast<int64_t>(d.kernel_h) * d.kernel_w;
  if (taps * (d.in_c / d.groups) > (int64_t{1} << 28) ||
      static_cast<int64_t>(d.out_h()) * d.out_w() > (int64_t{1} << 30))
    fail("too large");
}

void validate_conv_io(const Conv2dDesc& d, const ConvIO& io) {
  if (!io.input || !io.output) throw Error("conv2d: missing input or output buffer");
  if (io.in_pixel_stride < d.in_c || io.out_pixel_stride < d.out_c ||
      (io.residual && io.residual_pixel_stride < d.out_c))
    throw Error("conv2d: pixel stride smaller than the channel count (in " + std::to_string(io.in_pixel_stride) +
                " for " + std::to_string(d.in_c) + " channels, out " + std::to_string(io.out_pixel_stride) + " for " +
                std::to_string(d.out_c) + ")");
}

// Built with += : GCC 12 reports a false -Wrestrict on chains of std::string operator+.
std::string shape_name(const char* prefix, const Conv2dDesc& d) {
  std::string s(prefix);
  s += std::to_string(d.kernel_h);
  s += 'x';
  s += std::to_string(d.kernel_w);
  s += 's';
  s += std::to_string(d.stride_h);
  if (d.stride_w != d.stride_h) {
    s += 'x';
    s += std::to_string(d.stride_w);
  }
  if (d.dilation_h != 1 || d.dilation_w != 1) {
    s += 'd';
    s += std::to_string(d.dilation_h);
  }
  return s;
}

}  // namespace conv_internal

namespace {

using conv_internal::ConvWindow;
using conv_internal::DepthwisePlan;
using conv_internal::DirectPlan;
using conv_internal::IsaConvKernels;
using conv_internal::OcBlock;

ConvWindow conv_window(const Conv2dDesc& d) {
  ConvWindow w;
  w.in_h = d.in_h;
  w.in_w = d.in_w;
  w.out_h = d.out_h();
  w.out_w = d.out_w();
  w.kernel_h = d.kernel_h;
  w.kernel_w = d.kernel_w;
  w.stride_h = d.stride_h;
  w.stride_w = d.stride_w;
  w.dilation_h = d.dilation_h;
  w.dilation_w = d.dilation_w;
  w.pad_top = d.pad_top;
  w.pad_left = d.pad_left;
  return w;
}

// Tasks per thread a parallel run aims for: enough that dynamic hand-out evens out the threads.
constexpr int kTasksPerThread = 8;

// 64-byte aligned float storage, zero-initialised.
class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(size_t n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw Error("conv2d: out of memory packing weights");
    std::memset(data_.get(), 0, bytes);
  }
  float* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// First output index whose first tap is >= 0, and one past the last whose last tap is < in_size.
void interior_range(int in_size, int out_size, int kernel, int stride, int dilation, int pad, int* lo, int* hi) {
  int l = 0;
  while (l < out_size && l * stride - pad < 0) ++l;
  int h = out_size;
  while (h > l && (h - 1) * stride - pad + (kernel - 1) * dilation >= in_size) --h;
  *lo = l;
  *hi = h;
}

// ---- Direct convolution (groups = 1 and general groups) ----------------------------------------------

class DirectConv2d final : public Conv2dF32 {
 public:
  DirectConv2d(const Conv2dDesc& d, const float* weights, const float* bias, const IsaConvKernels& k)
      : desc_(d), k_(k) {
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups;
    const int taps = d.kernel_h * d.kernel_w;

    // Blocks: the widest the ISA allows, the tail of each group as narrow as it can be (8-channel steps).
    int64_t w_floats = 0, b_floats = 0;
    for (int g = 0; g < d.groups; ++g) {
      for (int oc0 = 0; oc0 < oc_g;) {
        const int rem = oc_g - oc0;
        int nr = static_cast<int>(ceil_div(rem, 8) * 8);
        if (nr > k.max_nr) nr = k.max_nr;
        OcBlock b;
        b.group = g;
        b.oc_begin = g * oc_g + oc0;
        b.oc_count = rem < nr ? rem : nr;
        b.nr = nr;
        b.mr = k.mr[nr / 8];
        const int width0 = nr / k.panel_granule * k.panel_granule;
        b.weight_offset = w_floats;
        w_floats += static_cast<int64_t>(taps) * ic_g * width0;
        b.weight_offset2 = w_floats;
        w_floats += static_cast<int64_t>(taps) * ic_g * (nr - width0);
        w_floats = ceil_div(w_floats, 16) * 16;  // every panel 64-byte aligned
        b.bias_offset = b_floats;
        b_floats += ceil_div(nr, 16) * 16;
        blocks_.push_back(b);
        oc0 += b.oc_count;
      }
    }
    weights_ = AlignedFloats(static_cast<size_t>(w_floats));
    bias_ = AlignedFloats(static_cast<size_t>(b_floats));
    zeros_ = AlignedFloats(static_cast<size_t>(ic_g) + 64);
    for (const OcBlock& b : blocks_) {
      const int width0 = b.nr / k.panel_granule * k.panel_granule;
      for (int lane = 0; lane < b.oc_count; ++lane) {
        const int o = b.oc_begin + lane;
        const float* src = weights + static_cast<int64_t>(o) * ic_g * taps;  // [ic_g][kh][kw]
        const bool second = lane >= width0;
        const int width = second ? b.nr - width0 : width0;
        const int col = second ? lane - width0 : lane;
        float* wp = weights_.data() + (second ? b.weight_offset2 : b.weight_offset);
        for (int i = 0; i < ic_g; ++i)
          for (int t = 0; t < taps; ++t) wp[(static_cast<int64_t>(t) * ic_g + i) * width + col] = src[i * taps + t];
        if (bias) bias_.data()[b.bias_offset + lane] = bias[o];
      }
    }

    DirectPlan& p = plan_;
    static_cast<ConvWindow&>(p) = conv_window(d);
    p.ic_g = ic_g;
    interior_range(d.in_h, p.out_h, d.kernel_h, d.stride_h, d.dilation_h, d.pad_top, &p.oh_lo, &p.oh_hi);
    interior_range(d.in_w, p.out_w, d.kernel_w, d.stride_w, d.dilation_w, d.pad_left, &p.ow_lo, &p.ow_hi);
    p.flat = d.kernel_h == 1 && d.kernel_w == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
             d.pad_left == 0 && p.out_h == d.in_h && p.out_w == d.in_w;
    p.activation = d.activation;
    p.weights = weights_.data();
    p.bias = bias_.data();
    p.zeros = zeros_.data();
    p.blocks = blocks_.data();
    p.num_blocks = static_cast<int>(blocks_.size());

    name_ = (p.flat ? std::string("conv1x1-gemm") : conv_internal::shape_name("conv", d)) + (d.groups > 1 ? "-g" : "") + "-nhwc-" + k.isa_name;
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(desc_, io);
    const int64_t pixels = static_cast<int64_t>(plan_.out_h) * plan_.out_w;
    const int nb = plan_.num_blocks;
    const int threads = pool ? pool->num_threads() : 1;
    if (threads <= 1) {
      for (int b = 0; b < nb; ++b) k_.direct(plan_, io, b, 0, pixels);
      return;
    }
    const int64_t per_block = ceil_div(int64_t{kTasksPerThread} * threads, nb);
    pool->parallel_for(nb * per_block, [&](int64_t task) {
      const int b = static_cast<int>(task / per_block);
      const int64_t part = task % per_block;
      const int mr = blocks_[b].mr;
      const int64_t tiles = ceil_div(pixels, mr);
      const int64_t chunk = ceil_div(tiles, per_block) * mr;
      const int64_t p0 = part * chunk;
      const int64_t p1 = p0 + chunk < pixels ? p0 + chunk : pixels;
      if (p0 < p1) k_.direct(plan_, io, b, p0, p1);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dDesc desc_;
  const IsaConvKernels& k_;
  DirectPlan plan_;
  std::vector<OcBlock> blocks_;
  AlignedFloats weights_, bias_, zeros_;
  std::string name_;
};

// ---- Depthwise ------------------------------------------------------------------------------------------

class DepthwiseConv2d final : public Conv2dF32 {
 public:
  DepthwiseConv2d(const Conv2dDesc& d, const float* weights, const float* bias, const IsaConvKernels& k)
      : desc_(d), k_(k) {
    const int taps = d.kernel_h * d.kernel_w;
    DepthwisePlan& p = plan_;
    static_cast<ConvWindow&>(p) = conv_window(d);
    p.channels = d.in_c;
    interior_range(d.in_w, p.out_w, d.kernel_w, d.stride_w, d.dilation_w, d.pad_left, &p.ow_lo, &p.ow_hi);
    p.channels_padded = static_cast<int>(ceil_div(d.in_c, k.lanes) * k.lanes);
    p.activation = d.activation;
    weights_ = AlignedFloats(static_cast<size_t>(taps) * p.channels_padded);
    bias_ = AlignedFloats(static_cast<size_t>(p.channels_padded));
    for (int c = 0; c < d.in_c; ++c) {
      for (int t = 0; t < taps; ++t)
        weights_.data()[static_cast<int64_t>(t) * p.channels_padded + c] = weights[c * taps + t];
      if (bias) bias_.data()[c] = bias[c];
    }
    p.weights = weights_.data();
    p.bias = bias_.data();
    name_ = conv_internal::shape_name("dwconv", d) + "-nhwc-" + k.isa_name;
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(desc_, io);
    const int cv = plan_.channels_padded / k_.lanes;
    const int rows = plan_.out_h;
    const int threads = pool ? pool->num_threads() : 1;
    if (threads <= 1) {
      k_.depthwise(plan_, io, 0, rows, 0, cv);
      return;
    }
    const int64_t row_parts = int64_t{kTasksPerThread} * threads < rows ? int64_t{kTasksPerThread} * threads : rows;
    const int64_t rows_per = ceil_div(rows, row_parts);
    const int64_t tasks = ceil_div(rows, rows_per);
    pool->parallel_for(tasks, [&](int64_t task) {
      const int r0 = static_cast<int>(task * rows_per);
      const int r1 = static_cast<int>(r0 + rows_per < rows ? r0 + rows_per : rows);
      k_.depthwise(plan_, io, r0, r1, 0, cv);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dDesc desc_;
  const IsaConvKernels& k_;
  DepthwisePlan plan_;
  AlignedFloats weights_, bias_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Conv2dF32> create_conv2d_f32(const Conv2dDesc& desc, const float* weights, const float* bias, Isa isa) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("conv2d: missing weights");
  if (!isa_supported(isa)) throw Error("conv2d: this CPU does not support ISA '" + std::string(isa_name(isa)) + "'");
  const IsaConvKernels* k = nullptr;
  switch (float_isa(isa)) {
    case Isa::kAvx512: k = &conv_internal::kAvx512ConvKernels; break;
    case Isa::kAvx2: k = &conv_internal::kAvx2ConvKernels; break;
    default: break;
  }
  if (!k) return conv_internal::create_conv2d_f32_scalar(desc, weights, bias);
  if (desc.groups > 1 && desc.groups == desc.in_c && desc.groups == desc.out_c)
    return std::make_unique<DepthwiseConv2d>(desc, weights, bias, *k);
  return std::make_unique<DirectConv2d>(desc, weights, bias, *k);
}

}  // namespace sp::kernels
