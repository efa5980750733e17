// pose_image: the people in still images as JSON on stdout, through libsparsepose's installed API only.
//
//   pose_image [--model M] [--engine auto|fp32|int8] [--threads N] [--conf F] [--annotate OUT.jpg] IMAGE...
//
// Prints {"model", "engine", "isa", "images": [{"image", "width", "height", "persons": [{"box": [x1, y1,
// x2, y2], "score", "keypoints": [[x, y, conf] x17]}], "timing_ms": {...}}]}, the shape of `sparsepose
// predict --json`. --annotate draws the people of the last image on it and writes it.
#include <sparsepose/opencv.h>
#include <sparsepose/sparsepose.h>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;  // no control characters in file names we print
    out.push_back(c);
  }
  return out + "\"";
}

sparsepose::Engine parse_engine(const std::string& s) {
  if (s == "auto") return sparsepose::Engine::Auto;
  if (s == "fp32") return sparsepose::Engine::Fp32;
  if (s == "int8") return sparsepose::Engine::Int8;
  throw sparsepose::Error("--engine must be auto, fp32 or int8 (got '" + s + "')");
}

void print_person(const sparsepose::Person& p, bool last) {
  std::printf("    {%s\"box\": [%.2f, %.2f, %.2f, %.2f], \"score\": %.5f, \"keypoints\": [",
              p.id >= 0 ? ("\"id\": " + std::to_string(p.id) + ", ").c_str() : "", p.box.x1, p.box.y1, p.box.x2,
              p.box.y2, p.score);
  for (int k = 0; k < sparsepose::kNumKeypoints; ++k) {
    const sparsepose::Keypoint& kp = p.keypoints[k];
    std::printf("[%.2f, %.2f, %.4f]%s", kp.x, kp.y, kp.conf, k + 1 < sparsepose::kNumKeypoints ? ", " : "");
  }
  std::printf("]}%s\n", last ? "" : ",");
}

int run(int argc, char** argv) {
  sparsepose::Options options;
  std::string annotate;
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw sparsepose::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") options.model = value();
    else if (a == "--engine") options.engine = parse_engine(value());
    else if (a == "--threads") options.threads = std::atoi(value().c_str());
    else if (a == "--conf") options.conf = std::strtof(value().c_str(), nullptr);
    else if (a == "--annotate") annotate = value();
    else if (!a.empty() && a[0] == '-') throw sparsepose::Error("unknown option " + a);
    else images.push_back(a);
  }
  if (images.empty()) throw sparsepose::Error("usage: pose_image [--model M] [--engine E] [--threads N] [--conf F] [--annotate OUT.jpg] IMAGE...");

  sparsepose::PoseEstimator estimator(options);
  const sparsepose::ModelInfo& info = estimator.info();
  std::printf("{\"library\": \"%s\", \"model\": %s, \"engine\": \"%s\", \"isa\": \"%s\", \"imgsz\": %d, \"images\": [\n",
              sparsepose::version(), json_string(info.model_path).c_str(), info.engine.c_str(), info.isa.c_str(),
              info.input_width);
  cv::Mat last;
  sparsepose::Result result;
  for (size_t n = 0; n < images.size(); ++n) {
    cv::Mat img = cv::imread(images[n], cv::IMREAD_COLOR);
    if (img.empty()) throw sparsepose::Error("cannot read image '" + images[n] + "'");
    result = sparsepose::run(estimator, img);
    std::printf("  {\"image\": %s, \"width\": %d, \"height\": %d, \"persons\": [\n", json_string(images[n]).c_str(),
                img.cols, img.rows);
    for (size_t i = 0; i < result.persons.size(); ++i) print_person(result.persons[i], i + 1 == result.persons.size());
    const sparsepose::Timing& t = result.timing;
    std::printf("  ], \"timing_ms\": {\"preprocess\": %.3f, \"model\": %.3f, \"decode\": %.3f}}%s\n", t.preprocess_ms,
                t.model_ms, t.decode_ms, n + 1 < images.size() ? "," : "");
    last = img;
  }
  std::printf("]}\n");
  if (!annotate.empty()) {
    sparsepose::draw(last, result.persons);
    if (!cv::imwrite(annotate, last)) throw sparsepose::Error("cannot write '" + annotate + "'");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const sparsepose::Error& e) {
    std::fprintf(stderr, "pose_image: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // OpenCV's, reading or writing an image
    std::fprintf(stderr, "pose_image: error: %s\n", e.what());
    return 1;
  }
}
