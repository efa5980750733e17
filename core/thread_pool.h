// A fixed pool of worker threads created once per Session. The calling thread takes part in every
// parallel loop, so a pool of size N runs N-1 workers. Workers spin briefly before sleeping because
// per-frame latency matters more here than idle CPU (tasks arrive every few hundred microseconds).
#pragma once

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

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task) for task in [0, num_tasks), spread over all threads; returns when all are done.
  // Tasks are handed out dynamically, so uneven tasks balance themselves.
  void parallel_for(int64_t num_tasks, FunctionRef<void(int64_t task)> fn);

 private:
  void worker_loop(int index);
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current job. `generation_` changes once per parallel_for; workers compare it to their own.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_task_{0};
  std::atomic<int> active_workers_{0};
  int64_t num_tasks_ = 0;
  FunctionRef<void(int64_t)>* job_ = nullptr;
  bool stop_ = false;
};

}  // namespace sp
