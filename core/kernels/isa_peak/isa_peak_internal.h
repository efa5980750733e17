// The timed loops behind isa_peak.h, one translation unit per ISA. Each runs `iters` iterations of an
// unrolled loop of independent register accumulators and returns the number of ops it performed
// (a multiply-accumulate = 2 ops). The result is consumed internally, so the loop cannot be removed.
#pragma once

#include <cstdint>

namespace sp::kernels::isa_peak_internal {

double f32_fma_scalar(int64_t iters);     // isa_peak.cpp (baseline)
double int8_dot_scalar(int64_t iters);    // isa_peak.cpp (baseline)
double f32_fma_avx2(int64_t iters);       // isa_peak_avx2.cpp
double int8_dot_avx2(int64_t iters);      // isa_peak_avx2.cpp: vpmaddwd + vpaddd on ymm
double f32_fma_avx512(int64_t iters);     // isa_peak_avx512.cpp
double int8_dot_avx512(int64_t iters);    // isa_peak_avx512.cpp: vpmaddwd + vpaddd on zmm
double int8_dot_avx512vnni(int64_t iters);  // isa_peak_avx512vnni.cpp: vpdpbusd on zmm
double int8_dot_avxvnni(int64_t iters);     // isa_peak_avxvnni.cpp: VEX vpdpbusd on ymm
double int8_dot_amx(int64_t iters);         // isa_peak_amx.cpp: tdpbusd on the CPU's tiles
double int8_dot_amx_emulated(int64_t iters);  // isa_peak.cpp: the same on the tile emulator (SP_AMX=emulate)

}  // namespace sp::kernels::isa_peak_internal
