// A float ONNX model about to be quantized: the original ModelProto kept intact (metadata, opset,
// names), the structural analysis the QDQ contract needs, and the writer of the QDQ model.
//
// The QDQ contract (the engine's integer lowering relies on it):
//  - int8 Conv: weight -> INT8 initializer + DequantizeLinear(per-output-channel scale, zp 0, axis 0);
//    bias -> INT32 initializer + DequantizeLinear(scale float(double(s_x) * s_w[o]), zp 0, axis 0),
//    s_x being the scale of the conv's input activation.
//  - activations: uint8 per tensor; a QuantizeLinear -> DequantizeLinear pair (same scale and zp)
//    right after the producer of every tensor of the set T, the DQ output replacing the tensor for
//    all its consumers. T is the closure of: the image input (scale 1/255, zp 0); the data input of
//    every int8 Conv (a conv's output is quantized only when some int8 conv reads it, directly or
//    through data movement: every extra QDQ adds noise, and keeping a conv float must take its
//    input's quantization away too); and, through
//    value-preserving data movement (Split and Concat along axis 1, MaxPool, nearest Resize,
//    Reshape, Flatten, Identity), every activation input and output of such a node once one of them
//    is in T — these share one (scale, zp) per union-find group whose range is the union of its
//    members' ranges; a residual Add whose two inputs are in T adds its output (its own group: the
//    engine requantizes the sum). Nothing propagates through other ops, nor past the head convs.
//  - names: activations <t>_q, <t>_dq (nodes and values), <t>_scale, <t>_zp; weights and biases
//    <w>_q (integer initializer), <w>_scale, <w>_zp and a <w>_dq node whose output keeps the
//    original name <w>. Clashes with existing names get a numeric suffix.
// The header is free of protobuf types so commands and tests need not link onnx_proto.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/quantize/calibration.h"

namespace onnx {
class ModelProto;
}

namespace sp::quant {

struct QdqPlan {
  std::vector<std::string> int8_convs;      // Conv node names, graph order
  std::vector<std::string> tensors;         // T, graph order (the image input first)
  std::vector<int> group;                   // parallel to tensors: parameter group id, 0..num_groups-1
  int num_groups = 0;
  bool contains(const std::string& tensor) const;
};

// Calibrated per-tensor ranges, keyed by tensor name.
using RangeTable = std::map<std::string, Range>;

// The parameters a plan resolves to: per group, the union of its members' ranges -> (scale, zp).
struct ResolvedParams {
  std::map<std::string, ActivationQParams> tensor;  // every tensor of the plan
  std::map<std::string, Range> group_range;         // keyed by tensor as well, for the report
};

class QuantizableModel {
 public:
  // Parses and checks the model: a float model (no QuantizeLinear/DequantizeLinear or integer ops:
  // "already quantized" otherwise), opset >= 13 (per-axis DequantizeLinear), one float image input.
  // `head_outputs` are the pose head's final conv outputs (models::PoseHead::output_names()).
  // Throws sp::Error with a one-line message.
  static QuantizableModel from_bytes(const std::string& bytes, const std::string& origin,
                                     const std::vector<std::string>& head_outputs);
  static QuantizableModel from_file(const std::string& path, const std::vector<std::string>& head_outputs);

  QuantizableModel(QuantizableModel&&) noexcept;
  QuantizableModel& operator=(QuantizableModel&&) noexcept;
  ~QuantizableModel();

  const std::string& image_input() const { return image_input_; }
  int64_t opset() const { return opset_; }
  // Convs that may become int8, graph order: those feeding the head (the decode tail's own convs, e.g.
  // the DFL, stay float) whose weight (and bias) are float initializers used by that conv only.
  const std::vector<std::string>& quantizable_convs() const { return quantizable_convs_; }
  // Convs the contract never quantizes, with the reason, for the summary.
  const std::map<std::string, std::string>& skipped_convs() const { return skipped_convs_; }
  bool is_head_conv(const std::string& conv) const;

  // The QDQ tensor set and groups for a given set of int8 convs (names not in quantizable_convs()
  // are an error).
  QdqPlan plan(const std::vector<std::string>& int8_convs) const;
  // The tensors calibration must observe: T of the all-int8 plan, minus the image input (fixed range).
  std::vector<std::string> observed_tensors() const;

  ResolvedParams resolve(const QdqPlan& plan, const RangeTable& ranges) const;
  // The QDQ model, serialized. `metadata_note` goes into metadata_props["sparsepose.quantization"].
  std::string write(const QdqPlan& plan, const RangeTable& ranges, const std::string& metadata_note) const;
  // The same with any metadata_props entries (set or replaced), e.g. "sparsepose.quantization" and
  // "sparsepose.bf16_convs" (the convs kept out of int8 that run in bf16 where the CPU has it).
  std::string write(const QdqPlan& plan, const RangeTable& ranges, const std::map<std::string, std::string>& metadata) const;

 private:
  QuantizableModel();
  void analyse(const std::vector<std::string>& head_outputs);

  std::unique_ptr<onnx::ModelProto> model_;
  std::string origin_;
  std::string image_input_;
  int64_t opset_ = 0;
  std::vector<std::string> quantizable_convs_;
  std::map<std::string, std::string> skipped_convs_;
  std::vector<std::string> head_convs_;
};

}  // namespace sp::quant
