// BF16 convolution: the float convolution of conv_f32.h (NHWC with pixel strides, batch 1, fused bias,
// activation and residual add; float in, float out) whose multiplications happen in bfloat16 with fp32
// accumulation — the cheaper middle ground between int8 and fp32 for layers whose quantization costs
// pose accuracy. It returns a Conv2dF32, so an op can hold either kind.
//
// Numerics (exactly those of AVX-512 BF16 `vdpbf16ps`, see conv_bf16_internal.h for the rules quoted from
// the Intel SDM): weights are rounded to bfloat16 once at creation and activations as they are read, both
// round-to-nearest-even with denormals read as zero; the bias is the fp32 starting value of the
// accumulator; per output value the reduction runs over the kernel taps (row-major), and within a tap
// over the input channels in pairs (2k, 2k+1), each pair one modelled instruction step (channel 2k+1's
// product added first, then channel 2k's, each one fp32 FMA rounded to nearest even, denormal results
// flushed to zero). An odd channel count per group gets a zero channel; taps outside the image read zeros.
// The epilogue (activation, then residual) is the float kernels' own.
//
// Paths (conv2d_bf16_path): with amx, dense (groups == 1) convs run tdpbf16ps on AMX tiles (different
// rounding: see conv_bf16_amx_internal.h) and grouped ones the AVX-512 path; with an AVX-512 `isa`
// (avx512, avx512vnni) on a CPU with AVX512_BF16, the vdpbf16ps kernel; with avx512/avx2 on a CPU without it, an emulation on the float FMA kernels that
// computes the same values (bit-identical unless an accumulator enters the fp32 denormal range, where the
// instruction flushes to zero and the emulation does not; NaN payloads may differ) at the float kernels'
// speed plus one conversion pass over the input; with scalar, the portable reference. So a model that asks for bf16 runs on any x86-64
// and gives the same detections everywhere.
#pragma once

#include <cstdint>
#include <memory>

#include "core/cpu_features.h"
#include "core/kernels/conv_f32/conv_f32.h"

namespace sp::kernels {

// weights: ONNX layout OIHW; bias: out_c floats or null. Throws sp::Error for a descriptor it cannot run.
// Unlike the float kernels, the returned object keeps a scratch buffer (the input converted to bf16), so
// one object must not run() on two threads at once (a Session never does).
std::unique_ptr<Conv2dF32> create_conv2d_bf16(const Conv2dDesc& desc, const float* weights, const float* bias,
                                              Isa isa);

enum class Bf16Path {
  kAmx,        // tdpbf16ps (AMX-BF16; on the tile emulator under SP_AMX=emulate) for groups == 1, whose
               // even/odd split sums round differently from vdpbf16ps (conv_bf16_amx_internal.h);
               // grouped convs take the AVX-512 path
  kNative,     // vdpbf16ps (AVX-512 BF16)
  kEmulated,   // the float FMA kernels on bf16-rounded operands (AVX-512F or AVX2)
  kReference,  // the scalar reference (conv_bf16_scalar.cpp)
};
// What create_conv2d_bf16(…, isa) runs on this CPU (isa must be supported).
Bf16Path conv2d_bf16_path(Isa isa);
// True where that path multiplies bf16 with bf16 instructions (kAmx or kNative): there a bf16 conv can be
// cheaper than fp32; elsewhere it is an exact emulation that costs more than fp32 for no accuracy gain.
bool conv2d_bf16_native(Isa isa);

// One float rounded to bfloat16 bits as VCVTNEPS2BF16 does: nearest even, zero and denormals to a zero of
// their sign, infinities kept, NaNs truncated and made quiet.
uint16_t bf16_round(float x);
// The float a bfloat16 holds (its bits in the upper half).
float bf16_to_float(uint16_t b);

}  // namespace sp::kernels
