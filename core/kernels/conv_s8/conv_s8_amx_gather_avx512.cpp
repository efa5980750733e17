// The AMX-INT8 convolution's A-row gather with AVX-512BW masked moves (compiled with the AVX-512 flags;
// used by the hardware kernel, and by the emulated one on AVX-512 CPUs so the tests run this very code).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

inline __mmask64 low_mask(int n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// Masked-off bytes are never accessed, so a short copy reads nothing past src + n.
inline void copy_bytes(uint8_t* dst, const uint8_t* src, int n) {
  for (; n >= 64; n -= 64, dst += 64, src += 64) _mm512_storeu_si512(dst, _mm512_loadu_si512(src));
  if (n > 0) _mm512_mask_storeu_epi8(dst, low_mask(n), _mm512_maskz_loadu_epi8(low_mask(n), src));
}

inline void fill_bytes(uint8_t* dst, uint8_t value, int n) {
  const __m512i v = _mm512_set1_epi8(static_cast<char>(value));
  for (; n >= 64; n -= 64, dst += 64) _mm512_storeu_si512(dst, v);
  if (n > 0) _mm512_mask_storeu_epi8(dst, low_mask(n), v);
}

}  // namespace

#define SP_AMX_GATHER_NAME conv_s8_amx_gather_avx512
#include "core/kernels/conv_s8/conv_s8_amx_gather.inc"
#undef SP_AMX_GATHER_NAME

}  // namespace sp::kernels::conv_s8_internal
