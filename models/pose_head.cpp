#include "models/pose_head.h"

#include <map>
#include <cstdio>

#include "core/error.h"
#include "core/shape_inference.h"

namespace sp::models {
namespace {

// "[17, 3]" from the Ultralytics metadata.
bool parse_kpt_shape(const Graph& g, int& k, int& dims) {
  auto it = g.metadata.find("kpt_shape");
  if (it == g.metadata.end()) return false;
  int a = 0, b = 0;
  if (std::sscanf(it->second.c_str(), " [ %d , %d ]", &a, &b) != 2) return false;
  if (a <= 0 || a > 1000 || (b != 2 && b != 3)) return false;
  k = a;
  dims = b;
  return true;
}

// Follows a value through single-consumer QuantizeLinear/DequantizeLinear nodes.
int skip_qdq(const Graph& g, const std::vector<std::vector<int>>& consumers, int v) {
  for (int guard = 0; guard < 4; ++guard) {
    if (consumers[v].size() != 1) return v;
    const Node& n = g.nodes[consumers[v][0]];
    if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") return v;
    v = n.outputs[0];
  }
  return v;
}

}  // namespace

std::vector<std::string> PoseHead::output_names() const {
  std::vector<std::string> names;
  for (const auto& s : scales) {
    names.push_back(s.box);
    names.push_back(s.score);
    names.push_back(s.kpt);
  }
  return names;
}

std::optional<PoseHead> find_pose_head(const Graph& model) {
  if (model.inputs.empty()) return std::nullopt;
  Graph g = model;
  Shape in = g.values[g.inputs[0]].shape;
  if (in.size() != 4) return std::nullopt;
  for (size_t d = 0; d < in.size(); ++d) {
    if (in[d] <= 0) in[d] = d == 0 ? 1 : 640;
  }
  try {
    std::vector<Shape> shapes{in};
    for (size_t i = 1; i < g.inputs.size(); ++i) shapes.push_back(g.values[g.inputs[i]].shape);
    specialize_shapes(g, shapes);
  } catch (const Error&) {
    return std::nullopt;
  }
  PoseHead head;
  parse_kpt_shape(g, head.num_keypoints, head.keypoint_dims);
  const int kpt_channels = head.num_keypoints * head.keypoint_dims;

  auto consumers = g.consumers();
  std::map<int, std::vector<int>> by_stride;  // stride -> terminal conv output values
  for (const Node& n : g.nodes) {
    if (n.removed || n.op_type != "Conv") continue;
    int out = n.outputs[0];
    const Shape& s = g.values[out].shape;
    if (s.size() != 4 || s[2] <= 0 || in[2] % s[2] != 0 || in[3] % s[3] != 0 || in[2] / s[2] != in[3] / s[3]) continue;
    int stride = static_cast<int>(in[2] / s[2]);
    if (stride != 8 && stride != 16 && stride != 32) continue;
    int tail = skip_qdq(g, consumers, out);
    if (consumers[tail].empty()) continue;
    // The decode tail flattens each branch to [batch, channels, h*w] (YOLOv8 first concatenates box and
    // score along channels). Other un-activated convs, like the attention's qkv, reshape differently.
    auto flattens = [&](int node) {
      const Node& r = g.nodes[node];
      if (r.op_type != "Reshape" && r.op_type != "Flatten") return false;
      const Shape& o = g.values[r.outputs[0]].shape;
      return o.size() == 3 && o[2] == s[2] * s[3];
    };
    bool into_tail = true;
    for (int c : consumers[tail]) {
      const Node& t = g.nodes[c];
      bool ok = flattens(c);
      if (!ok && t.op_type == "Concat" && (t.attr_int("axis", 0) == 1 || t.attr_int("axis", 0) == -3)) {
        ok = !consumers[t.outputs[0]].empty();
        for (int cc : consumers[t.outputs[0]]) ok = ok && flattens(cc);
      }
      into_tail = into_tail && ok;
    }
    if (into_tail) by_stride[stride].push_back(out);
  }
  if (by_stride.size() != 3) return std::nullopt;
  for (auto& [stride, outs] : by_stride) {
    if (outs.size() != 3) return std::nullopt;
    HeadBranches b;
    b.stride = stride;
    for (int v : outs) {
      int c = static_cast<int>(g.values[v].shape[1]);
      const std::string& name = g.values[v].name;
      if (c == kpt_channels && b.kpt.empty()) {
        b.kpt = name;
        b.kpt_channels = c;
      } else if (c % 4 == 0 && c >= 16 && b.box.empty()) {
        b.box = name;
        b.box_channels = c;
      } else if (b.score.empty()) {
        b.score = name;
        b.score_channels = c;
      } else {
        return std::nullopt;
      }
    }
    if (b.box.empty() || b.score.empty() || b.kpt.empty()) return std::nullopt;
    if (!head.scales.empty() && (b.box_channels != head.scales[0].box_channels || b.score_channels != head.scales[0].score_channels)) {
      return std::nullopt;
    }
    head.scales.push_back(b);
  }
  head.reg_max = head.scales[0].box_channels / 4;
  return head;
}

}  // namespace sp::models
