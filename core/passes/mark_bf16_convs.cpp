// Marks the Conv nodes that run in bf16: all of them, or those a model names in its metadata. The choice
// lives in the model file (metadata_props) rather than in new ops, so the file stays a standard ONNX model
// that other runtimes run in fp32.
#include <map>
#include <string>

#include "core/error.h"
#include "core/passes/passes.h"

namespace sp::passes {
namespace {

// bf16 = 1: the model asks for bf16 where the CPU multiplies bf16 natively (elsewhere the Conv op runs
// fp32: faster than an emulation and more exact); bf16 = 2: bf16 on every CPU (kAll, an experiment that
// wants bf16's numbers, emulated exactly where the hardware lacks it).
void mark(Node& n, int64_t how) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = how;
  n.attrs["bf16"] = a;
}

}  // namespace

Bf16Convs parse_bf16_convs(const std::string& s) {
  if (s == "none") return Bf16Convs::kNone;
  if (s == "from-model") return Bf16Convs::kFromModel;
  if (s == "all") return Bf16Convs::kAll;
  throw Error("unknown bf16 conv selection '" + s + "' (expected one of: none, from-model, all)");
}

const char* bf16_convs_name(Bf16Convs mode) {
  switch (mode) {
    case Bf16Convs::kNone: return "none";
    case Bf16Convs::kFromModel: return "from-model";
    case Bf16Convs::kAll: return "all";
  }
  return "?";
}

int mark_bf16_convs(Graph& g, Bf16Convs mode) {
  int marked = 0;
  if (mode == Bf16Convs::kAll) {
    for (Node& n : g.nodes) {
      if (n.removed || n.op_type != "Conv") continue;
      mark(n, 2);
      ++marked;
    }
    return marked;
  }
  auto it = g.metadata.find(kBf16ConvsMetadataKey);
  if (mode == Bf16Convs::kNone || it == g.metadata.end()) return 0;
  std::map<std::string, int> by_name;
  for (size_t i = 0; i < g.nodes.size(); ++i) by_name[g.nodes[i].name] = static_cast<int>(i);
  const std::string& list = it->second;
  for (size_t start = 0; start <= list.size();) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    start = end + 1;
    const size_t first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
    if (first == std::string::npos) continue;  // empty entry (e.g. a trailing comma)
    name = name.substr(first, last - first + 1);
    auto node = by_name.find(name);
    if (node == by_name.end() || g.nodes[node->second].op_type != "Conv")
      throw Error(std::string("model metadata ") + kBf16ConvsMetadataKey + " names '" + name + "', which is not a Conv node of the model");
    Node& n = g.nodes[node->second];
    if (!n.has_attr("bf16")) ++marked;
    mark(n, 1);
  }
  return marked;
}

}  // namespace sp::passes
