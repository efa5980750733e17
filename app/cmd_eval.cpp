// sparsepose eval: COCO keypoint and box AP on a labelled set, computed as pycocotools does
// (letterbox at --imgsz, confidence 0.001, NMS IoU 0.7, at most 300 detections per image).
//
// Two flags split the evaluation around the model so another runtime can be measured with exactly our
// preprocessing and our decode/NMS/COCO evaluation (bench/ort_eval.js is the ONNX Runtime side):
//   --dump-inputs DIR    writes each image's letterboxed NCHW float32 input to DIR/<image_id>.bin and
//                        DIR/index.json (ids, file names, sizes, letterbox geometry), runs no model;
//   --outputs-from DIR   reads each image's exported output [1, C, N] (float32) from DIR/<image_id>.out.bin
//                        instead of running the engine, and decodes it as `--decode exported` does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/common.h"
#include "core/error.h"
#include "imaging/preprocess.h"
#include "models/coco_eval.h"
#include "models/coco_json.h"
#include "pipeline/image_io.h"

namespace sp::app {
namespace {
namespace fs = std::filesystem;
namespace coco = models::coco;
using Json = nlohmann::ordered_json;

// Names the layout of the dump so a reader can refuse a different one.
constexpr const char* kDumpFormat = "sparsepose-eval-inputs-v1";

struct EvalOptions {
  EngineOptions engine;
  std::string annotations;
  std::string images;
  std::string results_path;
  std::string dump_inputs;   // non-empty: write the model inputs there and stop
  std::string outputs_from;  // non-empty: decode outputs computed elsewhere instead of running the engine
  bool json = false;
  float conf = 0.001f;
  float iou = 0.7f;
  bool clip = false;
};

// What the detection stage produced, whichever way it ran.
struct Detections {
  std::vector<coco::CocoDetection> all;
  double total_s = 0;
  std::string header;  // first line of the text report (after "N images, M detections, T s")
  Json label;          // extra keys for the JSON report; empty for our own engine
};

models::NmsOptions eval_nms(const EvalOptions& o) {
  models::NmsOptions nms;
  nms.iou_threshold = o.iou;
  nms.max_detections = 300;
  return nms;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string image_path(const EvalOptions& o, const coco::CocoImage& im) {
  return (fs::path(o.images) / im.file_name).string();
}

void check_images_dir(const EvalOptions& o) {
  if (!fs::is_directory(o.images)) throw Error("--images: '" + o.images + "' is not a directory");
}

// --- our engine ---------------------------------------------------------------------------------

Detections detect_with_engine(const EvalOptions& o, const coco::CocoDataset& gt) {
  check_images_dir(o);
  LoadedModel m = load_model(o.engine);
  models::PoseModel& model = *m.model;
  imaging::Preprocessor pre;
  const models::NmsOptions nms = eval_nms(o);
  std::vector<models::PoseDetection> dets;
  Detections out;
  double model_ms = 0;
  auto t_start = std::chrono::steady_clock::now();
  for (const auto& im : gt.images) {
    cv::Mat img = pipeline::load_image(image_path(o, im));
    auto geom = imaging::letterbox_into(pre, img, model);
    auto t0 = std::chrono::steady_clock::now();
    model.infer();
    model_ms += seconds_since(t0) * 1e3;
    model.decode(o.conf, nms, geom, dets, o.clip);
    for (const auto& d : dets) out.all.push_back(coco::make_coco_detection(im.id, d));
  }
  out.total_s = seconds_since(t_start);
  char buf[512];
  std::snprintf(buf, sizeof buf, "model %.1f ms per image), model %s, %s, %d threads",
                model_ms / std::max<size_t>(gt.images.size(), 1), m.path.c_str(), std::string(isa_name(m.isa)).c_str(),
                model.session().threads());
  out.header = buf;
  return out;
}

// --- --dump-inputs ------------------------------------------------------------------------------

void write_floats(const fs::path& path, std::span<const float> data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size_bytes()));
  f.flush();
  if (!f) throw Error("--dump-inputs: cannot write '" + path.string() + "'");
}

void write_json(const fs::path& path, const Json& j, const char* flag) {
  std::ofstream f(path, std::ios::trunc);
  f << j.dump(1) << '\n';
  f.flush();
  if (!f) throw Error(std::string(flag) + ": cannot write '" + path.string() + "'");
}

Json geometry_json(const coco::CocoImage& im, const models::LetterboxGeometry& g) {
  return Json{{"id", im.id},          {"file_name", im.file_name}, {"width", g.src_w},        {"height", g.src_h},
              {"input", std::to_string(im.id) + ".bin"},           {"gain", g.gain},          {"resized_w", g.resized_w},
              {"resized_h", g.resized_h}, {"pad_left", g.pad_left}, {"pad_top", g.pad_top}};
}

// The input size the engine would use for this model and --imgsz. The model is loaded (not run) so
// that the size rule stays PoseModel's own; fp32 + exported decode keep the integer engine and head
// discovery, which the dump does not need, out of the way.
std::pair<int, int> engine_input_size(const EngineOptions& engine) {
  EngineOptions e = engine;
  e.engine = "fp32";
  e.decode = "exported";
  e.threads = 1;
  LoadedModel m = load_model(e);
  return {m.model->input_width(), m.model->input_height()};
}

void dump_inputs(const EvalOptions& o, const coco::CocoDataset& gt) {
  check_images_dir(o);
  const fs::path dir(o.dump_inputs);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw Error("--dump-inputs: cannot create directory '" + o.dump_inputs + "'");
  const auto [w, h] = engine_input_size(o.engine);
  imaging::Preprocessor pre;
  std::vector<float> input(static_cast<size_t>(3) * w * h);
  Json images = Json::array();
  auto t_start = std::chrono::steady_clock::now();
  for (const auto& im : gt.images) {
    cv::Mat img = pipeline::load_image(image_path(o, im));
    // NCHW: the layout of the ONNX graph's input, which another runtime consumes as is.
    auto geom = pre.run(img, w, h, input, imaging::TensorLayout::NCHW);
    write_floats(dir / (std::to_string(im.id) + ".bin"), input);
    images.push_back(geometry_json(im, geom));
  }
  Json index{{"format", kDumpFormat}, {"layout", "NCHW"}, {"dtype", "float32"}, {"shape", {1, 3, h, w}},
             {"model", resolve_model_path(o.engine)}, {"annotations", o.annotations}, {"images", std::move(images)}};
  write_json(dir / "index.json", index, "--dump-inputs");
  std::printf("%zu inputs [1, 3, %d, %d] float32 written to %s in %.1f s (index.json lists them)\n", gt.images.size(), h, w,
              o.dump_inputs.c_str(), seconds_since(t_start));
}

// --- --outputs-from -----------------------------------------------------------------------------

Json read_index(const fs::path& dir) {
  const fs::path path = dir / "index.json";
  std::ifstream f(path);
  if (!f) throw Error("--outputs-from: cannot read '" + path.string() + "' (write it with `sparsepose eval --dump-inputs DIR`)");
  Json j = Json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kDumpFormat || !j.contains("images") ||
      !j.contains("shape")) {
    throw Error("--outputs-from: '" + path.string() + "' is not an index written by `sparsepose eval --dump-inputs`");
  }
  return j;
}

// The letterbox geometry of each indexed image, by image id. It is recomputed from the recorded sizes
// (the same function the preprocessor used), and checked against the recorded pads so that a dump from
// a different letterbox is refused rather than silently mis-mapped.
std::map<std::int64_t, models::LetterboxGeometry> indexed_geometry(const Json& index, const std::string& where) {
  const int h = index.at("shape").at(2).get<int>(), w = index.at("shape").at(3).get<int>();
  std::map<std::int64_t, models::LetterboxGeometry> out;
  for (const auto& e : index.at("images")) {
    auto g = models::compute_letterbox(e.at("width").get<int>(), e.at("height").get<int>(), w, h);
    if (g.pad_left != e.at("pad_left").get<int>() || g.pad_top != e.at("pad_top").get<int>()) {
      throw Error("--outputs-from: " + where + ": letterbox of image " + std::to_string(e.at("id").get<std::int64_t>()) +
                  " does not match ours");
    }
    out[e.at("id").get<std::int64_t>()] = g;
  }
  return out;
}

// Reads one image's exported output [1, channels, anchors] (float32, channel-major) into buf and
// returns its channel count, found from the file size since the anchor count is fixed by the input size.
int read_output(const fs::path& path, int anchors, std::vector<float>& buf) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  if (ec) throw Error("--outputs-from: missing output file '" + path.string() + "' (run bench/ort_eval.js on this DIR first)");
  const auto per_channel = static_cast<std::uintmax_t>(anchors) * sizeof(float);
  const int channels = static_cast<int>(bytes / per_channel);
  if (bytes % per_channel != 0 || channels < 4 + 1 + models::kNumKeypoints * models::kKeypointDims) {
    throw Error("--outputs-from: '" + path.string() + "' has " + std::to_string(bytes) + " bytes, not a [1, 56, " +
                std::to_string(anchors) + "] float32 pose output");
  }
  buf.resize(static_cast<size_t>(channels) * anchors);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(bytes));
  if (!f) throw Error("--outputs-from: cannot read '" + path.string() + "'");
  return channels;
}

// Who produced the outputs, when the producer said so (bench/ort_eval.js writes outputs.json).
Json producer_info(const fs::path& dir) {
  std::ifstream f(dir / "outputs.json");
  if (!f) return Json::object();
  Json j = Json::parse(f, nullptr, false);
  return j.is_object() ? j : Json::object();
}

Detections detect_from_outputs(const EvalOptions& o, const coco::CocoDataset& gt) {
  const fs::path dir(o.outputs_from);
  if (!fs::is_directory(dir)) throw Error("--outputs-from: '" + o.outputs_from + "' is not a directory");
  const Json index = read_index(dir);
  const auto geometry = indexed_geometry(index, (dir / "index.json").string());
  const int h = index.at("shape").at(2).get<int>(), w = index.at("shape").at(3).get<int>();
  const int anchors = models::anchor_count(w, h, models::kDefaultStrides);
  // The same steps as PoseModel::decode on the exported output: decode, NMS, back to original pixels.
  models::NonMaxSuppression nms(eval_nms(o));
  std::vector<float> buf;
  std::vector<models::PoseDetection> dets;
  Detections out;
  auto t_start = std::chrono::steady_clock::now();
  for (const auto& im : gt.images) {
    auto g = geometry.find(im.id);
    if (g == geometry.end()) throw Error("--outputs-from: image " + std::to_string(im.id) + " of the annotations is not in " + (dir / "index.json").string());
    const int channels = read_output(dir / (std::to_string(im.id) + ".out.bin"), anchors, buf);
    models::decode_exported_output(buf.data(), channels, anchors, o.conf, dets);
    nms.run(dets);
    models::to_original(g->second, std::span<models::PoseDetection>(dets), o.clip);
    for (const auto& d : dets) out.all.push_back(coco::make_coco_detection(im.id, d));
  }
  out.total_s = seconds_since(t_start);
  const Json producer = producer_info(dir);
  const std::string runtime = producer.value("runtime", "unknown runtime");
  const std::string model = producer.value("model", "unknown model");
  out.header = "no engine run), external outputs from " + o.outputs_from + " (" + runtime + ", " + model +
               "), decoded as the exported output [1, C, " + std::to_string(anchors) + "]";
  out.label = Json{{"source", "external-outputs"}, {"outputs_from", o.outputs_from}, {"producer", producer}};
  return out;
}

// --- report -------------------------------------------------------------------------------------

void report(const EvalOptions& o, const coco::CocoDataset& gt, const Detections& d) {
  std::vector<coco::CocoResult> results = coco::to_coco_results(d.all);
  if (!o.results_path.empty()) coco::write_coco_results(o.results_path, results);
  std::vector<coco::CocoSummary> summaries{coco::evaluate_keypoints(gt, results), coco::evaluate_bbox(gt, results)};
  if (o.json) {
    std::string text = coco::format_summaries_json(summaries);
    if (!d.label.empty()) {
      // Label results that did not come from our engine, so they cannot be mistaken for ours.
      Json j = d.label;
      j.update(Json::parse(text));
      text = j.dump(1);
    }
    std::printf("%s\n", text.c_str());
  } else {
    std::printf("%zu images, %zu detections, %.1f s (%s\n", gt.images.size(), results.size(), d.total_s, d.header.c_str());
    for (const auto& s : summaries) std::printf("\n%s", coco::format_summary(s).c_str());
  }
}

void run_eval(const EvalOptions& o) {
  coco::CocoDataset gt = coco::load_coco_annotations(o.annotations);
  if (!o.dump_inputs.empty()) return dump_inputs(o, gt);
  report(o, gt, o.outputs_from.empty() ? detect_with_engine(o, gt) : detect_from_outputs(o, gt));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "COCO keypoint and box AP on a labelled image set");
  add_engine_options(*cmd, o->engine, true);
  cmd->add_option("--annotations", o->annotations, "COCO person_keypoints JSON")->required();
  cmd->add_option("--images", o->images, "directory with the images")->required();
  cmd->add_option("--results", o->results_path, "write the detections as a COCO results file");
  cmd->add_flag("--json", o->json, "print the summary as JSON");
  cmd->add_option("--conf", o->conf, "confidence threshold (COCO evaluation uses 0.001)");
  cmd->add_flag("--clip", o->clip, "clip boxes and keypoints to the image (the reference protocol does not)");
  auto* dump = cmd->add_option("--dump-inputs", o->dump_inputs,
                               "write each letterboxed NCHW float32 input to DIR/<image_id>.bin and DIR/index.json, then "
                               "stop (for bench/ort_eval.js)");
  cmd->add_option("--outputs-from", o->outputs_from,
                  "decode DIR/<image_id>.out.bin (the exported [1,56,N] output of another runtime, e.g. "
                  "bench/ort_eval.js) instead of running the engine")
      ->excludes(dump);
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace sp::app
