// BF16 convolution: the choice of path per ISA and CPU, weight packing, the converted-input scratch
// buffer, and the split of the work into thread-pool tasks. The arithmetic lives in
// conv_bf16_avx512bf16.cpp (vdpbf16ps), conv_bf16_numerics.cpp / conv_bf16_scalar.cpp (the model and the
// reference) and, for the emulation, in the float kernels.
//
// Design (measurements in docs/BF16.md, from bench/bench_conv_bf16.cpp):
//  - Every run first converts the input once into bf16 pairs with the spatial padding materialized (the
//    direct kernel then has no border code, and a 3x3 layer converts each input value once instead of
//    nine times); the buffer is owned by the kernel (allocated at creation, not per run). 1x1 stride-1
//    layers skip that pass: the kernel converts each micro-tile's pixels into L1 as it reduces them,
//    which saves writing and re-reading the converted input (their largest cost after the products).
//  - The direct kernel is the float one's implicit GEMM (blocks of up to 64 output channels in steps of 8,
//    micro-tiles of MR pixels) with one vdpbf16ps per channel pair instead of one FMA per channel.
//  - Without AVX512_BF16, the emulation feeds the same padded, bf16-rounded operands (as floats, each pair
//    high element first) to the float FMA kernels: same values, float speed.
//  - Threads: the conversion by input rows, the convolution by (block, chunk of micro-tiles), about 8
//    tasks per thread each.
#include "core/kernels/conv_bf16/conv_bf16.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"
#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace conv_bf16_internal {
namespace {

constexpr int kTasksPerThread = 8;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// 64-byte aligned, zero-initialised storage of `bytes` bytes.
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    data_.reset(static_cast<unsigned char*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw Error("conv2d bf16: out of memory allocating " + std::to_string(bytes >> 20) + " MiB");
    std::memset(data_.get(), 0, bytes);
  }
  template <typename T>
  T* as() const {
    return reinterpret_cast<T*>(data_.get());
  }

 private:
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char, Free> data_;
};

// The converted input's geometry: exactly the padded extent the output reads (see conv_bf16_internal.h).
Bf16InputPlan input_plan(const Conv2dDesc& d) {
  Bf16InputPlan p;
  p.in_w = d.in_w;
  p.groups = d.groups;
  p.ic_g = d.in_c / d.groups;
  p.pairs_per_group = (p.ic_g + 1) / 2;
  p.pad_top = d.pad_top;
  p.pad_left = d.pad_left;
  p.padded_h = (d.out_h() - 1) * d.stride_h + (d.kernel_h - 1) * d.dilation_h + 1;
  p.padded_w = (d.out_w() - 1) * d.stride_w + (d.kernel_w - 1) * d.dilation_w + 1;
  auto clamp = [](int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; };
  p.rows = clamp(p.padded_h - d.pad_top, d.in_h);
  p.cols = clamp(p.padded_w - d.pad_left, d.in_w);
  p.pixel_pairs = static_cast<int64_t>(p.groups) * p.pairs_per_group;
  return p;
}

int64_t padded_pairs(const Bf16InputPlan& p) { return static_cast<int64_t>(p.padded_h) * p.padded_w * p.pixel_pairs; }

// fn(row_begin, row_end) over [0, rows), split over the pool.
void parallel_rows(ThreadPool* pool, int rows, FunctionRef<void(int, int)> fn) {
  const int threads = pool ? pool->num_threads() : 1;
  if (rows <= 0) return;
  if (threads <= 1 || rows == 1) {
    fn(0, rows);
    return;
  }
  const int64_t parts = int64_t{kTasksPerThread} * threads < rows ? int64_t{kTasksPerThread} * threads : rows;
  const int64_t per = ceil_div(rows, parts);
  pool->parallel_for(ceil_div(rows, per), [&](int64_t t) {
    const int r0 = static_cast<int>(t * per);
    const int r1 = static_cast<int>(r0 + per < rows ? r0 + per : rows);
    fn(r0, r1);
  });
}

uint32_t weight_pair(const float* weights, int o, int ic_g, int taps, int t, int k) {
  auto w = [&](int i) -> uint32_t {
    return i < ic_g ? bf16_round(weights[(static_cast<int64_t>(o) * ic_g + i) * taps + t]) : 0u;
  };
  return w(2 * k) | (w(2 * k + 1) << 16);
}

// ---- vdpbf16ps ------------------------------------------------------------------------------------------

class NativeConv2d final : public Conv2dF32 {
 public:
  NativeConv2d(const Conv2dDesc& d, const float* weights, const float* bias, const IsaBf16Kernels& k)
      : desc_(d), k_(k), in_(input_plan(d)) {
    const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
    const int pairs = in_.pairs_per_group;
    // Blocks as in conv_f32: the widest the ISA allows, a group's tail as narrow as it can be.
    int64_t w_words = 0, b_floats = 0;
    for (int g = 0; g < d.groups; ++g) {
      for (int oc0 = 0; oc0 < oc_g;) {
        const int rem = oc_g - oc0;
        int nr = static_cast<int>(ceil_div(rem, 8) * 8);
        if (nr > k.max_nr) nr = k.max_nr;
        Bf16Block b;
        b.group = g;
        b.oc_begin = g * oc_g + oc0;
        b.oc_count = rem < nr ? rem : nr;
        b.nr = nr;
        b.mr = k.mr[nr / 8];
        b.weight_offset = w_words;
        w_words += static_cast<int64_t>(taps) * pairs * (nr / 16 * 16);
        b.weight_offset2 = w_words;
        w_words += static_cast<int64_t>(taps) * pairs * (nr % 16);
        w_words = ceil_div(w_words, 16) * 16;  // every panel 64-byte aligned
        b.bias_offset = b_floats;
        b_floats += ceil_div(nr, 16) * 16;
        blocks_.push_back(b);
        oc0 += b.oc_count;
      }
    }
    weights_ = AlignedBytes(static_cast<size_t>(w_words) * 4);
    bias_ = AlignedBytes(static_cast<size_t>(b_floats) * 4);
    for (const Bf16Block& b : blocks_) {
      const int width0 = b.nr / 16 * 16;
      for (int lane = 0; lane < b.oc_count; ++lane) {
        const int o = b.oc_begin + lane;
        const bool second = lane >= width0;
        const int width = second ? b.nr - width0 : width0;
        const int col = second ? lane - width0 : lane;
        uint32_t* wp = weights_.as<uint32_t>() + (second ? b.weight_offset2 : b.weight_offset);
        for (int t = 0; t < taps; ++t)
          for (int kk = 0; kk < pairs; ++kk)
            wp[(static_cast<int64_t>(t) * pairs + kk) * width + col] = weight_pair(weights, o, ic_g, taps, t, kk);
        if (bias) bias_.as<float>()[b.bias_offset + lane] = bias[o];
      }
    }
    Bf16DirectPlan& p = plan_;
    p.flat = d.kernel_h == 1 && d.kernel_w == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
             d.pad_left == 0 && d.pad_bottom == 0 && d.pad_right == 0 && d.groups == 1;
    if (!p.flat) {
      input_ = AlignedBytes(static_cast<size_t>(padded_pairs(in_)) * 4);
      in_.buffer = input_.as<uint32_t>();
    }
    p.out_h = d.out_h();
    p.out_w = d.out_w();
    p.kernel_h = d.kernel_h;
    p.kernel_w = d.kernel_w;
    p.stride_h = d.stride_h;
    p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h;
    p.dilation_w = d.dilation_w;
    p.padded_w = in_.padded_w;
    p.ic_g = ic_g;
    p.pairs_per_group = pairs;
    p.pixel_pairs = in_.pixel_pairs;
    p.activation = d.activation;
    p.input = in_.buffer;
    p.weights = weights_.as<uint32_t>();
    p.bias = bias_.as<float>();
    p.blocks = blocks_.data();
    p.num_blocks = static_cast<int>(blocks_.size());
    name_ = conv_internal::shape_name("conv", d);  // as conv_f32 names its kernels, "-g" for groups
    if (d.groups > 1) name_ += "-g";
    name_ += "-bf16-nhwc-";
    name_ += k.isa_name;
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(desc_, io);
    if (!plan_.flat)
      parallel_rows(pool, in_.rows, [&](int r0, int r1) { k_.convert(in_, io.input, io.in_pixel_stride, r0, r1); });
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
      const int64_t chunk = ceil_div(ceil_div(pixels, mr), per_block) * mr;
      const int64_t p0 = part * chunk;
      const int64_t p1 = p0 + chunk < pixels ? p0 + chunk : pixels;
      if (p0 < p1) k_.direct(plan_, io, b, p0, p1);
    });
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dDesc desc_;
  const IsaBf16Kernels& k_;
  Bf16InputPlan in_;
  Bf16DirectPlan plan_;
  std::vector<Bf16Block> blocks_;
  AlignedBytes weights_, bias_, input_;
  std::string name_;
};

// ---- Emulation on the float kernels ----------------------------------------------------------------------

class EmulatedConv2d final : public Conv2dF32 {
 public:
  EmulatedConv2d(const Conv2dDesc& d, const float* weights, const float* bias, Isa float_isa)
      : desc_(d), in_(input_plan(d)) {
    const int ic_g = d.in_c / d.groups, taps = d.kernel_h * d.kernel_w;
    const int ic_e = 2 * in_.pairs_per_group;  // channels per group as the float kernel sees them
    // The float kernel's problem: the padded input, no padding, channels pair-swapped and bf16-rounded.
    Conv2dDesc e = d;
    e.in_h = in_.padded_h;
    e.in_w = in_.padded_w;
    e.in_c = d.groups * ic_e;
    e.pad_top = e.pad_left = e.pad_bottom = e.pad_right = 0;
    std::vector<float> w(static_cast<size_t>(d.out_c) * ic_e * taps, 0.0f);
    for (int o = 0; o < d.out_c; ++o)
      for (int i = 0; i < ic_g; ++i)
        for (int t = 0; t < taps; ++t)
          w[(static_cast<size_t>(o) * ic_e + (i ^ 1)) * taps + t] =
              bf16_to_float(bf16_round(weights[(static_cast<size_t>(o) * ic_g + i) * taps + t]));
    // vdpbf16ps reads a denormal accumulator (the bias, in its first step) as zero.
    std::vector<float> b(d.out_c, 0.0f);
    for (int o = 0; bias && o < d.out_c; ++o) {
      uint32_t u;
      std::memcpy(&u, &bias[o], 4);
      if ((u & 0x7F800000u) == 0) u &= 0x80000000u;
      std::memcpy(&b[o], &u, 4);
    }
    inner_ = create_conv2d_f32(e, w.data(), b.data(), float_isa);
    input_ = AlignedBytes(static_cast<size_t>(padded_pairs(in_)) * 8);
    name_ = "bf16emu-";
    name_ += inner_->name();
  }

  void run(const ConvIO& io, ThreadPool* pool) const override {
    conv_internal::validate_conv_io(desc_, io);
    float* buffer = input_.as<float>();
    parallel_rows(pool, in_.rows, [&](int r0, int r1) {
      convert_rows_emulated(in_, buffer, io.input, io.in_pixel_stride, r0, r1);
    });
    ConvIO e = io;
    e.input = buffer;
    e.in_pixel_stride = 2 * in_.pixel_pairs;
    inner_->run(e, pool);
  }

  std::string_view name() const override { return name_; }

 private:
  Conv2dDesc desc_;
  Bf16InputPlan in_;
  std::unique_ptr<Conv2dF32> inner_;
  AlignedBytes input_;
  std::string name_;
};

void validate(const Conv2dDesc& desc, const float* weights) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("conv2d: missing weights");
}

}  // namespace

std::unique_ptr<Conv2dF32> create_conv2d_bf16_native(const Conv2dDesc& desc, const float* weights,
                                                     const float* bias, const IsaBf16Kernels& kernels) {
  validate(desc, weights);
  return std::make_unique<NativeConv2d>(desc, weights, bias, kernels);
}

std::unique_ptr<Conv2dF32> create_conv2d_bf16_emulated(const Conv2dDesc& desc, const float* weights,
                                                       const float* bias, Isa float_isa) {
  validate(desc, weights);
  if (float_isa != Isa::kAvx512 && float_isa != Isa::kAvx2) throw Error("conv2d bf16: no float kernels to emulate on");
  return std::make_unique<EmulatedConv2d>(desc, weights, bias, float_isa);
}

}  // namespace conv_bf16_internal

Bf16Path conv2d_bf16_path(Isa isa) {
  if (isa == Isa::kAmx) return Bf16Path::kAmx;
  switch (float_isa(isa)) {
    case Isa::kAvx512: return detect_cpu().avx512_bf16 ? Bf16Path::kNative : Bf16Path::kEmulated;
    case Isa::kAvx2: return Bf16Path::kEmulated;
    default: return Bf16Path::kReference;
  }
}

bool conv2d_bf16_native(Isa isa) {
  const Bf16Path path = conv2d_bf16_path(isa);
  return path == Bf16Path::kAmx || path == Bf16Path::kNative;
}

std::unique_ptr<Conv2dF32> create_conv2d_bf16(const Conv2dDesc& desc, const float* weights, const float* bias,
                                              Isa isa) {
  conv_bf16_internal::validate(desc, weights);
  if (!isa_supported(isa)) throw Error("conv2d: this CPU does not support ISA '" + std::string(isa_name(isa)) + "'");
  Bf16Path path = conv2d_bf16_path(isa);
  if (path == Bf16Path::kAmx) {
    if (desc.groups == 1)
      return conv_bf16_internal::create_conv2d_bf16_amx(desc, weights, bias,
                                                        detect_cpu().amx_emulated ? conv_bf16_internal::AmxBf16Backend::kEmulated
                                                                                  : conv_bf16_internal::AmxBf16Backend::kHardware);
    path = conv2d_bf16_path(Isa::kAvx512);
  }
  switch (path) {
    case Bf16Path::kAmx:  // handled above
    case Bf16Path::kNative:
      return conv_bf16_internal::create_conv2d_bf16_native(desc, weights, bias,
                                                           conv_bf16_internal::kAvx512Bf16Kernels);
    case Bf16Path::kEmulated:
      return conv_bf16_internal::create_conv2d_bf16_emulated(desc, weights, bias, float_isa(isa));
    case Bf16Path::kReference: break;
  }
  return conv_bf16_internal::create_conv2d_bf16_reference(desc, weights, bias, conv_bf16_internal::kVdpbf16psModel);
}

}  // namespace sp::kernels
