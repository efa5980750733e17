#include "app/pose_head_convs.h"

#include <bit>
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace sp::app {

std::set<std::string> pose_head_convs(const Graph& graph, const models::PoseHead& head) {
  const std::vector<std::string> outputs = head.output_names();
  if (outputs.size() > 63) throw Error("pose head: too many outputs");
  // reach[v]: which head outputs can be reached from value v (a bit per output).
  std::vector<uint64_t> reach(graph.values.size(), 0);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const int v = graph.find_value(outputs[i]);
    if (v < 0) throw Error("pose head: no value named '" + outputs[i] + "'");
    reach[static_cast<size_t>(v)] |= uint64_t{1} << i;
  }
  // Nodes are in topological order: one backward sweep propagates reachability to every input.
  for (auto n = graph.nodes.rbegin(); n != graph.nodes.rend(); ++n) {
    if (n->removed) continue;
    uint64_t m = 0;
    for (int o : n->outputs) {
      if (o >= 0) m |= reach[static_cast<size_t>(o)];
    }
    for (int in : n->inputs) {
      if (in >= 0) reach[static_cast<size_t>(in)] |= m;
    }
  }
  std::set<std::string> convs;
  for (const Node& n : graph.nodes) {
    if (n.removed || n.op_type != "Conv" || n.outputs.empty()) continue;
    if (std::popcount(reach[static_cast<size_t>(n.outputs[0])]) == 1) convs.insert(n.name);
  }
  return convs;
}

}  // namespace sp::app
