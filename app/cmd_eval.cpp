// sparsepose eval: COCO keypoint and box AP on a labelled set, computed as pycocotools does
// (letterbox at --imgsz, confidence 0.001, NMS IoU 0.7, at most 300 detections per image).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/commands.h"
#include "app/common.h"
#include "core/error.h"
#include "models/coco_eval.h"
#include "models/coco_json.h"
#include "pipeline/image_io.h"
#include "pipeline/preprocess.h"

namespace sp::app {
namespace {
namespace fs = std::filesystem;
namespace coco = models::coco;

struct EvalOptions {
  EngineOptions engine;
  std::string annotations;
  std::string images;
  std::string results_path;
  bool json = false;
  float conf = 0.001f;
  float iou = 0.7f;
  bool clip = false;
};

void run_eval(const EvalOptions& o) {
  coco::CocoDataset gt = coco::load_coco_annotations(o.annotations);
  if (!fs::is_directory(o.images)) throw Error("--images: '" + o.images + "' is not a directory");
  LoadedModel m = load_model(o.engine);
  models::PoseModel& model = *m.model;
  pipeline::Preprocessor pre;
  models::NmsOptions nms;
  nms.iou_threshold = o.iou;
  nms.max_detections = 300;
  std::vector<models::PoseDetection> dets;
  std::vector<coco::CocoDetection> all;
  double model_ms = 0;
  auto t_start = std::chrono::steady_clock::now();
  for (const auto& im : gt.images) {
    std::string path = (fs::path(o.images) / im.file_name).string();
    cv::Mat img = pipeline::load_image(path);
    auto geom = pipeline::letterbox_into(pre, img, model);
    auto t0 = std::chrono::steady_clock::now();
    model.infer();
    model_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    model.decode(o.conf, nms, geom, dets, o.clip);
    for (const auto& d : dets) all.push_back(coco::make_coco_detection(im.id, d));
  }
  double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::vector<coco::CocoResult> results = coco::to_coco_results(all);
  if (!o.results_path.empty()) coco::write_coco_results(o.results_path, results);
  std::vector<coco::CocoSummary> summaries{coco::evaluate_keypoints(gt, results), coco::evaluate_bbox(gt, results)};
  if (o.json) {
    std::printf("%s\n", coco::format_summaries_json(summaries).c_str());
  } else {
    std::printf("%zu images, %zu detections, %.1f s (model %.1f ms per image), model %s, %s, %d threads\n",
                gt.images.size(), results.size(), total_s, model_ms / std::max<size_t>(gt.images.size(), 1), m.path.c_str(),
                std::string(isa_name(m.isa)).c_str(), model.session().threads());
    for (const auto& s : summaries) std::printf("\n%s", coco::format_summary(s).c_str());
  }
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
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace sp::app
