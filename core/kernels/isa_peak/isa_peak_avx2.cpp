// AVX2 peak loops (compiled with -mavx2 -mfma): ymm FMA and vpmaddwd + vpaddd, see isa_peak_loops.inc.
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/isa_peak/isa_peak_internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define SP_PEAK_VF __m256
#define SP_PEAK_VI __m256i
#define SP_PEAK_REG(v) "x"(v)
#define SP_PEAK_SET1_PS _mm256_set1_ps
#define SP_PEAK_SET1_EPI32 _mm256_set1_epi32
#define SP_PEAK_ADD_PS _mm256_add_ps
#define SP_PEAK_ADD_EPI32 _mm256_add_epi32
#define SP_PEAK_SUM_PS(v) _mm256_cvtss_f32(v)
#define SP_PEAK_SUM_EPI32(v) _mm256_cvtsi256_si32(v)
#define SP_PEAK_F32_LANES 8
#define SP_PEAK_FMA_NAME f32_fma_avx2
#define SP_PEAK_DOT_NAME int8_dot_avx2
#include "core/kernels/isa_peak/isa_peak_loops.inc"
