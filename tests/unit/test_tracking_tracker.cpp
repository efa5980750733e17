// The multi-person tracker on synthetic scenes (tests/tracking_scenes.h): people crossing, one hidden
// and coming back, people entering and leaving, one-frame flickers, dropped frames; plus its bookkeeping
// (IDs only for confirmed tracks, tracks started and ended, the buffer in seconds) and bad options.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "core/error.h"
#include "tests/tracking_scenes.h"
#include "tracking/pose_tracker.h"

namespace sp::tracking {
namespace {

void expect_clean(const scenes::Scene& s, const TrackerOptions& o = {}) {
  const scenes::SceneResult r = scenes::evaluate(s, o);
  EXPECT_EQ(r.id_switches, 0) << s.name;
  EXPECT_EQ(r.ids, r.people) << s.name << ": one ID per person";
  EXPECT_EQ(r.false_ids, 0) << s.name;
  // The same scene with keypoint smoothing on gives the same identities (smoothing is after association).
  const scenes::SceneResult sm = scenes::evaluate(s, o, PoseSmootherOptions{});
  EXPECT_EQ(sm.id_switches, r.id_switches) << s.name;
  EXPECT_EQ(sm.ids, r.ids) << s.name;
}

TEST(Tracker, CrossingAtTheSameDepth) { expect_clean(scenes::crossing_same_depth()); }
TEST(Tracker, CrossingWithTheSamePose) { expect_clean(scenes::crossing_same_pose()); }
TEST(Tracker, WalkingBehindAnother) { expect_clean(scenes::crossing_occluded()); }
TEST(Tracker, OccludedThenBack) {
  for (int frames : {1, 5, 15, 25}) expect_clean(scenes::occlusion_return(frames));
}
TEST(Tracker, PeopleEnterAndLeave) {
  const scenes::Scene s = scenes::enter_and_leave();
  ASSERT_EQ(s.people, 5);
  expect_clean(s);
}
TEST(Tracker, OneFrameFlickers) { expect_clean(scenes::flicker()); }
TEST(Tracker, DroppedFramesUnevenGaps) { expect_clean(scenes::dropped_frames()); }

// The scenes are hard enough to matter: without the Kalman prediction and the optimal assignment the
// crossing scene breaks. A tracker that only looked at IoU with no motion (buffer of 1 ms, any similarity)
// re-identifies people after the crossing as new ones.
TEST(Tracker, ScenesCanFail) {
  TrackerOptions weak;
  weak.track_buffer_s = 0.001;
  const scenes::SceneResult r = scenes::evaluate(scenes::crossing_occluded(), weak);
  EXPECT_GT(r.ids, r.people);
}

models::PoseDetection person(float cx, float score = 0.9f) {
  models::PoseDetection d = scenes::render({cx, 600, 300});
  d.score = score;
  return d;
}

TEST(Tracker, NewPersonGetsAnIdOnTheirSecondFrameExceptOnTheFirstFrame) {
  PoseTracker t;
  std::vector<models::PoseDetection> d = {person(300)};
  ASSERT_EQ(t.update(d, 0.0).size(), 1u) << "on the stream's first frame people get IDs at once";
  d.push_back(person(900));
  const auto& a = t.update(d, 1 / 30.0);
  ASSERT_EQ(a.size(), 1u) << "a newcomer is tentative for one frame";
  EXPECT_EQ(a[0].id, 1);
  const auto& b = t.update(d, 2 / 30.0);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].id, 1);
  EXPECT_EQ(b[1].id, 2);
  EXPECT_EQ(b[1].detection, 1);
  EXPECT_EQ(t.stats().started, 2);
}

TEST(Tracker, MinHitsOneGivesIdsAtOnce) {
  TrackerOptions o;
  o.min_hits = 1;
  PoseTracker t(o);
  t.update(std::vector<models::PoseDetection>{person(300)}, 0.0);
  EXPECT_EQ(t.update(std::vector<models::PoseDetection>{person(300), person(900)}, 0.1).size(), 2u);
}

TEST(Tracker, BufferIsInSecondsAndEndedTracksAreCounted) {
  TrackerOptions o;
  o.track_buffer_s = 0.5;
  PoseTracker t(o);
  std::vector<models::PoseDetection> one = {person(300)}, none;
  t.update(one, 0.0);
  t.update(none, 0.1);
  EXPECT_EQ(t.stats().active, 1) << "lost, still buffered";
  t.update(none, 0.3);
  EXPECT_EQ(t.stats().ended, 0) << "0.3 s after last seen: still within the buffer";
  const auto& again = t.update(one, 0.45);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, 1) << "back within the buffer: the same ID";
  // Gone for longer than the buffer, whatever the number of frames in between (here: two).
  t.update(none, 0.5);
  t.update(none, 1.0);
  EXPECT_EQ(t.stats().ended, 1);
  EXPECT_EQ(t.stats().active, 0);
  t.update(one, 1.05);
  const auto& back = t.update(one, 1.1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].id, 2) << "an ended track never comes back; a new ID";
  EXPECT_EQ(t.stats().max_concurrent, 1);
}

TEST(Tracker, LowScoreDetectionsKeepTracksButStartNone) {
  PoseTracker t;
  std::vector<models::PoseDetection> d = {person(300)};
  t.update(d, 0.0);
  d[0].score = 0.15f;  // half hidden
  ASSERT_EQ(t.update(d, 1 / 30.0).size(), 1u);
  EXPECT_EQ(t.update(d, 2 / 30.0)[0].id, 1);
  std::vector<models::PoseDetection> weak = {person(300, 0.15f)};
  PoseTracker fresh;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fresh.update(weak, i / 30.0).empty());
  weak[0].score = 0.05f;  // below low_score: ignored altogether
  EXPECT_TRUE(fresh.update(weak, 0.2).empty());
}

TEST(Tracker, SmoothingIsResetWhenATrackIsReborn) {
  PoseTracker t({}, PoseSmootherOptions{});
  auto at = [](float cx) { return std::vector<models::PoseDetection>{scenes::render({cx, 600, 300})}; };
  for (int i = 0; i < 10; ++i) t.update(at(300), i / 30.0);
  t.update({}, 10 / 30.0);  // lost
  // Back 40 px further (inside the matching range): the output is the detection itself, not a blend
  // with the pose from before the gap.
  const auto& out = t.update(at(340), 11 / 30.0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1);
  EXPECT_FLOAT_EQ(out[0].pose.keypoints[0].x, 340.0f);
  const auto& next = t.update(at(345), 12 / 30.0);
  EXPECT_LT(next[0].pose.keypoints[0].x, 345.0f) << "and smoothing goes on from there";
}

TEST(Tracker, TimeGoingBackwardsIsTreatedAsNoTimeAndNaNIsRefused) {
  PoseTracker t;
  std::vector<models::PoseDetection> d = {person(300)};
  t.update(d, 5.0);
  EXPECT_EQ(t.update(d, 4.0).size(), 1u);
  EXPECT_THROW(t.update(d, std::nan("")), Error);
}

TEST(Tracker, NonsensicalOptionsAreRefused) {
  auto refused = [](auto change) {
    TrackerOptions o;
    change(o);
    EXPECT_THROW(PoseTracker{o}, Error);
  };
  refused([](TrackerOptions& o) { o.track_buffer_s = 0; });
  refused([](TrackerOptions& o) { o.track_buffer_s = -1; });
  refused([](TrackerOptions& o) { o.low_score = 0.5f, o.high_score = 0.3f; });
  refused([](TrackerOptions& o) { o.high_score = 1.5f; });
  refused([](TrackerOptions& o) { o.match_similarity = 1.0f; });
  refused([](TrackerOptions& o) { o.oks_weight = -0.1f; });
  refused([](TrackerOptions& o) { o.min_hits = 0; });
  PoseSmootherOptions bad;
  bad.filter.min_cutoff_hz = -1;
  EXPECT_THROW(PoseTracker({}, bad), Error);
}

}  // namespace
}  // namespace sp::tracking
