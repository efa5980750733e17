// Gathering conv input statistics wave by wave without recomputing the whole model each time.
//
// Once the convs of waves 1..k hold their final weights, every activation computed only from them
// (and from unchanged layers) is final too. The runner keeps, per calibration frame, the final
// activations that later nodes still read (the "frontier" after wave k) and runs each wave's Session
// from them: the graph is cut at the frontier (those values become inputs) as well as at the
// wave's conv inputs, so each frame costs about one forward pass over the whole procedure instead of
// one per wave. The float reference model gets its own frontier cache over the same values.
// Memory: frames x frontier size (at 640 about 10 MB per frame and model at the widest point); above
// `max_cache_bytes` the runner falls back to running from the image every wave.
//
// The same cache serves models that differ from `graph` only in the convs of the next wave
// (cut_at_frontier, feed_frontier): the sensitivity pass runs each candidate (the float model with one
// conv pruned) from the float model's frontier instead of from the image.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/prune/input_statistics.h"
#include "core/prune/layer_inputs.h"
#include "core/session.h"

namespace sp::prune {

// Whether anything that computes `outputs` (empty: the graph's own) reads the image input (input 0)
// of `g`, a cut graph: letterboxing a frame costs milliseconds, so skip it once the image is behind
// the frontier.
bool reads_image(const Graph& g, const std::vector<std::string>& outputs = {});

class WaveRunner {
 public:
  // `waves` as conv_waves(graph, ...) gives them; `graph` is the model before any change.
  // `kept`: values whose producers every cut graph keeps (never cached, recomputed from the frontier),
  // so that a cut graph still computes them and whatever reads them: the pose head's outputs, which a
  // PoseModel finds by structure and decodes.
  WaveRunner(const Graph& graph, std::vector<std::vector<std::string>> waves, SessionOptions options, size_t frames,
             FrameFiller fill, size_t max_cache_bytes = size_t{6} << 30, const std::vector<std::string>& kept = {});
  ~WaveRunner();

  // The statistics of wave `wave` (0-based; call in order 0, 1, 2, ...) of the requested convs (all in
  // that wave) on `graph`, whose convs of earlier waves hold their final weights; with `reference`
  // (the unchanged float model), its activations are paired with the graph's.
  std::map<std::string, std::shared_ptr<const InputStatistics>> gather(size_t wave, const Graph& graph,
                                                                       const std::vector<StatisticsRequest>& requests,
                                                                       const Graph* reference);
  size_t peak_cache_bytes() const { return peak_bytes_; }

  // `g` (the base graph, its convs of wave k and later possibly changed) cut at the frontier that
  // gather(k) stored: the values that no conv of wave k or later changes become inputs 1, 2, ... after
  // the image. Without a cache (nothing before wave k's convs, or over max_cache_bytes) `g` is
  // returned whole.
  Graph cut_at_frontier(const Graph& g) const;
  // Copies frame `frame`'s cached values into the inputs 1, 2, ... of a session of cut_at_frontier's
  // graph (created with nhwc_input, as the cache is NHWC).
  void feed_frontier(Session& session, size_t frame) const;

 private:
  struct Cache;
  // The frontier after wave k (k = 0: before any wave), as value ids of the base graph.
  std::vector<int> frontier(size_t k) const;
  Graph cut(const Graph& g, const Cache& cache) const;
  // Copies frame `frame` of `cache` into the session's inputs 1, 2, ...
  static void feed(Session& session, const Cache& cache, size_t frame);

  Graph base_;
  std::vector<std::vector<std::string>> waves_;
  SessionOptions options_;
  size_t frames_;
  FrameFiller fill_;
  size_t max_cache_bytes_;
  std::vector<int> final_after_;      // per value: the wave after which it is final (0: from the start)
  std::vector<int> consumer_final_;   // per value: the latest final_after among its consumer nodes
                                      // (kNever for the inputs of the `kept` values' producers)
  std::unique_ptr<Cache> cache_, ref_cache_;
  size_t next_wave_ = 0;
  bool caching_ = true;
  size_t peak_bytes_ = 0;
};

}  // namespace sp::prune
