// Writing the QDQ model: integer weights and biases behind DequantizeLinear, and a QuantizeLinear ->
// DequantizeLinear pair after the producer of every tensor of the plan (contract in quantizable_model.h).
#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/quantize/onnx_model_util.h"
#include "core/quantize/quantizable_model.h"

namespace sp::quant {
namespace {

using detail::GraphIndex;

// Value, node and initializer names in use, so that every added name is new.
class NameSet {
 public:
  explicit NameSet(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& o : n.output()) used_.insert(o);
    }
  }
  std::string fresh(const std::string& want) {
    std::string name = want;
    for (int k = 1; used_.count(name); ++k) name = want + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

template <typename T>
void set_raw(onnx::TensorProto* t, const std::string& name, int type, const std::vector<int64_t>& dims,
             const std::vector<T>& values) {
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

onnx::NodeProto make_node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
                          const std::string& out, int64_t axis = -1) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& i : in) n.add_input(i);
  n.add_output(out);
  if (axis >= 0) {
    auto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

}  // namespace

ResolvedParams QuantizableModel::resolve(const QdqPlan& plan, const RangeTable& ranges) const {
  std::vector<Range> group(static_cast<size_t>(plan.num_groups));
  std::vector<bool> seen(group.size(), false), has_image(group.size(), false);
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const std::string& t = plan.tensors[i];
    size_t gi = static_cast<size_t>(plan.group[i]);
    Range r;
    if (t == image_input_) {
      has_image[gi] = true;
      r = {0.0f, 1.0f};
    } else {
      auto it = ranges.find(t);
      if (it == ranges.end()) throw Error("no calibrated range for tensor '" + t + "'");
      r = it->second;
    }
    if (!seen[gi]) group[gi] = r;
    group[gi].lo = std::min(group[gi].lo, r.lo);
    group[gi].hi = std::max(group[gi].hi, r.hi);
    seen[gi] = true;
  }
  ResolvedParams p;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    size_t gi = static_cast<size_t>(plan.group[i]);
    // The image's group keeps exactly 1/255 and 0 so raw pixels / 255 pass through unchanged.
    p.tensor[plan.tensors[i]] = has_image[gi] ? image_qparams() : activation_qparams(group[gi]);
    p.group_range[plan.tensors[i]] = has_image[gi] ? Range{0.0f, 1.0f} : group[gi];
  }
  return p;
}

std::string QuantizableModel::write(const QdqPlan& plan, const RangeTable& ranges, const std::string& metadata_note) const {
  return write(plan, ranges, {{"sparsepose.quantization", metadata_note}});
}

std::string QuantizableModel::write(const QdqPlan& plan, const RangeTable& ranges,
                                    const std::map<std::string, std::string>& metadata) const {
  ResolvedParams params = resolve(plan, ranges);
  onnx::ModelProto out = *model_;
  onnx::GraphProto* g = out.mutable_graph();
  GraphIndex idx(*g);
  NameSet names(*g);
  std::set<std::string> int8(plan.int8_convs.begin(), plan.int8_convs.end());

  // Activation Q -> DQ pairs: initializers now, nodes placed while the node list is rebuilt.
  std::map<std::string, std::string> dq_of;                // tensor -> its DQ output
  std::map<std::string, std::vector<onnx::NodeProto>> qdq_nodes;
  for (const auto& t : plan.tensors) {
    const ActivationQParams& q = params.tensor.at(t);
    std::string scale = names.fresh(t + "_scale"), zp = names.fresh(t + "_zp");
    set_raw(g->add_initializer(), scale, onnx::TensorProto::FLOAT, {}, std::vector<float>{q.scale});
    set_raw(g->add_initializer(), zp, onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{q.zero_point});
    std::string qv = names.fresh(t + "_q"), dqv = names.fresh(t + "_dq");
    qdq_nodes[t].push_back(make_node("QuantizeLinear", qv, {t, scale, zp}, qv));
    qdq_nodes[t].push_back(make_node("DequantizeLinear", dqv, {qv, scale, zp}, dqv));
    dq_of[t] = dqv;
  }

  // Integer weights and biases: the float initializer is replaced by an integer one and a
  // DequantizeLinear whose output keeps the original name, so the Conv itself is unchanged.
  std::map<std::string, std::vector<onnx::NodeProto>> weight_nodes;  // conv name -> DQ nodes before it
  std::set<std::string> drop_initializers;
  std::vector<onnx::TensorProto> new_initializers;
  for (const auto& n : g->node()) {
    if (n.op_type() != "Conv" || !int8.count(n.name())) continue;
    const onnx::TensorProto& wt = g->initializer(idx.initializer.at(n.input(1)));
    std::vector<float> w = detail::float_values(wt);
    const int64_t out_ch = wt.dims(0);
    std::vector<float> b;
    bool has_bias = n.input_size() > 2 && !n.input(2).empty();
    if (has_bias) b = detail::float_values(g->initializer(idx.initializer.at(n.input(2))));
    const float s_x = params.tensor.at(n.input(0)).scale;
    QuantizedWeights qw = quantize_weights_per_channel(w, out_ch, b, s_x);
    auto add_dq = [&](const std::string& value, int type, const std::vector<int64_t>& dims, auto q_values,
                      const std::vector<float>& scales, auto zeros) {
      std::string qn = names.fresh(value + "_q"), sn = names.fresh(value + "_scale"), zn = names.fresh(value + "_zp");
      onnx::TensorProto t;
      set_raw(&t, qn, type, dims, q_values);
      new_initializers.push_back(t);
      onnx::TensorProto s;
      set_raw(&s, sn, onnx::TensorProto::FLOAT, {static_cast<int64_t>(scales.size())}, scales);
      new_initializers.push_back(s);
      onnx::TensorProto z;
      set_raw(&z, zn, type, {static_cast<int64_t>(scales.size())}, zeros);
      new_initializers.push_back(z);
      weight_nodes[n.name()].push_back(make_node("DequantizeLinear", names.fresh(value + "_dq"), {qn, sn, zn}, value, 0));
      drop_initializers.insert(value);
    };
    std::vector<int64_t> wdims(wt.dims().begin(), wt.dims().end());
    add_dq(n.input(1), onnx::TensorProto::INT8, wdims, qw.q, qw.scales, std::vector<int8_t>(qw.scales.size(), 0));
    if (has_bias) {
      QuantizedBias qb = quantize_bias(b, s_x, qw.scales);
      add_dq(n.input(2), onnx::TensorProto::INT32, {static_cast<int64_t>(b.size())}, qb.q, qb.scales,
             std::vector<int32_t>(qb.scales.size(), 0));
    }
  }
  {
    auto* inits = g->mutable_initializer();
    inits->erase(std::remove_if(inits->begin(), inits->end(),
                                [&](const onnx::TensorProto& t) { return drop_initializers.count(t.name()) != 0; }),
                 inits->end());
    for (auto& t : new_initializers) *g->add_initializer() = std::move(t);
  }
  // Graph inputs that are quantized get their pair first (the input is read only through it).
  std::vector<onnx::NodeProto> nodes;
  for (const auto& in : g->input()) {
    auto it = qdq_nodes.find(in.name());
    if (it != qdq_nodes.end()) nodes.insert(nodes.end(), it->second.begin(), it->second.end());
  }
  for (const auto& n0 : g->node()) {
    auto w = weight_nodes.find(n0.name());
    if (n0.op_type() == "Conv" && w != weight_nodes.end()) nodes.insert(nodes.end(), w->second.begin(), w->second.end());
    onnx::NodeProto n = n0;
    for (int k = 0; k < n.input_size(); ++k) {
      auto it = dq_of.find(n.input(k));
      if (it != dq_of.end()) n.set_input(k, it->second);
    }
    nodes.push_back(std::move(n));
    for (const auto& o : n0.output()) {
      auto it = qdq_nodes.find(o);
      if (it != qdq_nodes.end()) nodes.insert(nodes.end(), it->second.begin(), it->second.end());
    }
  }
  g->clear_node();
  for (auto& n : nodes) *g->add_node() = std::move(n);

  for (const auto& [key, value] : metadata) {
    bool replaced = false;
    for (auto& p : *out.mutable_metadata_props()) {
      if (p.key() == key) {
        p.set_value(value);
        replaced = true;
      }
    }
    if (!replaced) {
      auto* p = out.add_metadata_props();
      p->set_key(key);
      p->set_value(value);
    }
  }
  std::string bytes;
  if (!out.SerializeToString(&bytes)) throw Error("cannot serialize the quantized model");
  return bytes;
}

}  // namespace sp::quant
