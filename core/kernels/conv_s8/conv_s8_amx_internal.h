// Internal to the AMX-INT8 convolution: the plain-data plan conv_s8_amx_plan.cpp (baseline code) builds
// at create() time, and the entry points of the translation units that execute it. Only plain structs
// and declarations (no inline functions, no templates): see conv_f32_internal.h.
//
// The computation is a GEMM per output-channel tile: C[pixels x 16 channels] (int32) =
// bias + A[pixels x K] (u8) . B[K x 16] (s8), K walked in 64-byte steps, 16 pixels per A tile,
// a 2 x 2 block of C tiles (32 pixels x 32 channels) per micro-kernel call (tile numbering in
// core/kernels/amx/amx_tiles.h). K is laid out one of two ways:
//  - direct (in_c a multiple of 64, or 1x1 kernels): per tap (kh, kw), in_c rounded up to 64 bytes.
//    An A tile of 16 output pixels that lie in one output row and read no padding comes straight from
//    the NHWC input: its 16 input pixels are evenly spaced (stride_w pixels apart), so tileloadd's row
//    stride does the gather; a 1x1 stride-1 unpadded convolution reads consecutive pixels across rows too.
//  - im2col (small in_c with a kernel larger than 1x1, e.g. 3 -> 16 or 32 -> 32 3x3): each A row is
//    the whole receptive field, (kh, kw, c) order, kernel_h * kernel_w * in_c bytes rounded up to 64,
//    so a 3x3 conv over 16 channels takes 3 K-steps instead of 9.
// Tiles that cannot be read in place (borders, row wrap, the output's tail, an input slice whose padding
// bytes belong to someone else) are gathered into a per-thread scratch in the same K layout, padded taps
// reading zx like the VNNI kernel (the zero point is folded into the bias). Weights past in_c or out_c
// are zero, so whatever bytes an A row holds there contribute nothing.
#pragma once

#include <cstdint>
#include <memory>

#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"

namespace sp::kernels::conv_s8_internal {

struct AmxS8Plan;

// The epilogue: int32 accumulators of `m` output pixels (rows `acc_ld` int32 apart) x nv * 16 channels
// starting at output channel oc0, of which `count` exist, requantized / dequantized and stored as
// S8Plan says for pixels pixel0 .. pixel0 + m - 1 (row-major output indices).
using AmxStoreFn = void (*)(const S8Plan& plan, const int32_t* acc, int acc_ld, int m, int nv, void* out,
                            int64_t out_pixel_stride, int64_t pixel0, int oc0, int count);
// Gathers the A rows of output pixels [pixel0, pixel0 + 16) into `dst` (16 rows of plan.row_bytes).
using AmxGatherFn = void (*)(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, int64_t pixel0,
                             uint8_t* dst);

struct AmxS8Plan {
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
  bool im2col = false;  // K layout, see above
  bool linear = false;  // 1x1, stride 1, no padding: output pixel p reads input pixel p
  int k_per_tap = 0;    // direct: in_c rounded up to 64
  int chunks = 0;       // direct: k_per_tap / 64
  int ksteps = 0;       // 64-byte K steps per output pixel
  int row_bytes = 0;    // a gathered A row: ksteps * 64
  int n_tiles = 0;      // ceil(out_c / 16)
  uint8_t zx = 0;
  // [n_tiles][ksteps][16 rows: groups of 4 K bytes][16 channels x 4 bytes]: one 1 KB B tile per step.
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;  // n_tiles * 16 (+ 16) int32: bias - zx * sum(w), 64-byte aligned
  S8Plan epilogue;                // out_f32, silu, zy, inv_out_scale, requant, dequant (n_tiles * 16 + 16)
  AmxStoreFn store = nullptr;
  AmxGatherFn gather = nullptr;
};

// Output pixels [p_begin, p_end) x output-channel tiles [nt_begin, nt_end); p_begin a multiple of 32,
// nt_begin even. conv_s8_amx.cpp: the CPU's tiles (AMX granted); conv_s8_amx_emulated.cpp: the
// emulator (amx_emulator.h). One source: conv_s8_amx_kernel.inc.
void conv_s8_amx_task(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                      int64_t out_pixel_stride, int nt_begin, int nt_end, int64_t p_begin, int64_t p_end);
void conv_s8_amx_emulated_task(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, void* out,
                               int64_t out_pixel_stride, int nt_begin, int nt_end, int64_t p_begin, int64_t p_end);

// Epilogues: the VNNI kernel's own AVX-512 store (conv_s8_avx512vnni.cpp, so both kernels round alike),
// and a scalar one with the reference's operations (conv_s8_amx_scalar.cpp) for CPUs without AVX-512.
void conv_s8_avx512vnni_store_acc(const S8Plan& plan, const int32_t* acc, int acc_ld, int m, int nv, void* out,
                                  int64_t out_pixel_stride, int64_t pixel0, int oc0, int count);
void conv_s8_amx_store_acc_scalar(const S8Plan& plan, const int32_t* acc, int acc_ld, int m, int nv, void* out,
                                  int64_t out_pixel_stride, int64_t pixel0, int oc0, int count);
// A-row gathers, one source (conv_s8_amx_gather.inc): AVX-512BW masked moves, or plain loops.
void conv_s8_amx_gather_avx512(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, int64_t pixel0,
                               uint8_t* dst);
void conv_s8_amx_gather_scalar(const AmxS8Plan& plan, const uint8_t* in, int64_t in_pixel_stride, int64_t pixel0,
                               uint8_t* dst);

// Which tiles run: the CPU's, or the emulator's (tests, SP_AMX=emulate).
enum class AmxBackend { kHardware, kEmulated };
// The AMX-INT8 dense convolution (groups == 1). `simd_helpers` = false makes the gather and the epilogue
// the scalar ones (tests of the fallback; the hardware backend needs AVX-512 and ignores it). Throws
// sp::Error for a depthwise descriptor, or for kHardware when AMX is not usable.
std::unique_ptr<Conv2dS8> create_conv2d_s8_amx(const Conv2dS8Desc& desc, const int8_t* weights_oihw,
                                               const int32_t* bias, AmxBackend backend, bool simd_helpers = true);

}  // namespace sp::kernels::conv_s8_internal
