// SpscRing: single-thread semantics, then two-thread stress in both producer policies (run under TSan by
// scripts/test.sh: ctest -R 'ThreadPool|SpscRing'). Header-only ring: no OpenCV needed here.
#include "pipeline/spsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define SP_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SP_TEST_TSAN 1
#endif
#endif

namespace sp::pipeline {
namespace {

using namespace std::chrono_literals;
using Ring = SpscRing<uint64_t>;

// Items per stress test: SP_STRESS_ITEMS overrides; `tsan_default` under TSan, which is ~30x slower.
uint64_t stress_items(uint64_t release_default, uint64_t tsan_default = 400'000) {
  if (const char* env = std::getenv("SP_STRESS_ITEMS")) return std::strtoull(env, nullptr, 10);
#ifdef SP_TEST_TSAN
  (void)release_default;
  return tsan_default;
#else
  (void)tsan_default;
  return release_default;
#endif
}

// Closes the ring if a test has not finished in time, so a lost wake-up fails instead of hanging.
class Watchdog {
 public:
  template <class R>
  Watchdog(R& ring, std::chrono::seconds limit)
      : thread_([this, &ring, limit] {
          std::unique_lock lock(m_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired_ = true;
            ring.close();
          }
        }) {}
  ~Watchdog() { stop(); }
  void stop() {
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() const { return fired_; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

// ---- single thread ----

TEST(SpscRing, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(Ring(1).capacity(), 1u);
  EXPECT_EQ(Ring(2).capacity(), 2u);
  EXPECT_EQ(Ring(3).capacity(), 4u);
  EXPECT_EQ(Ring(8).capacity(), 8u);
  EXPECT_EQ(Ring(9).capacity(), 16u);
  EXPECT_THROW(Ring(0), std::invalid_argument);
}

TEST(SpscRing, FifoFullAndEmpty) {
  Ring r(4);
  uint64_t v = 0;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.try_pop(v));
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(r.try_push(uint64_t{i}));
  EXPECT_EQ(r.size(), 4u);
  EXPECT_FALSE(r.try_push(99));  // full
  EXPECT_FALSE(r.push_for(99, 1ms));  // still full at the deadline
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.try_pop(v));
  EXPECT_EQ(r.size(), 0u);
  // Wrap around many times with the blocking calls (never blocking here).
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(r.push(uint64_t{i}));
    ASSERT_TRUE(r.push(uint64_t{i + 1}));
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i);
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i + 1);
  }
  EXPECT_EQ(r.pushed(), 4u + 2000u);
  EXPECT_EQ(r.popped(), 4u + 2000u);
  EXPECT_EQ(r.dropped(), 0u);
}

TEST(SpscRing, CloseRejectsPushesAndDrains) {
  Ring r(8);
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(r.push(uint64_t{i}));
  r.close();
  EXPECT_TRUE(r.is_closed());
  uint64_t x = 42;
  EXPECT_FALSE(r.push(std::move(x)));
  EXPECT_FALSE(r.try_push(std::move(x)));
  EXPECT_FALSE(r.push_overwrite(std::move(x)));
  uint64_t v = 0;
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.pop(v));
  EXPECT_FALSE(r.pop_for(v, 1s));  // returns at once: closed and empty
  EXPECT_EQ(r.pushed(), 3u);
}

TEST(SpscRing, RejectedPushLeavesTheValueUntouched) {
  SpscRing<std::unique_ptr<int>> r(1);
  ASSERT_TRUE(r.push(std::make_unique<int>(1)));
  auto p = std::make_unique<int>(2);
  EXPECT_FALSE(r.try_push(std::move(p)));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 2);
  r.close();
  EXPECT_FALSE(r.push(std::move(p)));
  ASSERT_TRUE(p);
}

TEST(SpscRing, PopForTimesOut) {
  Ring r(2);
  uint64_t v = 0;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(r.pop_for(v, 30ms));
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 2s);
  ASSERT_TRUE(r.push(7));
  EXPECT_TRUE(r.pop_for(v, 0ms));
  EXPECT_EQ(v, 7u);
}

TEST(SpscRing, OverwriteDropsTheOldestAndCountsIt) {
  Ring r(4);
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(r.push_overwrite(uint64_t{i}));
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.pushed(), 10u);
  EXPECT_EQ(r.dropped(), 6u);
  uint64_t v = 0;
  for (uint64_t i = 6; i < 10; ++i) {
    ASSERT_TRUE(r.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.try_pop(v));
  // Below capacity nothing is dropped.
  ASSERT_TRUE(r.push_overwrite(100));
  ASSERT_TRUE(r.push_overwrite(101));
  ASSERT_TRUE(r.try_pop(v));
  EXPECT_EQ(v, 100u);
  EXPECT_EQ(r.dropped(), 6u);
  // Capacity 1: always the newest.
  Ring one(1);
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(one.push_overwrite(uint64_t{i}));
  ASSERT_TRUE(one.try_pop(v));
  EXPECT_EQ(v, 4u);
  EXPECT_EQ(one.dropped(), 4u);
}

TEST(SpscRing, MoveOnlyElementsAreDestroyedExactlyOnce) {
  auto token = std::make_shared<int>(0);
  {
    SpscRing<std::shared_ptr<int>> r(4);
    for (int i = 0; i < 10; ++i) r.push_overwrite(std::shared_ptr<int>(token));  // 6 dropped: released now
    EXPECT_EQ(token.use_count(), 1 + 4);
    std::shared_ptr<int> out;
    ASSERT_TRUE(r.try_pop(out));
    EXPECT_EQ(token.use_count(), 1 + 4);  // 3 queued + `out`
    out.reset();
    EXPECT_EQ(token.use_count(), 1 + 3);
  }  // the ring's destructor releases the 3 still queued
  EXPECT_EQ(token.use_count(), 1);
}

struct ThrowingMove {
  static inline int throw_countdown = -1;  // throws when it reaches 0
  uint64_t v = 0;
  ThrowingMove() = default;
  explicit ThrowingMove(uint64_t x) : v(x) {}
  ThrowingMove(ThrowingMove&& o) : v(o.v) {
    if (throw_countdown >= 0 && throw_countdown-- == 0) throw std::runtime_error("move");
  }
  ThrowingMove& operator=(ThrowingMove&& o) = default;
};

TEST(SpscRing, ThrowingMoveLosesNoSlot) {
  SpscRing<ThrowingMove> r(2);
  ThrowingMove out;
  for (int round = 0; round < 20; ++round) {
    ThrowingMove::throw_countdown = 0;
    EXPECT_THROW(r.push_overwrite(ThrowingMove(999)), std::runtime_error);
    ThrowingMove::throw_countdown = -1;
    // All capacity is still usable in both modes.
    for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(r.push_overwrite(ThrowingMove(i)));
    ASSERT_TRUE(r.try_pop(out));
    EXPECT_EQ(out.v, 3u);
    ASSERT_TRUE(r.try_pop(out));
    EXPECT_EQ(out.v, 4u);
    ASSERT_TRUE(r.try_push(ThrowingMove(7)));
    ASSERT_TRUE(r.try_push(ThrowingMove(8)));
    EXPECT_FALSE(r.try_push(ThrowingMove(9)));
    ASSERT_TRUE(r.try_pop(out));
    ASSERT_TRUE(r.try_pop(out));
    EXPECT_EQ(out.v, 8u);
  }
}

// ---- two threads ----

TEST(SpscRingStress, LosslessKeepsEverySequenceNumberInOrder) {
  const uint64_t n = stress_items(4'000'000, 2'000'000);  // lossless: millions of items even under TSan
  for (size_t cap : {size_t{1024}, size_t{2}}) {
    const uint64_t items = cap == 2 ? n / 40 : n;  // a tiny ring sleeps/wakes on almost every item
    Ring r(cap);
    Watchdog dog(r, 60s);
    uint64_t received = 0, bad = 0;
    auto t0 = std::chrono::steady_clock::now();
    std::thread consumer([&] {
      uint64_t v = 0, expect = 0;
      while (r.pop(v)) {
        if (v != expect) ++bad;
        expect = v + 1;
        ++received;
      }
    });
    bool push_ok = true;
    for (uint64_t i = 0; i < items; ++i) push_ok &= r.push(uint64_t{i});
    r.close();
    consumer.join();
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    dog.stop();
    EXPECT_FALSE(dog.fired()) << "watchdog fired: a wake-up was lost";
    EXPECT_TRUE(push_ok);
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(received, items);
    EXPECT_EQ(r.pushed(), items);
    EXPECT_EQ(r.dropped(), 0u);
    std::printf("[ lossless ] capacity %zu: %llu items in %.3f s = %.1f M items/s\n", cap,
                static_cast<unsigned long long>(items), sec, items / sec / 1e6);
  }
}

TEST(SpscRingStress, OverwriteDeliversAStrictlyIncreasingSubsequence) {
  const uint64_t n = stress_items(3'000'000);
  // Consumer styles: blocking pop, try_pop spinning, pop_for, and a slow consumer that forces drops.
  for (int style = 0; style < 4; ++style) {
    const uint64_t items = style == 3 ? n / 10 : n;
    Ring r(style == 1 ? 1 : 8);
    Watchdog dog(r, 60s);
    uint64_t received = 0, not_increasing = 0, last = 0;
    bool any = false;
    std::thread consumer([&] {
      uint64_t v = 0;
      auto take = [&] {
        if (any && v <= last) ++not_increasing;
        last = v;
        any = true;
        ++received;
      };
      for (uint64_t k = 0;; ++k) {
        if (style == 0 || style == 3) {
          if (!r.pop(v)) break;
        } else if (style == 1) {
          // Check closed once, then drain: checking it twice let a close in between count a stale value.
          if (!r.try_pop(v)) {
            if (!r.is_closed()) continue;
            if (!r.try_pop(v)) break;
          }
        } else {
          // As style 1: a timeout, then pushes and the close, then the check would leave those items behind
          // (seen once under ASan); after the close nothing more comes, so drain before stopping.
          if (!r.pop_for(v, 5ms)) {
            if (!r.is_closed()) continue;
            if (!r.try_pop(v)) break;
          }
        }
        take();
        if (style == 3 && k % 64 == 0) std::this_thread::yield();
      }
    });
    bool push_ok = true;
    for (uint64_t i = 0; i < items; ++i) push_ok &= r.push_overwrite(uint64_t{i});
    r.close();
    consumer.join();
    dog.stop();
    EXPECT_FALSE(dog.fired()) << "style " << style;
    EXPECT_TRUE(push_ok);
    EXPECT_EQ(not_increasing, 0u) << "style " << style;
    EXPECT_EQ(r.pushed(), items);
    EXPECT_EQ(received + r.dropped(), items) << "style " << style;
    EXPECT_EQ(r.popped(), received);
    EXPECT_EQ(r.size(), 0u);
    EXPECT_TRUE(any);
    EXPECT_EQ(last, items - 1) << "the newest element is never dropped";
    std::printf("[ overwrite ] style %d capacity %zu: received %llu, dropped %llu\n", style, r.capacity(),
                static_cast<unsigned long long>(received), static_cast<unsigned long long>(r.dropped()));
  }
}

// Heap-owning element that counts how many are alive.
struct Counted {
  static inline std::atomic<int64_t> live{0};
  std::unique_ptr<uint64_t> v;
  Counted() = default;
  explicit Counted(uint64_t x) : v(std::make_unique<uint64_t>(x)) { live.fetch_add(1); }
  Counted(Counted&&) = default;
  Counted& operator=(Counted&& o) {
    if (v) live.fetch_sub(1);
    v = std::move(o.v);
    return *this;
  }
  ~Counted() {
    if (v) live.fetch_sub(1);
  }
};

TEST(SpscRingStress, OverwriteWithOwningElementsNeverDuplicatesOrLeaks) {
  // Heap-owning elements: a slot read by the consumer while the producer reuses it would show up under
  // TSan/ASan, and every element is released exactly once (live count returns to zero).
  const uint64_t items = stress_items(2'000'000) / 2;
  {
    SpscRing<Counted> r(4);
    Watchdog dog(r, 60s);
    uint64_t received = 0, bad = 0, last = 0;
    std::thread consumer([&] {
      Counted c;
      bool any = false;
      while (r.pop(c)) {
        if (!c.v || (any && *c.v <= last)) ++bad;
        if (c.v) last = *c.v;
        any = true;
        ++received;
      }
    });
    for (uint64_t i = 0; i < items; ++i) r.push_overwrite(Counted(i));
    r.close();
    consumer.join();
    dog.stop();
    EXPECT_FALSE(dog.fired());
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(received + r.dropped(), items);
    EXPECT_EQ(last, items - 1);
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

TEST(SpscRingStress, PingPongThroughSleepingWaits) {
  // Capacity 1 and a consumer that usually finds the ring empty: exercises sleep/wake on both sides;
  // a lost wake-up would hang (the watchdog turns that into a failure).
  const uint64_t items = 20'000;
  Ring r(1);
  Watchdog dog(r, 60s);
  uint64_t received = 0, bad = 0;
  std::thread consumer([&] {
    uint64_t v = 0, expect = 0;
    while (r.pop(v)) {
      if (v != expect++) ++bad;
      ++received;
      if (received % 1000 == 0) std::this_thread::sleep_for(100us);  // let the producer block on full
    }
  });
  bool push_ok = true;
  for (uint64_t i = 0; i < items; ++i) {
    push_ok &= r.push(uint64_t{i});
    if (i % 997 == 0) std::this_thread::sleep_for(100us);  // let the consumer fall asleep
  }
  r.close();
  consumer.join();
  dog.stop();
  EXPECT_FALSE(dog.fired());
  EXPECT_TRUE(push_ok);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(received, items);
}

TEST(SpscRingStress, CloseWakesABlockedConsumer) {
  Ring r(4);
  uint64_t v = 0;
  std::atomic<int> result{-1};
  std::thread consumer([&] { result = r.pop(v) ? 1 : 0; });
  std::this_thread::sleep_for(50ms);  // long enough to be asleep on the futex
  EXPECT_EQ(result.load(), -1);
  r.close();
  consumer.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(SpscRingStress, CloseWakesABlockedTimedConsumerEarly) {
  Ring r(4);
  uint64_t v = 0;
  bool got = true;
  auto t0 = std::chrono::steady_clock::now();
  std::thread consumer([&] { got = r.pop_for(v, 20s); });
  std::this_thread::sleep_for(50ms);
  r.close();
  consumer.join();
  EXPECT_FALSE(got);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(SpscRingStress, CloseWakesABlockedProducer) {
  Ring r(2);
  ASSERT_TRUE(r.push(1));
  ASSERT_TRUE(r.push(2));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = r.push(3) ? 1 : 0; });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(result.load(), -1);  // blocked: full
  r.close();
  producer.join();
  EXPECT_EQ(result.load(), 0);
  uint64_t v = 0;  // what was queued before close is still drained
  ASSERT_TRUE(r.pop(v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(r.pop(v));
  EXPECT_EQ(v, 2u);
  EXPECT_FALSE(r.pop(v));
}

TEST(SpscRingStress, BlockedConsumerWakesOnPush) {
  Ring r(4);
  uint64_t v = 0;
  std::atomic<bool> got{false};
  std::thread consumer([&] { got = r.pop(v); });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(r.push(5));
  consumer.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(v, 5u);
}

TEST(SpscRingStress, BlockedProducerWakesOnPop) {
  Ring r(1);
  ASSERT_TRUE(r.push(1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] { pushed = r.push(2); });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(pushed.load());
  uint64_t v = 0;
  ASSERT_TRUE(r.pop(v));
  producer.join();
  EXPECT_TRUE(pushed.load());
  ASSERT_TRUE(r.pop(v));
  EXPECT_EQ(v, 2u);
}

}  // namespace
}  // namespace sp::pipeline
