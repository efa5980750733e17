// Internal to the integer convolution: the plain-data plan that conv_s8.cpp (baseline code) builds at
// create() time and the ISA translation units execute. Only plain structs and out-of-line function
// declarations here (no inline functions, no templates), for the reason given in conv_f32_internal.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/kernels/conv_s8/conv_s8.h"

namespace sp::kernels::conv_s8_internal {

// Output channels are computed in blocks of up to kBlockChannels (4 zmm vectors of 16 int32 lanes).
constexpr int kBlockChannels = 64;

// Packed weights of block b start at weights + b * block_stride bytes. Input channels past in_c and
// output channels past out_c are zero. Two layouts:
//  - AVX-512 VNNI: s8 [kernel_h][kernel_w][k4][nr][4]: for each tap and each group of 4 input channels,
//    nr output channels (the block's count rounded up to 16) of 4 consecutive input-channel weights —
//    one zmm per 16 channels, the operand layout of vpdpbusd.
//  - AVX2: the block is split in sub-blocks of 16 channels, each int16
//    [kernel_h][kernel_w][k2][nr16][2] (nr16 = the sub-block's count rounded up to 8, sub-blocks
//    kernel_h * kernel_w * k2 * 64 bytes apart): pairs of input channels widened to int16 for vpmaddwd,
//    which is exact for u8 x s8 (unlike vpmaddubsw, whose int16 pair sums saturate).
//  - 256-bit VNNI (AVX-VNNI and its EVEX twin): sub-blocks of 16 channels as for AVX2, each s8
//    [kernel_h][kernel_w][k4][nr16][4] (sub-blocks kernel_h * kernel_w * k4 * 64 bytes apart): one ymm
//    per 8 channels, the operand layout of vpdpbusd on ymm.
struct S8Plan {
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
  int k4 = 0;                 // ceil(in_c / 4)
  int k2 = 0;                 // ceil(in_c / 2)
  bool out_f32 = false;       // QuantOutput::kF32
  bool silu = false;
  int zy = 0;                 // output zero point
  float inv_out_scale = 1.0f; // 1 / sy (SiLU path)
  int num_blocks = 0;
  int64_t block_stride = 0;   // bytes between blocks' packed weights
  const int8_t* weights = nullptr;  // 64-byte aligned
  // Per output channel, num_blocks * kBlockChannels entries, zero padded:
  const int32_t* bias = nullptr;    // bias[o] - zx * sum(w[o]) (the vpdpbusd compensation folded in)
  const float* requant = nullptr;   // m[o] = sx * sw[o] / sy
  const float* dequant = nullptr;   // d[o] = sx * sw[o]
  const uint8_t* zx_pixel = nullptr;  // k4 * 4 bytes of zx: stands in for padded taps
  // Residual epilogue (Conv2dS8Desc::residual, u8 output only): y = q((f + float(r - zr) * sr) / sy)
  // with f the float output and a true division by sy. The plan built at create() time has
  // residual_data null; run_residual() runs a copy of it with the run's residual pointer and stride.
  bool residual = false;
  float out_scale = 1.0f;       // sy
  float residual_scale = 1.0f;  // sr
  int residual_zp = 0;          // zr
  const uint8_t* residual_data = nullptr;
  int64_t residual_stride = 0;  // bytes from one residual pixel to the next
  // im2col path (small in_c, see kIm2colMaxInC): when im2col_k > 0, each output pixel's whole receptive
  // field is gathered into one K-contiguous row of K = kernel_h * kernel_w * in_c bytes in (kh, kw, c)
  // order (padded taps read zx, bytes past K are don't-care: their weights are 0), and the weights are
  // packed as those of a 1x1 convolution over im2col_k4 * 4 input channels in that order (same layouts
  // as above with taps = 1, k4 = im2col_k4, k2 = 2 * im2col_k4).
  int im2col_k = 0;
  int im2col_k4 = 0;
  uint8_t zx = 0;
};

// The im2col path runs for in_c <= kIm2colMaxInC and K rounded up to 4 <= kIm2colMaxK (one zmm per row).
constexpr int kIm2colMaxInC = 7;
constexpr int kIm2colMaxK = 64;

// Computes output pixels [p_begin, p_end) (row-major) of output-channel block `block`.
// p_begin must be a multiple of kVnniTilePixels.
void conv_s8_avx512vnni_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                             int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
constexpr int kVnniTilePixels = 6;

// The AVX2 (vpmaddwd) kernel; same contract. Sub-blocks of 16 channels are S8Plan::kernel_h * kernel_w *
// k2 * 64 bytes apart within a block.
void conv_s8_avx2_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                       int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
constexpr int kAvx2TilePixels = 6;

// The 256-bit VNNI kernels (conv_s8_vnni256.inc): the VEX form for Isa::kAvxVnni (conv_s8_avxvnni.cpp) and
// the EVEX form of the same source (conv_s8_vnni256_avx512vnni.cpp, for the tests); same contract.
void conv_s8_avxvnni_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                          int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
void conv_s8_vnni256_evex_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                               int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
constexpr int kVnni256TilePixels = 12;  // micro-tiles of 6 (16 channels) or 12 pixels (8 channels)

// The im2col kernels (S8Plan::im2col_k > 0); same contract, any p_begin.
void conv_s8_avx512vnni_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                    int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
void conv_s8_avx2_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                              int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
void conv_s8_avxvnni_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                 int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
void conv_s8_vnni256_evex_im2col_task(const S8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                      int64_t out_pixel_stride, int block, int64_t p_begin, int64_t p_end);
constexpr int kIm2colTilePixels = 12;  // work split granularity of the im2col path

// Which dense SIMD kernel a Conv2dS8Simd runs (and so how it packs its weights).
enum class S8Kernel {
  kAvx2,          // vpmaddwd on ymm (conv_s8_avx2.cpp)
  kAvx512Vnni,    // vpdpbusd on zmm (conv_s8_avx512vnni.cpp)
  kAvxVnni,       // {vex} vpdpbusd on ymm (conv_s8_avxvnni.cpp)
  kVnni256Evex,   // the same source as kAvxVnni, EVEX-encoded (conv_s8_vnni256_avx512vnni.cpp): tests only
};
// The dense SIMD convolution with an explicit kernel choice (create_conv2d_s8 picks one per Isa). Also the
// tests' hook to the EVEX instantiation of the AVX-VNNI source. Throws sp::Error if the CPU lacks the
// kernel's instructions. Not for depthwise descriptors.
std::unique_ptr<Conv2dS8> create_conv2d_s8_simd(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                const int32_t* bias, S8Kernel kernel);

// Depthwise convolution (groups == in_c == out_c), conv_s8_dw_simd.inc. Output channels lie in int32
// lanes; the taps of a channel are summed four at a time: for each group of 4 kernel rows (kh = 4g .. 4g+3,
// rows past kernel_h have weight 0) and each input column, the 4 input bytes of a channel, one per kernel
// row, are interleaved into one int32 lane (a "column quad") by two rounds of in-lane byte/word unpacks
// of 4 input rows, and multiplied with the 4 weights of that channel and kernel column: one vpdpbusd (VNNI),
// or two vpmaddwd on even/odd int16 pairs (AVX2, AVX-512BW; exact for u8 x s8). The zero point is folded
// into the bias like the dense kernel: bias[c] - zx * sum(w[c]) (mod 2^32); padded taps read zx.
//
// The unpacks work inside 128-bit lanes, so a channel block of kDwVectors vectors covers 16 channels per
// 128-bit lane: vector k, lane l holds channel 16 * (l / 4) + 4 * k + (l % 4) of the block (block size =
// the bytes of one vector: 32 for ymm, 64 for zmm). Weights, bias and scales are stored in that order;
// the u8 epilogue's packs (packusdw, packuswb, also in-lane) restore the natural order for free, the float
// epilogue transposes 128-bit blocks.
struct DwPlan {
  int in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
  int row_groups = 0;         // ceil(kernel_h / 4)
  bool out_f32 = false;
  bool silu = false;
  int zy = 0;
  float inv_out_scale = 1.0f;
  int block_channels = 0;     // channels per block: 4 vectors of int32 lanes (32 for ymm, 64 for zmm)
  int num_blocks = 0;         // ceil(channels / block_channels)
  int64_t block_weight_bytes = 0;  // row_groups * kernel_w * 4 vectors * (VNNI: block_channels, else 2x)
  // Block b's weights at weights + b * block_weight_bytes, [row_groups][kernel_w][4 vectors]:
  //   VNNI: s8 [lanes][4] (the 4 kernel rows of the group);
  //   else: int16 [2][lanes][2]: the even rows (4g, 4g+2), then the odd rows (4g+1, 4g+3).
  const int8_t* weights = nullptr;    // 64-byte aligned
  const int32_t* bias = nullptr;      // [num_blocks * block_channels], lane order, compensation folded in
  const float* requant = nullptr;     // lane order
  const float* dequant = nullptr;     // lane order
  const uint8_t* zx_row = nullptr;    // num_blocks * block_channels bytes of zx: a "pixel" of padding
};
constexpr int kDwVectors = 4;

// Which depthwise kernel runs (and so the block size and weight layout).
enum class DwKernel {
  kAvx2,         // ymm, vpmaddwd (conv_s8_dw_avx2.cpp)
  kAvx512,       // zmm, vpmaddwd (conv_s8_dw_avx512.cpp)
  kAvx512Vnni,   // zmm, vpdpbusd (conv_s8_dw_avx512vnni.cpp)
  kAvxVnni,      // ymm, {vex} vpdpbusd (conv_s8_dw_avxvnni.cpp)
  kVnni256Evex,  // ymm, the same source in EVEX form (conv_s8_dw_vnni256_avx512vnni.cpp): tests only
};

// Output rows [oh_begin, oh_end), all channels. Same output conventions as the dense tasks.
void conv_s8_dw_avx2_rows(const DwPlan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                          int64_t out_pixel_stride, int oh_begin, int oh_end);
void conv_s8_dw_avx512_rows(const DwPlan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                            int64_t out_pixel_stride, int oh_begin, int oh_end);
void conv_s8_dw_avx512vnni_rows(const DwPlan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                int64_t out_pixel_stride, int oh_begin, int oh_end);
void conv_s8_dw_avxvnni_rows(const DwPlan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                             int64_t out_pixel_stride, int oh_begin, int oh_end);
void conv_s8_dw_vnni256_evex_rows(const DwPlan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                                  int64_t out_pixel_stride, int oh_begin, int oh_end);

// 64-byte aligned, zero-filled storage for packed weights (defined in conv_s8.cpp).
struct AlignedFree {
  void operator()(void* p) const;
};
using AlignedBytes = std::unique_ptr<uint8_t[], AlignedFree>;
AlignedBytes aligned_zero_bytes(int64_t bytes);

// True for the depthwise case the kernels support: groups == in_c == out_c (and > 1, or a 1-channel
// conv written with groups=1 stays dense).
bool is_depthwise(const Conv2dS8Desc& desc);
// The SIMD depthwise convolution with an explicit kernel (conv_s8_dw.cpp, baseline code; create_conv2d_s8
// picks one per Isa). Also the tests' hook to the EVEX instantiation of the AVX-VNNI source. Throws
// sp::Error for a non-depthwise descriptor or a kernel whose instructions the CPU lacks.
std::unique_ptr<Conv2dS8> create_conv2d_s8_dw(const Conv2dS8Desc& desc, const int8_t* weights_oi1hw,
                                              const int32_t* bias, DwKernel kernel);
// "conv3x3s2" or "dwconv3x3s2": the start of every name().
std::string kernel_name_prefix(const Conv2dS8Desc& desc);

// The exact SiLU every path uses (defined in conv_s8_scalar.cpp, baseline code). In IEEE float,
// with fma = one rounding:
//   xc = min(max(x, -88), 88); n = rne(xc * -log2(e)); t = fma(n, ln2, xc);
//   p = fma(-t, c5, c4); p = fma(-t, p, c3); p = fma(-t, p, c2); p = fma(-t, p, c1); p = fma(-t, p, 1);
//   silu = x / (p * 2^n + 1)
// (XNNPACK's rr1-p5 constants, as in conv_f32_avx512.cpp). ISA kernels mirror it operation by operation.
float silu_exact(float x);

// The reference (conv_s8_scalar.cpp): plain int32 loops over the OIHW weights.
std::unique_ptr<Conv2dS8> create_conv2d_s8_scalar(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                                  const int32_t* bias);

// Shared checks (conv_s8.cpp); throw sp::Error with a one-line message.
void validate_conv2d_s8_desc(const Conv2dS8Desc& desc);
void validate_conv2d_s8_io(const Conv2dS8Desc& desc, const uint8_t* in, int64_t in_pixel_stride, const void* out,
                           int64_t out_pixel_stride);
// validate_conv2d_s8_io also rejects a residual descriptor (run() was called instead of run_residual(),
// or a kernel without the residual epilogue got one); this is the check of run_residual().
void validate_conv2d_s8_residual_io(const Conv2dS8Desc& desc, const uint8_t* in, int64_t in_pixel_stride,
                                    const uint8_t* residual, int64_t residual_pixel_stride, const void* out,
                                    int64_t out_pixel_stride);
// The residual fields of an S8Plan from the descriptor (residual_data stays null).
void set_plan_residual(const Conv2dS8Desc& desc, S8Plan& plan);
// Per-channel float factors, computed once so every path uses the very same values.
float requant_multiplier(const Conv2dS8Desc& desc, int o);  // sx * sw[o] / sy
float dequant_multiplier(const Conv2dS8Desc& desc, int o);  // sx * sw[o]
float inverse_output_scale(const Conv2dS8Desc& desc);       // 1 / sy

}  // namespace sp::kernels::conv_s8_internal
