// COCO data in memory, and reading/writing it as JSON: annotation files (images, annotations,
// categories) and results files ([{image_id, category_id, bbox, score, keypoints}]).
//
// Loading is strict about what the evaluator needs and lenient about the rest (segmentation,
// licenses, info, ... are skipped). Every failure throws sp::Error with one line naming the file and
// what was wrong. nlohmann/json stays inside coco_json.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/pose_types.h"

namespace sp::models::coco {

// The COCO "person" category id; our detections are all of it unless told otherwise.
inline constexpr std::int64_t kPersonCategoryId = 1;

struct CocoImage {
  std::int64_t id = 0;
  int width = 0;   // 0 when absent
  int height = 0;  // 0 when absent
  std::string file_name;
};

struct CocoCategory {
  std::int64_t id = 0;
  std::string name;
  std::vector<std::string> keypoints;              // keypoint names, may be empty
  std::vector<std::pair<int, int>> skeleton;       // 1-based keypoint index pairs, as in the file
};

// One ground-truth annotation. 'area' is the annotation's own field (segmentation area), which is what
// pycocotools uses for the area ranges and the OKS scale, not bbox w*h.
struct CocoAnnotation {
  std::int64_t id = 0;
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  std::array<double, 4> bbox{};   // COCO xywh: left, top, width, height
  double area = 0.0;
  bool iscrowd = false;           // absent -> false
  std::vector<double> keypoints;  // x, y, v triplets (3*K values); empty when absent
  int num_keypoints = 0;          // absent -> number of keypoints with v > 0
};

struct CocoDataset {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

// One entry of a COCO results file. Which fields must be present follows pycocotools' loadRes: the
// evaluator needs a bbox on every result if the first result has one (then area = w*h), otherwise
// keypoints on every result (then bbox and area are the keypoints' extent).
struct CocoResult {
  std::int64_t image_id = 0;
  std::int64_t category_id = kPersonCategoryId;
  double score = 0.0;
  std::optional<std::array<double, 4>> bbox;  // COCO xywh
  std::vector<double> keypoints;              // x, y, score triplets (51 for COCO persons); may be empty
};

// Our own detection of one image, as the pipeline produces it, ready to become a CocoResult.
// The box is xyxy (corners, see pose_types.h Box) in ORIGINAL image pixels; to_coco_result converts it
// to COCO's xywh. Keypoints are x, y in original image pixels and conf in [0, 1].
struct CocoDetection {
  std::int64_t image_id = 0;
  std::int64_t category_id = kPersonCategoryId;
  Box box;  // xyxy
  float score = 0.0f;
  std::array<Keypoint, kNumKeypoints> keypoints{};
};

// Decimal places to round each kind of number to when converting or writing results; -1 keeps the
// value as is. reference() is what the shared reference results files use (ort-fp32-dev.results.json):
// bbox and keypoint x/y to 2 places, score to 5, keypoint conf to 4.
struct CocoRounding {
  int bbox = -1;
  int score = -1;
  int keypoint_xy = -1;
  int keypoint_conf = -1;

  static CocoRounding none() { return {}; }
  static CocoRounding reference() { return {2, 5, 2, 4}; }
};

// Rounds value to 'decimals' places exactly as Python's round(value, decimals) does (correct decimal
// rounding of the binary value); decimals < 0 returns value unchanged.
double round_decimals(double value, int decimals);

CocoDetection make_coco_detection(std::int64_t image_id, const PoseDetection& detection,
                                  std::int64_t category_id = kPersonCategoryId);
CocoResult to_coco_result(const CocoDetection& detection, const CocoRounding& rounding = CocoRounding::none());
std::vector<CocoResult> to_coco_results(std::span<const CocoDetection> detections,
                                        const CocoRounding& rounding = CocoRounding::none());

// Loads a COCO annotation file (instances or person_keypoints). Requires images[].id; annotations[]
// id, image_id, category_id, bbox (4 numbers) and area; categories[].id. Optional: iscrowd (0),
// keypoints (empty; else a multiple of 3 numbers), num_keypoints (count of v > 0).
CocoDataset load_coco_annotations(const std::string& path);

// Loads a COCO results file: a JSON array of objects with image_id, category_id, score, and a bbox
// (4 numbers) and/or keypoints (a multiple of 3 numbers).
std::vector<CocoResult> load_coco_results(const std::string& path);

// Writes a COCO results file (keys in the order image_id, category_id, score, bbox, keypoints; a
// missing bbox or empty keypoints is left out). Throws sp::Error when the file cannot be written.
void write_coco_results(const std::string& path, std::span<const CocoResult> results,
                        const CocoRounding& rounding = CocoRounding::none());

// The same, parsing from / writing to a string (what the file functions use; 'origin' names the
// source in error messages).
CocoDataset parse_coco_annotations(const std::string& text, const std::string& origin);
std::vector<CocoResult> parse_coco_results(const std::string& text, const std::string& origin);
std::string format_coco_results(std::span<const CocoResult> results,
                                const CocoRounding& rounding = CocoRounding::none());

}  // namespace sp::models::coco
