// The residual block of a QDQ graph whose conv output is not itself quantized (a bottleneck's second
// conv, the attention's proj and ffn convs: the QDQ writer quantizes only what an int8 conv reads)
// lowers to four ops and three passes over float memory:
//   QConv(x) -> f (float)    DequantizeU8(r) -> fr    Add(f, fr) -> a    QuantizeU8(a) -> y
// The integer conv's epilogue does the same arithmetic in the same order (conv_s8.h, "kU8 with a
// residual"), so this pass folds the four into one QConv(x, residual r) -> y, bit-identical, placed
// where the QuantizeU8 was (r and x are ready there). The DequantizeU8 stays if something else reads
// fr; remove_dead_nodes() drops it otherwise.
#include "core/passes/passes.h"

namespace sp::passes {
namespace {

Attribute int_attr(int64_t i) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = i;
  return a;
}
Attribute float_attr(float f) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = f;
  return a;
}

}  // namespace

int fuse_qconv_residual(Graph& g) {
  const auto consumers = g.consumers();
  auto private_value = [&](int v) {  // read by one node only, and not a graph output
    if (consumers[v].size() != 1) return false;
    for (int o : g.outputs) {
      if (o == v) return false;
    }
    return true;
  };
  auto producer = [&](int v, const char* op) -> Node* {
    int p = v >= 0 ? g.values[v].producer : -1;
    if (p < 0 || g.nodes[p].removed || g.nodes[p].op_type != op) return nullptr;
    return &g.nodes[p];
  };
  int fused = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    Node& q = g.nodes[qi];
    if (q.removed || q.op_type != "QuantizeU8") continue;
    const int a = q.inputs[0];
    Node* add = producer(a, "Add");
    if (!add || add->inputs.size() != 2 || !private_value(a)) continue;
    const Shape& ys = g.values[q.outputs[0]].shape;
    if (ys.size() != 4 || g.values[add->inputs[0]].shape != ys || g.values[add->inputs[1]].shape != ys) continue;
    for (int k = 0; k < 2; ++k) {
      const int f = add->inputs[k], fr = add->inputs[1 - k];
      Node* conv = producer(f, "QConv");
      Node* dq = producer(fr, "DequantizeU8");
      if (!conv || !dq || conv->attr_int("output", 32) != 32 || conv->attr_int("group", 1) != 1 || !private_value(f)) continue;
      Node n = *conv;
      n.inputs.resize(3, -1);
      n.inputs.push_back(dq->inputs[0]);
      n.attrs["output"] = int_attr(8);
      n.attrs["output_scale"] = float_attr(q.attr_float("scale", 1.0f));
      n.attrs["output_zero_point"] = int_attr(q.attr_int("zero_point", 0));
      n.attrs["residual_scale"] = float_attr(dq->attr_float("scale", 1.0f));
      n.attrs["residual_zero_point"] = int_attr(dq->attr_int("zero_point", 0));
      n.outputs = q.outputs;
      conv->removed = true;
      add->removed = true;
      g.values[f].producer = -1;
      g.values[a].producer = -1;
      g.nodes[qi] = std::move(n);
      ++fused;
      break;
    }
  }
  return fused;
}

}  // namespace sp::passes
