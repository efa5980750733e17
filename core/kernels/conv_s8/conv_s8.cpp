// Integer convolution: descriptor checks, weight packing and dispatch (baseline code). The arithmetic
// lives in conv_s8_scalar.cpp (reference), conv_s8_avx512vnni.cpp (vpdpbusd zmm), conv_s8_avxvnni.cpp
// (vpdpbusd ymm, source conv_s8_vnni256.inc) and conv_s8_avx2.cpp (vpmaddwd); depthwise convolution in
// conv_s8_dw.cpp (packing) and its ISA files.
#include "core/kernels/conv_s8/conv_s8.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace conv_s8_internal {

void validate_conv2d_s8_desc(const Conv2dS8Desc& d) {
  const std::string where = "integer Conv: ";
  if (d.in_h <= 0 || d.in_w <= 0 || d.in_c <= 0 || d.out_c <= 0)
    throw Error(where + "non-positive shape");
  if (d.groups != 1 && !is_depthwise(d))
    throw Error(where + "groups=" + std::to_string(d.groups) + " with in_c=" + std::to_string(d.in_c) +
                " and out_c=" + std::to_string(d.out_c) +
                " not supported (only groups=1 or depthwise groups=in_c=out_c)");
  if (d.kernel_h <= 0 || d.kernel_w <= 0 || d.stride_h <= 0 || d.stride_w <= 0 || d.dilation_h <= 0 ||
      d.dilation_w <= 0)
    throw Error(where + "kernel, stride and dilation must be positive");
  if (d.pad_top < 0 || d.pad_left < 0 || d.pad_bottom < 0 || d.pad_right < 0) throw Error(where + "negative padding");
  if (d.out_h() <= 0 || d.out_w() <= 0) throw Error(where + "empty output");
  if (static_cast<int64_t>(d.weight_scales.size()) != d.out_c)
    throw Error(where + "weight_scales has " + std::to_string(d.weight_scales.size()) + " values, expected out_c=" +
                std::to_string(d.out_c));
  for (float s : d.weight_scales)
    if (!(s > 0.0f) || !std::isfinite(s)) throw Error(where + "weight scales must be positive and finite");
  if (!(d.input_scale > 0.0f) || !std::isfinite(d.input_scale)) throw Error(where + "bad input scale");
  if (d.output == QuantOutput::kU8 && (!(d.output_scale > 0.0f) || !std::isfinite(d.output_scale)))
    throw Error(where + "bad output scale");
  if (d.activation != Activation::kNone && d.activation != Activation::kSilu)
    throw Error(where + "activation " + activation_name(d.activation) + " not supported (none or silu)");
  if (d.residual) {
    if (d.output != QuantOutput::kU8) throw Error(where + "a residual needs the u8 output");
    if (d.groups != 1) throw Error(where + "a residual is supported for dense convolutions only (groups=1)");
    if (!(d.residual_scale > 0.0f) || !std::isfinite(d.residual_scale)) throw Error(where + "bad residual scale");
  }
}

namespace {
void check_io(const Conv2dS8Desc& d, const uint8_t* in, int64_t in_pixel_stride, const void* out,
              int64_t out_pixel_stride) {
  if (!in || !out) throw Error("integer Conv: null input or output");
  if (in_pixel_stride < d.in_c) throw Error("integer Conv: input pixel stride below in_c");
  if (out_pixel_stride < d.out_c) throw Error("integer Conv: output pixel stride below out_c");
}
}  // namespace

void validate_conv2d_s8_io(const Conv2dS8Desc& d, const uint8_t* in, int64_t in_pixel_stride, const void* out,
                           int64_t out_pixel_stride) {
  check_io(d, in, in_pixel_stride, out, out_pixel_stride);
  if (d.residual) throw Error("integer Conv: a convolution with a residual runs with run_residual()");
}

void validate_conv2d_s8_residual_io(const Conv2dS8Desc& d, const uint8_t* in, int64_t in_pixel_stride,
                                    const uint8_t* residual, int64_t residual_pixel_stride, const void* out,
                                    int64_t out_pixel_stride) {
  check_io(d, in, in_pixel_stride, out, out_pixel_stride);
  if (!d.residual) throw Error("integer Conv: run_residual() of a convolution without a residual");
  if (!residual) throw Error("integer Conv: null residual");
  if (residual_pixel_stride < d.out_c) throw Error("integer Conv: residual pixel stride below out_c");
}

void set_plan_residual(const Conv2dS8Desc& d, S8Plan& p) {
  p.residual = d.residual;
  p.out_scale = d.output == QuantOutput::kU8 ? d.output_scale : 1.0f;
  p.residual_scale = d.residual_scale;
  p.residual_zp = d.residual_zero_point;
  p.residual_data = nullptr;
  p.residual_stride = 0;
}

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBytes aligned_zero_bytes(int64_t bytes) {
  const size_t n = static_cast<size_t>(bytes > 0 ? (bytes + 63) / 64 * 64 : 64);
  void* p = std::aligned_alloc(64, n);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, n);
  return AlignedBytes(static_cast<uint8_t*>(p));
}

bool is_depthwise(const Conv2dS8Desc& d) { return d.groups > 1 && d.groups == d.in_c && d.in_c == d.out_c; }

}  // namespace conv_s8_internal

void Conv2dS8::run_residual(const uint8_t*, int64_t, const uint8_t*, int64_t, void*, int64_t, ThreadPool*) const {
  throw Error("integer Conv: the kernel " + std::string(name()) + " has no residual epilogue");
}

namespace conv_s8_internal {

std::string kernel_name_prefix(const Conv2dS8Desc& d) {
  return std::string(is_depthwise(d) ? "dwconv" : "conv") + std::to_string(d.kernel_h) + "x" +
         std::to_string(d.kernel_w) + "s" + std::to_string(d.stride_h);
}

float requant_multiplier(const Conv2dS8Desc& d, int o) {
  return static_cast<float>(static_cast<double>(d.input_scale) * d.weight_scales[o] / d.output_scale);
}
float dequant_multiplier(const Conv2dS8Desc& d, int o) { return d.input_scale * d.weight_scales[o]; }
float inverse_output_scale(const Conv2dS8Desc& d) {
  return d.output == QuantOutput::kU8 ? static_cast<float>(1.0 / d.output_scale) : 1.0f;
}

}  // namespace conv_s8_internal

namespace {

using namespace conv_s8_internal;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

template <typename T>
std::unique_ptr<T[], FreeDeleter> aligned_zeros(int64_t count) {
  const size_t bytes = static_cast<size_t>((count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes > 0 ? bytes : 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes > 0 ? bytes : 64);
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

using S8TaskFn = void (*)(const S8Plan&, const uint8_t*, int64_t, void*, int64_t, int, int64_t, int64_t);

S8TaskFn direct_task(S8Kernel k) {
  switch (k) {
    case S8Kernel::kAvx2: return conv_s8_avx2_task;
    case S8Kernel::kAvx512Vnni: return conv_s8_avx512vnni_task;
    case S8Kernel::kAvxVnni: return conv_s8_avxvnni_task;
    case S8Kernel::kVnni256Evex: return conv_s8_vnni256_evex_task;
  }
  return conv_s8_avx2_task;
}

S8TaskFn im2col_task(S8Kernel k) {
  switch (k) {
    case S8Kernel::kAvx2: return conv_s8_avx2_im2col_task;
    case S8Kernel::kAvx512Vnni: return conv_s8_avx512vnni_im2col_task;
    case S8Kernel::kAvxVnni: return conv_s8_avxvnni_im2col_task;
    case S8Kernel::kVnni256Evex: return conv_s8_vnni256_evex_im2col_task;
  }
  return conv_s8_avx2_im2col_task;
}

int direct_tile(S8Kernel k) {
  switch (k) {
    case S8Kernel::kAvx2: return kAvx2TilePixels;
    case S8Kernel::kAvx512Vnni: return kVnniTilePixels;
    case S8Kernel::kAvxVnni:
    case S8Kernel::kVnni256Evex: return kVnni256TilePixels;
  }
  return kAvx2TilePixels;
}

const char* kernel_suffix(S8Kernel k) {
  switch (k) {
    case S8Kernel::kAvx2: return "-avx2";
    case S8Kernel::kAvx512Vnni: return "-avx512vnni";
    case S8Kernel::kAvxVnni: return "-avxvnni";
    case S8Kernel::kVnni256Evex: return "-vnni256-evex";
  }
  return "";
}

bool kernel_supported(S8Kernel k) {
  switch (k) {
    case S8Kernel::kAvx2: return isa_supported(Isa::kAvx2);
    case S8Kernel::kAvx512Vnni:
    case S8Kernel::kVnni256Evex: return isa_supported(Isa::kAvx512Vnni);
    case S8Kernel::kAvxVnni: return isa_supported(Isa::kAvxVnni);
  }
  return false;
}

class Conv2dS8Simd final : public Conv2dS8 {
 public:
  Conv2dS8Simd(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias, S8Kernel kind)
      : desc_(d), task_(direct_task(kind)), tile_(direct_tile(kind)) {
    S8Plan& p = plan_;
    const int k_im2col = d.kernel_h * d.kernel_w * d.in_c;
    const bool im2col = d.in_c <= kIm2colMaxInC && ceil_div(k_im2col, 4) * 4 <= kIm2colMaxK;
    if (im2col) {
      task_ = im2col_task(kind);
      tile_ = kIm2colTilePixels;
      p.im2col_k = k_im2col;
      p.im2col_k4 = static_cast<int>(ceil_div(k_im2col, 4));
    }
    p.zx = d.input_zero_point;
    // The packing below sees pk_kh x pk_kw taps of pk_c input channels: the real kernel, or for im2col
    // a 1x1 kernel over the K (padded to 4) im2col positions, (kh, kw, c) order.
    const int pk_kh = im2col ? 1 : d.kernel_h, pk_kw = im2col ? 1 : d.kernel_w;
    const int pk_c = im2col ? p.im2col_k4 * 4 : d.in_c;
    p.in_h = d.in_h, p.in_w = d.in_w, p.in_c = d.in_c, p.out_h = d.out_h(), p.out_w = d.out_w(), p.out_c = d.out_c;
    p.kernel_h = d.kernel_h, p.kernel_w = d.kernel_w, p.stride_h = d.stride_h, p.stride_w = d.stride_w;
    p.dilation_h = d.dilation_h, p.dilation_w = d.dilation_w, p.pad_top = d.pad_top, p.pad_left = d.pad_left;
    p.k4 = static_cast<int>(ceil_div(d.in_c, 4));
    p.k2 = static_cast<int>(ceil_div(d.in_c, 2));
    p.out_f32 = d.output == QuantOutput::kF32;
    p.silu = d.activation == Activation::kSilu;
    p.zy = d.output == QuantOutput::kU8 ? d.output_zero_point : 0;
    p.inv_out_scale = inverse_output_scale(d);
    set_plan_residual(d, p);
    p.num_blocks = static_cast<int>(ceil_div(d.out_c, kBlockChannels));
    const int taps = d.kernel_h * d.kernel_w;
    const int pk_taps = pk_kh * pk_kw;
    const int pk_k4 = static_cast<int>(ceil_div(pk_c, 4)), pk_k2 = static_cast<int>(ceil_div(pk_c, 2));
    // VNNI: k4 * 4 bytes per channel and tap; AVX2: k2 * 2 int16 per channel and tap.
    p.block_stride = kind == S8Kernel::kAvx2 ? static_cast<int64_t>(pk_taps) * pk_k2 * kBlockChannels * 4
                                             : static_cast<int64_t>(pk_taps) * pk_k4 * kBlockChannels * 4;
    const int64_t padded_oc = static_cast<int64_t>(p.num_blocks) * kBlockChannels;

    weights_ = aligned_zeros<int8_t>(p.block_stride * p.num_blocks);
    bias_ = aligned_zeros<int32_t>(padded_oc);
    requant_ = aligned_zeros<float>(padded_oc);
    dequant_ = aligned_zeros<float>(padded_oc);
    zx_pixel_ = aligned_zeros<uint8_t>(static_cast<int64_t>(p.k4) * 4);
    std::memset(zx_pixel_.get(), d.input_zero_point, static_cast<size_t>(p.k4) * 4);

    for (int b = 0; b < p.num_blocks; ++b) {
      const int oc0 = b * kBlockChannels;
      const int count = d.out_c - oc0 < kBlockChannels ? d.out_c - oc0 : kBlockChannels;
      int8_t* dst = weights_.get() + b * p.block_stride;
      auto weight = [&](int o, int c, int kh, int kw) -> int8_t {
        if (im2col) {  // c is the im2col position (kh, kw, c); kh = kw = 0
          if (c >= k_im2col) return 0;
          const int ci = c % d.in_c, t = c / d.in_c;
          kh = t / d.kernel_w, kw = t % d.kernel_w, c = ci;
        }
        return c < d.in_c ? w[((static_cast<int64_t>(o) * d.in_c + c) * d.kernel_h + kh) * d.kernel_w + kw] : 0;
      };
      if (kind == S8Kernel::kAvx512Vnni) {
        const int nr = static_cast<int>(ceil_div(count, 16) * 16);
        for (int kh = 0; kh < pk_kh; ++kh)
          for (int kw = 0; kw < pk_kw; ++kw)
            for (int g = 0; g < pk_k4; ++g) {
              int8_t* grp = dst + ((static_cast<int64_t>(kh) * pk_kw + kw) * pk_k4 + g) * nr * 4;
              for (int j = 0; j < count; ++j)
                for (int i = 0; i < 4; ++i) grp[j * 4 + i] = weight(oc0 + j, g * 4 + i, kh, kw);
            }
      } else if (kind == S8Kernel::kAvxVnni || kind == S8Kernel::kVnni256Evex) {
        const int64_t sub_stride = static_cast<int64_t>(pk_taps) * pk_k4 * 64;  // bytes
        for (int sb = 0; sb * 16 < count; ++sb) {
          const int sc = count - sb * 16 < 16 ? count - sb * 16 : 16;
          const int nr = static_cast<int>(ceil_div(sc, 8) * 8);
          int8_t* sub = dst + sb * sub_stride;
          for (int kh = 0; kh < pk_kh; ++kh)
            for (int kw = 0; kw < pk_kw; ++kw)
              for (int g = 0; g < pk_k4; ++g) {
                int8_t* grp = sub + ((static_cast<int64_t>(kh) * pk_kw + kw) * pk_k4 + g) * nr * 4;
                for (int j = 0; j < sc; ++j)
                  for (int i = 0; i < 4; ++i) grp[j * 4 + i] = weight(oc0 + sb * 16 + j, g * 4 + i, kh, kw);
              }
        }
      } else {
        const int64_t sub_stride = static_cast<int64_t>(pk_taps) * pk_k2 * 64;  // bytes
        for (int sb = 0; sb * 16 < count; ++sb) {
          const int sc = count - sb * 16 < 16 ? count - sb * 16 : 16;
          const int nr = static_cast<int>(ceil_div(sc, 8) * 8);
          int16_t* sub = reinterpret_cast<int16_t*>(dst + sb * sub_stride);
          for (int kh = 0; kh < pk_kh; ++kh)
            for (int kw = 0; kw < pk_kw; ++kw)
              for (int g = 0; g < pk_k2; ++g) {
                int16_t* grp = sub + ((static_cast<int64_t>(kh) * pk_kw + kw) * pk_k2 + g) * nr * 2;
                for (int j = 0; j < sc; ++j)
                  for (int i = 0; i < 2; ++i) grp[j * 2 + i] = weight(oc0 + sb * 16 + j, g * 2 + i, kh, kw);
              }
        }
      }
    }
    const int64_t per_oc = static_cast<int64_t>(d.in_c) * taps;
    for (int o = 0; o < d.out_c; ++o) {
      int64_t sum = 0;
      for (int64_t i = 0; i < per_oc; ++i) sum += w[o * per_oc + i];
      // Computed in int32 arithmetic modulo 2^32 exactly like the reference's accumulation.
      const uint32_t comp = static_cast<uint32_t>(static_cast<int64_t>(d.input_zero_point) * sum);
      bias_[o] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[o] : 0) - comp);
      requant_[o] = requant_multiplier(d, o);
      dequant_[o] = dequant_multiplier(d, o);
    }
    p.weights = weights_.get();
    p.bias = bias_.get();
    p.requant = requant_.get();
    p.dequant = dequant_.get();
    p.zx_pixel = zx_pixel_.get();
    name_ = kernel_name_prefix(d) + "-s8-" + (p.out_f32 ? "f32" : "u8") + (d.residual ? "-res" : "") +
            (im2col ? "-im2col" : "") + kernel_suffix(kind);
  }

  void run(const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
           ThreadPool* pool) const override {
    validate_conv2d_s8_io(desc_, in, in_pixel_stride, out, out_pixel_stride);
    run_plan(plan_, in, in_pixel_stride, out, out_pixel_stride, pool);
  }

  void run_residual(const uint8_t* in, int64_t in_pixel_stride, const uint8_t* residual, int64_t residual_pixel_stride,
                    void* out, int64_t out_pixel_stride, ThreadPool* pool) const override {
    validate_conv2d_s8_residual_io(desc_, in, in_pixel_stride, residual, residual_pixel_stride, out, out_pixel_stride);
    S8Plan p = plan_;  // the run's residual rides in a copy: run() stays reentrant
    p.residual_data = residual;
    p.residual_stride = residual_pixel_stride;
    run_plan(p, in, in_pixel_stride, out, out_pixel_stride, pool);
  }

  std::string_view name() const override { return name_; }

 private:
  void run_plan(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out, int64_t out_pixel_stride,
                ThreadPool* pool) const {
    const int64_t pixels = static_cast<int64_t>(plan.out_h) * plan.out_w;
    const int nb = plan.num_blocks;
    const int threads = pool ? pool->num_threads() : 1;
    if (threads <= 1) {
      for (int b = 0; b < nb; ++b) task_(plan, in, in_pixel_stride, out, out_pixel_stride, b, 0, pixels);
      return;
    }
    const int64_t per_block = ceil_div(int64_t{4} * threads, nb);
    const int64_t tiles = ceil_div(pixels, tile_);
    const int64_t chunk = ceil_div(tiles, per_block) * tile_;
    pool->parallel_for(nb * per_block, [&](int64_t task) {
      const int b = static_cast<int>(task / per_block);
      const int64_t p0 = (task % per_block) * chunk;
      const int64_t p1 = p0 + chunk < pixels ? p0 + chunk : pixels;
      if (p0 < p1) task_(plan, in, in_pixel_stride, out, out_pixel_stride, b, p0, p1);
    });
  }

  Conv2dS8Desc desc_;
  S8TaskFn task_;
  int tile_;
  S8Plan plan_;
  std::unique_ptr<int8_t[], FreeDeleter> weights_;
  std::unique_ptr<int32_t[], FreeDeleter> bias_;
  std::unique_ptr<float[], FreeDeleter> requant_, dequant_;
  std::unique_ptr<uint8_t[], FreeDeleter> zx_pixel_;
  std::string name_;
};

}  // namespace

namespace conv_s8_internal {

std::unique_ptr<Conv2dS8> create_conv2d_s8_simd(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                const int32_t* bias, S8Kernel kernel) {
  validate_conv2d_s8_desc(desc);
  if (!weights_oihw) throw Error("integer Conv: null weights");
  if (is_depthwise(desc)) throw Error("integer Conv: create_conv2d_s8_simd is for dense convolutions");
  if (!kernel_supported(kernel))
    throw Error(std::string("integer Conv: kernel") + kernel_suffix(kernel) + " not supported by this CPU");
  return std::make_unique<Conv2dS8Simd>(desc, weights_oihw, bias, kernel);
}

}  // namespace conv_s8_internal

std::unique_ptr<Conv2dS8> create_conv2d_s8(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                           const int32_t* bias, Isa isa) {
  validate_conv2d_s8_desc(desc);
  if (!weights_oihw) throw Error("integer Conv: null weights");
  if (!isa_supported(isa)) throw Error(std::string("integer Conv: ISA ") + std::string(isa_name(isa)) + " not supported by this CPU");
  if (is_depthwise(desc)) {
    if (isa == Isa::kScalar) return create_conv2d_s8_scalar(desc, weights_oihw, bias);
    const DwKernel k = isa == Isa::kAvx512Vnni || isa == Isa::kAmx ? DwKernel::kAvx512Vnni
                       : isa == Isa::kAvx512                        ? DwKernel::kAvx512
                       : isa == Isa::kAvxVnni                       ? DwKernel::kAvxVnni
                                                                    : DwKernel::kAvx2;
    return create_conv2d_s8_dw(desc, weights_oihw, bias, k);
  }
  // AMX tiles; under SP_AMX=emulate the emulator's (cpu_features.h). The AMX kernel has no residual
  // epilogue yet (run_residual): convs with a fused residual (fuse_qconv_residual) run the AVX-512 VNNI
  // kernel, which every AMX CPU has, so the fused graph stays bit-identical on AMX machines.
  if (isa == Isa::kAmx && desc.residual)
    return std::make_unique<Conv2dS8Simd>(desc, weights_oihw, bias, S8Kernel::kAvx512Vnni);
  if (isa == Isa::kAmx)
    return create_conv2d_s8_amx(desc, weights_oihw, bias,
                                detect_cpu().amx_emulated ? AmxBackend::kEmulated : AmxBackend::kHardware);
  if (isa == Isa::kAvx512Vnni)
    return std::make_unique<Conv2dS8Simd>(desc, weights_oihw, bias, S8Kernel::kAvx512Vnni);
  if (isa == Isa::kAvxVnni) return std::make_unique<Conv2dS8Simd>(desc, weights_oihw, bias, S8Kernel::kAvxVnni);
  if (isa != Isa::kScalar && isa_supported(Isa::kAvx2))
    return std::make_unique<Conv2dS8Simd>(desc, weights_oihw, bias, S8Kernel::kAvx2);
  return create_conv2d_s8_scalar(desc, weights_oihw, bias);
}

}  // namespace sp::kernels
