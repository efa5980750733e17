#include "core/prune/prunable_model.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/quantize/onnx_model_util.h"

namespace sp::prune {
namespace {

using quant::detail::GraphIndex;

bool is_integer_op(const std::string& op) {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                            "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"};
  return ops.count(op) != 0;
}

void set_floats(onnx::TensorProto& t, const std::vector<float>& v) {
  t.clear_float_data();
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

}  // namespace

std::vector<float> onnx_to_matrix(std::span<const float> w, int64_t O, int64_t C, int64_t kh, int64_t kw) {
  if (static_cast<int64_t>(w.size()) != O * C * kh * kw) throw Error("pruning: weight size does not match its shape");
  std::vector<float> m(w.size());
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t t = 0; t < kh * kw; ++t) m[static_cast<size_t>((o * kh * kw + t) * C + c)] = w[static_cast<size_t>((o * C + c) * kh * kw + t)];
    }
  }
  return m;
}

std::vector<float> matrix_to_onnx(std::span<const float> m, int64_t O, int64_t C, int64_t kh, int64_t kw) {
  if (static_cast<int64_t>(m.size()) != O * C * kh * kw) throw Error("pruning: weight size does not match its shape");
  std::vector<float> w(m.size());
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t t = 0; t < kh * kw; ++t) w[static_cast<size_t>((o * C + c) * kh * kw + t)] = m[static_cast<size_t>((o * kh * kw + t) * C + c)];
    }
  }
  return w;
}

PrunableModel::PrunableModel() : model_(std::make_unique<onnx::ModelProto>()) {}
PrunableModel::PrunableModel(PrunableModel&&) noexcept = default;
PrunableModel& PrunableModel::operator=(PrunableModel&&) noexcept = default;
PrunableModel::~PrunableModel() = default;

PrunableModel PrunableModel::from_bytes(const std::string& bytes, const std::string& origin) {
  PrunableModel m;
  m.origin_ = origin;
  if (!m.model_->ParseFromString(bytes)) throw Error(origin + ": not a valid ONNX model");
  const auto& g = m.model_->graph();
  int integer_nodes = 0;
  for (const auto& n : g.node()) integer_nodes += is_integer_op(n.op_type());
  if (integer_nodes > 0) {
    throw Error(origin + ": the model is already quantized (" + std::to_string(integer_nodes) +
                " QuantizeLinear/DequantizeLinear/integer nodes); prune the float model, then quantize (--prune S --quantize int8)");
  }
  GraphIndex idx(g);
  std::set<std::string> graph_inputs;
  for (const auto& in : g.input()) {
    if (!idx.initializer.count(in.name())) graph_inputs.insert(in.name());
  }
  std::set<std::string> names;
  int conv_nodes = 0;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "Conv") continue;
    ++conv_nodes;
    const std::string label = n.name().empty() ? "Conv node " + std::to_string(i) : n.name();
    auto own_float_initializer = [&](int slot) {
      const std::string& v = n.input(slot);
      auto it = idx.initializer.find(v);
      return it != idx.initializer.end() && g.initializer(it->second).data_type() == onnx::TensorProto::FLOAT &&
             idx.consumers[v].size() == 1 && !idx.graph_outputs.count(v);
    };
    if (n.name().empty() || !names.insert(n.name()).second) {
      m.skipped_[label] = "no unique node name";
      continue;
    }
    if (n.input_size() < 2 || !own_float_initializer(1)) {
      m.skipped_[n.name()] = "weight is not a float initializer of its own";
      continue;
    }
    const bool has_bias = n.input_size() > 2 && !n.input(2).empty();
    if (has_bias && !own_float_initializer(2)) {
      m.skipped_[n.name()] = "bias is not a float initializer of its own";
      continue;
    }
    const onnx::TensorProto& wt = g.initializer(idx.initializer.at(n.input(1)));
    if (wt.dims_size() != 4) {
      m.skipped_[n.name()] = "not a 2-D convolution";
      continue;
    }
    ConvLayer c;
    c.name = n.name();
    c.input = n.input(0);
    c.output = n.output(0);
    c.weight = n.input(1);
    c.bias = has_bias ? n.input(2) : "";
    c.out_channels = wt.dims(0);
    c.in_channels = wt.dims(1);
    c.kernel_h = wt.dims(2);
    c.kernel_w = wt.dims(3);
    c.group = quant::detail::attr_int(n, "group", 1);
    c.reads_graph_input = graph_inputs.count(c.input) != 0;
    if (c.out_channels <= 0 || c.in_channels <= 0 || c.kernel_h <= 0 || c.kernel_w <= 0 || c.group < 1) {
      m.skipped_[n.name()] = "empty weight";
      continue;
    }
    m.weights_[c.name] = quant::detail::float_values(wt);
    if (has_bias) {
      m.biases_[c.name] = quant::detail::float_values(g.initializer(idx.initializer.at(c.bias)));
      if (static_cast<int64_t>(m.biases_[c.name].size()) != c.out_channels) {
        throw Error(origin + ": conv '" + c.name + "' has " + std::to_string(m.biases_[c.name].size()) +
                    " bias values for " + std::to_string(c.out_channels) + " output channels");
      }
    }
    m.index_[c.name] = m.convs_.size();
    m.convs_.push_back(std::move(c));
  }
  const bool any_prunable = std::any_of(m.convs_.begin(), m.convs_.end(), [](const ConvLayer& c) { return c.prunable_shape(); });
  if (!any_prunable) {
    throw Error(origin + ": no prunable convolution (" + std::to_string(conv_nodes) +
                " Conv nodes; pruning needs a 2-D, ungrouped Conv whose weight is a float initializer)");
  }
  return m;
}

const ConvLayer& PrunableModel::conv(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error("pruning: no prunable conv named '" + name + "'");
  return convs_[it->second];
}

void PrunableModel::mark_tail(const std::vector<std::string>& outputs) {
  const auto& g = model_->graph();
  GraphIndex idx(g);
  std::set<std::string> reaches;  // values from which an output can be reached
  std::vector<std::string> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    std::string v = stack.back();
    stack.pop_back();
    if (!reaches.insert(v).second) continue;
    auto p = idx.producer.find(v);
    if (p == idx.producer.end()) continue;
    for (const auto& in : g.node(p->second).input()) {
      if (!in.empty()) stack.push_back(in);
    }
  }
  for (auto& c : convs_) c.after_outputs = !reaches.count(c.output);
}

std::vector<float> PrunableModel::matrix(const std::string& name) const {
  const ConvLayer& c = conv(name);
  return onnx_to_matrix(weights_.at(name), c.out_channels, c.in_channels, c.kernel_h, c.kernel_w);
}

void PrunableModel::set_matrix(const std::string& name, std::span<const float> w) {
  const ConvLayer& c = conv(name);
  weights_[name] = matrix_to_onnx(w, c.out_channels, c.in_channels, c.kernel_h, c.kernel_w);
}

std::vector<float> PrunableModel::bias(const std::string& name) const {
  conv(name);
  auto it = biases_.find(name);
  return it == biases_.end() ? std::vector<float>{} : it->second;
}

void PrunableModel::set_bias(const std::string& name, std::span<const float> b) {
  const ConvLayer& c = conv(name);
  if (c.bias.empty()) throw Error("pruning: conv '" + name + "' has no bias");
  if (static_cast<int64_t>(b.size()) != c.out_channels) throw Error("pruning: bias size does not match conv '" + name + "'");
  biases_[name].assign(b.begin(), b.end());
}

std::vector<float> PrunableModel::onnx_weights(const std::string& name) const {
  conv(name);
  return weights_.at(name);
}

std::string PrunableModel::write(const std::string& key, const std::string& metadata_note) const {
  onnx::ModelProto out = *model_;
  onnx::GraphProto* g = out.mutable_graph();
  std::map<std::string, const std::vector<float>*> values;
  for (const auto& c : convs_) {
    values[c.weight] = &weights_.at(c.name);
    auto b = biases_.find(c.name);
    if (b != biases_.end()) values[c.bias] = &b->second;
  }
  for (auto& t : *g->mutable_initializer()) {
    auto it = values.find(t.name());
    if (it != values.end()) set_floats(t, *it->second);
  }
  bool replaced = false;
  for (auto& p : *out.mutable_metadata_props()) {
    if (p.key() == key) {
      p.set_value(metadata_note);
      replaced = true;
    }
  }
  if (!replaced) {
    auto* p = out.add_metadata_props();
    p->set_key(key);
    p->set_value(metadata_note);
  }
  std::string bytes;
  if (!out.SerializeToString(&bytes)) throw Error("cannot serialize the pruned model");
  return bytes;
}

}  // namespace sp::prune
