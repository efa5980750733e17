// The latency the element reports on live pipelines (gst/processing_latency.h), without a pipeline: a
// fixed value stays as given; the automatic one starts from the warm-up time with its margin, rises
// (and asks to be announced) only when the recent frames' p90 exceeds it by the threshold, at most once
// per kMinFrames frames, and never falls.
#include <gtest/gtest.h>

#include "gst/processing_latency.h"

namespace {

using sp::gst::ProcessingLatency;

constexpr GstClockTime ms(double v) { return static_cast<GstClockTime>(v * GST_MSECOND); }

// Feeds `n` frames of `duration`; how many of them asked for an announcement.
int feed(ProcessingLatency& l, GstClockTime duration, int n) {
  int announced = 0;
  for (int i = 0; i < n; ++i) announced += l.on_frame(duration) ? 1 : 0;
  return announced;
}

TEST(ProcessingLatency, AFixedValueIsReportedAsGivenWhateverTheFramesTake) {
  ProcessingLatency l(ms(150));
  EXPECT_FALSE(l.automatic());
  l.seed(ms(10));
  EXPECT_EQ(l.reported(), ms(150));
  EXPECT_EQ(feed(l, ms(1000), 100), 0);
  EXPECT_EQ(l.reported(), ms(150));
}

TEST(ProcessingLatency, TheAutomaticOneIsTheLastWarmUpTimesTheMarginRoundedUpToAMillisecond) {
  ProcessingLatency l;
  EXPECT_TRUE(l.automatic());
  EXPECT_EQ(l.reported(), 0u) << "nothing measured yet";
  l.seed(ms(40));  // a cold first run
  l.seed(ms(20));
  EXPECT_EQ(l.reported(), ms(30));
  l.seed(ms(10.2));  // 15.3 ms
  EXPECT_EQ(l.reported(), ms(16));
}

TEST(ProcessingLatency, FramesWithinTheThresholdAreNotAnnounced) {
  ProcessingLatency l;
  l.seed(ms(20));  // 30 ms reported; raised only above 37.5 ms
  EXPECT_EQ(feed(l, ms(37), 200), 0);
  EXPECT_EQ(l.reported(), ms(30));
}

TEST(ProcessingLatency, SlowerFramesRaiseItOnceAfterEnoughFrames) {
  ProcessingLatency l;
  l.seed(ms(20));
  EXPECT_EQ(feed(l, ms(40), static_cast<int>(ProcessingLatency::kMinFrames) - 1), 0) << "too few frames to judge";
  EXPECT_TRUE(l.on_frame(ms(40)));
  EXPECT_EQ(l.reported(), ms(60)) << "the p90 with the margin";
  EXPECT_EQ(feed(l, ms(40), 200), 0) << "announced once; the new latency covers these frames";
  EXPECT_EQ(l.reported(), ms(60));
}

TEST(ProcessingLatency, RaisesAreRateLimited) {
  ProcessingLatency l;
  l.seed(ms(10));
  EXPECT_EQ(feed(l, ms(100), static_cast<int>(ProcessingLatency::kMinFrames)), 1);
  EXPECT_EQ(l.reported(), ms(150));
  // Far slower at once: still only after kMinFrames more frames.
  EXPECT_EQ(feed(l, ms(1000), static_cast<int>(ProcessingLatency::kMinFrames) - 1), 0);
  EXPECT_EQ(l.reported(), ms(150));
  EXPECT_TRUE(l.on_frame(ms(1000)));
  EXPECT_EQ(l.reported(), ms(1500));
}

TEST(ProcessingLatency, RareSpikesDoNotRaiseIt) {
  ProcessingLatency l;
  l.seed(ms(20));
  int announced = 0;
  for (int round = 0; round < 10; ++round) {
    announced += feed(l, ms(20), 31);
    announced += feed(l, ms(500), 1);  // one frame in 32: above the p90's reach
  }
  EXPECT_EQ(announced, 0);
  EXPECT_EQ(l.reported(), ms(30));
}

TEST(ProcessingLatency, ItNeverFalls) {
  ProcessingLatency l;
  l.seed(ms(10));
  EXPECT_EQ(feed(l, ms(100), 32), 1);
  EXPECT_EQ(feed(l, ms(1), 500), 0);
  EXPECT_EQ(l.reported(), ms(150));
}

TEST(ProcessingLatency, WithoutAWarmUpTheFirstFramesSetIt) {
  ProcessingLatency l;
  EXPECT_EQ(feed(l, ms(8), static_cast<int>(ProcessingLatency::kMinFrames)), 1);
  EXPECT_EQ(l.reported(), ms(12));
}

TEST(ProcessingLatency, TheP90IsOverTheRecentFramesOnly) {
  ProcessingLatency l;
  EXPECT_EQ(l.recent_p90(), 0u);
  for (int i = 1; i <= 10; ++i) l.on_frame(ms(i));
  EXPECT_EQ(l.recent_p90(), ms(9));
  feed(l, ms(2), static_cast<int>(ProcessingLatency::kWindow));  // the older frames leave the window
  EXPECT_EQ(l.recent_p90(), ms(2));
}

}  // namespace
