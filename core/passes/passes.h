// Graph rewrites run once per Session after shapes are known and constants folded. Each pass keeps
// the graph's meaning exactly (up to float rounding) and is a small function with one job.
#pragma once

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

}  // namespace sp::passes
