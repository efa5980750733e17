// COCO evaluation: reproduces pycocotools on the shared reference, plus small cases worked out by hand.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "models/coco_eval.h"
#include "models/coco_json.h"
#include "tests/test_paths.h"

namespace coco = sp::models::coco;
using coco::CocoAnnotation;
using coco::CocoDataset;
using coco::CocoResult;
using coco::CocoSummary;
using Results = std::vector<CocoResult>;

namespace {

constexpr double kTight = 1e-12;

// 17 keypoints spread over the box, all labelled visible.
std::vector<double> keypoints_in(const std::array<double, 4>& b, double v = 2) {
  std::vector<double> k;
  for (int j = 0; j < 17; ++j) {
    k.push_back(b[0] + b[2] * (0.1 + 0.8 * ((j * 7) % 17) / 16.0));
    k.push_back(b[1] + b[3] * (0.1 + 0.8 * j / 16.0));
    k.push_back(v);
  }
  return k;
}

CocoAnnotation person(std::int64_t id, std::int64_t image_id, std::array<double, 4> bbox) {
  CocoAnnotation a;
  a.id = id;
  a.image_id = image_id;
  a.category_id = 1;
  a.bbox = bbox;
  a.area = bbox[2] * bbox[3];
  a.keypoints = keypoints_in(bbox);
  a.num_keypoints = 17;
  return a;
}

CocoAnnotation crowd(std::int64_t id, std::int64_t image_id, std::array<double, 4> bbox) {
  CocoAnnotation a;
  a.id = id;
  a.image_id = image_id;
  a.category_id = 1;
  a.bbox = bbox;
  a.area = bbox[2] * bbox[3];
  a.iscrowd = true;
  a.keypoints.assign(51, 0.0);
  a.num_keypoints = 0;
  return a;
}

CocoDataset dataset(int num_images, std::vector<CocoAnnotation> anns) {
  CocoDataset ds;
  for (int i = 1; i <= num_images; ++i) ds.images.push_back({i, 640, 480, ""});
  ds.annotations = std::move(anns);
  ds.categories.push_back({1, "person", {}, {}});
  return ds;
}

// A detection exactly on a box: bbox as given, keypoints spread over it, score.
CocoResult det(std::int64_t image_id, std::array<double, 4> bbox, double score) {
  CocoResult r;
  r.image_id = image_id;
  r.category_id = 1;
  r.score = score;
  r.bbox = bbox;
  r.keypoints = keypoints_in(bbox, 1.0);
  return r;
}

CocoResult perfect(const CocoAnnotation& a, double score) { return det(a.image_id, a.bbox, score); }

// Scratch files live in a directory of this process, removed when the tests end.
std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("sp_test_coco_eval_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir(), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kScratchCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

std::string temp_file(const std::string& name, const std::string& content) {
  const auto path = scratch_dir() / name;
  std::ofstream(path) << content;
  return path.string();
}

// Runs f, expects sp::Error whose one-line message contains every piece.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> pieces) {
  try {
    f();
    ADD_FAILURE() << "no sp::Error thrown";
  } catch (const sp::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

void expect_all(const CocoSummary& s, double value, double tol = kTight) {
  for (const auto& [name, v] : s.items()) EXPECT_NEAR(v, value, tol) << coco::iou_type_name(s.iou_type) << " " << name;
}

// One person per image, of every size: small (20x20), medium (50x50), large (200x300, 150x100).
CocoDataset four_sizes() {
  return dataset(5, {person(11, 1, {10, 10, 20, 20}), person(12, 2, {30, 40, 50, 50}), person(13, 3, {100, 50, 200, 300}),
                     person(14, 4, {5, 5, 150, 100})});
}

}  // namespace

TEST(CocoEval, DefaultThresholdsAreNumpyLinspace) {
  const auto p = coco::CocoEvalParams::defaults(coco::IouType::kBbox);
  ASSERT_EQ(p.iou_thrs.size(), 10u);
  ASSERT_EQ(p.rec_thrs.size(), 101u);
  EXPECT_EQ(p.iou_thrs[0], 0.5);
  EXPECT_EQ(p.iou_thrs[5], 0.75);  // summarize() finds AP75 by exact comparison
  EXPECT_EQ(p.iou_thrs[8], 0.8999999999999999);
  EXPECT_EQ(p.iou_thrs[9], 0.95);
  EXPECT_EQ(p.rec_thrs[7], 7 * 0.01);  // 0.07000000000000001, not 0.07: decides searchsorted ties
  EXPECT_EQ(p.rec_thrs[100], 1.0);
  const auto k = coco::CocoEvalParams::defaults(coco::IouType::kKeypoints);
  ASSERT_EQ(k.kpt_oks_sigmas.size(), 17u);
  EXPECT_EQ(k.kpt_oks_sigmas[0], .26 / 10.0);
  EXPECT_EQ(k.max_dets, std::vector<int>{20});
  EXPECT_EQ(k.area_rng_lbl, (std::vector<std::string>{"all", "medium", "large"}));
}

TEST(CocoEval, PerfectDetectionsGiveOne) {
  const CocoDataset gt = four_sizes();
  std::vector<CocoResult> res;
  for (std::size_t i = 0; i < gt.annotations.size(); ++i) res.push_back(perfect(gt.annotations[i], 0.9 - 0.1 * i));
  const CocoSummary kp = coco::evaluate_keypoints(gt, res);
  const CocoSummary bb = coco::evaluate_bbox(gt, res);
  ASSERT_EQ(kp.stats.size(), 10u);
  ASSERT_EQ(bb.stats.size(), 12u);
  expect_all(kp, 1.0);
  expect_all(bb, 1.0);
  EXPECT_NEAR(kp.ap, 1.0, kTight);
  EXPECT_NEAR(bb.ar1, 1.0, kTight);
  EXPECT_TRUE(std::isnan(kp.ap_small));
  EXPECT_TRUE(std::isnan(bb.ar50));
}

TEST(CocoEval, SummaryNamesAndOrderMatchReferenceJson) {
  const CocoDataset gt = four_sizes();
  const CocoSummary kp = coco::evaluate_keypoints(gt, Results{});
  const CocoSummary bb = coco::evaluate_bbox(gt, Results{});
  std::vector<std::string> kn, bn;
  for (const auto& [n, v] : kp.items()) kn.push_back(n);
  for (const auto& [n, v] : bb.items()) bn.push_back(n);
  EXPECT_EQ(kn, (std::vector<std::string>{"AP", "AP50", "AP75", "AP_M", "AP_L", "AR", "AR50", "AR75", "AR_M", "AR_L"}));
  EXPECT_EQ(bn, (std::vector<std::string>{"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AR1", "AR10", "AR100", "AR_S",
                                          "AR_M", "AR_L"}));
  EXPECT_THROW(kp.get("AR1"), sp::Error);
  const std::string text = coco::format_summary(kp);
  EXPECT_NE(text.find(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 0.000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" Average Recall     (AR) @[ IoU=0.75      | area=   all | maxDets= 20 ] = 0.000\n"),
            std::string::npos)
      << text;
}


namespace {

void expect_stats(const CocoSummary& s, std::initializer_list<std::pair<const char*, double>> want, double tol = kTight) {
  for (const auto& [name, v] : want) EXPECT_NEAR(s.get(name), v, tol) << coco::iou_type_name(s.iou_type) << " " << name;
}

}  // namespace

// A detection that lies on a crowd region matches it and is ignored, even with a higher score than the
// true positive; without the crowd region it is a false positive and AP halves.
TEST(CocoEval, DetectionOnCrowdRegionIsIgnored) {
  const CocoAnnotation p = person(1, 1, {10, 10, 120, 200});      // large
  const CocoAnnotation c = crowd(2, 1, {300, 100, 300, 300});     // large, no keypoints
  const std::vector<CocoResult> res = {det(1, {350, 150, 110, 220}, 0.9), perfect(p, 0.5)};

  const CocoDataset with_crowd = dataset(1, {p, c});
  // bbox: IoU against a crowd box is intersection / detection area = 1. AR1 = 0: the one detection
  // kept is the ignored one.
  expect_stats(coco::evaluate_bbox(with_crowd, res), {{"AP", 1}, {"AP50", 1}, {"AP75", 1}, {"AP_S", -1}, {"AP_M", -1},
                                                      {"AP_L", 1}, {"AR1", 0}, {"AR10", 1}, {"AR100", 1}, {"AR_L", 1}});
  // keypoints: OKS against a ground truth without labelled keypoints is measured to its box grown 2x,
  // the detection's keypoints are inside it, so OKS = 1.
  expect_stats(coco::evaluate_keypoints(with_crowd, res),
               {{"AP", 1}, {"AP_M", -1}, {"AP_L", 1}, {"AR", 1}, {"AR_M", -1}, {"AR_L", 1}});

  const CocoDataset without_crowd = dataset(1, {p});
  // FP (0.9) then TP (0.5): precision 1/2 at recall 1, made monotone -> 0.5 at every recall threshold.
  expect_stats(coco::evaluate_bbox(without_crowd, res), {{"AP", 0.5}, {"AP_L", 0.5}, {"AR100", 1}});
  expect_stats(coco::evaluate_keypoints(without_crowd, res), {{"AP", 0.5}, {"AR", 1}});
}

// num_keypoints == 0 ground truth is ignored by the keypoints evaluation only.
TEST(CocoEval, UnlabelledPersonIgnoredForKeypointsOnly) {
  CocoAnnotation q = person(2, 1, {300, 100, 100, 200});
  q.keypoints.assign(51, 0.0);
  q.num_keypoints = 0;
  const CocoAnnotation p = person(1, 1, {10, 10, 120, 200});
  const CocoDataset gt = dataset(1, {p, q});
  const std::vector<CocoResult> res = {perfect(p, 0.5)};
  expect_stats(coco::evaluate_keypoints(gt, res), {{"AP", 1}, {"AR", 1}});
  // bbox: recall reaches 1/2 with precision 1, so 51 of the 101 recall thresholds (0, .01, ..., .5) read 1.
  expect_stats(coco::evaluate_bbox(gt, res), {{"AP", 51.0 / 101.0}, {"AR100", 0.5}, {"AR1", 0.5}});
}

// OKS worked out by hand: every keypoint off by d pixels along x.
TEST(CocoEval, OksAgainstHandComputation) {
  const CocoAnnotation p = person(1, 1, {100, 100, 100, 200});
  const CocoDataset gt = dataset(1, {p});
  CocoResult r = perfect(p, 0.8);
  const double d = 10.0;
  for (std::size_t j = 0; j < 17; ++j) r.keypoints[3 * j] += d;
  const auto params = coco::CocoEvalParams::defaults(coco::IouType::kKeypoints);
  double oks = 0;
  for (double s : params.kpt_oks_sigmas) oks += std::exp(-d * d / ((2 * s) * (2 * s)) / p.area / 2);
  oks /= 17;
  int passed = 0;
  for (double t : params.iou_thrs) {
    ASSERT_GT(std::fabs(t - oks), 1e-6) << "pick another d: OKS sits on a threshold";
    passed += t <= oks;
  }
  ASSERT_GT(passed, 0);
  ASSERT_LT(passed, 10);
  // One ground truth, one detection: AP and AR at a threshold are 1 if OKS reaches it, else 0.
  const CocoSummary s = coco::evaluate_keypoints(gt, Results{r});
  expect_stats(s, {{"AP", passed / 10.0}, {"AR", passed / 10.0}, {"AP50", 1}, {"AR50", 1}, {"AP_L", passed / 10.0}});
  EXPECT_NEAR(s.get("AP75"), oks >= 0.75 ? 1.0 : 0.0, kTight);
}

TEST(CocoEval, EmptyResultsGiveZeroOrMinusOne) {
  // Ground truth in every range: 0 everywhere.
  expect_all(coco::evaluate_keypoints(four_sizes(), Results{}), 0.0);
  expect_all(coco::evaluate_bbox(four_sizes(), Results{}), 0.0);
  // Only a medium person: the ranges without ground truth are -1, as pycocotools prints them.
  const CocoDataset medium = dataset(2, {person(1, 1, {30, 40, 50, 50})});
  expect_stats(coco::evaluate_keypoints(medium, Results{}), {{"AP", 0}, {"AP50", 0}, {"AP75", 0}, {"AP_M", 0}, {"AP_L", -1},
                                                      {"AR", 0}, {"AR50", 0}, {"AR75", 0}, {"AR_M", 0}, {"AR_L", -1}});
  expect_stats(coco::evaluate_bbox(medium, Results{}),
               {{"AP", 0}, {"AP_S", -1}, {"AP_M", 0}, {"AP_L", -1}, {"AR1", 0}, {"AR100", 0}, {"AR_S", -1}, {"AR_L", -1}});
  // No ground truth at all.
  expect_all(coco::evaluate_keypoints(dataset(3, {}), Results{}), -1.0);
  expect_all(coco::evaluate_bbox(dataset(3, {}), Results{}), -1.0);
  // Only crowd: nothing to find, detections on it are ignored.
  const CocoDataset only_crowd = dataset(1, {crowd(1, 1, {0, 0, 300, 300})});
  expect_all(coco::evaluate_bbox(only_crowd, Results{det(1, {10, 10, 50, 50}, 0.9)}), -1.0);
}

TEST(CocoEval, MaxDetsTruncation) {
  const CocoAnnotation p = person(1, 1, {100, 100, 100, 200});
  const CocoDataset gt = dataset(1, {p});
  // bbox: a higher-scored false positive hides the true positive from AR@1 only.
  const std::vector<CocoResult> two = {det(1, {400, 100, 100, 100}, 0.9), perfect(p, 0.8)};
  expect_stats(coco::evaluate_bbox(gt, two), {{"AR1", 0}, {"AR10", 1}, {"AR100", 1}, {"AP", 0.5}, {"AP_L", 0.5}});

  // keypoints (maxDets 20): 19 false positives above the true positive still leave it in...
  std::vector<CocoResult> res;
  for (int i = 0; i < 19; ++i) res.push_back(det(1, {400.0 + i, 300, 100, 100}, 0.9 - 0.01 * i));
  res.push_back(perfect(p, 0.5));
  // ...precision at recall 1 is 1/20, the envelope carries it to every recall threshold.
  expect_stats(coco::evaluate_keypoints(gt, res), {{"AP", 0.05}, {"AR", 1}});
  // ...a 20th one pushes it out.
  res.push_back(det(1, {420, 300, 100, 100}, 0.6));
  expect_stats(coco::evaluate_keypoints(gt, res), {{"AP", 0}, {"AR", 0}});
  // bbox keeps 100 per image: the true positive still counts for AR@100.
  expect_stats(coco::evaluate_bbox(gt, res), {{"AR10", 0}, {"AR100", 1}});
}

// Equal scores keep their file order (np.argsort(-score, kind='mergesort')); across images the
// accumulated list is in ascending image id order whatever the results order.
TEST(CocoEval, StableTieOrder) {
  const CocoAnnotation p = person(1, 1, {100, 100, 100, 200});
  const CocoDataset gt = dataset(2, {p});
  const CocoResult fp = det(1, {400, 100, 100, 100}, 0.7);
  const CocoResult tp = perfect(p, 0.7);
  expect_stats(coco::evaluate_bbox(gt, Results{fp, tp}), {{"AP", 0.5}});
  expect_stats(coco::evaluate_bbox(gt, Results{tp, fp}), {{"AP", 1}});

  CocoResult fp2 = fp;  // the false positive on image 2
  fp2.image_id = 2;
  expect_stats(coco::evaluate_bbox(gt, Results{tp, fp2}), {{"AP", 1}});
  expect_stats(coco::evaluate_bbox(gt, Results{fp2, tp}), {{"AP", 1}});
  // The true positive on image 2, the false positive on image 1: image 1 comes first.
  const CocoDataset gt2 = dataset(2, {person(1, 2, {100, 100, 100, 200})});
  CocoResult tp2 = tp;
  tp2.image_id = 2;
  expect_stats(coco::evaluate_bbox(gt2, Results{tp2, fp}), {{"AP", 0.5}});
}

// params.img_ids restricts the evaluation to some images, as pycocotools' params.imgIds.
TEST(CocoEval, ImageSubset) {
  const CocoDataset gt = four_sizes();
  const Results res = {perfect(gt.annotations[1], 0.9)};  // only image 2's person is found
  expect_stats(coco::evaluate_bbox(gt, res), {{"AR100", 0.25}, {"AR_M", 1}, {"AR_S", 0}});
  auto params = coco::CocoEvalParams::defaults(coco::IouType::kBbox);
  params.img_ids = {2, 5};
  const coco::CocoEvalOutput out = coco::run_coco_eval(gt, res, params);
  EXPECT_EQ(out.img_ids, (std::vector<std::int64_t>{2, 5}));
  expect_stats(out.summary, {{"AP", 1}, {"AR100", 1}, {"AR_S", -1}, {"AR_L", -1}});
  EXPECT_EQ(out.recall_at(0, 0, 0, 2), 1.0);     // t=.5, person, all, maxDets 100
  EXPECT_EQ(out.precision_at(0, 100, 0, 1, 2), -1.0);  // small: no ground truth
}

// pycocotools' loadRes: without a bbox on the first result, bbox and area come from the keypoints.
TEST(CocoEval, KeypointOnlyResultsUseKeypointExtent) {
  const CocoAnnotation p = person(1, 1, {100, 100, 100, 200});
  const CocoDataset gt = dataset(1, {p});
  CocoResult r = perfect(p, 0.9);
  r.bbox.reset();
  // The extent of keypoints_in() is 80% of the box each way: IoU 0.64.
  const CocoSummary s = coco::evaluate_bbox(gt, Results{r});
  expect_stats(s, {{"AP50", 1}, {"AP75", 0}, {"AP", 0.3}});
  expect_stats(coco::evaluate_keypoints(gt, Results{r}), {{"AP", 1}});
  // A later result without bbox when the first has one is an error.
  CocoResult with_box = perfect(p, 0.5);
  expect_error([&] { coco::evaluate_bbox(gt, Results{with_box, r}); }, {"result 1", "bbox"});
}

TEST(CocoEval, InvalidInputsToEvaluation) {
  const CocoDataset gt = four_sizes();
  CocoResult r = perfect(gt.annotations[0], 0.9);
  r.image_id = 999;
  expect_error([&] { coco::evaluate_bbox(gt, Results{r}); }, {"999", "not an image"});
  CocoResult no_kp = perfect(gt.annotations[0], 0.9);
  no_kp.keypoints.clear();
  EXPECT_NO_THROW(coco::evaluate_bbox(gt, Results{no_kp}));
  expect_error([&] { coco::evaluate_keypoints(gt, Results{no_kp}); }, {"result 0", "keypoint"});
  // Results of a category the annotations do not list are not evaluated.
  CocoResult other = perfect(gt.annotations[0], 0.9);
  other.category_id = 7;
  expect_all(coco::evaluate_bbox(gt, Results{other}), 0.0);
}

TEST(CocoJson, MalformedFilesThrowOneLineErrors) {
  expect_error([] { coco::load_coco_annotations("/nonexistent/dir/gt.json"); }, {"/nonexistent/dir/gt.json", "cannot open"});
  expect_error([] { coco::load_coco_results("/nonexistent/dir/res.json"); }, {"/nonexistent/dir/res.json", "cannot open"});

  const std::string bad = temp_file("bad.json", "{\"images\": [");
  expect_error([&] { coco::load_coco_annotations(bad); }, {bad, "invalid JSON"});
  expect_error([&] { coco::load_coco_results(bad); }, {bad, "invalid JSON"});

  const std::string no_images = temp_file("noimages.json", R"({"annotations": [], "categories": []})");
  expect_error([&] { coco::load_coco_annotations(no_images); }, {no_images, "images"});

  const std::string no_bbox = temp_file(
      "nobbox.json",
      R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "area": 3}]})");
  expect_error([&] { coco::load_coco_annotations(no_bbox); }, {no_bbox, "annotations[0] (id 5)", "'bbox'"});

  const std::string short_bbox = temp_file(
      "shortbbox.json",
      R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "area": 3, "bbox": [1, 2, 3]}]})");
  expect_error([&] { coco::load_coco_annotations(short_bbox); }, {short_bbox, "bbox", "4 numbers"});

  const std::string str_id = temp_file(
      "strid.json", R"({"images": [{"id": "one"}], "categories": [{"id": 1}], "annotations": []})");
  expect_error([&] { coco::load_coco_annotations(str_id); }, {str_id, "images[0]", "'id'", "integer"});

  const std::string not_array = temp_file("notarray.json", R"({"image_id": 1})");
  expect_error([&] { coco::load_coco_results(not_array); }, {not_array, "array"});

  const std::string no_score =
      temp_file("noscore.json", R"([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}])");
  expect_error([&] { coco::load_coco_results(no_score); }, {no_score, "results[0]", "'score'"});

  const std::string bad_kp = temp_file(
      "badkp.json", R"([{"image_id": 1, "category_id": 1, "score": 0.5, "keypoints": [1, 2, 3, 4]}])");
  expect_error([&] { coco::load_coco_results(bad_kp); }, {bad_kp, "results[0]", "keypoints"});

  const std::string neither = temp_file("neither.json", R"([{"image_id": 1, "category_id": 1, "score": 0.5}])");
  expect_error([&] { coco::load_coco_results(neither); }, {neither, "neither"});

  expect_error([] { coco::write_coco_results("/nonexistent/dir/out.json", {}); }, {"/nonexistent/dir/out.json"});
}

TEST(CocoJson, ParsesOptionalFields) {
  const std::string f = temp_file("ok.json", R"({
    "images": [{"id": 3, "width": 640, "height": 480, "file_name": "a.jpg"}],
    "categories": [{"id": 1, "name": "person", "keypoints": ["nose"], "skeleton": [[1, 2]]}],
    "annotations": [
      {"id": 1, "image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 1, "segmentation": {"counts": [1]}},
      {"id": 2, "image_id": 3.0, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 10, "keypoints": [1, 2, 2, 0, 0, 0, 5, 6, 1]}
    ]})");
  const CocoDataset ds = coco::load_coco_annotations(f);
  ASSERT_EQ(ds.images.size(), 1u);
  EXPECT_EQ(ds.images[0].file_name, "a.jpg");
  EXPECT_EQ(ds.images[0].width, 640);
  ASSERT_EQ(ds.annotations.size(), 2u);
  EXPECT_TRUE(ds.annotations[0].iscrowd);
  EXPECT_DOUBLE_EQ(ds.annotations[0].area, 12.5);
  EXPECT_FALSE(ds.annotations[1].iscrowd);
  EXPECT_EQ(ds.annotations[1].image_id, 3);
  EXPECT_EQ(ds.annotations[1].num_keypoints, 2);  // absent: counted from v > 0
  ASSERT_EQ(ds.categories.size(), 1u);
  EXPECT_EQ(ds.categories[0].skeleton.size(), 1u);
}

TEST(CocoJson, ResultsRoundTripAndRounding) {
  coco::CocoDetection d;
  d.image_id = 42;
  d.box = {175.96f, 155.93f, 219.73f, 237.08f};
  d.score = 0.018701f;
  for (int j = 0; j < 17; ++j) d.keypoints[static_cast<std::size_t>(j)] = {201.33f + j, 168.52f, 0.27814f};
  const CocoResult r = coco::to_coco_result(d);
  ASSERT_TRUE(r.bbox.has_value());
  EXPECT_DOUBLE_EQ((*r.bbox)[0], static_cast<double>(175.96f));
  EXPECT_DOUBLE_EQ((*r.bbox)[2], static_cast<double>(219.73f) - static_cast<double>(175.96f));  // xyxy -> xywh
  ASSERT_EQ(r.keypoints.size(), 51u);

  const std::string path = temp_file("roundtrip.json", "");
  coco::write_coco_results(path, std::vector<CocoResult>{r});
  const auto back = coco::load_coco_results(path);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].image_id, 42);
  EXPECT_EQ(back[0].category_id, 1);
  EXPECT_EQ(back[0].score, r.score);  // full precision survives the text
  EXPECT_EQ(*back[0].bbox, *r.bbox);
  EXPECT_EQ(back[0].keypoints, r.keypoints);

  const CocoResult rr = coco::to_coco_result(d, coco::CocoRounding::reference());
  EXPECT_EQ((*rr.bbox)[0], 175.96);
  EXPECT_EQ((*rr.bbox)[2], 43.77);
  EXPECT_EQ(rr.score, 0.0187);
  EXPECT_EQ(rr.keypoints[2], 0.2781);
  EXPECT_EQ(rr.keypoints[3], 202.33);
  EXPECT_EQ(coco::round_decimals(2.675, 2), 2.67);  // as Python: 2.675 is 2.67499999... in binary
  EXPECT_EQ(coco::round_decimals(0.125, 2), 0.12);  // exact tie: to even
  EXPECT_EQ(coco::round_decimals(1.5, -1), 1.5);

  coco::write_coco_results(path, std::vector<CocoResult>{r}, coco::CocoRounding::reference());
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"bbox\":[175.96,155.93,43.77,81.15]"), std::string::npos) << text;
  EXPECT_EQ(text.rfind("[{\"image_id\":42,\"category_id\":1,\"score\":0.0187,", 0), 0u) << text;
}

// The bundled 50-image subset (runs without ../shared): detections made from the ground truth itself,
// through CocoDetection (xyxy, float) -> CocoResult -> file -> evaluator.
TEST(CocoEval, BundledSubsetPerfectDetections) {
  const CocoDataset gt = coco::load_coco_annotations(sp::test::source_path("assets/coco/person_keypoints.json"));
  ASSERT_EQ(gt.images.size(), 50u);
  std::vector<coco::CocoDetection> kp_dets, box_dets;
  double score = 0.99;
  for (const CocoAnnotation& a : gt.annotations) {
    if (a.iscrowd) continue;
    coco::CocoDetection d;
    d.image_id = a.image_id;
    d.box = {static_cast<float>(a.bbox[0]), static_cast<float>(a.bbox[1]), static_cast<float>(a.bbox[0] + a.bbox[2]),
             static_cast<float>(a.bbox[1] + a.bbox[3])};
    d.score = static_cast<float>(score);
    score -= 0.01;
    for (std::size_t j = 0; j < 17; ++j)
      d.keypoints[j] = {static_cast<float>(a.keypoints[3 * j]), static_cast<float>(a.keypoints[3 * j + 1]), 1.0f};
    box_dets.push_back(d);
    if (a.num_keypoints > 0) kp_dets.push_back(d);
  }
  ASSERT_GT(kp_dets.size(), 10u);
  const std::string kp_path = temp_file("subset_kp.json", "");
  coco::write_coco_results(kp_path, coco::to_coco_results(kp_dets));
  const CocoSummary kp = coco::evaluate_keypoints(gt, coco::load_coco_results(kp_path));
  const CocoSummary bb = coco::evaluate_bbox(gt, coco::to_coco_results(box_dets));
  std::printf("%s%s", coco::format_summary(kp).c_str(), coco::format_summary(bb).c_str());
  // Every AP that has ground truth is 1 (the float round trip moves boxes and keypoints by ~1e-5 px).
  for (const auto& s : {kp, bb})
    for (const coco::CocoStat& st : s.stats) {
      if (st.value == -1.0) continue;
      if (st.is_ap || st.max_dets >= 10) {
        EXPECT_NEAR(st.value, 1.0, 1e-9) << coco::iou_type_name(s.iou_type) << " " << st.name;
      }
    }
  EXPECT_NEAR(kp.ap, 1.0, 1e-9);
  EXPECT_NEAR(kp.ar, 1.0, 1e-9);
  EXPECT_NEAR(bb.ap, 1.0, 1e-9);
  EXPECT_NEAR(bb.ar100, 1.0, 1e-9);
  EXPECT_GT(bb.ar1, 0.0);
  EXPECT_LE(bb.ar1, 1.0);
}

// The real thing: pycocotools' numbers for ONNX Runtime's detections on the 513-image dev set.
TEST(CocoEval, ReproducesPycocotoolsReference) {
  SP_REQUIRE_SHARED();
  const auto t0 = std::chrono::steady_clock::now();
  const CocoDataset gt = coco::load_coco_annotations(sp::test::shared_path("data/coco-pose-dev/person_keypoints.json"));
  const std::vector<CocoResult> res = coco::load_coco_results(sp::test::shared_path("reference/ort-fp32-dev.results.json"));
  const auto t1 = std::chrono::steady_clock::now();
  const CocoSummary kp = coco::evaluate_keypoints(gt, res);
  const CocoSummary bb = coco::evaluate_bbox(gt, res);
  const auto t2 = std::chrono::steady_clock::now();
  ASSERT_EQ(gt.images.size(), 513u);
  ASSERT_EQ(res.size(), 8230u);

  std::ifstream in(sp::test::shared_path("reference/ort-fp32-dev.cocoeval.json"));
  ASSERT_TRUE(in) << "cannot open the reference summary";
  const nlohmann::json ref = nlohmann::json::parse(in);
  for (const CocoSummary* s : {&kp, &bb}) {
    const nlohmann::json& r = ref.at(coco::iou_type_name(s->iou_type));
    ASSERT_EQ(r.size(), s->stats.size());
    std::size_t i = 0;
    for (const auto& [key, value] : r.items()) {  // nlohmann sorts keys: compare by name
      (void)value;
      ++i;
      const double want = r.at(key).get<double>();
      const double got = s->get(key);
      std::printf("%-9s %-5s ref %.6f  ours %.8f  |diff| %.2e\n", coco::iou_type_name(s->iou_type), key.c_str(), want,
                  got, std::fabs(got - want));
      EXPECT_NEAR(got, want, 1e-4) << coco::iou_type_name(s->iou_type) << " " << key;
    }
    EXPECT_EQ(i, s->stats.size());
  }
  std::printf("%s%s", coco::format_summary(kp).c_str(), coco::format_summary(bb).c_str());
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double eval_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("load %.3f s, evaluate keypoints + bbox %.3f s\n", load_s, eval_s);
  EXPECT_LT(eval_s, 5.0);

  // Writing the results and reading them back changes nothing.
  const std::string path = temp_file("ref_roundtrip.json", "");
  coco::write_coco_results(path, res);
  const auto back = coco::load_coco_results(path);
  const CocoSummary kp2 = coco::evaluate_keypoints(gt, back);
  for (std::size_t i = 0; i < kp.stats.size(); ++i) EXPECT_EQ(kp2.stats[i].value, kp.stats[i].value);

  // And the summary file has the reference's layout.
  const CocoSummary both[] = {kp, bb};
  const nlohmann::json mine = nlohmann::json::parse(coco::format_summaries_json(both));
  for (const auto& [type, stats] : ref.items())
    for (const auto& [key, value] : stats.items()) EXPECT_NEAR(mine.at(type).at(key).get<double>(), value.get<double>(), 1e-4);
}
