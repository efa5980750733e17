// COCO evaluation (COCOeval of pycocotools) for iouType 'keypoints' (OKS) and 'bbox' (IoU).
//
// It reproduces pycocotools step by step, including its quirks, so that the numbers match:
//  - images = every image id of the annotation file (sorted), categories = every category id;
//    ground truth and detections are grouped per (image, category), each group in file order;
//  - results must only name images of the annotation file (pycocotools asserts it); results of
//    categories the annotation file does not list are not evaluated;
//  - a result's area is bbox w*h when the FIRST result has a bbox, else its keypoints' extent (and its
//    bbox becomes that extent) — pycocotools' loadRes;
//  - ground truth is ignored when iscrowd, and for keypoints also when num_keypoints == 0; a ground
//    truth outside the area range is ignored for that range; 'area' of the annotation is used;
//  - detections of a group are sorted by descending score, ties kept in file order (numpy's stable
//    mergesort), then cut to the largest maxDets; accumulation sorts all images' detections again,
//    stably, images in ascending id order;
//  - bbox IoU against a crowd box uses the detection's area as the union; OKS against a ground truth
//    with no labelled keypoint uses the distance to its box grown by its size on every side;
//  - greedy matching at each IoU threshold, crowd ground truth can take many detections, a detection
//    on an ignored ground truth is ignored, an unmatched detection outside the area range is ignored;
//  - precision made monotone (the envelope), read at the 101 recall thresholds (0 past the last
//    reached recall), precision and recall -1 where a setting has no non-ignored ground truth;
//  - summaries are means over the entries > -1 (numpy's pairwise summation), -1 when none.
// Two quirks are kept on purpose: a match to a ground truth whose id is 0 counts as no match (pycocotools
// stores matches by id), and the iouThrs/recThrs values are computed as numpy.linspace does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/coco_json.h"

namespace sp::models::coco {

enum class IouType { kKeypoints, kBbox };

const char* iou_type_name(IouType type);  // "keypoints" / "bbox", as pycocotools and the reference JSON

// COCOeval's Params. defaults() gives pycocotools' values for the type.
struct CocoEvalParams {
  IouType iou_type = IouType::kKeypoints;
  std::vector<std::int64_t> img_ids;              // images to evaluate; empty: all of the annotations'
  std::vector<double> iou_thrs;                   // T: .50:.05:.95
  std::vector<double> rec_thrs;                   // R: 0:.01:1
  std::vector<std::array<double, 2>> area_rng;    // A: [min, max] of annotation area, inclusive
  std::vector<std::string> area_rng_lbl;          // A labels: all / small / medium / large
  std::vector<int> max_dets;                      // M, ascending: keypoints {20}, bbox {1, 10, 100}
  std::vector<double> kpt_oks_sigmas;             // 17 COCO sigmas (keypoints only)

  static CocoEvalParams defaults(IouType type);
};

// One summary number, with what pycocotools prints for it.
struct CocoStat {
  std::string name;          // key in the reference JSON: "AP", "AP50", "AR_M", "AR100", ...
  double value = -1.0;       // -1 when there is nothing to average
  bool is_ap = true;         // average precision, else average recall
  double iou_thr = -1.0;     // a single IoU threshold, or -1 for .50:.95
  std::string area;          // area range label
  int max_dets = 0;
};

// summarize(): keypoints gives 10 stats (AP AP50 AP75 AP_M AP_L AR AR50 AR75 AR_M AR_L), bbox gives 12
// (AP AP50 AP75 AP_S AP_M AP_L AR1 AR10 AR100 AR_S AR_M AR_L), in pycocotools' stats order.
// The named fields hold the same numbers; a field that the type does not report is NaN.
struct CocoSummary {
  IouType iou_type = IouType::kKeypoints;
  std::vector<CocoStat> stats;

  double ap = -1, ap50 = -1, ap75 = -1;
  double ap_small = -1, ap_medium = -1, ap_large = -1;  // ap_small: bbox only
  double ar = -1;                                       // keypoints: AR@20; bbox: AR@100 (== ar100)
  double ar50 = -1, ar75 = -1;                          // keypoints only
  double ar1 = -1, ar10 = -1, ar100 = -1;               // bbox only
  double ar_small = -1, ar_medium = -1, ar_large = -1;  // ar_small: bbox only

  // Value of the stat with that reference-JSON name; throws sp::Error for an unknown name.
  double get(std::string_view name) const;
  // The stats as (name, value) pairs, in the order and with the keys of the reference JSON.
  std::vector<std::pair<std::string, double>> items() const;
};

// Everything accumulate() produces, for PR curves and custom summaries.
struct CocoEvalOutput {
  CocoEvalParams params;
  std::vector<std::int64_t> img_ids;  // sorted unique
  std::vector<std::int64_t> cat_ids;  // sorted unique
  // precision[T][R][K][A][M] and recall[T][K][A][M], flattened row-major; -1 where no ground truth.
  std::vector<double> precision;
  std::vector<double> recall;
  CocoSummary summary;

  double precision_at(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const;
  double recall_at(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const;
};

// evaluate() + accumulate() + summarize() with the given params. Throws sp::Error on results that
// name an image the annotations do not have, results without the bbox/keypoints the evaluation needs,
// and keypoint arrays whose length does not match the sigmas.
CocoEvalOutput run_coco_eval(const CocoDataset& gt, std::span<const CocoResult> results,
                             const CocoEvalParams& params);

// The two standard evaluations, with pycocotools' default params.
CocoSummary evaluate_keypoints(const CocoDataset& gt, std::span<const CocoResult> results);
CocoSummary evaluate_bbox(const CocoDataset& gt, std::span<const CocoResult> results);

// pycocotools' summarize() printout: one line per stat, e.g.
//  " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 0.559"
std::string format_summary(const CocoSummary& summary);

// {"keypoints": {"AP": ..., ...}, "bbox": {...}}: the layout of the reference .cocoeval.json files,
// values rounded to 6 decimals like them. write_ writes it to a file (sp::Error when it cannot).
std::string format_summaries_json(std::span<const CocoSummary> summaries);
void write_summaries_json(const std::string& path, std::span<const CocoSummary> summaries);

}  // namespace sp::models::coco
