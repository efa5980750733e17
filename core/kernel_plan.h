// Per-layer choice between the dense and the sparse kernels of a convolution (issue #8 item 3).
//
// A conv is a *candidate* when a sparse kernel exists for it (not depthwise, not bf16) and at least
// kSparseMinZeros of its weights are exact zeros. `--kernels dense` never builds a sparse kernel, `sparse`
// runs the sparse kernel on every candidate, and `auto` (the default) builds both for each candidate,
// times them on this CPU at session creation (the real shape, the session's threads) and keeps the sparse
// kernel only where it is at least 3 % faster (a near tie keeps the dense one). Before that, a float
// sparse kernel's output-channel group size is itself timed among the sizes its cost model rates close
// (kSparseTuneWindow below). `sparse` times only those group sizes (its plan is cached under its own key).
// The timings depend only on the candidates' weights and shapes, the CPU, the ISA, the thread count and
// the build of the kernels (build_identity.h), so the resulting plan is cached in a small text file keyed
// by a hash of exactly those: the second start of the same model on the same machine reads it instead of
// timing. A file that does not parse, belongs to another key or names other layers is ignored (and
// rewritten). Plans of earlier builds stay in the directory, unused (a few KB each).
// A plan timed while other programs took the cores from ours (a build, another model) says more about
// that moment than about the machine, so it is used for that session but not cached: the next start
// times again (CpuContention below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sp {

enum class KernelMode { kAuto, kDense, kSparse };

// "auto" | "dense" | "sparse"; throws sp::Error naming the bad value.
KernelMode parse_kernel_mode(std::string_view s);
const char* kernel_mode_name(KernelMode m);

// Below this fraction of exact-zero weights a conv stays dense without timing: too few zeros for the
// sparse kernels to win (spconv_f32 / spconv_s8 READMEs: their crossovers are above 30 % on every layer).
constexpr double kSparseMinZeros = 0.20;

// A 64-bit hash (not cryptographic: it keys a cache, it does not authenticate it).
uint64_t hash_bytes(const void* data, size_t bytes, uint64_t seed);
inline uint64_t hash_string(std::string_view s, uint64_t seed) { return hash_bytes(s.data(), s.size(), seed); }
inline uint64_t hash_u64(uint64_t v, uint64_t seed) { return hash_bytes(&v, sizeof v, seed); }

// The measured times of one candidate (best of the alternating runs), in ms.
struct DenseSparseTiming {
  double dense_ms = 0, sparse_ms = 0;
};

// Times run(0) .. run(n - 1) against each other (n >= 1): one warm-up each, then rounds that rotate the
// order, the minimum of each kept (robust to the other processes of a shared machine). Rounds stop early
// once one candidate is clearly faster than every other, and the whole call is bounded by a time budget.
// Returns each candidate's time in ms.
struct TimingBudget {
  double ms = 40;  // per call, beyond the warm-ups
  int min_rounds = 3, max_rounds = 9;
};
std::vector<double> time_candidates(int n, const std::function<void(int candidate)>& run,
                                    const TimingBudget& budget = {});

// time_candidates with run(false) (dense) as candidate 0 and run(true) (sparse) as candidate 1.
DenseSparseTiming time_dense_sparse(const std::function<void(bool sparse)>& run);

// How much of the CPU other programs took while something was measured: this process's involuntary
// context switches (the kernel preempting a runnable thread of ours for another task) per second of wall
// time, per thread we asked to run. A quiet machine preempts almost never (timer ticks do not switch
// when nothing else is runnable); two other busy tasks on two cores preempt each of our threads every
// scheduler slice, hundreds of times a second. It cannot see a hypervisor's steal, only this VM's tasks.
class CpuContention {
 public:
  CpuContention();  // starts the interval
  // Preemptions per second per thread since construction (intervals under 0.25 s count as 0.25 s).
  double preemptions_per_s(int threads) const;

 private:
  long start_switches_;
  double start_s_;
};

// Above this many preemptions per second per thread the plan was timed on a busy CPU and is not cached.
// Measured on a 2-vCPU Zen 5 VM timing the 65 candidates of a 50 %-pruned YOLO11n-pose (0.7-1.3 s):
// quiet 3-7/s; one `nice -n 10` busy process 12-18/s (and one of its plans kept 5 sparse layers where
// quiet ones keep 21-25); one or two busy processes at normal priority 28-234/s (26-36 sparse).
constexpr double kBusyPreemptionsPerSecond = 10;

// Under auto and sparse, a sparse float conv's output-channel group sizes are timed against each other
// where the kernel's cost model estimates them within this factor of its pick
// (SessionOptions::sparse_tune_window).
// Its constants were fitted on one CPU, and on another the order of close candidates changes (on a Zen 4,
// AVX2, it picked R = 2 for layers where R = 6 ran up to 1.8x faster). Measured there (2 runs per ISA,
// bench_spconv_f32 --group 0,1,2,4,6, column estimate_vs_pick), the fastest group size was within 1.2x
// of the pick's estimate on every layer but two, where a size inside ran within 1 % of it. The window
// times 3.4 of AVX2's 4 sizes per layer and 4.2 of AVX-512's 5 on YOLO11n-pose.
constexpr double kSparseTuneWindow = 1.2;

// One decision of the plan.
struct PlannedLayer {
  std::string node;
  bool sparse = false;
  DenseSparseTiming timing;
  // The sparse kernel's tuning parameter timed fastest (KernelChoice::sparse_variants; the float kernels'
  // output-channel group size), kept whichever kernel won; 0: the layer has nothing to tune.
  int sparse_variant = 0;
};

// Where plans are cached: `dir` if not empty, else $XDG_CACHE_HOME/sparsepose, else $HOME/.cache/sparsepose;
// empty when none of them is set.
std::string kernel_plan_cache_dir(const std::string& dir);
// The plan file of a key inside `cache_dir`.
std::string kernel_plan_path(const std::string& cache_dir, uint64_t key);

// Plans kept in a cache directory. Every build, model, CPU and thread count has its own file (a few
// KB), and the plans of old builds are never read again; past this many, writing a plan removes the
// least recently used ones (reading a plan marks it used).
inline constexpr size_t kMaxCachedPlans = 200;

// Removes the least recently used plan files (kernel-plan-*.txt) of `cache_dir` beyond `keep`; other
// files are left alone. Returns how many were removed.
size_t trim_kernel_plan_cache(const std::string& cache_dir, size_t keep = kMaxCachedPlans);

// Reads a plan written by write_kernel_plan for `key` whose layers are exactly `nodes` (in that order);
// nullopt for a missing, unreadable, corrupt or foreign file. A plan read is marked used (its time
// stamp set to now) for trim_kernel_plan_cache.
std::optional<std::vector<PlannedLayer>> read_kernel_plan(const std::string& path, uint64_t key,
                                                          const std::vector<std::string>& nodes);
// Writes the plan atomically (temporary file + rename), creating the directory, then trims the
// directory to kMaxCachedPlans; false (and nothing left behind) if it cannot, or if a node name cannot
// be stored (tab or newline in it).
bool write_kernel_plan(const std::string& path, uint64_t key, const std::vector<PlannedLayer>& layers);

}  // namespace sp
