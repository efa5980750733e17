// Runtime ops: each compiled node is one small object created once per Session (weights packed then)
// and run many times with no allocation. Ops read and write through RtValue views whose data
// pointers the memory planner resolves before the first run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/graph.h"
#include "core/thread_pool.h"

namespace sp {

namespace kernels {
struct Conv2dDesc;
struct Conv2dS8Desc;
}  // namespace kernels

// What a convolution op computes, read-only, for tools that run the same layer on another library
// (bench/bench_onednn_conv.cpp). Exactly one descriptor is set; the pointers stay valid as long as the
// Session that owns the op.
struct ConvOpInfo {
  const kernels::Conv2dDesc* f32 = nullptr;    // Conv: float NHWC, bias + activation fused
  const kernels::Conv2dS8Desc* s8 = nullptr;   // QConv: u8 x s8, requantization or float output fused
  const void* weights = nullptr;               // OIHW: float (f32) or int8 (s8)
  const void* bias = nullptr;                  // out_c floats (f32) or int32 (s8); may be null
  bool residual = false;                       // f32: output = activation(conv + bias) + residual input
};

// A value as the runtime sees it. Float activations are either ONNX-layout (NCHW, contiguous) or
// NHWC (batch 1) with a pixel stride, in which case they may be a channel slice of a wider buffer.
struct RtValue {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;  // logical ONNX shape, whatever the layout
  bool nhwc = false;
  int64_t pixel_stride = 0;    // NHWC: floats from one pixel to the next
  // >= 0: a planar tensor (kernels::PlanarLayout with this halo, planar_floats floats, pixel_stride 0)
  // that one sparse conv writes and the next reads (SessionCompiler::chain_sparse_planar).
  int planar_halo = -1;
  int64_t planar_floats = 0;
  int alias_of = -1;           // value whose buffer holds this one (Split/Concat/Reshape views)
  int64_t alias_offset = 0;    // in elements, relative to alias_of's first element
  const Tensor* constant = nullptr;
  float* data = nullptr;       // resolved by the planner (constants: points into the Tensor)

  int64_t channels() const { return shape.size() == 4 ? shape[1] : 0; }
  int64_t height() const { return shape.size() == 4 ? shape[2] : 0; }
  int64_t width() const { return shape.size() == 4 ? shape[3] : 0; }
  int64_t numel() const { return shape_numel(shape); }
  // Elements the buffer must hold (NHWC slices need room for the stride).
  int64_t storage_elems() const {
    if (planar_halo >= 0) return planar_floats;
    return nhwc ? height() * width() * pixel_stride : numel();
  }
};

struct RunContext {
  std::vector<RtValue>& values;
  ThreadPool* pool;
  Isa isa;
};

// A convolution whose session may run either its dense or its sparse kernel (core/kernel_plan.h). The
// op creator decides what it can (--kernels dense/sparse, too few zeros); under --kernels auto it builds
// both and the session times them through this interface, then keeps one. Under --kernels sparse the
// interface is open only while a sparse kernel's variant (sparse_variants) is still to be tuned, and the
// session then never runs or keeps the dense candidate.
class KernelChoice {
 public:
  virtual ~KernelChoice() = default;
  // Both kernels exist and the session still has to choose.
  virtual bool undecided() const = 0;
  // Runs the dense (false) or sparse (true) kernel once on scratch buffers of the layer's shapes and
  // pixel strides (allocated on the first call, freed by keep()).
  virtual void run_candidate(bool sparse, ThreadPool* pool) = 0;
  virtual void keep(bool sparse) = 0;
  // What the timing depends on: weights, geometry, strides, activation and output kind.
  virtual uint64_t fingerprint() const = 0;

  // Sparse kernels that differ only in a tuning parameter (the float kernels' output-channel group size,
  // whose best value depends on the CPU more than a cost model fitted on one CPU can tell): the values
  // worth timing, the current one first. Empty: nothing to tune. The session times them against each
  // other before the dense/sparse choice and keeps the fastest.
  virtual std::vector<int> sparse_variants() const { return {}; }
  // Runs the sparse kernel with variant v once on the scratch buffers (creating it on first use).
  virtual void run_sparse_variant(int /*v*/, ThreadPool* /*pool*/) {}
  // Makes variant v the sparse candidate and frees the others; false if v is not one of sparse_variants().
  virtual bool use_sparse_variant(int /*v*/) { return false; }
};

// A float conv whose sparse kernel can read and write planar tensors (kernels::PlanarLayout), so that two
// sparse convs in a row skip the transposes between NHWC and the kernel's channel planes (the session's
// chain_sparse_planar pass, after the dense/sparse choice).
class PlanarConv {
 public:
  virtual ~PlanarConv() = default;
  // Both require the kept kernel to be the sparse float one, on an ISA whose sparse kernels have planar
  // sides. Writing planar also requires no residual input (which is NHWC).
  virtual bool can_write_planar() const = 0;
  // The halo it can read a planar input with (its padding), or -1.
  virtual int planar_input_halo() const = 0;
  // Re-creates the sparse kernel with these sides planar (-1: NHWC).
  virtual void use_planar(int input_halo, int output_halo) = 0;
};

// What the session reports per conv about that choice (for `info` and `bench --profile`).
struct ConvSparsity {
  double zero_fraction = 0;  // exact-zero weights
  bool candidate = false;    // a sparse kernel exists and zero_fraction >= kSparseMinZeros
};

class Op {
 public:
  virtual ~Op() = default;
  virtual void run(RunContext& ctx) = 0;
  // Which kernel runs, for profiles: e.g. "conv3x3s1-nhwc-avx512".
  virtual std::string kernel() const = 0;
  // Multiply-accumulates per run (0 for data movement), for GOP/s in profiles and `info`.
  virtual int64_t macs() const { return 0; }
  // Convolutions describe themselves (see ConvOpInfo); other ops return null.
  virtual const ConvOpInfo* conv_info() const { return nullptr; }
  // The instruction set of the code that actually runs, for profiles, `info`, the HUD and summaries:
  // the kernel's own tag when its name ends with one ("conv3x3s1-s8-u8-avx512vnni" -> "avx512vnni"),
  // else the family the op's vector kernels dispatch to (`isa`, set at creation). Never the ISA the
  // user asked for: `--isa amx` without AMX kernels must not be reported as "amx".
  std::string kernel_isa() const;

  Isa isa = Isa::kScalar;  // the ISA its vector kernels dispatch on (see make_op)
  // Convolutions: their weights' sparsity, and the kernel choice while it is open (else null).
  virtual const ConvSparsity* conv_sparsity() const { return nullptr; }
  virtual KernelChoice* kernel_choice() { return nullptr; }
  virtual PlanarConv* planar_conv() { return nullptr; }

  std::string node_name;
  std::string op_type;
  std::vector<int> inputs;   // RtValue ids
  std::vector<int> outputs;
};

using OpPtr = std::unique_ptr<Op>;


}  // namespace sp
