#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace sp {
namespace {

TEST(ThreadPool, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t t) { hits[static_cast<size_t>(t)].fetch_add(1); });
      for (int64_t t = 0; t < n; ++t) EXPECT_EQ(hits[static_cast<size_t>(t)].load(), 1) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPool, ManyBackToBackJobsSeeEachOthersWrites) {
  // Each job reads what the previous job wrote: parallel_for must be a full barrier.
  ThreadPool pool(3);
  std::vector<int64_t> data(64, 0);
  for (int round = 0; round < 2000; ++round) {
    pool.parallel_for(64, [&](int64_t t) { data[static_cast<size_t>(t)] += 1; });
    pool.parallel_for(64, [&](int64_t t) { data[static_cast<size_t>(t)] *= 1; });
  }
  for (int64_t v : data) EXPECT_EQ(v, 2000);
}

TEST(ThreadPool, UsesMoreThanOneThread) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.num_threads(), 2);
  std::atomic<int> seen_other{0};
  auto main_id = std::this_thread::get_id();
  for (int i = 0; i < 200 && !seen_other; ++i) {
    pool.parallel_for(64, [&](int64_t) {
      if (std::this_thread::get_id() != main_id) seen_other = 1;
      volatile int sink = 0;
      for (int k = 0; k < 2000; ++k) sink = sink + k;  // some work, so both threads get tasks
    });
  }
  EXPECT_EQ(seen_other.load(), 1);
}

// Tasks that throw: every task still runs, one of the errors reaches the caller, and the pool keeps working.
TEST(ThreadPool, RethrowingRunsEveryTaskAndRethrowsOneError) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> ran(64);
  try {
    pool.parallel_for_rethrowing(64, [&](int64_t t) {
      ran[static_cast<size_t>(t)]++;
      if (t % 10 == 3) throw std::runtime_error("task " + std::to_string(t));
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("task ", 0), 0u) << e.what();
  }
  for (const auto& r : ran) EXPECT_EQ(r.load(), 1);
  std::atomic<int> sum{0};
  pool.parallel_for_rethrowing(10, [&](int64_t t) { sum += static_cast<int>(t); });
  EXPECT_EQ(sum.load(), 45);
}

TEST(ThreadPool, DestroysCleanlyWhileIdleOrAfterWork) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(2);
    if (i % 2) pool.parallel_for(8, [](int64_t) {});
  }
}

}  // namespace
}  // namespace sp
