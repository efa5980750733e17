// Measured ISA peaks: positive and finite for every ISA the CPU has, cached, and ordered where the
// instruction counts say they must be (vpdpbusd does 4x the u8 x s8 MACs of a ymm vpmaddwd).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/isa_peak/isa_peak.h"

namespace sp::kernels {
namespace {

TEST(IsaPeak, PositiveFiniteAndCached) {
  for (Isa isa : supported_isas())
    for (PeakKind kind : {PeakKind::kF32Fma, PeakKind::kInt8Dot}) {
      const double g = isa_peak_gops(isa, kind);
      EXPECT_TRUE(std::isfinite(g) && g > 0.0) << isa_name(isa) << ": " << g;
      std::printf("[          ] %-10s %-8s %8.1f G-ops/s\n", std::string(isa_name(isa)).c_str(),
                  kind == PeakKind::kF32Fma ? "f32 fma" : "int8 dot", g);
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(isa_peak_gops(isa, kind), g) << "second call must return the cached value";
      EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1e-3)
          << "second call must not measure again";
    }
}

TEST(IsaPeak, VnniBeatsAvx2OnInt8) {
  if (!isa_supported(Isa::kAvx512Vnni) || !isa_supported(Isa::kAvx2))
    GTEST_SKIP() << "needs AVX-512 VNNI and AVX2: not both on this CPU";
  EXPECT_GT(isa_peak_gops(Isa::kAvx512Vnni, PeakKind::kInt8Dot), isa_peak_gops(Isa::kAvx2, PeakKind::kInt8Dot));
}

TEST(IsaPeak, SimdBeatsScalar) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  EXPECT_GT(isa_peak_gops(Isa::kAvx2, PeakKind::kF32Fma), isa_peak_gops(Isa::kScalar, PeakKind::kF32Fma));
  EXPECT_GT(isa_peak_gops(Isa::kAvx2, PeakKind::kInt8Dot), isa_peak_gops(Isa::kScalar, PeakKind::kInt8Dot));
}

TEST(IsaPeak, RejectsMissingIsa) {
  bool any = false;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx})
    if (!isa_supported(isa)) {
      any = true;
      EXPECT_THROW(isa_peak_gops(isa, PeakKind::kF32Fma), Error) << isa_name(isa);
    }
  if (!any) GTEST_SKIP() << "this CPU has every ISA: nothing to reject";
}

}  // namespace
}  // namespace sp::kernels
