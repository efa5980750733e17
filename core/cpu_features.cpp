#include "core/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace sp {
namespace {

constexpr int kArchReqXcompPerm = 0x1023;  // arch_prctl: ask the kernel for AMX tile state
constexpr int kXfeatureTileData = 18;

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  char vendor[13] = {};
  __cpuid(0, a, b, c, d);
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;

  __cpuid(1, a, b, c, d);
  f.sse41 = c & bit_SSE4_1;
  f.fma = c & bit_FMA;
  f.avx = c & bit_AVX;
  f.f16c = c & bit_F16C;
  bool osxsave = c & bit_OSXSAVE;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  f.os_avx = (xcr0 & 0x6) == 0x6;                // XMM + YMM state
  f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask + ZMM state

  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & bit_AVX2;
    f.avx512f = b & bit_AVX512F;
    f.avx512dq = b & bit_AVX512DQ;
    f.avx512bw = b & bit_AVX512BW;
    f.avx512vl = b & bit_AVX512VL;
    f.avx512_vnni = c & (1u << 11);
    f.amx_bf16 = d & (1u << 22);
    f.amx_tile = d & (1u << 24);
    f.amx_int8 = d & (1u << 25);
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = a & (1u << 4);
    f.avx512_bf16 = a & (1u << 5);
  }
  // SP_AMX: unset (or "auto") asks Linux for AMX as usual; "off" behaves as if Linux refused; "emulate"
  // runs the AMX kernels on the tile emulator (tests on machines without AMX).
  const char* amx_env = std::getenv("SP_AMX");
  const std::string amx_mode = amx_env ? amx_env : "";
  std::string amx_refusal;  // why AMX tile data is not available although the CPU has AMX (or "off")
  if (amx_mode == "off") {
    amx_refusal = "SP_AMX=off, treated as refused by Linux";
  } else if (f.amx_tile && (xcr0 & (3ull << 17)) != (3ull << 17)) {
    amx_refusal = "the OS does not enable the AMX state in XCR0";
  } else if (f.amx_tile) {
    // Linux only hands out AMX tile state to processes that ask for it.
    f.os_amx = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) == 0;
    const int err = errno;
    if (!f.os_amx) amx_refusal = std::string("arch_prctl(ARCH_REQ_XCOMP_PERM): ") + std::strerror(err);
  }
  f.amx_emulated = amx_mode == "emulate";

  char brand[49] = {};
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000, nullptr)) >= 0x80000004u) {
    for (unsigned i = 0; i < 3; ++i) {
      __cpuid(0x80000002 + i, a, b, c, d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
  }
  f.brand = brand;
  while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();

  // One notice per process (detect() runs once), on stderr so JSON on stdout stays clean.
  if (!amx_refusal.empty()) {
    std::fprintf(stderr, "sparsepose: notice: Linux did not grant AMX tile data (%s); using %s kernels\n",
                 amx_refusal.c_str(), std::string(isa_name(best_isa(f))).c_str());
  } else if (f.amx_emulated) {
    if (isa_supported(Isa::kAmx, f))
      std::fprintf(stderr, "sparsepose: notice: SP_AMX=emulate: AMX kernels run on the software tile emulator "
                           "(slow; for tests, not a measure of AMX speed)\n");
    else
      std::fprintf(stderr, "sparsepose: notice: SP_AMX=emulate needs AVX-512 VNNI, which this CPU lacks; AMX stays "
                           "unavailable\n");
  } else if (!amx_mode.empty() && amx_mode != "auto") {
    std::fprintf(stderr, "sparsepose: notice: SP_AMX='%s' ignored (expected off, emulate or auto)\n", amx_mode.c_str());
  }
  return f;
}

}  // namespace

const CpuFeatures& detect_cpu() {
  static const CpuFeatures features = detect();
  return features;
}

bool isa_supported(Isa isa, const CpuFeatures& f) {
  bool avx2 = f.os_avx && f.avx2 && f.fma && f.f16c;
  bool avx512 = avx2 && f.os_avx512 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx512;
    case Isa::kAvx512Vnni: return avx512 && f.avx512_vnni;
    case Isa::kAvxVnni: return avx2 && f.avx_vnni;
    case Isa::kAmx: return amx_hardware_usable(f) || (avx512 && f.avx512_vnni && f.amx_emulated);
  }
  return false;
}

bool amx_hardware_usable(const CpuFeatures& f) {
  return isa_supported(Isa::kAvx512Vnni, f) && f.amx_tile && f.amx_int8 && f.amx_bf16 && f.os_amx;
}

Isa best_isa(const CpuFeatures& f) {
  for (Isa isa : {Isa::kAmx, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvxVnni, Isa::kAvx2}) {
    if (isa_supported(isa, f)) return isa;
  }
  return Isa::kScalar;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAmx: return "amx";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx}) {
    if (name == isa_name(isa)) return isa;
  }
  throw Error("unknown ISA '" + std::string(name) +
              "' (expected one of: scalar, avx2, avx512, avx512vnni, avxvnni, amx)");
}

Isa resolve_isa(std::string_view requested) {
  if (requested.empty() || requested == "auto") return best_isa();
  Isa isa = parse_isa(requested);
  if (!isa_supported(isa)) {
    throw Error("this CPU does not support ISA '" + std::string(requested) + "' (supported: " +
                [] {
                  std::string s;
                  for (Isa i : supported_isas()) {
                    if (!s.empty()) s += ", ";
                    s += isa_name(i);
                  }
                  return s;
                }() + ")");
  }
  return isa;
}

Isa float_isa(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return Isa::kScalar;
    case Isa::kAvx2:
    case Isa::kAvxVnni: return Isa::kAvx2;
    case Isa::kAvx512:
    case Isa::kAvx512Vnni:
    case Isa::kAmx: return Isa::kAvx512;
  }
  return Isa::kScalar;
}

std::vector<Isa> supported_isas(const CpuFeatures& f) {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx}) {
    if (isa_supported(isa, f)) out.push_back(isa);
  }
  return out;
}

std::string_view kernel_isa_tag(std::string_view name) {
  std::string_view tag;
  size_t tag_start = 0, start = 0;
  while (start <= name.size()) {
    size_t end = name.find('-', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view token = name.substr(start, end - start);
    if (token == "scalar" || token.rfind("avx", 0) == 0 || token.rfind("amx", 0) == 0) {
      tag = token, tag_start = start;
    } else if (token == "emu" && tag.rfind("amx", 0) == 0 && tag_start + tag.size() + 1 == start) {
      tag = name.substr(tag_start, end - tag_start);  // "amx-emu": the tile emulator, not AMX hardware
    }
    start = end + 1;
  }
  return tag;
}

std::string cpu_feature_string(const CpuFeatures& f) {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(f.sse41, "sse4.1");
  add(f.avx && f.os_avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f && f.os_avx512, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.avx_vnni, "avx_vnni");
  add(f.amx_tile, "amx_tile");
  add(f.amx_int8, "amx_int8");
  add(f.amx_bf16, "amx_bf16");
  if (f.amx_tile) add(true, f.os_amx ? "(amx enabled by OS)" : "(amx not enabled by OS)");
  if (f.amx_emulated) add(true, "(amx emulated: SP_AMX=emulate)");
  return s;
}

}  // namespace sp
