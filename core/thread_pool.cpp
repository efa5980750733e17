#include "core/thread_pool.h"

#include <chrono>
#include <exception>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sp {
namespace {
// How long an idle worker polls for new work before it sleeps on the condition variable.
constexpr auto kSpinTime = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks(uint32_t generation) {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(s) != generation) return;  // a newer job: ours is finished
    uint64_t next = s & kTaskMask, tasks = (s >> kTaskBits) & kTaskMask;
    if (next >= tasks) return;
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // The claim succeeded while this job still had unclaimed tasks, so the caller is still waiting for
    // it and job_ is this job's (it is replaced only after every task is done).
    (*job_.load(std::memory_order_acquire))(static_cast<int64_t>(next));
    done_.fetch_add(1, std::memory_order_acq_rel);
    s = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for_rethrowing(int64_t num_tasks, FunctionRef<void(int64_t)> fn) {
  std::exception_ptr error;
  std::mutex error_mutex;
  parallel_for(num_tasks, [&](int64_t task) {
    try {
      fn(task);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

void ThreadPool::parallel_for(int64_t num_tasks, FunctionRef<void(int64_t)> fn) {
  if (num_tasks <= 0) return;
  if (workers_.empty() || num_tasks == 1 || static_cast<uint64_t>(num_tasks) > kTaskMask) {
    for (int64_t t = 0; t < num_tasks; ++t) fn(t);
    return;
  }
  uint32_t generation = (generation_of(state_.load(std::memory_order_relaxed)) + 1) & kGenerationMask;
  // The previous job's tasks are all done, so nothing reads job_ until the new state is published.
  job_.store(&fn, std::memory_order_release);
  done_.store(0, std::memory_order_release);
  state_.store(pack(generation, static_cast<uint64_t>(num_tasks), 0), std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);  // pairs with the sleepers' predicate check
  }
  wake_.notify_all();
  run_tasks(generation);
  while (done_.load(std::memory_order_acquire) != num_tasks) cpu_relax();
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    auto current = [&] { return generation_of(state_.load(std::memory_order_acquire)); };
    auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    while (current() == seen && std::chrono::steady_clock::now() < spin_until) cpu_relax();
    if (current() == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || current() != seen; });
      if (stop_) return;
    }
    seen = current();
    run_tasks(seen);
  }
}

}  // namespace sp
