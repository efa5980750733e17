#include "core/passes/passes.h"

namespace sp::passes {

void fuse_residual_add(Graph& g) {
  auto consumers = g.consumers();
  auto is_graph_output = [&](int v) {
    for (int o : g.outputs) if (o == v) return true;
    return false;
  };
  for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
    Node& add = g.nodes[ai];
    if (add.removed || add.op_type != "Add" || add.inputs.size() != 2) continue;
    const Shape& s0 = g.values[add.inputs[0]].shape;
    const Shape& s1 = g.values[add.inputs[1]].shape;
    if (s0 != s1 || s0.size() != 4) continue;
    for (int k = 0; k < 2; ++k) {
      int c = add.inputs[k], other = add.inputs[1 - k];
      int p = g.values[c].producer;
      if (p < 0 || g.nodes[p].op_type != "Conv" || g.nodes[p].has_attr("residual") || consumers[c].size() != 1 ||
          is_graph_output(c) || g.constant(other)) {
        continue;
      }
      Node conv = g.nodes[p];
      conv.inputs.resize(3, -1);
      conv.inputs.push_back(other);
      Attribute r;
      r.kind = Attribute::Kind::kInt;
      r.i = 1;
      conv.attrs["residual"] = r;
      conv.outputs = add.outputs;
      g.nodes[p].removed = true;
      g.values[c].producer = -1;
      add = conv;  // the fused conv runs where the Add was, when both operands are ready
      break;
    }
  }
}

}  // namespace sp::passes
