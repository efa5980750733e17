#include "models/pose_model.h"

#include "core/error.h"
#include "core/onnx_import.h"

namespace sp::models {

Graph load_pose_graph(const std::string& path) {
  Graph g = load_onnx_file(path);
  if (g.inputs.size() != 1) throw Error(path + ": expected a model with one image input, found " + std::to_string(g.inputs.size()));
  const Value& in = g.values[g.inputs[0]];
  if (in.shape.size() != 4 || (in.shape[1] != 3 && in.shape[1] != -1)) {
    throw Error(path + ": expected an image input of shape [1, 3, H, W], found " + shape_string(in.shape));
  }
  return g;
}

PoseModel::PoseModel(const Graph& graph, const PoseModelOptions& options) {
  if (!options.use_exported_output) head_ = find_pose_head(graph);
  init(graph, options);
}

PoseModel::PoseModel(const Graph& graph, const PoseModelOptions& options, const PoseHead& head) : head_(head) {
  init(graph, options);
}

void PoseModel::init(const Graph& graph, const PoseModelOptions& options) {
  const Shape& in = graph.values.at(graph.inputs.at(0)).shape;
  if (options.imgsz != 0 && (options.imgsz < 32 || options.imgsz % 32 != 0 || options.imgsz > 4096)) {
    throw Error("--imgsz must be a multiple of 32 between 32 and 4096, got " + std::to_string(options.imgsz));
  }
  input_h_ = options.imgsz ? options.imgsz : (in[2] > 0 ? static_cast<int>(in[2]) : 640);
  input_w_ = options.imgsz ? options.imgsz : (in[3] > 0 ? static_cast<int>(in[3]) : 640);

  SessionOptions so;
  so.threads = options.threads;
  so.isa = options.isa;
  so.input_hw = {input_h_, input_w_};
  so.nhwc_input = true;
  so.profile = options.profile;
  so.integer = options.integer;
  so.u8_input = options.integer;
  so.bf16_convs = options.bf16_convs;
  so.kernels = options.kernels;
  so.kernel_cache_busy_limit = options.kernel_cache_busy_limit;
  if (head_) {
    so.outputs = head_->output_names();
    so.nhwc_outputs = true;  // the decoder reads NHWC slices directly: no transposes at the end
  } else {
    if (graph.outputs.size() != 1) throw Error("no pose head found and the model has " + std::to_string(graph.outputs.size()) + " outputs, not one");
  }
  session_ = std::make_unique<Session>(graph, so);
  if (!head_) {
    const Shape& s = session_->output_shape(0);
    if (s.size() != 3 || s[0] != 1 || s[1] < 5 + 17 * 2) {
      throw Error("no pose head found and the output " + shape_string(s) + " is not a [1, 56, N] pose output");
    }
  }
}

void PoseModel::decode_head(float conf_threshold, std::vector<PoseDetection>& out) {
  HeadScale scales[3];
  DecodeOptions opt;
  opt.conf_threshold = conf_threshold;
  opt.reg_max = head_->reg_max;
  opt.num_classes = head_->scales[0].score_channels;
  for (size_t i = 0; i < 3; ++i) {
    HeadScale& hs = scales[i];
    hs.stride = head_->scales[i].stride;
    const Shape& s = session_->output_shape(3 * i);
    hs.h = static_cast<int>(s[2]);
    hs.w = static_cast<int>(s[3]);
    BranchView* views[3] = {&hs.box, &hs.score, &hs.kpt};
    for (size_t b = 0; b < 3; ++b) {
      size_t o = 3 * i + b;
      const float* data = session_->output_data(o);
      *views[b] = session_->output_nhwc(o) ? BranchView::nhwc(data, static_cast<int>(session_->output_pixel_stride(o)))
                                          : BranchView::nchw(data, hs.h, hs.w);
    }
  }
  decode_pose_head(std::span<const HeadScale>(scales, 3), opt, out);
}

void PoseModel::decode(float conf_threshold, const NmsOptions& nms, const LetterboxGeometry& geometry,
                       std::vector<PoseDetection>& out, bool clip) {
  if (head_) {
    decode_head(conf_threshold, out);
  } else {
    const Shape& s = session_->output_shape(0);
    decode_exported_output(session_->output_data(0), static_cast<int>(s[1]), static_cast<int>(s[2]), conf_threshold, out);
  }
  nms_.set_options(nms);
  nms_.run(out);
  to_original(geometry, std::span<PoseDetection>(out), clip);
}

void PoseModel::decode_all_anchors(std::vector<PoseDetection>& out) {
  if (!head_) throw Error("per-anchor decoding needs the head decode path");
  decode_head(-1.0f, out);  // every score passes
}

}  // namespace sp::models
