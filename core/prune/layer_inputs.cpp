#include "core/prune/layer_inputs.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace sp::prune {
namespace {

int find_node(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!g.nodes[i].removed && g.nodes[i].name == name) return static_cast<int>(i);
  }
  throw Error("pruning: the graph has no node named '" + name + "'");
}

}  // namespace

// Kernel, strides, dilations and pads from the node; input size from the session's view of the input.
ConvGeometry conv_geometry(const Graph& g, const Node& n, const Shape& input) {
  const Value& w = g.values[n.inputs.at(1)];
  const Shape& ws = w.constant ? w.constant->shape : w.shape;
  if (n.op_type != "Conv" || ws.size() != 4 || input.size() != 4) throw Error("pruning: " + n.describe() + " is not a 2-D convolution");
  if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") throw Error("pruning: " + n.describe() + ": auto_pad is not supported");
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  if (pads.size() != 4 || strides.size() != 2 || dil.size() != 2) throw Error("pruning: " + n.describe() + ": unexpected attributes");
  ConvGeometry geo;
  geo.in_h = input[2];
  geo.in_w = input[3];
  geo.channels = input[1];
  geo.kernel_h = ws[2];
  geo.kernel_w = ws[3];
  geo.stride_h = strides[0];
  geo.stride_w = strides[1];
  geo.dilation_h = dil[0];
  geo.dilation_w = dil[1];
  geo.pad_top = pads[0];
  geo.pad_left = pads[1];
  geo.pad_bottom = pads[2];
  geo.pad_right = pads[3];
  if (geo.channels != ws[1] * n.attr_int("group", 1)) throw Error("pruning: " + n.describe() + ": input channels do not match the weight");
  return geo;
}

std::string geometry_key(const ConvGeometry& geo) {
  return std::to_string(geo.kernel_h) + "x" + std::to_string(geo.kernel_w) + "s" + std::to_string(geo.stride_h) + "," +
         std::to_string(geo.stride_w) + "d" + std::to_string(geo.dilation_h) + "," + std::to_string(geo.dilation_w) + "p" +
         std::to_string(geo.pad_top) + "," + std::to_string(geo.pad_left) + "," + std::to_string(geo.pad_bottom) + "," +
         std::to_string(geo.pad_right);
}

std::string sampling_key(const ConvGeometry& g, const StatisticsRequest& r) {
  return geometry_key(g) + "|" + std::to_string(r.max_patches_per_frame) +
         (r.sampling_seed == 0 ? std::string() : "|seed=" + std::to_string(r.sampling_seed));
}

uint64_t stable_seed(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::map<std::string, std::shared_ptr<const InputStatistics>> gather_input_statistics(
    const Graph& graph, const std::vector<StatisticsRequest>& requests, SessionOptions options, size_t frames,
    const FrameFiller& fill, const Graph* reference) {
  std::map<std::string, std::shared_ptr<const InputStatistics>> out;
  if (requests.empty()) return out;
  if (frames == 0) throw Error("pruning: no calibration frame");
  std::vector<std::string> inputs;  // session outputs, first-request order
  std::vector<int> nodes;
  for (const auto& r : requests) {
    nodes.push_back(find_node(graph, r.conv));
    const std::string& in = graph.values[graph.nodes[static_cast<size_t>(nodes.back())].inputs.at(0)].name;
    if (std::find(inputs.begin(), inputs.end(), in) == inputs.end()) inputs.push_back(in);
  }
  options.outputs = inputs;
  options.nhwc_input = true;
  options.nhwc_outputs = true;
  Session session(graph, options);
  std::unique_ptr<Session> ref_session;
  if (reference) ref_session = std::make_unique<Session>(*reference, options);

  struct Slot {
    size_t output;
    std::shared_ptr<InputStatistics> stats;
  };
  std::map<std::string, Slot> slots;     // key: input value, geometry and budget
  std::vector<std::string> key_of(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const Node& n = graph.nodes[static_cast<size_t>(nodes[i])];
    const std::string& in = graph.values[n.inputs[0]].name;
    const size_t o = static_cast<size_t>(std::find(inputs.begin(), inputs.end(), in) - inputs.begin());
    ConvGeometry geo = conv_geometry(graph, n, session.output_shape(o));
    const std::string drawn = in + "|" + sampling_key(geo, requests[i]);
    const std::string key = drawn + "|" + std::to_string(requests[i].keep_samples_per_frame);
    if (!slots.count(key)) {
      slots[key] = {o, std::make_shared<InputStatistics>(geo, requests[i].max_patches_per_frame, stable_seed(drawn),
                                                            options.isa)};
      slots[key].stats->keep_samples(requests[i].keep_samples_per_frame);
    }
    key_of[i] = key;
  }
  auto view = [](const Session& s, size_t o) {
    const Shape& sh = s.output_shape(o);
    ActivationView v;
    v.data = s.output_data(o);
    v.channels = sh[1];
    v.height = sh[2];
    v.width = sh[3];
    if (s.output_nhwc(o)) {
      v.pixel_stride = s.output_pixel_stride(o);
      v.channel_stride = 1;
    } else {
      v.pixel_stride = 1;
      v.channel_stride = sh[2] * sh[3];
    }
    return v;
  };
  const int64_t input_floats = shape_numel(session.input_shape(0));
  for (size_t f = 0; f < frames; ++f) {
    fill(f, session.input_data(0));
    session.run();
    if (ref_session) {
      std::copy(session.input_data(0), session.input_data(0) + input_floats, ref_session->input_data(0));
      ref_session->run();
    }
    for (auto& [key, slot] : slots) {
      if (ref_session) {
        const ActivationView r = view(*ref_session, slot.output);
        slot.stats->add(view(session, slot.output), &r);
      } else {
        slot.stats->add(view(session, slot.output));
      }
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) out[requests[i].conv] = slots.at(key_of[i]).stats;
  return out;
}

std::vector<std::vector<std::string>> conv_waves(const Graph& graph, const std::vector<std::string>& convs) {
  std::set<std::string> wanted(convs.begin(), convs.end());
  std::vector<int> depth(graph.values.size(), 0);  // latest wave upstream of each value
  std::map<std::string, int> wave_of;
  for (const Node& n : graph.nodes) {
    if (n.removed) continue;
    int d = 0;
    for (int v : n.inputs) {
      if (v >= 0) d = std::max(d, depth[static_cast<size_t>(v)]);
    }
    if (n.op_type == "Conv" && wanted.count(n.name)) {
      const int in = n.inputs.empty() || n.inputs[0] < 0 ? 0 : depth[static_cast<size_t>(n.inputs[0])];
      wave_of[n.name] = in + 1;
      d = std::max(d, in + 1);
    }
    for (int v : n.outputs) {
      if (v >= 0) depth[static_cast<size_t>(v)] = d;
    }
  }
  int waves = 0;
  for (const auto& c : convs) {
    auto it = wave_of.find(c);
    if (it == wave_of.end()) throw Error("pruning: the graph has no conv named '" + c + "'");
    waves = std::max(waves, it->second);
  }
  std::vector<std::vector<std::string>> out(static_cast<size_t>(waves));
  for (const Node& n : graph.nodes) {  // model order within a wave
    if (!n.removed && n.op_type == "Conv" && wave_of.count(n.name)) out[static_cast<size_t>(wave_of[n.name] - 1)].push_back(n.name);
  }
  return out;
}

void set_conv_constants(Graph& graph, const std::string& conv, const std::vector<float>& onnx_weights,
                        const std::vector<float>& bias) {
  const Node& n = graph.nodes[static_cast<size_t>(find_node(graph, conv))];
  auto replace = [&](int v, const std::vector<float>& values) {
    if (v < 0 || !graph.values[static_cast<size_t>(v)].constant) throw Error("pruning: " + n.describe() + " has no constant to replace");
    const Shape shape = graph.values[static_cast<size_t>(v)].constant->shape;
    if (shape_numel(shape) != static_cast<int64_t>(values.size())) throw Error("pruning: " + n.describe() + ": new values do not fit");
    graph.values[static_cast<size_t>(v)].constant = make_float_tensor(values, shape);
  };
  replace(n.inputs.at(1), onnx_weights);
  if (!bias.empty()) replace(n.inputs.size() > 2 ? n.inputs[2] : -1, bias);
}

}  // namespace sp::prune
