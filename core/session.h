// A Session compiles a model once for a fixed input size, ISA and thread count — shapes inferred,
// constants folded, graph fused, layouts chosen, one arena planned, kernels created with packed
// weights — and then runs many times with no allocation (XNNPACK's create/setup/run discipline).
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/graph.h"
#include "core/kernel_plan.h"
#include "core/ops/op.h"
#include "core/passes/passes.h"
#include "core/thread_pool.h"

namespace sp {

struct SessionOptions {
  int threads = 0;                   // 0: one per hardware thread
  Isa isa = best_isa();
  std::vector<int64_t> input_hw;     // {h, w} for the image input; empty: the size the model was exported with
  std::vector<std::string> outputs;  // cut the graph at these values; empty: the model's own outputs
  bool nhwc_input = false;           // the caller writes the image input as NHWC ([H][W][C]), skipping a transpose
  bool nhwc_outputs = false;         // 4-D outputs stay NHWC with a pixel stride (see output_pixel_stride)
  bool profile = false;              // time every op (adds a clock read per op)
  bool integer = false;              // run the quantized parts of QDQ models on integer kernels (else: exact float emulation)
  bool u8_input = false;             // integer + nhwc_input: an image input that is quantized first becomes u8 (see input_dtype)
  bool integer_fusions = true;       // integer: fuse the lowered ops where bit-identical (false: for tests comparing the two)
  // Float convs in bf16 (bf16 products, fp32 accumulation): the ones the model's metadata names
  // (passes::kBf16ConvsMetadataKey), none, or all (depthwise ones stay fp32). Kernel names say which ran.
  passes::Bf16Convs bf16_convs = passes::Bf16Convs::kFromModel;
  size_t max_arena_bytes = size_t{8} << 30;  // refuse models whose activations need more memory than this
  // Dense or sparse convolution kernels per layer (core/kernel_plan.h): auto times both on the convs with
  // enough zero weights and keeps the faster; the plan is cached in kernel_cache_dir (empty: the user's
  // cache, $XDG_CACHE_HOME/sparsepose or ~/.cache/sparsepose) unless kernel_cache is false.
  KernelMode kernels = KernelMode::kAuto;
  bool kernel_cache = true;
  std::string kernel_cache_dir;
  // A plan timed while this process was preempted more often than this (per second per thread,
  // CpuContention) is used but not cached; <= 0 caches whatever the load (tests on a loaded machine).
  // (The command line's environment variable SP_PLAN_BUSY_LIMIT sets it: app/common.cpp.)
  double kernel_cache_busy_limit = kBusyPreemptionsPerSecond;
  // Auto and sparse: the sparse float kernels' group sizes timed against each other, those the cost model
  // estimates within this factor of its pick (kSparseTuneWindow); < 1: none, the pick is kept untimed.
  double sparse_tune_window = kSparseTuneWindow;
  // Two sparse float convs in a row exchange a planar tensor instead of NHWC, skipping the transposes
  // (bit-identical results; false: NHWC everywhere, for tests and measurements).
  bool sparse_planar = true;
};

// How the session chose its convolution kernels.
struct KernelPlanReport {
  KernelMode mode = KernelMode::kAuto;
  int convs = 0;       // convolution ops
  int candidates = 0;  // of which with a sparse kernel and >= kSparseMinZeros zero weights
  int sparse = 0;      // of which run the sparse kernel
  int timed = 0;       // candidates timed at creation (auto, no usable cached plan)
  bool from_cache = false;   // auto: the choices came from the plan file
  double timing_s = 0;       // wall time spent timing candidates
  std::string cache_file;    // the plan file read or written ("" if none)
  double preemptions_per_s = 0;  // timed: CpuContention while timing, per second per thread
  bool busy = false;             // timed: above the busy limit, so the plan was not cached
};

struct OpProfile {
  std::string node, op_type, kernel;
  std::string isa;  // the ISA of the code that runs (Op::kernel_isa), not the one requested
  int64_t macs = 0;
  bool integer = false;  // u8 x s8 multiply-accumulates (else float)
  double total_ms = 0;  // summed over runs since reset_profile()
  // Convolutions: fraction of exact-zero weights (-1 for other ops), whether the kernel is the sparse one,
  // how that was decided ("few zeros", "forced", "timed", "cached") and, when timed or cached, the times.
  double weight_zeros = -1;
  bool sparse = false;
  std::string choice;
  double dense_ms = 0, sparse_ms = 0;
};

class Session {
 public:
  Session(const Graph& model, const SessionOptions& options);
  ~Session();

  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  // The input buffer to fill before run(): NCHW float, or NHWC when options.nhwc_input; for a u8
  // input (input_dtype() == kUInt8) NHWC bytes q = clamp(rne(x / scale) + zero_point, 0, 255) of the
  // float input x, with input_scale()/input_zero_point().
  float* input_data(size_t i);
  uint8_t* input_u8(size_t i);
  DType input_dtype(size_t i) const;
  float input_scale(size_t i) const;
  int input_zero_point(size_t i) const;
  const Shape& input_shape(size_t i) const;  // logical NCHW shape
  const float* output_data(size_t i) const;
  const Shape& output_shape(size_t i) const;  // logical NCHW shape
  const std::string& output_name(size_t i) const;
  bool output_nhwc(size_t i) const;
  int64_t output_pixel_stride(size_t i) const;  // NHWC outputs: floats between pixels

  void run();

  int threads() const { return pool_->num_threads(); }
  Isa isa() const { return isa_; }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t num_ops() const { return ops_.size(); }
  const Op& op(size_t i) const { return *ops_.at(i); }  // read-only, e.g. Op::conv_info() for peer benchmarks
  int64_t total_macs() const;
  // The instruction sets the compiled kernels actually use, by share of the multiply-accumulates,
  // largest first: what `info`, `bench`, the HUD and run summaries report.
  struct KernelIsaShare {
    std::string isa;
    int64_t macs = 0;
    int ops = 0;
  };
  std::vector<KernelIsaShare> kernel_isas() const;
  // "avx512vnni+avx512": the tags of kernel_isas() joined, largest share first.
  std::string kernel_isa_summary() const;
  const std::vector<OpProfile>& profile() const { return profile_; }
  // What the integer lowering did (empty unless options.integer).
  const passes::IntegerLoweringReport& integer_report() const { return integer_report_; }
  const KernelPlanReport& kernel_plan() const { return kernel_plan_; }
  int profiled_runs() const { return profiled_runs_; }
  void reset_profile();

 private:
  std::unique_ptr<ThreadPool> pool_;
  Isa isa_;
  bool profiling_;
  std::vector<RtValue> values_;
  std::vector<TensorPtr> constants_;  // owns every constant the ops point into (weights, folded values)
  std::vector<OpPtr> ops_;
  std::vector<int> inputs_, outputs_;
  std::vector<std::string> output_names_;
  struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, FreeDeleter> arena_;  // owned even if compilation throws after allocating it
  size_t arena_bytes_ = 0;
  std::vector<OpProfile> profile_;
  int profiled_runs_ = 0;
  passes::IntegerLoweringReport integer_report_;
  KernelPlanReport kernel_plan_;

  friend class SessionCompiler;
};

}  // namespace sp
