// sparsepose predict: pose detections on still images → annotated images and/or JSON.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/commands.h"
#include "app/common.h"
#include "app/detections_json.h"
#include "core/error.h"
#include "imaging/overlay.h"
#include "imaging/preprocess.h"
#include "pipeline/image_io.h"

namespace sp::app {
namespace {
namespace fs = std::filesystem;

struct PredictOptions {
  EngineOptions engine;
  std::string save_dir;
  std::string json_path;
  float conf = 0.25f;
  float iou = 0.7f;
  std::vector<std::string> images;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void run_predict(const PredictOptions& o) {
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.save_dir, ec);
    if (ec || !fs::is_directory(o.save_dir)) throw Error("cannot create output directory '" + o.save_dir + "'");
  }
  LoadedModel m = load_model(o.engine);
  models::PoseModel& model = *m.model;
  imaging::Preprocessor pre;
  models::NmsOptions nms;
  nms.iou_threshold = o.iou;
  std::vector<models::PoseDetection> dets;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  int failures = 0;
  for (const std::string& path : o.images) {
    cv::Mat img;
    try {
      img = pipeline::load_image(path);
    } catch (const Error& e) {
      std::fprintf(stderr, "sparsepose: error: %s\n", e.what());
      ++failures;
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto geom = imaging::letterbox_into(pre, img, model);
    double t_pre = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    model.infer();
    double t_model = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    model.decode(o.conf, nms, geom, dets);
    double t_decode = ms_since(t0);

    std::printf("%s: %dx%d, %zu person%s, preprocess %.1f ms, model %.1f ms, decode %.2f ms\n", path.c_str(), img.cols,
                img.rows, dets.size(), dets.size() == 1 ? "" : "s", t_pre, t_model, t_decode);
    nlohmann::ordered_json r;
    r["image"] = path;
    r["width"] = img.cols;
    r["height"] = img.rows;
    r["persons"] = persons_json(dets);
    r["timing_ms"] = {{"preprocess", t_pre}, {"model", t_model}, {"decode", t_decode}};
    results.push_back(r);
    if (!o.save_dir.empty()) {
      imaging::draw_detections(img, dets);
      std::string out = (fs::path(o.save_dir) / fs::path(path).filename()).string();
      if (fs::path(out).extension() != ".jpg" && fs::path(out).extension() != ".png") out += ".jpg";
      pipeline::save_image(out, img);
    }
  }
  if (!o.json_path.empty()) {
    nlohmann::ordered_json j;
    j["model"] = m.path;
    j["engine"] = m.engine;
    j["isa"] = std::string(isa_name(m.isa));
    j["imgsz"] = model.input_width();
    j["images"] = results;
    std::ofstream f(o.json_path);
    if (!f) throw Error("cannot write '" + o.json_path + "'");
    f << j.dump(1) << "\n";
    if (!f) throw Error("cannot write '" + o.json_path + "'");
  }
  if (failures > 0) {
    std::fprintf(stderr, "sparsepose: %d of %zu images could not be read\n", failures, o.images.size());
    set_exit_code(1);
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Detect poses in images");
  add_engine_options(*cmd, o->engine, true);
  cmd->add_option("--save", o->save_dir, "write annotated images into this directory");
  cmd->add_option("--json", o->json_path, "write detections as JSON");
  cmd->add_option("--conf", o->conf, "person confidence threshold")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("images", o->images, "image files")->required();
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace sp::app
