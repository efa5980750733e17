// AVX-512 peak loops (compiled with the AVX-512 flags): zmm FMA and vpmaddwd + vpaddd, see
// isa_peak_loops.inc.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak/isa_peak_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_PEAK_VF __m512
#define SP_PEAK_VI __m512i
#define SP_PEAK_REG(v) "v"(v)
#define SP_PEAK_SET1_PS _mm512_set1_ps
#define SP_PEAK_SET1_EPI32 _mm512_set1_epi32
#define SP_PEAK_ADD_PS _mm512_add_ps
#define SP_PEAK_ADD_EPI32 _mm512_add_epi32
#define SP_PEAK_SUM_PS(v) _mm512_cvtss_f32(v)
#define SP_PEAK_SUM_EPI32(v) _mm512_cvtsi512_si32(v)  // one lane: reduce_add is signed (overflow is UB)
#define SP_PEAK_F32_LANES 16
#define SP_PEAK_FMA_NAME f32_fma_avx512
#define SP_PEAK_DOT_NAME int8_dot_avx512
#include "core/kernels/isa_peak/isa_peak_loops.inc"
