// Measured single-thread peak throughput per ISA, for profiles that report how close a kernel runs to
// what the core can do ("achieved / peak"). Not a datasheet number: it is timed on this machine, now.
#pragma once

#include <string>

#include "core/cpu_features.h"

namespace sp::kernels {

enum class PeakKind {
  kF32Fma,   // float multiply-adds (vfmadd231ps; scalar: mulss + addss)
  kInt8Dot,  // u8 x s8 multiply-accumulates as the integer conv kernel of that ISA issues them
};

// One thread's measured peak in G-ops/s, a multiply-accumulate counting as 2 ops: the rate of an
// unrolled, register-only loop of independent accumulators, timed for ~17 ms (best of three runs after
// a warm-up). Measured once per (ISA family, kind) and cached (thread-safe); kAvxVnni is measured as
// kAvx2 (the integer kernels it runs), kAmx's float peak as kAvx512's. kInt8Dot counts:
//   kAmx:                tdpbusd             16 x 16 x 64 = 16384 u8 x s8 MACs per instruction (six
//                                            accumulator tiles); under SP_AMX=emulate the same loop on
//                                            the tile emulator: the emulator's rate, not AMX's;
//   kAvx512Vnni:         vpdpbusd zmm        64 u8 x s8 MACs per instruction;
//   kAvx512:             vpmaddwd + vpaddd   32 MACs per zmm pair (u8 and s8 widened to int16, as the
//                                            vpmaddwd conv kernel does);
//   kAvx2 / kAvxVnni:    vpmaddwd + vpaddd   16 MACs per ymm pair;
//   kScalar:             imul + add          1 MAC.
// Throws sp::Error if the CPU lacks the ISA.
double isa_peak_gops(Isa isa, PeakKind kind);

// What kInt8Dot measures for `isa`, for reports: e.g. "vpdpbusd zmm", "AMX tdpbusd".
std::string int8_peak_instruction(Isa isa);
// One line about AMX for profiles: its measured int8 peak for `threads` threads where the CPU's tiles
// are usable, else why there is none ("AMX: absent on this CPU, no AMX peak").
std::string amx_peak_note(int threads);

}  // namespace sp::kernels
