#include "core/kernel_plan.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace sp {
namespace fs = std::filesystem;

KernelMode parse_kernel_mode(std::string_view s) {
  if (s == "auto") return KernelMode::kAuto;
  if (s == "dense") return KernelMode::kDense;
  if (s == "sparse") return KernelMode::kSparse;
  throw Error("unknown kernel choice '" + std::string(s) + "' (auto, dense or sparse)");
}

const char* kernel_mode_name(KernelMode m) {
  switch (m) {
    case KernelMode::kAuto: return "auto";
    case KernelMode::kDense: return "dense";
    case KernelMode::kSparse: return "sparse";
  }
  return "auto";
}

uint64_t hash_bytes(const void* data, size_t bytes, uint64_t seed) {
  // 8 bytes per step, multiply-xorshift mixing (a few GB/s: hashing a model's weights costs milliseconds).
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = seed ^ (bytes * kMul);
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < bytes; ++k) tail |= static_cast<uint64_t>(p[i + k]) << (8 * k);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

std::vector<double> time_candidates(int n, const std::function<void(int candidate)>& run,
                                    const TimingBudget& budget) {
  using clock = std::chrono::steady_clock;
  auto once = [&](int i) {
    const auto t0 = clock::now();
    run(i);
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  // Warm-up: first touches of the kernels' packed weights and of the per-thread workspaces.
  std::vector<double> t(static_cast<size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) t[i] = once(i);
  if (n < 2) return t;
  // A call costs at most ~budget.ms (at least min_rounds rounds); past min_rounds it stops as soon as one
  // candidate is faster than every other by kClear, where a few more runs cannot change the choice.
  constexpr double kClear = 1.25;
  // Candidates slower than the whole budget together (the scalar reference on a large layer) get one round.
  double round_ms = 1e-3;
  for (double x : t) round_ms += x;
  const int rounds = round_ms > budget.ms
                         ? 1
                         : std::clamp(static_cast<int>(budget.ms / round_ms), budget.min_rounds, budget.max_rounds);
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < n; ++k) {
      const int i = (r + k) % n;  // each round starts with the next candidate
      t[i] = std::min(t[i], once(i));
    }
    if (r + 1 < std::min(budget.min_rounds, rounds)) continue;
    const auto best = std::min_element(t.begin(), t.end());
    bool clear = true;
    for (auto it = t.begin(); it != t.end(); ++it) clear &= it == best || *it > kClear * *best;
    if (clear) break;
  }
  return t;
}

DenseSparseTiming time_dense_sparse(const std::function<void(bool sparse)>& run) {
  const std::vector<double> t = time_candidates(2, [&](int i) { run(i == 1); });
  return {t[0], t[1]};
}

namespace {

long involuntary_switches() {
  rusage u{};
  return getrusage(RUSAGE_SELF, &u) == 0 ? u.ru_nivcsw : 0;
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

CpuContention::CpuContention() : start_switches_(involuntary_switches()), start_s_(now_s()) {}

double CpuContention::preemptions_per_s(int threads) const {
  // An interval shorter than a quarter second counts as one, so that a single stray switch during a few
  // milliseconds of timing (a kernel worker) is not read as hundreds per second.
  const double seconds = std::max(0.25, now_s() - start_s_);
  return static_cast<double>(involuntary_switches() - start_switches_) / seconds / std::max(1, threads);
}

std::string kernel_plan_cache_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "sparsepose").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "sparsepose").string();
  return "";
}

namespace {

constexpr const char* kMagic = "sparsepose-kernel-plan v2";

std::string hex_key(uint64_t key) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, key);
  return buf;
}

}  // namespace

std::string kernel_plan_path(const std::string& cache_dir, uint64_t key) {
  return (fs::path(cache_dir) / ("kernel-plan-" + hex_key(key) + ".txt")).string();
}

// Format: the magic line, "key <hex>", one line per layer
// "<node>\t<dense|sparse>\t<dense ms>\t<sparse ms>\t<sparse variant>", then "end <layers>" (a truncated
// file has no end line). v1 files (no variant) are another format: ignored, timed again and rewritten.
std::optional<std::vector<PlannedLayer>> read_kernel_plan(const std::string& path, uint64_t key,
                                                          const std::vector<std::string>& nodes) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::string line;
  if (!std::getline(f, line) || line != kMagic) return std::nullopt;
  if (!std::getline(f, line) || line != "key " + hex_key(key)) return std::nullopt;
  std::vector<PlannedLayer> layers;
  while (std::getline(f, line)) {
    if (line.rfind("end ", 0) == 0) {
      if (line != "end " + std::to_string(layers.size()) || layers.size() != nodes.size()) return std::nullopt;
      if (std::getline(f, line)) return std::nullopt;  // nothing may follow the end line
      std::error_code ec;  // best effort: a read-only cache still works, it just cannot be trimmed well
      fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
      return layers;
    }
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1),
                 t4 = line.find('\t', t3 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos || t3 == std::string::npos || t4 == std::string::npos)
      return std::nullopt;
    PlannedLayer l;
    l.node = line.substr(0, t1);
    const std::string choice = line.substr(t1 + 1, t2 - t1 - 1);
    if (choice != "dense" && choice != "sparse") return std::nullopt;
    l.sparse = choice == "sparse";
    char* end = nullptr;
    const std::string d = line.substr(t2 + 1, t3 - t2 - 1), s = line.substr(t3 + 1, t4 - t3 - 1),
                      v = line.substr(t4 + 1);
    l.timing.dense_ms = std::strtod(d.c_str(), &end);
    if (d.empty() || *end || !(l.timing.dense_ms >= 0)) return std::nullopt;
    l.timing.sparse_ms = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !(l.timing.sparse_ms >= 0)) return std::nullopt;
    const long variant = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || variant < 0 || variant > 1024) return std::nullopt;
    l.sparse_variant = static_cast<int>(variant);
    if (layers.size() >= nodes.size() || nodes[layers.size()] != l.node) return std::nullopt;
    layers.push_back(std::move(l));
  }
  return std::nullopt;  // no end line: truncated
}

bool write_kernel_plan(const std::string& path, uint64_t key, const std::vector<PlannedLayer>& layers) {
  std::ostringstream out;
  out << kMagic << "\nkey " << hex_key(key) << "\n";
  for (const PlannedLayer& l : layers) {
    if (l.node.find_first_of("\t\n\r") != std::string::npos) return false;
    char buf[64];
    std::snprintf(buf, sizeof buf, "\t%.6g\t%.6g\t%d\n", l.timing.dense_ms, l.timing.sparse_ms, l.sparse_variant);
    out << l.node << '\t' << (l.sparse ? "sparse" : "dense") << buf;
  }
  out << "end " << layers.size() << "\n";
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  // Unique temporary name: two processes starting the same model at once each write their own file,
  // and the rename makes either complete file the one that stays.
  const fs::path tmp = p.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return false;
    f << out.str();
    f.flush();
    if (!f) {
      f.close();
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return false;
  }
  if (p.has_parent_path()) trim_kernel_plan_cache(p.parent_path().string());
  return true;
}

size_t trim_kernel_plan_cache(const std::string& cache_dir, size_t keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> plans;
  std::error_code ec;
  for (fs::directory_iterator it(cache_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("kernel-plan-", 0) != 0 || name.size() < 4 || name.compare(name.size() - 4, 4, ".txt") != 0) continue;
    std::error_code tec;
    const auto t = fs::last_write_time(it->path(), tec);
    if (!tec) plans.emplace_back(t, it->path());
  }
  if (plans.size() <= keep) return 0;
  std::sort(plans.begin(), plans.end());  // oldest first
  size_t removed = 0;
  for (size_t i = 0; i + keep < plans.size(); ++i) removed += fs::remove(plans[i].second, ec) ? 1 : 0;
  return removed;
}

}  // namespace sp
