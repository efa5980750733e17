// A float ONNX model about to be pruned: the original ModelProto kept intact (names, metadata, opset),
// its convolutions with their weights, and the writer of the pruned model (same graph, new weight and
// bias values, a metadata note). The header is free of protobuf types.
//
// Weights are exchanged as matrices W [O] x [K], K = kernel_h · kernel_w · (C / group) in (ky, kx, c)
// order (see pattern.h); the ONNX layout is [O][C / group][kh][kw].
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace sp::prune {

struct ConvLayer {
  std::string name;                  // Conv node name (unique)
  std::string input, output;         // data input and output values
  std::string weight, bias;          // initializer names; bias empty when the conv has none
  int64_t out_channels = 0, in_channels = 0, kernel_h = 0, kernel_w = 0, group = 1;  // in_channels: per group
  bool reads_graph_input = false;    // the first conv (reads the image)
  bool after_outputs = false;        // feeds none of the protected outputs (a decode tail), see mark_tail
  int64_t cols() const { return kernel_h * kernel_w * in_channels; }
  int64_t weights() const { return out_channels * cols(); }
  // OBS needs group == 1 (one Hessian per layer); grouped (depthwise) convs are never pruned.
  bool prunable_shape() const { return group == 1; }
};

class PrunableModel {
 public:
  // Parses and checks: not quantized (no QuantizeLinear/DequantizeLinear/integer ops: "already
  // quantized"), and at least one 2-D Conv whose weight (and bias) are float initializers of its own
  // ("no prunable convolution" otherwise). Throws sp::Error with one line naming `origin`.
  static PrunableModel from_bytes(const std::string& bytes, const std::string& origin);

  PrunableModel(PrunableModel&&) noexcept;
  PrunableModel& operator=(PrunableModel&&) noexcept;
  ~PrunableModel();

  // Every such Conv in graph order (grouped ones included: bias correction applies to them).
  const std::vector<ConvLayer>& convs() const { return convs_; }
  const ConvLayer& conv(const std::string& name) const;  // throws sp::Error if unknown
  // Convs whose other inputs are not float initializers of their own, with the reason (never touched).
  const std::map<std::string, std::string>& skipped_convs() const { return skipped_; }
  // Marks convs from which none of `outputs` can be reached (the exported decode tail, e.g. the DFL
  // conv whose weights are the constants 0..15): they are never pruned nor corrected.
  void mark_tail(const std::vector<std::string>& outputs);

  std::vector<float> matrix(const std::string& conv) const;  // W, O x K, (ky, kx, c)
  void set_matrix(const std::string& conv, std::span<const float> w);
  std::vector<float> bias(const std::string& conv) const;    // empty when none
  void set_bias(const std::string& conv, std::span<const float> b);  // the conv must have a bias
  // The ONNX layout [O][C][kh][kw] of the current weights (to update a Graph constant).
  std::vector<float> onnx_weights(const std::string& conv) const;

  // The model with the current weights, serialized; `metadata_note` goes to metadata_props[key].
  std::string write(const std::string& key, const std::string& metadata_note) const;

 private:
  PrunableModel();
  std::unique_ptr<onnx::ModelProto> model_;
  std::string origin_;
  std::vector<ConvLayer> convs_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> skipped_;
  std::map<std::string, std::vector<float>> weights_, biases_;  // current values, ONNX layout
};

// ONNX [O][C][kh][kw] <-> W [O][(ky, kx, c)].
std::vector<float> onnx_to_matrix(std::span<const float> w, int64_t out_channels, int64_t in_channels, int64_t kh, int64_t kw);
std::vector<float> matrix_to_onnx(std::span<const float> m, int64_t out_channels, int64_t in_channels, int64_t kh, int64_t kw);

}  // namespace sp::prune
