#include "pipeline/hud.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <tuple>
#include <string_view>

#include "core/error.h"

namespace sp::pipeline {
namespace {

// Hershey fonts: cap height of digits is 22 px at scale 1.
constexpr double kFontCap = 22.0;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kFontBig = cv::FONT_HERSHEY_DUPLEX;

// Colours (BGR).
const cv::Scalar kText(238, 238, 238);
const cv::Scalar kDim(165, 165, 165);
const cv::Scalar kTrack(70, 70, 70);
const cv::Scalar kStageColor(200, 190, 175);
const cv::Scalar kModelColor(40, 170, 255);   // orange
const cv::Scalar kE2EColor(250, 200, 70);     // light blue
const cv::Scalar kWarn(90, 90, 255);          // red
const cv::Scalar kGood(120, 220, 120);        // green
const cv::Scalar kTick(255, 255, 255);
constexpr double kBackground = 14.0;           // grey level of the panel

// Layout in units of `u` (cap height of normal text, pixels).
constexpr double kPanelW = 27.0;
constexpr double kPanelH = 25.2;
constexpr double kPad = 0.8;
constexpr double kSmall = 0.82;   // small text / normal text
constexpr double kBig = 2.1;      // big numbers / normal text
constexpr double kStageRow = 1.42;
constexpr double kLabelW = 7.2;   // stage label column ("end_to_end" at kSmall)
constexpr double kValueW = 7.0;   // "999.9/999.9" at kSmall

bool valid(double v) { return std::isfinite(v) && v >= 0.0; }

// Concatenation by appending (GCC 12 warns falsely on `"literal" + std::string` under -O2 -Werror).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

double unit_px(cv::Size frame, double scale) {
  // 2 % of the height of the largest 4:3 box that fits: 14 px at 720p, 22 px at 1080p, 8 px (the
  // smallest that stays legible) at 480 x 360.
  const double base = std::min(static_cast<double>(frame.height), frame.width * 0.75);
  return std::clamp(base * 0.02, 8.0, 40.0) * std::max(0.25, scale);
}

// putText with anti-aliasing costs ~8 us per short string and >100 us for thick big digits, which
// would make the HUD cost most of a millisecond. Instead each printable ASCII glyph is rendered once
// per (font, size, thickness) into an alpha mask and then composited: the same pixels as putText
// (Hershey fonts have no kerning; pen positions keep putText's sub-pixel advances) at a fraction of
// the cost. The cache is per thread (the render thread), bounded, and built on first use of a size.
struct Glyph {
  cv::Mat alpha;   // CV_8U coverage
  cv::Point off;   // alpha's top-left relative to the pen position on the baseline
};
struct GlyphSet {
  std::array<Glyph, 95> glyph;      // ' ' .. '~'
  std::array<double, 95> advance{}; // pen advance, pixels
  int thickness = 1;
};

const GlyphSet& glyph_set(int font, double cap_px, int thickness) {
  thread_local std::map<std::tuple<int, int, int>, std::unique_ptr<GlyphSet>> cache;
  const auto key = std::make_tuple(font, static_cast<int>(std::lround(cap_px * 16.0)), thickness);
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  if (cache.size() >= 48) cache.clear();  // frame size changes: do not grow without bound

  auto set = std::make_unique<GlyphSet>();
  set->thickness = thickness;
  const double fs = cap_px / kFontCap;
  const int top = static_cast<int>(std::ceil(cap_px * 1.6)) + thickness + 2;
  const int bottom = static_cast<int>(std::ceil(cap_px * 0.8)) + thickness + 2;
  const int side = thickness + 2;
  for (int i = 0; i < 95; ++i) {
    const std::string ch(1, static_cast<char>(32 + i));
    int base = 0;
    // getTextSize's width is round(advance + thickness); the average over a run gives the advance.
    const std::string run(32, ch[0]);
    set->advance[i] = (cv::getTextSize(run, font, fs, thickness, &base).width - thickness) / 32.0;
    const int w = static_cast<int>(std::ceil(set->advance[i])) + 2 * side + thickness;
    cv::Mat m(top + bottom, w, CV_8U, cv::Scalar(0));
    cv::putText(m, ch, cv::Point(side, top), font, fs, cv::Scalar(255), thickness, cv::LINE_AA);
    const cv::Rect box = cv::boundingRect(m);  // non-zero pixels
    if (box.empty()) continue;                  // space
    set->glyph[i].alpha = m(box).clone();
    set->glyph[i].off = cv::Point(box.x - side, box.y - top);
  }
  return *cache.emplace(key, std::move(set)).first->second;
}

// dst = dst (1 - a) + color a, clipped to the image.
void composite(cv::Mat& img, const cv::Mat& alpha, int x, int y, const cv::Scalar& color) {
  const cv::Rect r = cv::Rect(x, y, alpha.cols, alpha.rows) & cv::Rect(0, 0, img.cols, img.rows);
  if (r.empty()) return;
  const int c[3] = {static_cast<int>(color[0]), static_cast<int>(color[1]), static_cast<int>(color[2])};
  for (int row = r.y; row < r.y + r.height; ++row) {
    const uchar* a = alpha.ptr<uchar>(row - y) + (r.x - x);
    uchar* p = img.ptr<uchar>(row) + 3 * r.x;
    for (int col = 0; col < r.width; ++col, p += 3) {
      const int al = a[col];
      if (al == 0) continue;
      const int inv = 255 - al;
      p[0] = static_cast<uchar>((p[0] * inv + c[0] * al + 127) / 255);
      p[1] = static_cast<uchar>((p[1] * inv + c[1] * al + 127) / 255);
      p[2] = static_cast<uchar>((p[2] * inv + c[2] * al + 127) / 255);
    }
  }
}

struct Painter {
  cv::Mat& img;  // the panel (a view into the frame); coordinates are panel pixels
  double u;

  int px(double units) const { return static_cast<int>(std::lround(units * u)); }
  static int thickness(double cap_px, int font) {
    if (font == kFontBig) return std::max(2, static_cast<int>(std::lround(cap_px / 13.0)));  // bold digits
    return std::max(1, static_cast<int>(std::lround(cap_px / 15.0)));
  }
  const GlyphSet& glyphs(double size, int font) const {
    const double cap = size * u;
    return glyph_set(font, cap, thickness(cap, font));
  }
  static int index(char ch) {
    const int i = static_cast<unsigned char>(ch) - 32;
    return (i >= 0 && i < 95) ? i : '?' - 32;
  }

  int width(std::string_view s, double size, int font = kFont) const {
    const GlyphSet& g = glyphs(size, font);
    double w = 0.0;
    for (char ch : s) w += g.advance[index(ch)];
    return static_cast<int>(std::lround(w)) + g.thickness;
  }
  // Draws `s` with its baseline at y (units); returns the x (pixels) right after it.
  int text(std::string_view s, int x, double y, double size, const cv::Scalar& color, int font = kFont) const {
    const GlyphSet& g = glyphs(size, font);
    const int base = px(y);
    double pen = x;
    for (char ch : s) {
      const Glyph& gl = g.glyph[index(ch)];
      if (!gl.alpha.empty())
        composite(img, gl.alpha, static_cast<int>(std::lround(pen)) + gl.off.x, base + gl.off.y, color);
      pen += g.advance[index(ch)];
    }
    return static_cast<int>(std::lround(pen)) + g.thickness;
  }
  void text_right(std::string_view s, int right, double y, double size, const cv::Scalar& color) const {
    text(s, right - width(s, size), y, size, color);
  }
  // Shortens `s` from the left ("...ng/clip.mp4") until it fits in max_px.
  std::string fit_left(const std::string& s, int max_px, double size) const {
    if (width(s, size) <= max_px) return s;
    for (size_t cut = 1; cut < s.size(); ++cut) {
      const std::string t = cat({"...", std::string_view(s).substr(cut)});
      if (width(t, size) <= max_px) return t;
    }
    return "...";
  }
};

std::string fmt_ms(double v) {
  if (!valid(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), v < 10.0 ? "%.2f" : v < 100.0 ? "%.1f" : "%.0f", v);
  return b;
}
std::string fmt_fps(double v) {
  if (!valid(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), v < 100.0 ? "%.1f" : "%.0f", v);
  return b;
}
std::string fmt_short(double v) {  // bar values: at most 4 characters plus the point
  if (!valid(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), v < 100.0 ? "%.1f" : "%.0f", v);
  return b;
}

// 1, 2, 5 x 10^k at or above v (the bars' full scale).
double nice_ceiling(double v) {
  if (!(v > 0.0)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v * (1.0 - 1e-9)) return m * p;
  return 10.0 * p;
}

}  // namespace

cv::Rect hud_panel_rect(cv::Size frame, const HudOptions& options) {
  if (frame.width < 160 || frame.height < 120) return {};
  const double u = unit_px(frame, options.scale);
  const int margin = static_cast<int>(std::lround(std::max(4.0, 0.6 * u)));
  const int w = std::min(static_cast<int>(std::lround(kPanelW * u)), frame.width - 2 * margin);
  const int h = std::min(static_cast<int>(std::lround(kPanelH * u)), frame.height - 2 * margin);
  if (w <= 0 || h <= 0) return {};
  const bool right = options.corner == HudCorner::kTopRight || options.corner == HudCorner::kBottomRight;
  const bool bottom = options.corner == HudCorner::kBottomLeft || options.corner == HudCorner::kBottomRight;
  return {right ? frame.width - margin - w : margin, bottom ? frame.height - margin - h : margin, w, h};
}

void draw_hud(cv::Mat& bgr, const HudData& d, const HudOptions& options) {
  if (bgr.type() != CV_8UC3) throw Error("draw_hud: expected an 8-bit BGR image (CV_8UC3)");
  const cv::Rect r = hud_panel_rect(bgr.size(), options);
  if (r.empty()) return;
  const double u = unit_px(bgr.size(), options.scale);

  // Darkened, semi-transparent background: p' = p (1 - a) + bg a, in place on the panel only.
  cv::Mat panel = bgr(r);
  const double a = std::clamp(options.opacity, 0.0, 1.0);
  panel.convertTo(panel, -1, 1.0 - a, kBackground * a);

  const Painter P{panel, u};
  const int pad = P.px(kPad);
  const int right = panel.cols - pad;
  const int col2 = panel.cols / 2 + P.px(0.3);

  // Header: engine mode, threads, ISA; the product name at the right when there is room.
  double y = kPad + 1.0;
  {
    std::string engine = d.engine.empty() ? "engine ?" : d.engine;
    for (char& c : engine) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    int x = P.text(engine, pad, y, 1.0, kModelColor);
    std::string rest;
    if (d.threads > 0) rest = cat({std::to_string(d.threads), d.threads == 1 ? " thread" : " threads"});
    if (!d.isa.empty()) {
      std::string isa = d.isa;
      for (char& c : isa) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      rest = cat({rest, rest.empty() ? "" : "  ", isa});
    }
    x += P.px(0.9);
    if (!rest.empty()) x = P.text(P.fit_left(rest, right - x, kSmall), x, y, kSmall, kText);
    if (right - x > P.width("sparsepose", kSmall) + P.px(1.0)) P.text_right("sparsepose", right, y, kSmall, kDim);
  }

  // Source, people tracked and frame index.
  y += 1.75;
  {
    std::string idx = d.frame_index >= 0 ? cat({"#", std::to_string(d.frame_index)}) : std::string();
    if (d.tracked >= 0) {
      const std::string people = cat({std::to_string(d.tracked), d.tracked == 1 ? " person" : " people"});
      idx = idx.empty() ? people : cat({people, "  ", idx});
    }
    const int idx_w = idx.empty() ? 0 : P.width(idx, kSmall) + P.px(0.8);
    const int x = P.text("src ", pad, y, kSmall, kDim);
    P.text(P.fit_left(d.source.empty() ? "-" : d.source, right - idx_w - x, kSmall), x, y, kSmall, kText);
    if (!idx.empty()) P.text_right(idx, right, y, kSmall, kDim);
  }

  // Big numbers: pure model latency and end-to-end latency (p50).
  y += 1.9;
  P.text("MODEL p50", pad, y, 0.72, kDim);
  P.text("END-TO-END p50", col2, y, 0.72, kDim);
  y += 0.45 + kBig;
  {
    const double model = d.p50(Stage::kModel);
    const double e2e = d.p50(Stage::kEndToEnd);
    int x = P.text(fmt_ms(model), pad, y, kBig, kModelColor, kFontBig);
    if (valid(model)) P.text(" ms", x, y, kSmall, kDim);
    x = P.text(fmt_ms(e2e), col2, y, kBig, kE2EColor, kFontBig);
    if (valid(e2e)) P.text(" ms", x, y, kSmall, kDim);
  }

  // Rates and queue.
  y += 1.75;
  {
    int x = P.text("in ", pad, y, kSmall, kDim);
    x = P.text(fmt_fps(d.fps_in), x, y, kSmall, kText);
    P.text(" fps", x, y, kSmall, kDim);
    x = P.text("out ", col2, y, kSmall, kDim);
    x = P.text(fmt_fps(d.fps_out), x, y, kSmall, kText);
    P.text(" fps", x, y, kSmall, kDim);
  }
  y += 1.5;
  {
    int x = P.text("queue ", pad, y, kSmall, kDim);
    const bool full = d.queue_capacity > 0 && d.queue_depth >= d.queue_capacity;
    std::string q = std::to_string(std::max(0, d.queue_depth));
    if (d.queue_capacity > 0) q = cat({q, "/", std::to_string(d.queue_capacity)});
    P.text(q, x, y, kSmall, full ? kWarn : kText);
    x = P.text("dropped ", col2, y, kSmall, kDim);
    P.text(std::to_string(std::max<int64_t>(0, d.dropped)), x, y, kSmall, d.dropped > 0 ? kWarn : kGood);
  }

  // Separator and the stage bars: p50 filled, p95 tick, one scale for all.
  y += 0.9;
  cv::line(panel, cv::Point(pad, P.px(y)), cv::Point(right, P.px(y)), kTrack, 1, cv::LINE_8);
  y += 0.55;
  P.text("stage", pad, y + 0.72, 0.72, kDim);
  P.text_right("p50/p95 ms", right, y + 0.72, 0.72, kDim);
  y += 0.72;

  double full_scale = 0.0;
  for (int s = 0; s < kNumStages; ++s) {
    if (valid(d.p50_ms[s])) full_scale = std::max(full_scale, d.p50_ms[s]);
    if (valid(d.p95_ms[s])) full_scale = std::max(full_scale, d.p95_ms[s]);
  }
  full_scale = nice_ceiling(full_scale);
  const int bar_x0 = pad + P.px(kLabelW);
  const int bar_x1 = right - P.px(kValueW);
  const int bar_w = std::max(1, bar_x1 - bar_x0);
  const int bar_h = std::max(3, P.px(0.62));
  for (int s = 0; s < kNumStages; ++s) {
    y += kStageRow;
    const auto stage = static_cast<Stage>(s);
    const cv::Scalar color = stage == Stage::kModel ? kModelColor : stage == Stage::kEndToEnd ? kE2EColor : kStageColor;
    const bool key = stage == Stage::kModel || stage == Stage::kEndToEnd;
    P.text(std::string(kStageNames[s]), pad, y, kSmall, key ? color : kText);
    const int cy = P.px(y) - P.px(kSmall * 0.5);  // bar centred on the label's x-height
    const cv::Rect track(bar_x0, cy - bar_h / 2, bar_w, bar_h);
    cv::rectangle(panel, track, kTrack, cv::FILLED, cv::LINE_8);
    const double p50 = d.p50_ms[s];
    const double p95 = d.p95_ms[s];
    if (valid(p50)) {
      const int w = static_cast<int>(std::lround(std::min(1.0, p50 / full_scale) * bar_w));
      if (w > 0) cv::rectangle(panel, cv::Rect(bar_x0, track.y, w, bar_h), color, cv::FILLED, cv::LINE_8);
    }
    if (valid(p95)) {
      const int x = bar_x0 + static_cast<int>(std::lround(std::min(1.0, p95 / full_scale) * (bar_w - 1)));
      const int tw = std::max(1, P.px(0.14));
      const int ext = std::max(2, P.px(0.25));
      cv::rectangle(panel, cv::Rect(x - tw / 2, track.y - ext, tw, bar_h + 2 * ext), kTick, cv::FILLED, cv::LINE_8);
    }
    P.text_right(cat({fmt_short(p50), "/", fmt_short(p95)}), right, y, kSmall, key ? color : kText);
  }

  // Scale under the bars.
  y += 1.25;
  P.text("0", bar_x0, y, 0.68, kDim);
  char scale_txt[32];
  std::snprintf(scale_txt, sizeof(scale_txt), full_scale < 10 ? "%.3g ms" : "%.0f ms", full_scale);
  P.text_right(scale_txt, bar_x1, y, 0.68, kDim);
}

}  // namespace sp::pipeline
