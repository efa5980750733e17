// Measured single-thread peak throughput per ISA, for profiles that report how close a kernel runs to
// what the core can do ("achieved / peak"). Not a datasheet number: it is timed on this machine, now.
#pragma once

#include "core/cpu_features.h"

namespace sp::kernels {

enum class PeakKind {
  kF32Fma,   // float multiply-adds (vfmadd231ps; scalar: mulss + addss)
  kInt8Dot,  // u8 x s8 multiply-accumulates as the integer conv kernel of that ISA issues them
};

// One thread's measured peak in G-ops/s, a multiply-accumulate counting as 2 ops: the rate of an
// unrolled, register-only loop of independent accumulators, timed for ~17 ms (best of three runs after
// a warm-up). Measured once per (ISA family, kind) and cached (thread-safe); kAmx is measured as
// kAvx512Vnni and kAvxVnni as kAvx2 (the integer kernels those ISAs run). kInt8Dot counts:
//   kAvx512Vnni / kAmx:  vpdpbusd zmm        64 u8 x s8 MACs per instruction;
//   kAvx512:             vpmaddwd + vpaddd   32 MACs per zmm pair (u8 and s8 widened to int16, as the
//                                            vpmaddwd conv kernel does);
//   kAvx2 / kAvxVnni:    vpmaddwd + vpaddd   16 MACs per ymm pair;
//   kScalar:             imul + add          1 MAC.
// Throws sp::Error if the CPU lacks the ISA.
double isa_peak_gops(Isa isa, PeakKind kind);

}  // namespace sp::kernels
