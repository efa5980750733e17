// Integer lowering of a QDQ graph (see passes.h). Works on the graph after fuse_fake_quant, where
// every activation Q→DQ pair is one FakeQuant node and every weight/bias DequantizeLinear has been
// folded into a float constant that remembers its integers (Value::dequantized_from).
//
// Every FakeQuant output y says "y lies on the u8 grid (scale, zero point)". The pass gives such
// values a u8 twin and rewrites the nodes around them to integer ones:
//   Conv    input on a grid, s8 symmetric weights          → QConv (u8 out when every consumer is one
//                                                             and the same FakeQuant, else float out)
//   Add     both inputs on grids, output re-quantized       → QAdd
//   Concat / Split / MaxPool / nearest Resize on grids       → QConcat (re-quantizing inputs by table
//                                                             when their grids differ) / QSplit / ...
//   FakeQuant(f(v)) with f elementwise and v on a grid       → LutU8 (256-entry table: f has only 256
//                                                             possible inputs), e.g. a quantized SiLU
//   any other FakeQuant feeding an integer node              → QuantizeU8
// Float consumers of a lowered value get a DequantizeU8 in front; anything the pass cannot lower stays
// exactly the float emulation it was, so a model never computes something else than its QDQ meaning.
// Nodes are rebuilt in a new list in order; conversions are emitted lazily, just before their first
// use, and whatever ends up unused is removed by the caller's dead-node pass.
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "core/passes/passes.h"

namespace sp::passes {
namespace {

struct Grid {
  float scale = 1;
  int zero_point = 0;  // in the u8 domain (s8 zero points are shifted by 128)
  bool operator==(const Grid& o) const { return scale == o.scale && zero_point == o.zero_point; }
};

Attribute float_attr(float f) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = f;
  return a;
}
Attribute int_attr(int64_t i) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = i;
  return a;
}
Attribute ints_attr(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute floats_attr(std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloats;
  a.floats = std::move(v);
  return a;
}
void set_grid_attrs(Node& n, const std::string& prefix, const Grid& q) {
  n.attrs[prefix + "scale"] = float_attr(q.scale);
  n.attrs[prefix + "zero_point"] = int_attr(q.zero_point);
}

// The grid of a FakeQuant node, if it spans a full 8-bit range (u8 0..255 or s8 -128..127).
std::optional<Grid> fake_quant_grid(const Node& n) {
  if (n.op_type != "FakeQuant") return std::nullopt;
  int64_t lo = n.attr_int("qmin", 0), hi = n.attr_int("qmax", 255), z = n.attr_int("zero_point", 0);
  float s = n.attr_float("scale", 0);
  if (!(s > 0) || !std::isfinite(s)) return std::nullopt;
  if (lo == 0 && hi == 255) return Grid{s, static_cast<int>(z)};
  if (lo == -128 && hi == 127) return Grid{s, static_cast<int>(z + 128)};
  return std::nullopt;
}

float fake_quant(float x, const Grid& q) {
  float r = std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point);
  r = r < 0 ? 0 : (r > 255 ? 255 : r);
  return (r - static_cast<float>(q.zero_point)) * q.scale;
}

bool is_elementwise_chain_op(const std::string& op) {
  return op == "Sigmoid" || op == "Relu" || op == "Tanh" || op == "SiLU" || op == "Mul" || op == "Add" ||
         op == "Sub" || op == "Div" || op == "FakeQuant";
}

class IntegerLowerer {
 public:
  IntegerLowerer(Graph& g, const IntegerLoweringOptions& o) : g_(g), opt_(o) {}

  IntegerLoweringReport run() {
    consumers_ = g_.consumers();
    def_.assign(g_.values.size(), -1);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].removed) continue;
      for (int o : g_.nodes[i].outputs) def_[o] = static_cast<int>(i);
    }
    has_float_.assign(g_.values.size(), false);
    for (size_t v = 0; v < g_.values.size(); ++v) has_float_[v] = g_.values[v].producer < 0;
    lower_inputs();
    std::vector<Node> old = g_.nodes;
    for (size_t i = 0; i < old.size(); ++i) {
      if (!old[i].removed) lower(old[i]);
    }
    for (int o : g_.outputs) ensure_float(o);
    g_.nodes = std::move(out_);
    for (Value& v : g_.values) v.producer = -1;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      for (int o : g_.nodes[i].outputs) g_.values[o].producer = static_cast<int>(i);
    }
    return report_;
  }

 private:
  Graph& g_;
  const IntegerLoweringOptions& opt_;
  IntegerLoweringReport report_;
  std::vector<std::vector<int>> consumers_;
  std::vector<int> def_;             // original producer (index into the old node list)
  std::vector<bool> has_float_;      // the float value is computed by an emitted node (or is an input/constant)
  std::map<int, int> twin_;          // value -> its u8 twin
  std::map<int, Grid> grid_;         // value -> the grid its float values lie on
  std::map<int, Node> pending_fq_;   // FakeQuant output -> the FakeQuant node, not yet emitted in any form
  std::vector<Node> out_;

  const Value& val(int v) const { return g_.values[v]; }
  bool is_activation4d(int v) const {
    const Value& x = val(v);
    return !x.constant && x.shape.size() == 4 && x.shape[0] == 1;
  }
  std::optional<Grid> grid_of(int v) const {
    auto it = grid_.find(v);
    if (it == grid_.end()) return std::nullopt;
    return it->second;
  }

  int new_value(int like, DType t, const std::string& suffix) {
    Value v;
    v.name = val(like).name + suffix;
    v.dtype = t;
    v.shape = val(like).shape;
    v.shape_known = true;
    int id = g_.add_value(v);
    has_float_.push_back(false);
    def_.push_back(-1);
    return id;
  }
  int new_constant(const std::string& name, TensorPtr t) {
    Value v;
    v.name = name;
    v.dtype = t->dtype;
    v.shape = t->shape;
    v.shape_known = true;
    v.constant = std::move(t);
    int id = g_.add_value(v);
    has_float_.push_back(true);
    def_.push_back(-1);
    return id;
  }
  void emit(Node n) { out_.push_back(std::move(n)); }

  // --- conversions, emitted on first use ----------------------------------------------------------
  void ensure_float(int v) {
    if (v < 0 || has_float_[v]) return;
    auto t = twin_.find(v);
    if (t != twin_.end() && t->second != v) {
      Node n;
      n.name = val(v).name + "/dequantize";
      n.op_type = "DequantizeU8";
      n.inputs = {t->second};
      n.outputs = {v};
      set_grid_attrs(n, "", grid_.at(v));
      emit(std::move(n));
    } else if (auto p = pending_fq_.find(v); p != pending_fq_.end()) {
      Node fq = p->second;
      ensure_float(fq.inputs[0]);
      emit(std::move(fq));
    } else {
      throw Error("internal: value '" + val(v).name + "' has no float form");
    }
    has_float_[v] = true;
  }

  // The u8 twin of a value on a grid, emitting a QuantizeU8 when it has none yet; -1 when impossible.
  int twin(int v) {
    if (auto t = twin_.find(v); t != twin_.end()) return t->second;
    auto q = grid_of(v);
    if (!q || !is_activation4d(v)) return -1;
    auto p = pending_fq_.find(v);
    if (p == pending_fq_.end()) return -1;
    int x = p->second.inputs[0];
    if (auto tx = twin_.find(x); tx != twin_.end() && grid_of(x) == q) {
      twin_[v] = tx->second;
      return tx->second;
    }
    ensure_float(x);
    int t = new_value(v, DType::kUInt8, "#u8");
    Node n;
    n.name = val(v).name + "/quantize";
    n.op_type = "QuantizeU8";
    n.inputs = {x};
    n.outputs = {t};
    set_grid_attrs(n, "", *q);
    emit(std::move(n));
    twin_[v] = t;
    return t;
  }

  // When every consumer of `v` is a FakeQuant with one and the same full-range grid (and v is not a
  // graph output), an integer producer can write that grid's u8 values directly.
  std::optional<Grid> sole_fake_quant_grid(int v) const {
    if (std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end()) return std::nullopt;
    const auto& cs = consumers_[v];
    if (cs.empty()) return std::nullopt;
    std::optional<Grid> q;
    for (int c : cs) {
      auto gq = fake_quant_grid(g_.nodes[c]);
      if (!gq || (q && !(*q == *gq))) return std::nullopt;
      q = gq;
    }
    return q;
  }
  // Makes `t` (u8, grid q) the twin of every FakeQuant consumer of `v`.
  void adopt_fake_quant_consumers(int v, int t, const Grid& q) {
    for (int c : consumers_[v]) {
      int y = g_.nodes[c].outputs[0];
      twin_[y] = t;
      grid_[y] = q;
    }
  }

  void emit_float(const Node& n) {
    for (int v : n.inputs) ensure_float(v);
    emit(n);
    for (int o : n.outputs) has_float_[o] = true;
  }

  void fallback(const Node& n, const std::string& why) {
    report_.float_fallbacks.push_back(n.describe() + ": " + why);
    emit_float(n);
  }

  // --- graph inputs -------------------------------------------------------------------------------
  void lower_inputs() {
    if (!opt_.u8_input) return;
    for (int in : g_.inputs) {
      if (!is_activation4d(in) || val(in).dtype != DType::kFloat32) continue;
      auto q = sole_fake_quant_grid(in);
      if (!q) continue;
      g_.values[in].dtype = DType::kUInt8;
      has_float_[in] = false;
      adopt_fake_quant_consumers(in, in, *q);
      report_.u8_inputs.push_back({in, q->scale, q->zero_point});
    }
  }

  // --- per node -----------------------------------------------------------------------------------
  void lower(const Node& n) {
    const std::string& op = n.op_type;
    if (op == "FakeQuant") lower_fake_quant(n);
    else if (op == "Conv") lower_conv(n);
    else if (op == "Add") lower_add(n);
    else if (op == "Concat") lower_concat(n);
    else if (op == "Split" || op == "MaxPool" || op == "Resize") lower_grid_preserving(n);
    else emit_float(n);
  }

  void lower_fake_quant(const Node& f) {
    int x = f.inputs[0], y = f.outputs[0];
    auto q = fake_quant_grid(f);
    if (!q) return emit_float(f);
    if (twin_.count(y)) return;  // its producer writes this grid directly
    grid_[y] = *q;
    if (auto tx = twin_.find(x); tx != twin_.end() && grid_of(x) == q) {
      twin_[y] = tx->second;  // already on this grid: the FakeQuant is the identity
      return;
    }
    if (is_activation4d(y) && try_lookup_table(f, *q)) return;
    pending_fq_[y] = f;
  }

  // FakeQuant(f(v)) where f is a small elementwise expression of one value v on a grid: a table.
  bool try_lookup_table(const Node& f, const Grid& q) {
    std::set<int> leaves;
    int budget = 24;
    if (!collect_leaves(f.inputs[0], leaves, budget) || leaves.size() != 1) return false;
    int src = *leaves.begin();
    if (!is_activation4d(src) || val(src).shape != val(f.outputs[0]).shape) return false;
    int t_src = twin(src);
    if (t_src < 0) return false;
    Grid qs = grid_.at(src);
    std::vector<int64_t> table(256);
    for (int i = 0; i < 256; ++i) {
      std::map<int, float> memo{{src, static_cast<float>(i - qs.zero_point) * qs.scale}};
      float r = std::nearbyint(evaluate(f.inputs[0], memo) / q.scale) + static_cast<float>(q.zero_point);
      table[i] = std::isnan(r) ? q.zero_point : static_cast<int64_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
    }
    int t = new_value(f.outputs[0], DType::kUInt8, "#u8");
    Node n;
    n.name = f.name + "/table";
    n.op_type = "LutU8";
    n.inputs = {t_src};
    n.outputs = {t};
    n.attrs["table"] = ints_attr(std::move(table));
    emit(std::move(n));
    twin_[f.outputs[0]] = t;
    return true;
  }

  // Leaves of the elementwise expression computing v: values on a grid that the expression is a
  // function of. Expands through elementwise ops (scalar constants only) before settling for a leaf,
  // so x * sigmoid(FakeQuant(x)) is seen as a function of x alone.
  bool collect_leaves(int v, std::set<int>& leaves, int& budget) {
    if (--budget < 0) return false;
    const Value& x = val(v);
    if (x.constant) return x.constant->numel() == 1 && x.constant->dtype == DType::kFloat32;
    int d = def_[v];
    if (d >= 0 && is_elementwise_chain_op(g_.nodes[d].op_type) && !(g_.nodes[d].op_type == "FakeQuant" && !fake_quant_grid(g_.nodes[d]))) {
      std::set<int> sub;
      int b = budget;
      bool ok = true;
      for (int in : g_.nodes[d].inputs) ok = ok && in >= 0 && collect_leaves(in, sub, b);
      if (ok && sub.size() <= 1) {
        budget = b;
        leaves.insert(sub.begin(), sub.end());
        return true;
      }
    }
    if (!grid_.count(v)) return false;
    leaves.insert(v);
    return true;
  }

  float evaluate(int v, std::map<int, float>& memo) {
    if (auto it = memo.find(v); it != memo.end()) return it->second;
    const Value& x = val(v);
    if (x.constant) return x.constant->as_float()[0];
    const Node& n = g_.nodes[def_[v]];
    auto in = [&](size_t i) { return evaluate(n.inputs[i], memo); };
    const std::string& op = n.op_type;
    float r = 0;
    if (op == "Sigmoid") r = 1.0f / (1.0f + std::exp(-in(0)));
    else if (op == "SiLU") r = in(0) / (1.0f + std::exp(-in(0)));
    else if (op == "Relu") r = std::max(in(0), 0.0f);
    else if (op == "Tanh") r = std::tanh(in(0));
    else if (op == "Mul") r = in(0) * in(1);
    else if (op == "Add") r = in(0) + in(1);
    else if (op == "Sub") r = in(0) - in(1);
    else if (op == "Div") r = in(0) / in(1);
    else if (op == "FakeQuant") r = fake_quant(in(0), *fake_quant_grid(n));
    else throw Error("internal: cannot tabulate " + n.describe());
    memo[v] = r;
    return r;
  }

  void lower_conv(const Node& c) {
    int x = c.inputs[0], y = c.outputs[0];
    auto qx = grid_of(x);
    const Value w = val(c.inputs[1]);  // a copy: twin() and new_constant() below grow g_.values
    const QuantizedConstant* wq = w.dequantized_from.get();
    if (!qx || !wq) return emit_float(c);  // a float conv (not part of the quantized graph)
    if (!is_activation4d(x) || !is_activation4d(y)) return fallback(c, "not a 4-D activation of batch 1");
    const Tensor& wi = *wq->integers;
    int64_t out_c = w.shape[0], group = c.attr_int("group", 1);
    if (wi.dtype != DType::kInt8) return fallback(c, "weights are not int8");
    for (int64_t z : wq->zero_points) {
      if (z != 0) return fallback(c, "weights have a non-zero zero point (only symmetric int8 weights run in integer)");
    }
    if (wq->scales.size() != 1 && !(wq->axis == 0 && static_cast<int64_t>(wq->scales.size()) == out_c)) {
      return fallback(c, "weights are not quantized per tensor or per output channel");
    }
    if (group != 1 && !(group == val(x).shape[1] && group == out_c && w.shape[1] == 1)) {
      return fallback(c, "grouped convolution (group=" + std::to_string(group) + ") has no integer kernel");
    }
    std::string act = c.attr_string("activation", "");
    if (!act.empty() && act != "none" && act != "silu") return fallback(c, "fused activation '" + act + "' has no integer epilogue");
    if (c.attr_int("residual", 0) != 0) return fallback(c, "fused residual add has no integer epilogue");

    std::vector<float> sw(out_c);
    for (int64_t o = 0; o < out_c; ++o) sw[o] = wq->scales.size() == 1 ? wq->scales[0] : wq->scales[o];
    for (float s : sw) {
      if (!(s > 0) || !std::isfinite(s)) return fallback(c, "weight scales must be positive");
    }
    // ONNX bias of a quantized conv is int32 at scale sx * sw[o]; a float bias is rounded to that grid.
    std::shared_ptr<Tensor> bias;
    if (c.inputs.size() > 2 && c.inputs[2] >= 0) {
      const Value& b = val(c.inputs[2]);
      if (!b.constant || b.constant->numel() != out_c) return fallback(c, "bias is not a constant per channel");
      auto bf = b.constant->as_float();
      bias = std::make_shared<Tensor>(DType::kInt32, Shape{out_c});
      for (int64_t o = 0; o < out_c; ++o) {
        double q = std::nearbyint(static_cast<double>(bf[o]) / (static_cast<double>(qx->scale) * sw[o]));
        if (!(std::fabs(q) < 1073741824.0)) return fallback(c, "bias does not fit the int32 accumulator");
        bias->data<int32_t>()[o] = static_cast<int32_t>(q);
      }
    }
    int tx = twin(x);
    if (tx < 0) return fallback(c, "its input has no 8-bit form");

    Node n = c;
    n.op_type = "QConv";
    n.inputs = {tx, new_constant(w.name + "#s8", wq->integers), bias ? new_constant(c.name + "/bias#s32", bias) : -1};
    set_grid_attrs(n, "input_", *qx);
    n.attrs["weight_scales"] = floats_attr(sw);
    if (auto qy = sole_fake_quant_grid(y)) {
      int t = new_value(y, DType::kUInt8, "#u8");
      n.outputs = {t};
      n.attrs["output"] = int_attr(8);
      set_grid_attrs(n, "output_", *qy);
      adopt_fake_quant_consumers(y, t, *qy);
    } else {
      n.attrs["output"] = int_attr(32);  // float out: its consumers are float (e.g. the pose head)
      has_float_[y] = true;
    }
    emit(std::move(n));
    ++report_.integer_convs;
  }

  void lower_add(const Node& a) {
    int y = a.outputs[0];
    auto qa = grid_of(a.inputs[0]), qb = a.inputs.size() == 2 ? grid_of(a.inputs[1]) : std::nullopt;
    auto qy = sole_fake_quant_grid(y);
    if (!qa || !qb || !qy || !is_activation4d(y) || val(a.inputs[0]).shape != val(y).shape || val(a.inputs[1]).shape != val(y).shape) {
      return emit_float(a);
    }
    int ta = twin(a.inputs[0]), tb = twin(a.inputs[1]);
    if (ta < 0 || tb < 0) return emit_float(a);
    int t = new_value(y, DType::kUInt8, "#u8");
    Node n = a;
    n.op_type = "QAdd";
    n.inputs = {ta, tb};
    n.outputs = {t};
    set_grid_attrs(n, "a_", *qa);
    set_grid_attrs(n, "b_", *qb);
    set_grid_attrs(n, "", *qy);
    emit(std::move(n));
    adopt_fake_quant_consumers(y, t, *qy);
  }

  void lower_concat(const Node& c) {
    int y = c.outputs[0];
    int64_t axis = c.attr_int("axis", 0);
    if (!is_activation4d(y) || (axis != 1 && axis != -3)) return emit_float(c);
    std::vector<Grid> in_grids;
    for (int v : c.inputs) {
      auto q = grid_of(v);
      if (!q || !is_activation4d(v)) return emit_float(c);
      in_grids.push_back(*q);
    }
    auto qy = sole_fake_quant_grid(y);
    bool same = std::all_of(in_grids.begin(), in_grids.end(), [&](const Grid& q) { return q == in_grids[0]; });
    if (!qy && !same) return emit_float(c);
    Grid out = qy ? *qy : in_grids[0];
    Node n = c;
    n.op_type = "QConcat";
    std::vector<float> scales;
    std::vector<int64_t> zps;
    for (size_t j = 0; j < c.inputs.size(); ++j) {
      n.inputs[j] = twin(c.inputs[j]);
      if (n.inputs[j] < 0) return emit_float(c);
      scales.push_back(in_grids[j].scale);
      zps.push_back(in_grids[j].zero_point);
    }
    n.attrs["input_scales"] = floats_attr(scales);
    n.attrs["input_zero_points"] = ints_attr(zps);
    set_grid_attrs(n, "", out);
    int t = new_value(y, DType::kUInt8, "#u8");
    n.outputs = {t};
    emit(std::move(n));
    twin_[y] = t;
    grid_[y] = out;
    if (qy) adopt_fake_quant_consumers(y, t, *qy);
  }

  // Split, MaxPool and nearest Resize move values without arithmetic: the outputs stay on the grid.
  void lower_grid_preserving(const Node& m) {
    int x = m.inputs[0];
    auto q = grid_of(x);
    if (!q || !is_activation4d(x)) return emit_float(m);
    for (int o : m.outputs) {
      if (!is_activation4d(o)) return emit_float(m);
    }
    if (m.op_type == "Split") {
      int64_t axis = m.attr_int("axis", 0);
      if (axis != 1 && axis != -3) return emit_float(m);
    }
    if (m.op_type == "MaxPool" && (m.attr_int("ceil_mode", 0) != 0 || m.attr_int("storage_order", 0) != 0)) return emit_float(m);
    if (m.op_type == "Resize") {
      const Shape& a = val(x).shape;
      const Shape& b = val(m.outputs[0]).shape;
      bool nearest_floor = m.attr_string("mode", "nearest") == "nearest" && a[1] == b[1] &&
                           m.attr_string("coordinate_transformation_mode", "half_pixel") == "asymmetric" &&
                           m.attr_string("nearest_mode", "round_prefer_floor") == "floor";
      if (!nearest_floor) return emit_float(m);
    }
    int tx = twin(x);
    if (tx < 0) return emit_float(m);
    Node n = m;
    n.op_type = "Q" + m.op_type;
    n.inputs = {tx};
    for (size_t k = 0; k < m.outputs.size(); ++k) {
      int t = new_value(m.outputs[k], DType::kUInt8, "#u8");
      n.outputs[k] = t;
      twin_[m.outputs[k]] = t;
      grid_[m.outputs[k]] = *q;
    }
    emit(std::move(n));
  }
};

}  // namespace

IntegerLoweringReport lower_to_integer(Graph& g, const IntegerLoweringOptions& options) {
  return IntegerLowerer(g, options).run();
}

}  // namespace sp::passes
