#include "core/passes/passes.h"

namespace sp::passes {
namespace {

void set_activation(Node& conv, const char* act) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = act;
  conv.attrs["activation"] = a;
}

bool has_activation(const Node& n) { return n.has_attr("activation"); }

}  // namespace

void fuse_activations(Graph& g) {
  auto consumers = g.consumers();
  auto is_graph_output = [&](int v) {
    for (int o : g.outputs) if (o == v) return true;
    return false;
  };
  for (Node& sig : g.nodes) {
    if (sig.removed || sig.op_type != "Sigmoid") continue;
    int x = sig.inputs[0];
    int s = sig.outputs[0];
    // x * sigmoid(x): the SiLU of YOLO's Conv blocks.
    if (consumers[s].size() == 1 && !is_graph_output(s)) {
      Node& mul = g.nodes[consumers[s][0]];
      bool silu = mul.op_type == "Mul" && mul.inputs.size() == 2 &&
                  ((mul.inputs[0] == x && mul.inputs[1] == s) || (mul.inputs[0] == s && mul.inputs[1] == x));
      if (silu) {
        int p = g.values[x].producer;
        bool x_only_here = consumers[x].size() == 2 && !is_graph_output(x);  // read by the Sigmoid and the Mul
        if (p >= 0 && g.nodes[p].op_type == "Conv" && !has_activation(g.nodes[p]) && x_only_here) {
          Node& conv = g.nodes[p];
          set_activation(conv, "silu");
          g.values[mul.outputs[0]].producer = p;
          g.values[x].producer = -1;
          conv.outputs[0] = mul.outputs[0];
          mul.removed = true;
        } else {
          Node act;
          act.name = mul.name;
          act.op_type = "SiLU";
          act.inputs = {x};
          act.outputs = mul.outputs;
          mul = act;
        }
        sig.removed = true;
        continue;
      }
    }
  }
  // Conv → Relu / Sigmoid with no other use of the conv output.
  consumers = g.consumers();
  for (Node& act : g.nodes) {
    if (act.removed || (act.op_type != "Relu" && act.op_type != "Sigmoid")) continue;
    int x = act.inputs[0];
    int p = g.values[x].producer;
    if (p < 0 || g.nodes[p].op_type != "Conv" || has_activation(g.nodes[p]) || consumers[x].size() != 1 ||
        is_graph_output(x)) {
      continue;
    }
    Node& conv = g.nodes[p];
    set_activation(conv, act.op_type == "Relu" ? "relu" : "sigmoid");
    g.values[act.outputs[0]].producer = p;
    g.values[x].producer = -1;
    conv.outputs[0] = act.outputs[0];
    act.removed = true;
  }
}

}  // namespace sp::passes
