// Loading, checking and analysing the float model, and the QDQ tensor plan (the set T and its groups).
#include "core/quantize/quantizable_model.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <numeric>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/quantize/onnx_model_util.h"

namespace sp::quant {
namespace {

using detail::GraphIndex;

constexpr int64_t kMinQdqOpset = 13;  // per-axis DequantizeLinear

bool is_integer_op(const std::string& op) {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                            "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"};
  return ops.count(op) != 0;
}

// Union-find over tensor names.
class Groups {
 public:
  const std::string& find(const std::string& t) {
    auto it = parent_.find(t);
    if (it == parent_.end()) it = parent_.emplace(t, t).first;
    if (it->second == t) return it->first;
    const std::string& root = find(it->second);
    it->second = root;
    return root;
  }
  void unite(const std::string& a, const std::string& b) {
    std::string ra = find(a), rb = find(b);
    if (ra != rb) parent_[rb] = ra;
  }

 private:
  std::map<std::string, std::string> parent_;
};

// The activation inputs and outputs a value-preserving node moves data between, or false when the
// node is not one of those (see the contract in the header).
bool data_movement_tensors(const onnx::NodeProto& n, const GraphIndex& idx, std::vector<std::string>& tensors) {
  const std::string& op = n.op_type();
  tensors.clear();
  if (op == "Concat") {
    if (detail::attr_int(n, "axis", 0) != 1) return false;
    for (const auto& in : n.input()) {
      if (!in.empty() && !idx.is_constant(in)) tensors.push_back(in);
    }
  } else if (op == "Split") {
    if (detail::attr_int(n, "axis", 0) != 1) return false;
    tensors.push_back(n.input(0));
  } else if (op == "MaxPool") {
    if (n.output_size() != 1) return false;  // the Indices output is not a value-preserving copy
    tensors.push_back(n.input(0));
  } else if (op == "Resize") {
    if (detail::attr_string(n, "mode", "nearest") != "nearest") return false;
    tensors.push_back(n.input(0));
  } else if (op == "Reshape" || op == "Flatten" || op == "Identity") {
    tensors.push_back(n.input(0));
  } else {
    return false;
  }
  for (const auto& o : n.output()) {
    if (!o.empty()) tensors.push_back(o);
  }
  return true;
}

}  // namespace

bool QdqPlan::contains(const std::string& tensor) const {
  return std::find(tensors.begin(), tensors.end(), tensor) != tensors.end();
}

QuantizableModel::QuantizableModel() : model_(std::make_unique<onnx::ModelProto>()) {}
QuantizableModel::QuantizableModel(QuantizableModel&&) noexcept = default;
QuantizableModel& QuantizableModel::operator=(QuantizableModel&&) noexcept = default;
QuantizableModel::~QuantizableModel() = default;

QuantizableModel QuantizableModel::from_file(const std::string& path, const std::vector<std::string>& head_outputs) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open model file '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return from_bytes(bytes, path, head_outputs);
}

QuantizableModel QuantizableModel::from_bytes(const std::string& bytes, const std::string& origin,
                                              const std::vector<std::string>& head_outputs) {
  QuantizableModel m;
  m.origin_ = origin;
  if (!m.model_->ParseFromString(bytes)) throw Error(origin + ": not a valid ONNX model");
  for (const auto& op : m.model_->opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") m.opset_ = op.version();
  }
  const auto& g = m.model_->graph();
  int integer_nodes = 0;
  for (const auto& n : g.node()) integer_nodes += is_integer_op(n.op_type());
  if (integer_nodes > 0) {
    throw Error(origin + ": the model is already quantized (" + std::to_string(integer_nodes) +
                " QuantizeLinear/DequantizeLinear/integer nodes); give the float model");
  }
  if (m.opset_ < kMinQdqOpset) {
    throw Error(origin + ": opset " + std::to_string(m.opset_) + " is too old for per-channel QDQ (needs opset >= " +
                std::to_string(kMinQdqOpset) + "); re-export the model with a newer opset");
  }
  std::set<std::string> inits;
  for (const auto& t : g.initializer()) inits.insert(t.name());
  for (const auto& in : g.input()) {
    if (inits.count(in.name())) continue;
    if (!m.image_input_.empty()) throw Error(origin + ": expected one image input, the model has more");
    if (in.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      throw Error(origin + ": the image input '" + in.name() + "' is not float: not a float pose model");
    }
    m.image_input_ = in.name();
  }
  if (m.image_input_.empty()) throw Error(origin + ": the model has no input");
  m.analyse(head_outputs);
  return m;
}

bool QuantizableModel::is_head_conv(const std::string& conv) const {
  return std::find(head_convs_.begin(), head_convs_.end(), conv) != head_convs_.end();
}

void QuantizableModel::analyse(const std::vector<std::string>& head_outputs) {
  const auto& g = model_->graph();
  GraphIndex idx(g);
  if (head_outputs.empty()) throw Error(origin_ + ": no pose head found: not a pose model");
  // Nodes the head outputs depend on: the part of the graph the engine runs and the QDQ set may touch.
  std::vector<bool> feeds_head(static_cast<size_t>(g.node_size()), false);
  std::vector<std::string> stack;
  for (const auto& h : head_outputs) {
    auto p = idx.producer.find(h);
    if (p == idx.producer.end() || g.node(p->second).op_type() != "Conv") {
      throw Error(origin_ + ": pose head output '" + h + "' is not produced by a Conv");
    }
    head_convs_.push_back(g.node(p->second).name());
    stack.push_back(h);
  }
  while (!stack.empty()) {
    std::string v = stack.back();
    stack.pop_back();
    auto p = idx.producer.find(v);
    if (p == idx.producer.end() || feeds_head[static_cast<size_t>(p->second)]) continue;
    feeds_head[static_cast<size_t>(p->second)] = true;
    for (const auto& in : g.node(p->second).input()) {
      if (!in.empty()) stack.push_back(in);
    }
  }
  std::set<std::string> names;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "Conv") continue;
    if (n.name().empty() || !names.insert(n.name()).second) {
      throw Error(origin_ + ": every Conv needs a unique name to be quantized (node " + std::to_string(i) + ")");
    }
    auto single_float_initializer = [&](int slot) {
      if (n.input_size() <= slot || n.input(slot).empty()) return slot == 2;  // no bias is fine
      const std::string& v = n.input(slot);
      auto it = idx.initializer.find(v);
      return it != idx.initializer.end() && g.initializer(it->second).data_type() == onnx::TensorProto::FLOAT &&
             idx.consumers[v].size() == 1 && !idx.graph_outputs.count(v);
    };
    if (!feeds_head[static_cast<size_t>(i)]) {
      skipped_convs_[n.name()] = "after the pose head (decode tail)";
    } else if (!single_float_initializer(1) || !single_float_initializer(2)) {
      skipped_convs_[n.name()] = "weight or bias is not a float initializer of its own";
    } else if (g.initializer(idx.initializer.at(n.input(1))).dims_size() != 4) {
      skipped_convs_[n.name()] = "not a 2-D convolution";
    } else {
      quantizable_convs_.push_back(n.name());
    }
  }
}

QdqPlan QuantizableModel::plan(const std::vector<std::string>& int8_convs) const {
  const auto& g = model_->graph();
  GraphIndex idx(g);
  std::set<std::string> wanted(int8_convs.begin(), int8_convs.end());
  for (const auto& c : wanted) {
    if (std::find(quantizable_convs_.begin(), quantizable_convs_.end(), c) == quantizable_convs_.end()) {
      throw Error("conv '" + c + "' cannot be quantized");
    }
  }
  std::set<std::string> forbidden;  // the head convs' outputs stay float
  std::vector<bool> in_backbone(static_cast<size_t>(g.node_size()), false);
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() == "Conv" && is_head_conv(n.name())) forbidden.insert(n.output(0));
  }
  // The closure stays among the nodes that feed the head, before the head convs' outputs.
  {
    std::vector<std::string> stack;
    for (const auto& f : forbidden) stack.push_back(f);
    std::vector<bool> seen(static_cast<size_t>(g.node_size()), false);
    while (!stack.empty()) {
      std::string v = stack.back();
      stack.pop_back();
      auto p = idx.producer.find(v);
      if (p == idx.producer.end() || seen[static_cast<size_t>(p->second)]) continue;
      seen[static_cast<size_t>(p->second)] = true;
      if (!forbidden.count(v)) in_backbone[static_cast<size_t>(p->second)] = true;
      for (const auto& in : g.node(p->second).input()) {
        if (!in.empty()) stack.push_back(in);
      }
    }
  }

  std::set<std::string> T;
  Groups groups;
  auto join = [&](const std::string& t) {
    if (forbidden.count(t) || idx.is_constant(t)) return false;
    groups.find(t);
    return T.insert(t).second;
  };
  join(image_input_);
  QdqPlan plan;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "Conv" || !wanted.count(n.name())) continue;
    plan.int8_convs.push_back(n.name());
    join(n.input(0));
  }
  // Closure to a fixed point (a handful of sweeps: groups chain through Split -> Add -> Concat).
  std::vector<std::string> tensors;
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < g.node_size(); ++i) {
      if (!in_backbone[static_cast<size_t>(i)]) continue;
      const auto& n = g.node(i);
      if (n.op_type() == "Add") {
        if (n.input_size() == 2 && T.count(n.input(0)) && T.count(n.input(1))) changed |= join(n.output(0));
        continue;
      }
      if (!data_movement_tensors(n, idx, tensors)) continue;
      bool any = std::any_of(tensors.begin(), tensors.end(), [&](const std::string& t) { return T.count(t) != 0; });
      bool blocked = std::any_of(tensors.begin(), tensors.end(), [&](const std::string& t) { return forbidden.count(t) != 0; });
      if (!any || blocked) continue;
      for (const auto& t : tensors) {
        changed |= join(t);
        groups.unite(tensors.front(), t);
      }
    }
  }
  // Graph order: the image input, then by producer.
  auto add_ordered = [&](const std::string& t) {
    if (T.count(t) && !plan.contains(t)) plan.tensors.push_back(t);
  };
  add_ordered(image_input_);
  for (const auto& n : g.node()) {
    for (const auto& o : n.output()) add_ordered(o);
  }
  std::map<std::string, int> group_id;
  for (const auto& t : plan.tensors) {
    const std::string& root = groups.find(t);
    auto it = group_id.find(root);
    if (it == group_id.end()) it = group_id.emplace(root, plan.num_groups++).first;
    plan.group.push_back(it->second);
  }
  return plan;
}

std::vector<std::string> QuantizableModel::observed_tensors() const {
  QdqPlan all = plan(quantizable_convs_);
  std::vector<std::string> out;
  for (const auto& t : all.tensors) {
    if (t != image_input_) out.push_back(t);
  }
  return out;
}

}  // namespace sp::quant
