#include "core/graph.h"

#include <algorithm>

namespace sp {

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.i;
}

float Node::attr_float(const std::string& key, float fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.f;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.s;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.ints;
}

std::string Node::describe() const { return "op '" + op_type + "' (node '" + name + "')"; }

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_node(Node n) {
  int id = static_cast<int>(nodes.size());
  for (int o : n.outputs) values[o].producer = id;
  nodes.push_back(std::move(n));
  return id;
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> out(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].removed) continue;
    for (int v : nodes[n].inputs) {
      if (v >= 0 && (out[v].empty() || out[v].back() != static_cast<int>(n))) out[v].push_back(static_cast<int>(n));
    }
  }
  return out;
}

void Graph::replace_uses(int from, int to) {
  for (auto& n : nodes) {
    for (int& v : n.inputs) {
      if (v == from) v = to;
    }
  }
  for (int& v : outputs) {
    if (v == from) v = to;
  }
}

void Graph::remove_dead_nodes() {
  std::vector<bool> needed(values.size(), false);
  for (int v : outputs) needed[v] = true;
  for (size_t i = nodes.size(); i-- > 0;) {
    Node& n = nodes[i];
    if (n.removed) continue;
    bool used = std::any_of(n.outputs.begin(), n.outputs.end(), [&](int o) { return needed[o]; });
    if (!used) {
      n.removed = true;
      continue;
    }
    for (int v : n.inputs) {
      if (v >= 0) needed[v] = true;
    }
  }
  for (int v = 0; v < static_cast<int>(values.size()); ++v) {
    int p = values[v].producer;
    if (p >= 0 && nodes[p].removed) values[v].producer = -1;
  }
}

}  // namespace sp
