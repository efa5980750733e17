// Graph rewrites run once per Session after shapes are known and constants folded. Each pass keeps
// the graph's meaning exactly (up to float rounding) and is a small function with one job.
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"

namespace sp::passes {

// BatchNormalization after a Conv with constant weights is folded into the Conv's weights and bias.
void fold_batchnorm(Graph& g);
// QuantizeLinear → DequantizeLinear on activations becomes one FakeQuant node (float emulation of the
// integer rounding, so QDQ models compute what their exporter meant). Weights were already folded.
void fuse_fake_quant(Graph& g);
// Conv → Sigmoid → Mul(conv, sigmoid) becomes a Conv with a SiLU epilogue; Conv → Relu / Sigmoid too.
// A lone x * Sigmoid(x) becomes one SiLU node.
void fuse_activations(Graph& g);
// Add(Conv(...), x) where the Conv output has no other use becomes a Conv with a residual input, run
// at the Add's position (when x is ready).
void fuse_residual_add(Graph& g);

// Which float convolutions run in bfloat16 (products in bf16, fp32 accumulation; core/kernels/conv_bf16).
enum class Bf16Convs {
  kNone,       // none, whatever the model asks
  kFromModel,  // the Conv nodes the model's metadata names (kBf16ConvsMetadataKey); none if it names none
  kAll,        // every Conv node (the engine keeps depthwise ones in fp32: bf16 has no fast kernel for them)
};
// metadata_props key: comma-separated Conv node names, e.g. "/model.1/conv/Conv,/model.5/conv/Conv".
// Any other runtime ignores it and runs the model in fp32, so the file stays a standard ONNX model.
inline constexpr const char* kBf16ConvsMetadataKey = "sparsepose.bf16_convs";
// Parses "none" | "from-model" | "all" (throws sp::Error naming the accepted values).
Bf16Convs parse_bf16_convs(const std::string& s);
const char* bf16_convs_name(Bf16Convs mode);

// Marks the chosen Conv nodes with the attribute bf16, which the Conv op reads: 1 for the convs the model
// names (bf16 where the CPU has bf16 arithmetic, fp32 elsewhere), 2 for kAll (bf16 everywhere, emulated
// exactly where the CPU lacks it). Runs on the graph as
// imported (node names as in the file); a name in the metadata that is not a Conv node is a sp::Error.
// Returns the number of nodes marked.
int mark_bf16_convs(Graph& g, Bf16Convs mode);

struct IntegerLoweringOptions {
  // A float image input read only by one FakeQuant becomes a u8 input: the caller writes quantized
  // pixels straight from the letterboxed frame and no float image exists.
  bool u8_input = false;
};

struct IntegerLoweringReport {
  int integer_convs = 0;
  // Quantized nodes that stay float (emulated exactly), each "op 'Conv' (node 'x'): why".
  std::vector<std::string> float_fallbacks;
  struct InputGrid {
    int value;
    float scale;
    int zero_point;
  };
  std::vector<InputGrid> u8_inputs;
};

// After fuse_fake_quant (and the activation fusions): rewrites the quantized parts of a QDQ graph to
// integer nodes (QConv, QAdd, QConcat, QSplit, QMaxPool, QResize, LutU8, QuantizeU8, DequantizeU8)
// on u8 NHWC values; see lower_to_integer.cpp. Leaves unused nodes for remove_dead_nodes().
IntegerLoweringReport lower_to_integer(Graph& g, const IntegerLoweringOptions& options);

// After lower_to_integer: QConv (float out) -> Add with a DequantizeU8'd value -> QuantizeU8 becomes one
// QConv with a u8 residual in its epilogue (bit-identical; see fuse_qconv_residual.cpp). Returns how
// many were fused.
int fuse_qconv_residual(Graph& g);

}  // namespace sp::passes
