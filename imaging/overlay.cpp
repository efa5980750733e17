#include "imaging/overlay.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "models/skeleton.h"

namespace sp::imaging {
namespace {

constexpr int kShift = 4;  // sub-pixel bits for anti-aliased drawing
constexpr double kOne = 1 << kShift;

// Coordinates far outside any image are clamped so the fixed-point conversion cannot overflow.
int to_fixed(float v) { return static_cast<int>(std::lround(std::clamp(static_cast<double>(v), -1e6, 1e6) * kOne)); }
cv::Point fixed_point(float x, float y) { return {to_fixed(x), to_fixed(y)}; }

// The colour as the frame's channels hold it (the fourth channel of BGRx/RGBx frames gets 255).
cv::Scalar scalar(models::Color c, bool rgb) { return rgb ? cv::Scalar(c.r, c.g, c.b, 255) : cv::Scalar(c.b, c.g, c.r, 255); }

// Ultralytics' Colors palette (the one its trackers colour IDs with), as B, G, R.
constexpr std::array<models::Color, 20> kIdPalette = {{
    {56, 56, 255},  {151, 157, 255}, {31, 112, 255}, {29, 178, 255}, {49, 210, 207}, {10, 249, 72},  {23, 204, 146},
    {134, 219, 61}, {52, 147, 26},   {187, 212, 0},  {168, 153, 44}, {255, 194, 0},  {147, 69, 52},  {255, 115, 100},
    {236, 24, 0},   {255, 56, 132},  {133, 0, 82},   {255, 56, 203}, {200, 149, 255}, {199, 55, 255},
}};

// Whether a keypoint can be drawn: confident enough, finite, and not on the image border (Ultralytics
// skips keypoints whose coordinate is 0 modulo the image size: clipped or missing points).
bool drawable(const models::Keypoint& k, float threshold, int w, int h) {
  if (!(k.conf >= threshold)) return false;
  if (!std::isfinite(k.x) || !std::isfinite(k.y)) return false;
  return k.x > 0.0f && k.y > 0.0f && k.x < static_cast<float>(w) && k.y < static_cast<float>(h);
}

// id < 0: not tracked (the box colour and "person 0.87"); else the ID's colour and "person #7 0.87".
void draw_box_label(cv::Mat& im, const models::PoseDetection& d, const OverlayOptions& o, int lw, int64_t id) {
  const cv::Scalar color = scalar(id >= 0 ? id_color(id) : models::kPersonBoxColor, o.rgb);
  const models::Box& b = d.box;
  if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2)) return;
  cv::rectangle(im, fixed_point(b.x1, b.y1), fixed_point(b.x2, b.y2), color, lw, cv::LINE_AA, kShift);
  if (!o.draw_labels) return;

  char score[32];
  std::snprintf(score, sizeof(score), "%.2f", static_cast<double>(d.score));
  // Built by appending (GCC 12 warns falsely on `literal + std::string` under -O2 -Werror).
  std::string text = o.label;
  if (id >= 0) {
    if (!text.empty()) text.push_back(' ');
    text.push_back('#');
    text.append(std::to_string(id));
  }
  if (!text.empty()) text.push_back(' ');
  text.append(score);
  const int tf = std::max(lw - 1, 1);
  const double sf = lw / 3.0;
  int baseline = 0;
  const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, sf, tf, &baseline);
  cv::Point p1(static_cast<int>(std::clamp(b.x1, -1e6f, 1e6f)), static_cast<int>(std::clamp(b.y1, -1e6f, 1e6f)));
  p1.x = std::clamp(p1.x, 0, std::max(0, im.cols - ts.width));
  const bool outside = p1.y >= ts.height + 3;  // room above the box for the label
  const cv::Point p2(p1.x + ts.width, outside ? p1.y - ts.height - 3 : p1.y + ts.height + 3);
  cv::rectangle(im, p1, p2, color, cv::FILLED, cv::LINE_AA);
  cv::putText(im, text, cv::Point(p1.x, outside ? p1.y - 2 : p1.y + ts.height + 2), cv::FONT_HERSHEY_SIMPLEX,
              sf, cv::Scalar(255, 255, 255, 255), tf, cv::LINE_AA);
}

}  // namespace

int default_line_width(int width, int height) {
  const double v = (static_cast<double>(height) + width + 3) / 2.0 * 0.003;
  return std::max(static_cast<int>(std::nearbyint(v)), 2);
}

models::Color id_color(int64_t id) {
  const int64_t n = static_cast<int64_t>(kIdPalette.size());
  return kIdPalette[static_cast<size_t>(((id % n) + n) % n)];
}

void draw_detections(cv::Mat& image, std::span<const models::PoseDetection> detections,
                     const OverlayOptions& o) {
  draw_detections(image, detections, {}, o);
}

void draw_detections(cv::Mat& image, std::span<const models::PoseDetection> detections, std::span<const int64_t> ids,
                     const OverlayOptions& o) {
  if (image.empty()) throw Error("overlay: the image is empty");
  if (image.type() != CV_8UC3 && image.type() != CV_8UC4)
    throw Error("overlay: expected an 8-bit image with 3 or 4 channels (CV_8UC3 or CV_8UC4), got " +
                cv::typeToString(image.type()));
  const int lw = o.line_width > 0 ? o.line_width : default_line_width(image.cols, image.rows);
  const int limb_thickness = (lw + 1) / 2;  // ceil(lw / 2), as Ultralytics
  const int radius = o.keypoint_radius > 0 ? o.keypoint_radius : lw + 3;
  const float thr = o.keypoint_conf_threshold;

  for (size_t n = 0; n < detections.size(); ++n) {
    const models::PoseDetection& d = detections[n];
    const int64_t id = n < ids.size() ? std::max<int64_t>(0, ids[n]) : -1;
    if (o.draw_boxes) draw_box_label(image, d, o, lw, id);
    if (o.draw_limbs) {
      for (int i = 0; i < models::kNumLimbs; ++i) {
        const models::Limb limb = models::kSkeleton[i];
        const models::Keypoint& a = d.keypoints[limb.a];
        const models::Keypoint& b = d.keypoints[limb.b];
        if (!drawable(a, thr, image.cols, image.rows) || !drawable(b, thr, image.cols, image.rows)) continue;
        const models::Color c = id >= 0 ? id_color(id) : models::limb_color(i);
        cv::line(image, fixed_point(a.x, a.y), fixed_point(b.x, b.y), scalar(c, o.rgb), limb_thickness, cv::LINE_AA,
                 kShift);
      }
    }
    if (o.draw_keypoints) {
      // Drawn after the limbs so the joints stay visible.
      for (int k = 0; k < models::kNumKeypoints; ++k) {
        const models::Keypoint& p = d.keypoints[k];
        if (!drawable(p, thr, image.cols, image.rows)) continue;
        cv::circle(image, fixed_point(p.x, p.y), radius << kShift, scalar(models::keypoint_color(k), o.rgb), cv::FILLED,
                   cv::LINE_AA, kShift);
      }
    }
  }
}

}  // namespace sp::imaging
