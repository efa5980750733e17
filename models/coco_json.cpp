#include "models/coco_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace sp::models::coco {
namespace {

using Json = nlohmann::json;

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + std::string(what) + " '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + std::string(what) + " '" + path + "'");
  return ss.str();
}

Json parse_json(const std::string& text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(origin + ": invalid JSON: " + e.what());
  }
}

// Where in the file an element is, for error messages: "annotations[3] (id 183234)".
std::string where(const char* array, std::size_t index, const Json& obj) {
  std::string s = std::string(array) + "[" + std::to_string(index) + "]";
  if (obj.is_object()) {
    auto it = obj.find("id");
    if (it != obj.end() && it->is_number_integer()) s += " (id " + std::to_string(it->get<std::int64_t>()) + ")";
  }
  return s;
}

[[noreturn]] void fail(const std::string& origin, const std::string& at, const std::string& what) {
  throw Error(origin + ": " + at + ": " + what);
}

const Json& require(const Json& obj, const char* key, const std::string& origin, const std::string& at) {
  auto it = obj.find(key);
  if (it == obj.end()) fail(origin, at, std::string("missing field '") + key + "'");
  return *it;
}

double as_number(const Json& v, const char* key, const std::string& origin, const std::string& at) {
  if (!v.is_number()) fail(origin, at, std::string("field '") + key + "' must be a number");
  return v.get<double>();
}

// Integer ids; an integral float (802.0) is accepted as Python would.
std::int64_t as_int(const Json& v, const char* key, const std::string& origin, const std::string& at) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  fail(origin, at, std::string("field '") + key + "' must be an integer");
}

std::vector<double> as_numbers(const Json& v, const char* key, const std::string& origin, const std::string& at) {
  if (!v.is_array()) fail(origin, at, std::string("field '") + key + "' must be an array of numbers");
  std::vector<double> out;
  out.reserve(v.size());
  for (const Json& x : v) {
    if (!x.is_number()) fail(origin, at, std::string("field '") + key + "' must be an array of numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

std::array<double, 4> as_box(const Json& v, const std::string& origin, const std::string& at) {
  std::vector<double> b = as_numbers(v, "bbox", origin, at);
  if (b.size() != 4) fail(origin, at, "field 'bbox' must have 4 numbers [x, y, w, h], has " + std::to_string(b.size()));
  return {b[0], b[1], b[2], b[3]};
}

std::vector<double> as_keypoints(const Json& v, const std::string& origin, const std::string& at) {
  std::vector<double> k = as_numbers(v, "keypoints", origin, at);
  if (k.size() % 3 != 0)
    fail(origin, at, "field 'keypoints' must have x, y, v triplets, has " + std::to_string(k.size()) + " numbers");
  return k;
}

const Json& require_array(const Json& root, const char* key, const std::string& origin) {
  auto it = root.find(key);
  if (it == root.end()) throw Error(origin + ": missing top-level field '" + key + "'");
  if (!it->is_array()) throw Error(origin + ": top-level field '" + key + "' must be an array");
  return *it;
}

double rounded(double v, int decimals) { return round_decimals(v, decimals); }

}  // namespace

double round_decimals(double value, int decimals) {
  if (decimals < 0 || !std::isfinite(value)) return value;
  // printf rounds the exact binary value correctly (ties to even), as Python's round() does.
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  if (n < 0 || n >= static_cast<int>(sizeof buf)) return value;
  return std::strtod(buf, nullptr);
}

CocoDetection make_coco_detection(std::int64_t image_id, const PoseDetection& detection, std::int64_t category_id) {
  CocoDetection d;
  d.image_id = image_id;
  d.category_id = category_id;
  d.box = detection.box;
  d.score = detection.score;
  d.keypoints = detection.keypoints;
  return d;
}

CocoResult to_coco_result(const CocoDetection& detection, const CocoRounding& rounding) {
  CocoResult r;
  r.image_id = detection.image_id;
  r.category_id = detection.category_id;
  r.score = rounded(detection.score, rounding.score);
  const double x1 = detection.box.x1, y1 = detection.box.y1, x2 = detection.box.x2, y2 = detection.box.y2;
  r.bbox = std::array<double, 4>{rounded(x1, rounding.bbox), rounded(y1, rounding.bbox),
                                 rounded(x2 - x1, rounding.bbox), rounded(y2 - y1, rounding.bbox)};
  r.keypoints.reserve(detection.keypoints.size() * 3);
  for (const Keypoint& k : detection.keypoints) {
    r.keypoints.push_back(rounded(k.x, rounding.keypoint_xy));
    r.keypoints.push_back(rounded(k.y, rounding.keypoint_xy));
    r.keypoints.push_back(rounded(k.conf, rounding.keypoint_conf));
  }
  return r;
}

std::vector<CocoResult> to_coco_results(std::span<const CocoDetection> detections, const CocoRounding& rounding) {
  std::vector<CocoResult> out;
  out.reserve(detections.size());
  for (const CocoDetection& d : detections) out.push_back(to_coco_result(d, rounding));
  return out;
}

CocoDataset parse_coco_annotations(const std::string& text, const std::string& origin) {
  const Json root = parse_json(text, origin);
  if (!root.is_object()) throw Error(origin + ": a COCO annotation file must be a JSON object");
  CocoDataset ds;

  const Json& images = require_array(root, "images", origin);
  ds.images.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Json& o = images[i];
    const std::string at = where("images", i, o);
    if (!o.is_object()) fail(origin, at, "must be an object");
    CocoImage img;
    img.id = as_int(require(o, "id", origin, at), "id", origin, at);
    if (auto it = o.find("width"); it != o.end() && it->is_number()) img.width = static_cast<int>(as_int(*it, "width", origin, at));
    if (auto it = o.find("height"); it != o.end() && it->is_number()) img.height = static_cast<int>(as_int(*it, "height", origin, at));
    if (auto it = o.find("file_name"); it != o.end() && it->is_string()) img.file_name = it->get<std::string>();
    ds.images.push_back(std::move(img));
  }

  const Json& anns = require_array(root, "annotations", origin);
  ds.annotations.reserve(anns.size());
  for (std::size_t i = 0; i < anns.size(); ++i) {
    const Json& o = anns[i];
    const std::string at = where("annotations", i, o);
    if (!o.is_object()) fail(origin, at, "must be an object");
    CocoAnnotation a;
    a.id = as_int(require(o, "id", origin, at), "id", origin, at);
    a.image_id = as_int(require(o, "image_id", origin, at), "image_id", origin, at);
    a.category_id = as_int(require(o, "category_id", origin, at), "category_id", origin, at);
    a.bbox = as_box(require(o, "bbox", origin, at), origin, at);
    a.area = as_number(require(o, "area", origin, at), "area", origin, at);
    if (auto it = o.find("iscrowd"); it != o.end()) {
      if (it->is_boolean()) a.iscrowd = it->get<bool>();
      else a.iscrowd = as_int(*it, "iscrowd", origin, at) != 0;
    }
    if (auto it = o.find("keypoints"); it != o.end()) a.keypoints = as_keypoints(*it, origin, at);
    if (auto it = o.find("num_keypoints"); it != o.end()) {
      a.num_keypoints = static_cast<int>(as_int(*it, "num_keypoints", origin, at));
    } else {
      a.num_keypoints = 0;
      for (std::size_t k = 2; k < a.keypoints.size(); k += 3) a.num_keypoints += a.keypoints[k] > 0 ? 1 : 0;
    }
    ds.annotations.push_back(std::move(a));
  }

  const Json& cats = require_array(root, "categories", origin);
  ds.categories.reserve(cats.size());
  for (std::size_t i = 0; i < cats.size(); ++i) {
    const Json& o = cats[i];
    const std::string at = where("categories", i, o);
    if (!o.is_object()) fail(origin, at, "must be an object");
    CocoCategory c;
    c.id = as_int(require(o, "id", origin, at), "id", origin, at);
    if (auto it = o.find("name"); it != o.end() && it->is_string()) c.name = it->get<std::string>();
    if (auto it = o.find("keypoints"); it != o.end() && it->is_array()) {
      for (const Json& n : *it) {
        if (!n.is_string()) fail(origin, at, "field 'keypoints' must be an array of names");
        c.keypoints.push_back(n.get<std::string>());
      }
    }
    if (auto it = o.find("skeleton"); it != o.end() && it->is_array()) {
      for (const Json& e : *it) {
        if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer())
          fail(origin, at, "field 'skeleton' must be an array of [a, b] index pairs");
        c.skeleton.emplace_back(e[0].get<int>(), e[1].get<int>());
      }
    }
    ds.categories.push_back(std::move(c));
  }
  return ds;
}

std::vector<CocoResult> parse_coco_results(const std::string& text, const std::string& origin) {
  const Json root = parse_json(text, origin);
  if (!root.is_array()) throw Error(origin + ": a COCO results file must be a JSON array of objects");
  std::vector<CocoResult> out;
  out.reserve(root.size());
  for (std::size_t i = 0; i < root.size(); ++i) {
    const Json& o = root[i];
    const std::string at = "results[" + std::to_string(i) + "]";
    if (!o.is_object()) fail(origin, at, "must be an object");
    CocoResult r;
    r.image_id = as_int(require(o, "image_id", origin, at), "image_id", origin, at);
    r.category_id = as_int(require(o, "category_id", origin, at), "category_id", origin, at);
    r.score = as_number(require(o, "score", origin, at), "score", origin, at);
    auto bb = o.find("bbox");
    // pycocotools treats "bbox": [] as no bbox.
    if (bb != o.end() && !(bb->is_array() && bb->empty())) r.bbox = as_box(*bb, origin, at);
    if (auto it = o.find("keypoints"); it != o.end()) r.keypoints = as_keypoints(*it, origin, at);
    if (!r.bbox && r.keypoints.empty()) fail(origin, at, "has neither 'bbox' nor 'keypoints'");
    out.push_back(std::move(r));
  }
  return out;
}

std::string format_coco_results(std::span<const CocoResult> results, const CocoRounding& rounding) {
  using OJson = nlohmann::ordered_json;
  OJson arr = OJson::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CocoResult& r = results[i];
    auto finite = [&](double v) {
      if (!std::isfinite(v)) throw Error("COCO results: result " + std::to_string(i) + " has a non-finite value");
      return v;
    };
    OJson o;
    o["image_id"] = r.image_id;
    o["category_id"] = r.category_id;
    o["score"] = rounded(finite(r.score), rounding.score);
    if (r.bbox) {
      OJson b = OJson::array();
      for (double v : *r.bbox) b.push_back(rounded(finite(v), rounding.bbox));
      o["bbox"] = std::move(b);
    }
    if (!r.keypoints.empty()) {
      OJson k = OJson::array();
      for (std::size_t j = 0; j < r.keypoints.size(); ++j)
        k.push_back(rounded(finite(r.keypoints[j]), j % 3 == 2 ? rounding.keypoint_conf : rounding.keypoint_xy));
      o["keypoints"] = std::move(k);
    }
    arr.push_back(std::move(o));
  }
  return arr.dump();
}

CocoDataset load_coco_annotations(const std::string& path) {
  return parse_coco_annotations(read_file(path, "COCO annotation file"), path);
}

std::vector<CocoResult> load_coco_results(const std::string& path) {
  return parse_coco_results(read_file(path, "COCO results file"), path);
}

void write_coco_results(const std::string& path, std::span<const CocoResult> results, const CocoRounding& rounding) {
  const std::string text = format_coco_results(results, rounding);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write COCO results file '" + path + "'");
  out << text << '\n';
  out.flush();
  if (!out) throw Error("cannot write COCO results file '" + path + "'");
}

}  // namespace sp::models::coco
