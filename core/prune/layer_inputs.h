// Gathering what convs see: the float Session is cut at the convs' input values
// (SessionOptions::outputs), run on calibration frames, and each input is folded into an
// InputStatistics. Which frames and how they are made is the caller's business (a FrameFiller writes
// the NHWC input), so nothing here knows about images or poses.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/prune/input_statistics.h"
#include "core/session.h"

namespace sp::prune {

// Writes frame `index`'s model input, NHWC [H][W][3] floats, into `input`.
using FrameFiller = std::function<void(size_t index, float* input)>;
using ProgressFn = std::function<void(const std::string& message)>;

struct StatisticsRequest {
  std::string conv;                  // Conv node name
  int64_t max_patches_per_frame = 0; // 0: means only
  // Which output pixels the Hessian samples: 0 is the standard draw, any other value another fixed draw
  // (to measure how much a pruning result owes to the draw).
  uint64_t sampling_seed = 0;
  int64_t keep_samples_per_frame = 0;  // InputStatistics::keep_samples
};

// Runs `graph` cut at the inputs of the requested convs on frames 0..frames-1 and returns each conv's
// statistics. Convs reading the same value with the same geometry and budget share one object.
// With a `reference` graph (the float model: same value names), it runs on the same frames too and
// its activations are the statistics' reference. `options.outputs`, nhwc_input and nhwc_outputs are
// set here.
std::map<std::string, std::shared_ptr<const InputStatistics>> gather_input_statistics(
    const Graph& graph, const std::vector<StatisticsRequest>& requests, SessionOptions options, size_t frames,
    const FrameFiller& fill, const Graph* reference = nullptr);

// The convs in waves: a conv's wave is one more than the latest wave among the convs upstream of its
// input, so no conv of a wave feeds another of the same wave. Pruning wave by wave therefore gives
// every conv the inputs of a model in which every conv before it (in model order) is already pruned,
// as a strictly sequential pass would, with one Session run per frame per wave instead of per conv.
std::vector<std::vector<std::string>> conv_waves(const Graph& graph, const std::vector<std::string>& convs);

// A conv node's geometry for an input of logical shape `input` [1, C, H, W]; throws sp::Error for
// anything but a 2-D Conv with explicit pads.
ConvGeometry conv_geometry(const Graph& graph, const Node& conv, const Shape& input);
// A text key of the geometry (statistics of two convs with equal keys on the same value are equal).
std::string geometry_key(const ConvGeometry& g);
// What a request's statistics depend on besides its input value: the geometry, the patch budget and the
// sampling seed ("|seed=N", left out for 0 so that the standard draw stays what it always was). Statistics
// slots are keyed, and their pixel draws seeded, by the value's name and this.
std::string sampling_key(const ConvGeometry& g, const StatisticsRequest& request);
// A seed derived from a name (FNV-1a), the same on every platform.
uint64_t stable_seed(const std::string& name);

// Replaces a conv's weight (ONNX layout) and, when given, bias constants in `graph`.
void set_conv_constants(Graph& graph, const std::string& conv, const std::vector<float>& onnx_weights,
                        const std::vector<float>& bias);

}  // namespace sp::prune
