// A fixed pool of worker threads created once per Session. The calling thread takes part in every
// parallel loop, so a pool of size N runs N-1 workers. Workers spin briefly before sleeping because
// per-frame latency matters more here than idle CPU (tasks arrive every few hundred microseconds).
//
// Tasks are claimed one at a time from a counter tagged with the job's generation, and the caller
// waits only for claimed tasks to finish — never for a worker to wake up. On a loaded machine a
// descheduled worker therefore costs nothing: the caller simply runs the remaining tasks itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace sp {

// A non-owning reference to a callable: no allocation, unlike std::function.
template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): used like a lambda parameter
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... args) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(args...); }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

// The threads a pool of `requested` threads has: `requested` if positive, else one per hardware thread
// (at least one).
inline int resolve_thread_count(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task) for task in [0, num_tasks), spread over all threads; returns when all are done.
  // Tasks are handed out dynamically, so uneven tasks balance themselves. Not reentrant.
  void parallel_for(int64_t num_tasks, FunctionRef<void(int64_t task)> fn);
  // The same for tasks that may throw (a task running on a worker must not): every task runs, each
  // exception is caught where it is thrown, and the first one is rethrown here once all are done.
  void parallel_for_rethrowing(int64_t num_tasks, FunctionRef<void(int64_t task)> fn);

 private:
  void worker_loop();
  // Claims and runs tasks of job `generation` until none are left or another job has started.
  void run_tasks(uint32_t generation);

  // The job state in one word, so a claim checks generation, task count and next task atomically:
  // generation (20 bits) | number of tasks (22 bits) | next unclaimed task (22 bits).
  static constexpr int kTaskBits = 22;
  static constexpr uint64_t kTaskMask = (uint64_t{1} << kTaskBits) - 1;
  static constexpr uint32_t kGenerationMask = (1u << (64 - 2 * kTaskBits)) - 1;
  static uint64_t pack(uint32_t generation, uint64_t tasks, uint64_t next) {
    return (uint64_t{generation} << (2 * kTaskBits)) | (tasks << kTaskBits) | next;
  }
  static uint32_t generation_of(uint64_t s) { return static_cast<uint32_t>(s >> (2 * kTaskBits)); }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  alignas(64) std::atomic<uint64_t> state_{0};
  alignas(64) std::atomic<int64_t> done_{0};
  // Written only while no task of the current job is claimable (see parallel_for).
  std::atomic<FunctionRef<void(int64_t)>*> job_{nullptr};
  bool stop_ = false;  // guarded by mutex_
};

}  // namespace sp
