// The AMX tdpbusd peak loop: measured where the CPU's tiles are usable (and then above the AVX-512 VNNI
// peak, as 16384 MACs per instruction against 64 must be), and the one-line note profiles print.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/cpu_features.h"
#include "core/kernels/isa_peak/isa_peak.h"

namespace sp::kernels {
namespace {

TEST(IsaPeakAmx, TdpbusdPeakWhereTheTilesAreUsable) {
  if (!amx_hardware_usable())
    GTEST_SKIP() << "no usable AMX on this CPU (absent, or not granted by Linux): the AMX tdpbusd peak loop is not run";
  const double amx = isa_peak_gops(Isa::kAmx, PeakKind::kInt8Dot);
  std::printf("[          ] AMX tdpbusd int8 peak, 1 thread: %.0f G-ops/s\n", amx);
  EXPECT_TRUE(std::isfinite(amx) && amx > 0.0);
  EXPECT_GT(amx, isa_peak_gops(Isa::kAvx512Vnni, PeakKind::kInt8Dot));
  EXPECT_EQ(int8_peak_instruction(Isa::kAmx).rfind("AMX tdpbusd", 0), 0u);
}

TEST(IsaPeakAmx, NoteSaysWhetherThereIsAnAmxPeak) {
  const std::string note = amx_peak_note(2);
  std::printf("[          ] %s\n", note.c_str());
  if (amx_hardware_usable()) {
    EXPECT_NE(note.find("GOP/s"), std::string::npos) << note;
  } else {
    EXPECT_NE(note.find("no AMX peak"), std::string::npos) << note;
  }
  EXPECT_EQ(int8_peak_instruction(Isa::kScalar), "scalar imul");
  if (isa_supported(Isa::kAvx512Vnni)) {
    EXPECT_EQ(int8_peak_instruction(Isa::kAvx512Vnni), "vpdpbusd zmm");
  }
}

}  // namespace
}  // namespace sp::kernels
