// The AMX-BF16 convolution's epilogue (compiled with the AVX-512 flags): its fp32 tiles, stored to
// memory, go through the float kernels' own store_tile (conv_f32_epilogue_avx512.inc: activation,
// residual, masked channel tail), so the three kernels finish their accumulators alike.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/activation.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_INLINE inline __attribute__((always_inline))

namespace sp::kernels::conv_bf16_internal {
namespace {

constexpr int kLanes = 16;
constexpr int kRows = 16;

#include "core/kernels/conv_f32/conv_f32_epilogue_avx512.inc"

template <Activation kAct>
void store(const float* acc, int acc_ld, int m, int count, float* out, int64_t ops, const float* residual,
           int64_t rps) {
  const __m256 none[kRows] = {};
  if (count > 16) {
    __m512 v[kRows][2];
    for (int j = 0; j < kRows; ++j)
      for (int k = 0; k < 2; ++k)
        v[j][k] = j < m ? _mm512_loadu_ps(acc + static_cast<int64_t>(j) * acc_ld + k * kLanes) : _mm512_setzero_ps();
    const __mmask16 tail = static_cast<__mmask16>((1u << (count - 16)) - 1u);
    store_tile<kAct, kRows, 2, false>(v, none, m, out, ops, residual, rps, count == 32, tail);
  } else {
    __m512 v[kRows][1];
    for (int j = 0; j < kRows; ++j)
      v[j][0] = j < m ? _mm512_loadu_ps(acc + static_cast<int64_t>(j) * acc_ld) : _mm512_setzero_ps();
    const __mmask16 tail = static_cast<__mmask16>((1u << count) - 1u);
    store_tile<kAct, kRows, 1, false>(v, none, m, out, ops, residual, rps, count == 16, tail);
  }
}

}  // namespace

void conv_bf16_amx_store_avx512(Activation act, const float* acc, int acc_ld, int m, int count, float* out,
                                int64_t ops, const float* residual, int64_t rps) {
  switch (act) {
    case Activation::kNone: store<Activation::kNone>(acc, acc_ld, m, count, out, ops, residual, rps); break;
    case Activation::kRelu: store<Activation::kRelu>(acc, acc_ld, m, count, out, ops, residual, rps); break;
    case Activation::kSigmoid: store<Activation::kSigmoid>(acc, acc_ld, m, count, out, ops, residual, rps); break;
    case Activation::kSilu: store<Activation::kSilu>(acc, acc_ld, m, count, out, ops, residual, rps); break;
  }
}

}  // namespace sp::kernels::conv_bf16_internal
