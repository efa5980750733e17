#include "core/build_identity.h"

#include <elf.h>
#include <link.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/kernel_plan.h"

namespace sp {
namespace {

std::string to_hex(const unsigned char* bytes, size_t n) {
  std::string s;
  s.reserve(2 * n);
  static const char* kDigits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kDigits[bytes[i] >> 4]);
    s.push_back(kDigits[bytes[i] & 15]);
  }
  return s;
}

// The NT_GNU_BUILD_ID note among an object's PT_NOTE segments; empty if it has none.
std::string gnu_build_id(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(info.dlpi_addr + ph.p_vaddr);
    const unsigned char* end = p + ph.p_memsz;
    // Notes: header, name padded to 4 bytes, descriptor padded to 4 bytes (ELF gABI, "Note Section").
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) nh;
      std::memcpy(&nh, p, sizeof nh);
      const unsigned char* name = p + sizeof nh;
      const unsigned char* desc = name + ((nh.n_namesz + 3u) & ~3u);
      const unsigned char* next = desc + ((nh.n_descsz + 3u) & ~3u);
      if (next > end) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 &&
          nh.n_descsz > 0)
        return to_hex(desc, nh.n_descsz);
      p = next;
    }
  }
  return {};
}

struct Search {
  uintptr_t address = 0;  // an address inside our code
  bool found = false;
  std::string build_id;   // of the object that contains it
  std::string file;       // its path ("" for the main executable)
};

int visit(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Search*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && s->address >= lo && s->address < lo + ph.p_memsz) {
      s->found = true;
      s->build_id = gnu_build_id(*info);
      s->file = info->dlpi_name ? info->dlpi_name : "";
      return 1;  // stops the iteration
    }
  }
  return 0;
}

std::string file_hash(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::vector<char> buf(1 << 20);
  uint64_t h = hash_string("sparsepose build file", 1);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (f.gcount() > 0) h = hash_bytes(buf.data(), static_cast<size_t>(f.gcount()), h);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, h);
  return std::string("file:") + hex;
}

std::string compute() {
  Search s;
  s.address = reinterpret_cast<uintptr_t>(&build_identity);
  dl_iterate_phdr(visit, &s);
  if (!s.build_id.empty()) return s.build_id;
  if (s.found) {
    std::string h = file_hash(s.file.empty() ? "/proc/self/exe" : s.file);
    if (!h.empty()) return h;
  }
  return "unknown";
}

}  // namespace

const std::string& build_identity() {
  static const std::string id = compute();
  return id;
}

}  // namespace sp
