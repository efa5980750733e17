// Run-time CPU feature detection and the instruction-set choice every kernel dispatches on.
// One binary runs on any x86-64: ISA-specific kernels live in their own translation units compiled
// with their own flags, and are only called when detect_cpu() says the CPU (and the OS) support them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sp {

// Ordered from least to most capable; `--isa` takes these names.
enum class Isa { kScalar, kAvx2, kAvx512, kAvx512Vnni, kAvxVnni, kAmx };

struct CpuFeatures {
  bool sse41 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;  // the OS saves the register state
  // os_amx: Linux granted this process AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM); false with
  // SP_AMX=off, which makes a refusal testable on any machine.
  // SP_AMX=emulate (for tests): Isa::kAmx is usable on any AVX-512 VNNI CPU and every AMX kernel runs on
  // the software model of the tile instructions (core/kernels/amx/amx_emulator.h), names ending -amx-emu.
  bool amx_emulated = false;
  std::string vendor, brand;
};

const CpuFeatures& detect_cpu();
bool isa_supported(Isa isa, const CpuFeatures& cpu = detect_cpu());
// The CPU's own AMX tiles can run (AMX-TILE/INT8/BF16, AVX-512 VNNI, granted by Linux): what the AMX
// kernels need unless cpu.amx_emulated routes them to the emulator.
bool amx_hardware_usable(const CpuFeatures& cpu = detect_cpu());
Isa best_isa(const CpuFeatures& cpu = detect_cpu());
std::string_view isa_name(Isa isa);
// Throws sp::Error naming the value and the accepted names.
Isa parse_isa(std::string_view name);
// Resolves a user request ("" or "auto" = best); throws sp::Error if the CPU lacks the ISA.
Isa resolve_isa(std::string_view requested);
// The float kernels exist for scalar, AVX2 and AVX-512; integer ISAs map onto their float family.
Isa float_isa(Isa isa);
std::vector<Isa> supported_isas(const CpuFeatures& cpu = detect_cpu());
// The ISA tag a kernel name carries: its last '-'-separated token that names an instruction set
// ("scalar", or starting with "avx"/"amx": "conv3x3s1-s8-u8-avx512vnni" -> "avx512vnni",
// "conv1x1-bf16-avx512bf16" -> "avx512bf16"; an AMX kernel on the tile emulator, SP_AMX=emulate, keeps
// its "-emu": "conv3x3s1-s8-u8-amx-emu" -> "amx-emu"); empty when the name has none.
std::string_view kernel_isa_tag(std::string_view kernel_name);
// Space-separated list of the detected features, for `info` and benchmark reports.
std::string cpu_feature_string(const CpuFeatures& cpu = detect_cpu());

}  // namespace sp
