// Measured ISA peak (see isa_peak.h): calibration, timing, caching, and the scalar loops (baseline
// code; the vector loops are in isa_peak_{avx2,avx512,avx512vnni}.cpp).
#include "core/kernels/isa_peak/isa_peak.h"

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/error.h"
#include "core/kernels/amx/amx_emulator.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/isa_peak/isa_peak_internal.h"

namespace sp::kernels {
namespace isa_peak_internal {
namespace {
constexpr int kAcc = 8;
volatile float sink_f;
volatile int32_t sink_i;
}  // namespace

// The empty asm on every accumulator keeps each one in its own register and stops the compiler from
// vectorizing the "scalar" loop.
double f32_fma_scalar(int64_t iters) {
  float acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = static_cast<float>(i);
  float a = 0.999f, b = 0.001f;
  __asm__("" : "+x"(a), "+x"(b));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 8
    for (int i = 0; i < kAcc; ++i) {
      acc[i] = acc[i] + a * b;  // mulss + addss (ISO C++: no FMA contraction)
      __asm__("" : "+x"(acc[i]), "+x"(a));  // a "changes": one mulss per MAC, not hoisted
    }
  }
  float s = 0.0f;
  for (float v : acc) s += v;
  sink_f = s;
  return static_cast<double>(iters) * kAcc * 2;
}

double int8_dot_scalar(int64_t iters) {
  int32_t acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = i;
  int32_t x = 200, w = -77;
  __asm__("" : "+r"(x), "+r"(w));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 8
    for (int i = 0; i < kAcc; ++i) {
      acc[i] = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + static_cast<uint32_t>(x * w));
      __asm__("" : "+r"(acc[i]), "+r"(x));  // x "changes": one imul per MAC, not one per iteration
    }
  }
  int32_t s = 0;
  for (int32_t v : acc) s ^= v;
  sink_i = s;
  return static_cast<double>(iters) * kAcc * 2;
}

// The AMX loop on the emulated tiles: what SP_AMX=emulate runs, measured so that its profiles have a
// denominator; it is the emulator's speed, labelled as such, never an AMX figure.
double int8_dot_amx_emulated(int64_t iters) {
  amx::ensure_engine_tiles_emulated();
  amx::TileMachine& tm = amx::thread_tile_machine();
  int8_t a[16 * 64], b[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) a[i] = static_cast<int8_t>(i % 7), b[i] = static_cast<int8_t>(i % 5 - 2);
  tm.tileloadd(4, a, 64);
  tm.tileloadd(6, b, 64);
  for (int t : {0, 1, 2, 3, 5, 7}) tm.tilezero(t);
  for (int64_t it = 0; it < iters; ++it)
    for (int t : {0, 1, 2, 3, 5, 7}) tm.tdpbusd(t, 4, 6);
  int32_t c[16 * 16];
  tm.tilestored(7, c, 64);
  sink_i = c[0];
  return static_cast<double>(iters) * 6 * (16.0 * 16 * 64) * 2;
}

}  // namespace isa_peak_internal

namespace {

using LoopFn = double (*)(int64_t);
namespace ip = isa_peak_internal;

// Times fn: grows the iteration count until one run takes >= 1 ms (also the warm-up that lets wide
// vector units power up), then keeps the best rate of three ~5 ms runs.
double measure(LoopFn fn) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  int64_t iters = 256;
  double elapsed = 0.0;
  for (;;) {
    const auto t0 = Clock::now();
    fn(iters);
    elapsed = seconds(t0);
    if (elapsed >= 1e-3 || iters > (int64_t{1} << 40)) break;
    iters *= 4;
  }
  iters = static_cast<int64_t>(static_cast<double>(iters) * 5e-3 / (elapsed > 0 ? elapsed : 1e-3)) + 1;
  double best = 0.0;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = Clock::now();
    const double ops = fn(iters);
    const double t = seconds(t0);
    if (t > 0 && ops / t > best) best = ops / t;
  }
  return best * 1e-9;
}

// The measured families: kAvxVnni has its own int8 dot (VEX vpdpbusd on ymm) and the AVX2 float FMA;
// kAmx the AMX int8 kernels (tdpbusd; on the emulator under SP_AMX=emulate) and the AVX-512 float ones.
enum Family { kScalarF, kAvx2F, kAvx512F, kAvx512VnniF, kAvxVnniF, kAmxF, kAmxEmulatedF, kFamilies };

Family family(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return kScalarF;
    case Isa::kAvx2: return kAvx2F;
    case Isa::kAvxVnni: return kAvxVnniF;
    case Isa::kAvx512: return kAvx512F;
    case Isa::kAvx512Vnni: return kAvx512VnniF;
    case Isa::kAmx: return detect_cpu().amx_emulated ? kAmxEmulatedF : kAmxF;
  }
  return kScalarF;
}

LoopFn loop_for(Family f, PeakKind kind) {
  const bool f32 = kind == PeakKind::kF32Fma;
  switch (f) {
    case kAvx2F: return f32 ? ip::f32_fma_avx2 : ip::int8_dot_avx2;
    case kAvx512F: return f32 ? ip::f32_fma_avx512 : ip::int8_dot_avx512;
    case kAvx512VnniF: return f32 ? ip::f32_fma_avx512 : ip::int8_dot_avx512vnni;
    case kAvxVnniF: return f32 ? ip::f32_fma_avx2 : ip::int8_dot_avxvnni;
    case kAmxF: return f32 ? ip::f32_fma_avx512 : ip::int8_dot_amx;
    case kAmxEmulatedF: return f32 ? ip::f32_fma_avx512 : ip::int8_dot_amx_emulated;
    default: return f32 ? ip::f32_fma_scalar : ip::int8_dot_scalar;
  }
}

}  // namespace

double isa_peak_gops(Isa isa, PeakKind kind) {
  if (!isa_supported(isa)) throw Error("isa_peak_gops: ISA " + std::string(isa_name(isa)) + " not supported by this CPU");
  static std::once_flag once[kFamilies][2];
  static double peak[kFamilies][2];
  const Family f = family(isa);
  const int k = kind == PeakKind::kF32Fma ? 0 : 1;
  std::call_once(once[f][k], [&] { peak[f][k] = measure(loop_for(f, kind)); });
  return peak[f][k];
}

std::string int8_peak_instruction(Isa isa) {
  switch (family(isa)) {
    case kAvx2F: return "vpmaddwd ymm";
    case kAvx512F: return "vpmaddwd zmm";
    case kAvx512VnniF: return "vpdpbusd zmm";
    case kAvxVnniF: return "vpdpbusd ymm (VEX)";
    case kAmxF: return "AMX tdpbusd";
    case kAmxEmulatedF: return "AMX tdpbusd on the software emulator (SP_AMX=emulate), not AMX speed";
    default: return "scalar imul";
  }
}

std::string amx_peak_note(int threads) {
  if (!amx_hardware_usable()) {
    const CpuFeatures& cpu = detect_cpu();
    if (!cpu.amx_tile || !cpu.amx_int8) return "AMX: absent on this CPU, no AMX peak";
    return "AMX: present but not usable (not granted by Linux, or SP_AMX=off), no AMX peak";
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "AMX tdpbusd int8 peak %.0f GOP/s", isa_peak_gops(Isa::kAmx, PeakKind::kInt8Dot) * threads);
  return buf;
}

}  // namespace sp::kernels
