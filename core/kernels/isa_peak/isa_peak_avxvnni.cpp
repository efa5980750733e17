// AVX-VNNI peak loop (compiled with the AVX2 + AVX-VNNI flags): the 256-bit VEX vpdpbusd of client CPUs
// (Alder Lake on), 32 u8 x s8 MACs per instruction, see isa_peak_loops.inc. `{vex}` makes the assembler
// emit the VEX form even where AVX-512VL would allow the EVEX one: this loop must time the instruction the
// AVX-VNNI kernels use.
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
#define SP_PEAK_SET1_EPI32 _mm256_set1_epi32
#define SP_PEAK_ADD_EPI32 _mm256_add_epi32
#define SP_PEAK_SUM_EPI32(v) _mm256_cvtsi256_si32(v)
#define SP_PEAK_F32_LANES 8
#define SP_PEAK_DOT_NAME int8_dot_avxvnni
#define SP_PEAK_DOT_VNNI 1
#define SP_PEAK_DOT_MNEMONIC "%{vex%} vpdpbusd"  // %{ %}: braces are dialect syntax in GCC asm
#include "core/kernels/isa_peak/isa_peak_loops.inc"
