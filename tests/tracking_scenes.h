// Synthetic scenes for the tracker: people as skeletons moving on known paths, turned into noisy
// detections the way a detector would report them (NMS keeps one of two boxes that overlap a lot, a
// half-hidden person scores low, a hidden one is not detected, a box leaving the image is cut at its
// border), each detection labelled with the person it came from. The unit tests (test_tracking_*) and
// bench/tracking_scenes.cpp run the same scenes, so the ID switches the bench reports are the ones the
// tests check. Deterministic: a fixed seed per scene.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "models/nms.h"
#include "models/pose_types.h"
#include "tracking/pose_tracker.h"

namespace sp::tracking::scenes {

inline constexpr float kImageW = 1280.0f, kImageH = 720.0f;

// Keypoints of a standing person facing the camera: x in box widths from the centre, y in box heights
// from the top (COCO order).
inline constexpr std::array<std::array<float, 2>, models::kNumKeypoints> kStanding = {{
    {0.00f, 0.07f}, {0.06f, 0.05f}, {-0.06f, 0.05f}, {0.12f, 0.06f}, {-0.12f, 0.06f},  // face
    {0.30f, 0.20f}, {-0.30f, 0.20f}, {0.38f, 0.36f}, {-0.38f, 0.36f}, {0.40f, 0.50f}, {-0.40f, 0.50f},
    {0.20f, 0.52f}, {-0.20f, 0.52f}, {0.20f, 0.73f}, {-0.20f, 0.73f}, {0.20f, 0.95f}, {-0.20f, 0.95f},
}};

enum class Pose { kArmsDown, kArmsUp };

// Where a person is at one instant: box centre x, the y of the feet, height, pose.
struct Placement {
  float cx = 0, feet = 0, h = 0;
  Pose pose = Pose::kArmsDown;
};

struct Person {
  int gt = 0;  // ground-truth identity
  double t_in = 0, t_out = 1e9;                        // present in [t_in, t_out)
  std::function<Placement(double)> at;                 // where, at time t
};

inline models::PoseDetection render(const Placement& p) {
  const float w = 0.4f * p.h, top = p.feet - p.h;
  models::PoseDetection d;
  d.box = {p.cx - w / 2, top, p.cx + w / 2, p.feet};
  d.score = 0.85f;
  for (int k = 0; k < models::kNumKeypoints; ++k) {
    auto xy = kStanding[k];
    if (p.pose == Pose::kArmsUp && k >= 7 && k <= 10) xy = {k % 2 ? 0.40f : -0.40f, k <= 8 ? 0.10f : 0.0f};
    d.keypoints[k] = {p.cx + xy[0] * w, top + xy[1] * p.h, k < 5 ? 0.8f : 0.9f};
  }
  return d;
}

struct Frame {
  double t = 0;
  std::vector<models::PoseDetection> dets;
  std::vector<int> gt;  // per detection: its person, -1 for a false positive
  int present = 0;      // people in the image (detected or not)
};

struct Scene {
  std::string name;
  std::vector<Frame> frames;
  int people = 0;  // distinct people who were detected at least once
};

struct SceneOptions {
  double fps = 30.0;
  double duration_s = 4.0;
  float noise = 0.01f;                // detection noise, std in person heights (box corners, keypoints)
  double keep_frame_probability = 1;  // < 1: frames dropped at random (a live source falling behind)
  uint32_t seed = 1;
};

// Visible fraction of box a after the boxes in front of it (larger feet y = nearer the camera).
inline float visible_fraction(const models::Box& a, float a_feet, const std::vector<std::pair<models::Box, float>>& all) {
  float hidden = 0;
  for (const auto& [b, feet] : all) {
    if (feet <= a_feet) continue;
    const float iw = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
    const float ih = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
    hidden = std::max(hidden, iw * ih / std::max(1.0f, a.area()));
  }
  const float iw = std::max(0.0f, std::min(a.x2, kImageW) - std::max(a.x1, 0.0f));
  return std::min(1.0f - hidden, iw / std::max(1.0f, a.width()));
}

// Turns people (plus optional false positives at given times) into a detector's view of the scene.
inline Scene make_scene(std::string name, const std::vector<Person>& people, const SceneOptions& o,
                        const std::vector<std::pair<double, models::Box>>& false_positives = {},
                        const std::vector<std::pair<int, double>>& missed = {}) {
  Scene s;
  s.name = std::move(name);
  std::mt19937 rng(o.seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::set<int> seen;
  const int n = static_cast<int>(std::lround(o.duration_s * o.fps));
  for (int i = 0; i < n; ++i) {
    const double t = i / o.fps;
    if (i > 0 && uni(rng) >= o.keep_frame_probability) continue;
    Frame f;
    f.t = t;
    std::vector<std::pair<models::Box, float>> boxes;
    std::vector<std::pair<const Person*, Placement>> here;
    for (const Person& p : people) {
      if (t < p.t_in || t >= p.t_out) continue;
      const Placement pl = p.at(t);
      here.push_back({&p, pl});
      ++f.present;
      boxes.push_back({render(pl).box, pl.feet});
    }
    for (size_t k = 0; k < here.size(); ++k) {
      const auto& [p, pl] = here[k];
      bool skip = false;
      for (const auto& [gt, tm] : missed) skip |= gt == p->gt && std::abs(tm - t) < 0.5 / o.fps;
      if (skip) continue;
      const float vis = visible_fraction(boxes[k].first, pl.feet, boxes);
      if (vis < 0.35f) continue;  // hidden or mostly outside the image: not detected
      models::PoseDetection d = render(pl);
      d.score = vis > 0.7f ? 0.85f : 0.18f;  // half hidden: a low score (stage 2 of the tracker)
      const float sd = o.noise * pl.h;
      d.box.x1 = std::max(0.0f, d.box.x1 + sd * noise(rng));
      d.box.x2 = std::min(kImageW, d.box.x2 + sd * noise(rng));
      d.box.y1 += sd * noise(rng);
      d.box.y2 += sd * noise(rng);
      for (auto& kp : d.keypoints) kp.x += sd * noise(rng), kp.y += sd * noise(rng);
      f.dets.push_back(d);
      f.gt.push_back(p->gt);
    }
    // The detector's NMS (IoU 0.7) keeps the more confident of two boxes that overlap that much.
    for (size_t a = 0; a < f.dets.size(); ++a)
      for (size_t b = 0; b < f.dets.size(); ++b)
        if (a != b && f.gt[a] >= 0 && f.gt[b] >= 0 && models::box_iou(f.dets[a].box, f.dets[b].box) > 0.7f &&
            f.dets[b].score >= f.dets[a].score && (f.dets[b].score > f.dets[a].score || b < a))
          f.gt[a] = -2;  // suppressed
    for (size_t a = f.dets.size(); a-- > 0;)
      if (f.gt[a] == -2) f.dets.erase(f.dets.begin() + static_cast<long>(a)), f.gt.erase(f.gt.begin() + static_cast<long>(a));
    for (const auto& [tf, box] : false_positives) {
      if (std::abs(tf - t) >= 0.5 / o.fps) continue;
      models::PoseDetection d = render({(box.x1 + box.x2) / 2, box.y2, box.height()});
      d.box = box;
      d.score = 0.6f;
      f.dets.push_back(d);
      f.gt.push_back(-1);
    }
    for (int g : f.gt)
      if (g >= 0) seen.insert(g);
    s.frames.push_back(std::move(f));
  }
  s.people = static_cast<int>(seen.size());
  return s;
}

// A person walking in a straight line at constant speed.
inline Person walker(int gt, float x0, float feet, float h, float vx, Pose pose = Pose::kArmsDown,
                     double t_in = 0, double t_out = 1e9) {
  return {gt, t_in, t_out, [=](double t) { return Placement{x0 + vx * static_cast<float>(t - t_in), feet, h, pose}; }};
}

// The scenes the issue asks for. Occlusion lengths are in frames at 30 fps.
inline Scene crossing_same_depth() {
  return make_scene("two people cross at the same depth (NMS keeps one box while they overlap)",
                    {walker(1, 300, 600, 300, 160), walker(2, 980, 600, 300, -160, Pose::kArmsUp)}, {.seed = 11});
}
inline Scene crossing_same_pose() {
  return make_scene("two people with the same pose cross at the same depth (motion is the only cue)",
                    {walker(1, 300, 600, 300, 160), walker(2, 980, 600, 300, -160)}, {.seed = 12});
}
inline Scene crossing_occluded() {
  return make_scene("one person walks behind another (low score while half hidden, then not detected)",
                    {walker(1, 250, 650, 360, 180), walker(2, 1000, 560, 280, -140, Pose::kArmsUp)}, {.seed = 13});
}
// A person walks behind a pillar: not detected for `frames` frames, then back where they were heading,
// while another person stands nearby.
inline Scene occlusion_return(int frames) {
  const double t_hide = 1.5;
  const double t_back = t_hide + frames / 30.0;
  std::vector<std::pair<int, double>> missed;
  for (int i = 0; i < frames; ++i) missed.push_back({1, t_hide + i / 30.0});
  return make_scene("occluded for " + std::to_string(frames) + " frames, then back",
                    {walker(1, 200, 600, 300, 120), walker(2, 1000, 620, 320, 0, Pose::kArmsUp)},
                    {.duration_s = t_back + 1.5, .seed = static_cast<uint32_t>(20 + frames)}, {}, missed);
}
inline Scene enter_and_leave() {
  std::vector<Person> p;
  for (int i = 0; i < 5; ++i) {
    const bool from_left = i % 2 == 0;
    const float h = 220.0f + 30.0f * i;
    const float vx = (from_left ? 1 : -1) * (220.0f + 25.0f * i);
    const float x0 = from_left ? -0.2f * h : kImageW + 0.2f * h;
    p.push_back(walker(i + 1, x0, 560.0f + 25.0f * i, h, vx, i % 3 ? Pose::kArmsDown : Pose::kArmsUp, 0.8 * i,
                       0.8 * i + (kImageW + 0.4f * h) / std::abs(vx)));
  }
  return make_scene("five people enter one after another, cross the image and leave", p,
                    {.duration_s = 10.0, .seed = 31});
}
inline Scene flicker() {
  return make_scene("a false detection for one frame, and a real person missed for one frame",
                    {walker(1, 400, 600, 300, 60), walker(2, 900, 620, 320, -40, Pose::kArmsUp)}, {.seed = 41},
                    {{1.0, {1100, 100, 1180, 300}}}, {{2, 2.0}});
}
inline Scene dropped_frames() {
  return make_scene("two people cross while the source drops half the frames at random (uneven gaps)",
                    {walker(1, 300, 600, 300, 160), walker(2, 980, 600, 300, -160, Pose::kArmsUp)},
                    {.keep_frame_probability = 0.5, .seed = 51});
}

struct SceneResult {
  int people = 0;        // people in the scene who were detected
  int ids = 0;           // distinct IDs the tracker gave out
  int id_switches = 0;   // a person's ID changed from one output to their next
  int false_ids = 0;     // IDs that only ever stood on false positives
  int frames = 0;
  int undetected = 0;    // person-frames with no detection (hidden, suppressed by NMS, outside, missed)
  int without_id = 0;    // person-frames detected but given no ID (a newcomer's first frame)
};

// Runs the scene through a fresh tracker and counts identity errors.
inline SceneResult evaluate(const Scene& s, const TrackerOptions& options = {},
                            const std::optional<PoseSmootherOptions>& smoothing = std::nullopt) {
  PoseTracker tracker(options, smoothing);
  SceneResult r;
  r.people = s.people;
  r.frames = static_cast<int>(s.frames.size());
  std::map<int, int64_t> last_id;             // person -> ID last seen on them
  std::map<int64_t, bool> id_on_person;       // ID -> ever on a real person
  for (const Frame& f : s.frames) {
    const int detected = static_cast<int>(std::count_if(f.gt.begin(), f.gt.end(), [](int g) { return g >= 0; }));
    r.undetected += f.present - detected;
    int labelled = 0;
    for (const TrackedPerson& p : tracker.update(f.dets, f.t)) {
      labelled += f.gt[p.detection] >= 0;
      const int gt = f.gt[p.detection];
      id_on_person[p.id] = id_on_person[p.id] || gt >= 0;
      if (gt < 0) continue;
      auto it = last_id.find(gt);
      if (it != last_id.end() && it->second != p.id) ++r.id_switches;
      last_id[gt] = p.id;
    }
    r.without_id += detected - labelled;
  }
  r.ids = static_cast<int>(id_on_person.size());
  for (const auto& [id, real] : id_on_person) r.false_ids += real ? 0 : 1;
  return r;
}

}  // namespace sp::tracking::scenes
