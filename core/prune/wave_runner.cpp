#include "core/prune/wave_runner.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"

namespace sp::prune {

// Per frame, the frontier values in the layout a Session input wants them: dense NHWC for 4-D
// batch-1 values (the runner's sessions take NHWC inputs), contiguous otherwise.
struct WaveRunner::Cache {
  std::vector<int> values;                    // value ids (base graph numbering)
  std::vector<Shape> shapes;                  // logical shapes
  std::vector<std::vector<std::vector<float>>> data;  // [frame][value]
  size_t bytes() const {
    size_t b = 0;
    for (const auto& f : data)
      for (const auto& v : f) b += v.size() * sizeof(float);
    return b;
  }
};

namespace {

bool image_like(const Shape& s) { return s.size() == 4 && s[0] == 1; }

// Copies session output `o` into `dst` in the input layout (see Cache).
void read_output(const Session& s, size_t o, std::vector<float>& dst) {
  const Shape& sh = s.output_shape(o);
  const float* src = s.output_data(o);
  dst.resize(static_cast<size_t>(shape_numel(sh)));
  if (!image_like(sh)) {
    if (s.output_nhwc(o)) throw Error("pruning: a non-image value came out NHWC");
    std::copy(src, src + dst.size(), dst.begin());
    return;
  }
  const int64_t C = sh[1], P = sh[2] * sh[3];
  if (s.output_nhwc(o)) {
    const int64_t stride = s.output_pixel_stride(o);
    for (int64_t p = 0; p < P; ++p) std::copy(src + p * stride, src + p * stride + C, dst.data() + p * C);
  } else {
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < P; ++p) dst[static_cast<size_t>(p * C + c)] = src[c * P + p];
  }
}

ActivationView view_of(const Session& s, size_t o) {
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
}

ActivationView view_of_cached(const std::vector<float>& d, const Shape& sh) {
  ActivationView v;
  v.data = d.data();
  v.channels = sh[1];
  v.height = sh[2];
  v.width = sh[3];
  v.pixel_stride = sh[1];
  v.channel_stride = 1;
  return v;
}

int node_index(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!g.nodes[i].removed && g.nodes[i].name == name) return static_cast<int>(i);
  }
  throw Error("pruning: the graph has no node named '" + name + "'");
}

}  // namespace

bool reads_image(const Graph& g, const std::vector<std::string>& outputs) {
  Graph probe = g;
  if (!outputs.empty()) {
    probe.outputs.clear();
    for (const auto& name : outputs) probe.outputs.push_back(probe.find_value(name));
  }
  probe.remove_dead_nodes();
  const int image = probe.inputs.at(0);
  if (std::find(probe.outputs.begin(), probe.outputs.end(), image) != probe.outputs.end()) return true;
  for (const Node& n : probe.nodes) {
    if (!n.removed && std::find(n.inputs.begin(), n.inputs.end(), image) != n.inputs.end()) return true;
  }
  return false;
}

WaveRunner::WaveRunner(const Graph& graph, std::vector<std::vector<std::string>> waves, SessionOptions options,
                       size_t frames, FrameFiller fill, size_t max_cache_bytes, const std::vector<std::string>& kept)
    : base_(graph), waves_(std::move(waves)), options_(std::move(options)), frames_(frames), fill_(std::move(fill)),
      max_cache_bytes_(max_cache_bytes) {
  options_.nhwc_input = true;
  options_.nhwc_outputs = true;
  std::map<std::string, int> wave_of;
  for (size_t w = 0; w < waves_.size(); ++w)
    for (const auto& c : waves_[w]) wave_of[c] = static_cast<int>(w + 1);
  // A kept value's producer (and so everything after it) is final after no wave: it is never cut away.
  const int never = static_cast<int>(waves_.size()) + 1;
  std::set<int> kept_values;
  for (const auto& name : kept) {
    const int v = base_.find_value(name);
    if (v < 0) throw Error("pruning: the graph has no value named '" + name + "'");
    kept_values.insert(v);
  }
  final_after_.assign(base_.values.size(), 0);
  consumer_final_.assign(base_.values.size(), 0);
  for (const Node& n : base_.nodes) {
    if (n.removed) continue;
    int fa = 0;
    for (int v : n.inputs) {
      if (v >= 0) fa = std::max(fa, final_after_[static_cast<size_t>(v)]);
    }
    auto it = n.op_type == "Conv" ? wave_of.find(n.name) : wave_of.end();
    if (it != wave_of.end()) fa = std::max(fa, it->second);
    for (int v : n.outputs) {
      if (kept_values.count(v)) fa = never;
    }
    for (int v : n.outputs) {
      if (v >= 0) final_after_[static_cast<size_t>(v)] = fa;
    }
    for (int v : n.inputs) {
      if (v >= 0) consumer_final_[static_cast<size_t>(v)] = std::max(consumer_final_[static_cast<size_t>(v)], fa);
    }
  }
  cache_ = std::make_unique<Cache>();
  ref_cache_ = std::make_unique<Cache>();
}

WaveRunner::~WaveRunner() = default;

std::vector<int> WaveRunner::frontier(size_t k) const {
  const int kk = static_cast<int>(k);
  std::set<int> f;
  for (size_t v = 0; v < base_.values.size(); ++v) {
    const Value& val = base_.values[v];
    if (val.constant || val.producer < 0) continue;  // constants; graph inputs are always fed
    if (final_after_[v] <= kk && consumer_final_[v] > kk) f.insert(static_cast<int>(v));
  }
  // Whole nodes: a node with one output in the frontier has all its outputs there, so cutting the
  // graph removes that node entirely (a Split is never half computed).
  std::set<int> closed = f;
  for (int v : f) {
    for (int o : base_.nodes[static_cast<size_t>(base_.values[static_cast<size_t>(v)].producer)].outputs) {
      if (o >= 0) closed.insert(o);
    }
  }
  return {closed.begin(), closed.end()};
}

Graph WaveRunner::cut_at_frontier(const Graph& g) const {
  if (g.values.size() != base_.values.size()) throw Error("pruning: the graph changed shape between waves");
  return cut(g, *cache_);
}

void WaveRunner::feed_frontier(Session& session, size_t frame) const { feed(session, *cache_, frame); }

void WaveRunner::feed(Session& session, const Cache& cache, size_t frame) {
  if (cache.values.empty()) return;
  if (session.num_inputs() != 1 + cache.values.size()) throw Error("pruning: cut graph has unexpected inputs");
  for (size_t i = 0; i < cache.values.size(); ++i) {
    const auto& d = cache.data.at(frame)[i];
    std::copy(d.begin(), d.end(), session.input_data(1 + i));
  }
}

Graph WaveRunner::cut(const Graph& g, const Cache& cache) const {
  Graph out = g;
  for (size_t i = 0; i < cache.values.size(); ++i) {
    const int v = cache.values[i];
    Value& val = out.values[static_cast<size_t>(v)];
    if (val.producer >= 0) out.nodes[static_cast<size_t>(val.producer)].removed = true;
    val.producer = -1;
    val.shape = cache.shapes[i];
    val.shape_known = true;
    out.inputs.push_back(v);
  }
  return out;
}

std::map<std::string, std::shared_ptr<const InputStatistics>> WaveRunner::gather(size_t wave, const Graph& graph,
                                                                                 const std::vector<StatisticsRequest>& requests,
                                                                                 const Graph* reference) {
  if (wave != next_wave_) throw Error("pruning: waves must be gathered in order");
  ++next_wave_;
  if (graph.values.size() != base_.values.size() || (reference && reference->values.size() != base_.values.size())) {
    throw Error("pruning: the graph changed shape between waves");
  }
  std::map<std::string, std::shared_ptr<const InputStatistics>> out;
  // The values to read: the requested convs' inputs, then the next frontier (after wave `wave`, i.e.
  // the waves before this one's successor: the values final now that later waves still read).
  std::vector<int> targets;
  std::vector<int> conv_nodes;
  for (const auto& r : requests) {
    conv_nodes.push_back(node_index(graph, r.conv));
    const int in = graph.nodes[static_cast<size_t>(conv_nodes.back())].inputs.at(0);
    if (std::find(targets.begin(), targets.end(), in) == targets.end()) targets.push_back(in);
  }
  const std::vector<int> next = caching_ ? frontier(wave) : std::vector<int>{};
  std::vector<int> wanted = targets;
  for (int v : next) {
    if (std::find(wanted.begin(), wanted.end(), v) == wanted.end()) wanted.push_back(v);
  }
  if (wanted.empty()) return out;

  // Sessions: cut at the cached frontier (inputs) and at the wanted values that are not cached.
  struct Run {
    const Cache* cache;
    bool reads_image = true;  // whether anything left in the cut graph reads the image input
    std::unique_ptr<Session> session;
    std::map<int, size_t> output_of;  // value -> session output
    std::map<int, size_t> cached_at;  // value -> index in cache->values
  };
  auto make_run = [&](const Graph& g, const Cache& cache) {
    Run r;
    r.cache = &cache;
    for (size_t i = 0; i < cache.values.size(); ++i) r.cached_at[cache.values[i]] = i;
    SessionOptions so = options_;
    so.outputs.clear();
    for (int v : wanted) {
      if (!r.cached_at.count(v)) so.outputs.push_back(g.values[static_cast<size_t>(v)].name);
    }
    if (so.outputs.empty()) so.outputs.push_back(g.values[static_cast<size_t>(wanted.front())].name);  // never empty
    Graph cg = cut(g, cache);
    r.reads_image = reads_image(cg, so.outputs);
    r.session = std::make_unique<Session>(cg, so);
    for (size_t i = 0; i < r.session->num_outputs(); ++i) r.output_of[cg.find_value(r.session->output_name(i))] = i;
    // Inputs after the image: the cached values, in cache order.
    if (r.session->num_inputs() != 1 + cache.values.size()) throw Error("pruning: cut graph has unexpected inputs");
    return r;
  };
  Run run = make_run(graph, *cache_);
  Run ref;
  if (reference) ref = make_run(*reference, *ref_cache_);

  // Statistics objects, shared by convs reading the same value with the same geometry and budget.
  std::map<std::string, std::shared_ptr<InputStatistics>> slots;
  std::vector<std::string> key_of(requests.size());
  std::vector<int> value_of_slot;
  std::map<std::string, int> slot_value;
  auto shape_of = [&](const Run& r, int v) -> Shape {
    auto c = r.cached_at.find(v);
    if (c != r.cached_at.end()) return r.cache->shapes[c->second];
    return r.session->output_shape(r.output_of.at(v));
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    const Node& n = graph.nodes[static_cast<size_t>(conv_nodes[i])];
    const int in = n.inputs[0];
    ConvGeometry geo = conv_geometry(graph, n, shape_of(run, in));
    const std::string sampling = sampling_key(geo, requests[i]);
    const std::string key = std::to_string(in) + "|" + sampling + "|" + std::to_string(requests[i].keep_samples_per_frame);
    if (!slots.count(key)) {
      slots[key] = std::make_shared<InputStatistics>(geo, requests[i].max_patches_per_frame,
                                                     stable_seed(graph.values[static_cast<size_t>(in)].name + "|" + sampling),
                                                     options_.isa);
      slots[key]->keep_samples(requests[i].keep_samples_per_frame);
      slot_value[key] = in;
    }
    key_of[i] = key;
  }

  Cache next_cache, next_ref;
  next_cache.values = next;
  next_ref.values = next;
  const bool keep = caching_ && !next.empty();
  if (keep) {
    next_cache.data.resize(frames_);
    if (reference) next_ref.data.resize(frames_);
  }
  std::vector<float> in_scratch, ref_scratch;
  for (size_t f = 0; f < frames_; ++f) {
    if (run.reads_image || (reference && ref.reads_image)) fill_(f, run.session->input_data(0));
    feed(*run.session, *run.cache, f);
    run.session->run();
    if (reference) {
      const int64_t n = shape_numel(run.session->input_shape(0));
      if (ref.reads_image) std::copy(run.session->input_data(0), run.session->input_data(0) + n, ref.session->input_data(0));
      feed(*ref.session, *ref.cache, f);
      ref.session->run();
    }
    auto view = [&](const Run& r, int v) {
      auto c = r.cached_at.find(v);
      if (c != r.cached_at.end()) return view_of_cached(r.cache->data[f][c->second], r.cache->shapes[c->second]);
      return view_of(*r.session, r.output_of.at(v));
    };
    for (auto& [key, stats] : slots) {
      const int v = slot_value[key];
      if (reference) {
        const ActivationView rv = view(ref, v);
        stats->add(view(run, v), &rv);
      } else {
        stats->add(view(run, v));
      }
    }
    if (keep) {
      auto store = [&](const Run& r, Cache& dst) {
        dst.data[f].resize(next.size());
        for (size_t i = 0; i < next.size(); ++i) {
          auto c = r.cached_at.find(next[i]);
          if (c != r.cached_at.end()) dst.data[f][i] = r.cache->data[f][c->second];
          else read_output(*r.session, r.output_of.at(next[i]), dst.data[f][i]);
        }
      };
      store(run, next_cache);
      if (reference) store(ref, next_ref);
    }
  }
  if (keep) {
    auto shapes = [&](const Run& r, Cache& dst) {
      for (int v : next) dst.shapes.push_back(shape_of(r, v));
    };
    shapes(run, next_cache);
    if (reference) shapes(ref, next_ref);
    const size_t bytes = next_cache.bytes() + next_ref.bytes();
    if (bytes > max_cache_bytes_) {
      caching_ = false;  // too big: every later wave runs from the image
      *cache_ = Cache();
      *ref_cache_ = Cache();
    } else {
      peak_bytes_ = std::max(peak_bytes_, bytes);
      *cache_ = std::move(next_cache);
      if (reference) *ref_cache_ = std::move(next_ref);
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) out[requests[i].conv] = slots.at(key_of[i]);
  return out;
}

}  // namespace sp::prune
