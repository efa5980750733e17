// A bounded lock-free single-producer/single-consumer queue that moves whole elements (frames) from the
// capture thread to the inference worker. Header-only; needs nothing but the C++ standard library (and
// the Linux futex system call for sleeping), so it is tested without OpenCV.
//
// Two producer policies on the same ring:
//   push(T&&)            lossless (files): waits while full (spins briefly, then sleeps on a futex);
//                        returns false only once the ring is closed.
//   push_overwrite(T&&)  newest-wins (live sources): never waits for the consumer; when full, the
//                        OLDEST queued element is discarded and counted in dropped().
// Consumer: pop (waits), try_pop, pop_for (waits up to a timeout). close() from either side wakes
// everyone; afterwards pushes fail and the consumer drains what is left, then pop returns false.
//
// ---- Design -------------------------------------------------------------------------------------------
// Elements live in S = N + 1 slots (N = capacity, a power of two). The queue itself is a ring of N
// slot *indices* (`entries_`), one std::atomic<uint32_t> per position, with 64-bit positions that only
// grow: `head_` (next position to consume) and `tail_` (next position to publish), each on its own
// cache line. A slot is always owned by exactly one party: the free list, the producer (while it
// constructs the element), the ring (positions [head, tail)), or the consumer (while it moves the
// element out).
//
//  * Publish (producer): take a free slot, construct the element in it, store its index in
//    entries_[tail % N], then tail_.store(tail + 1) — the release that makes slot and entry visible.
//  * Claim (consumer): h = head_, check h != tail_ (acquire), read idx = entries_[h % N], then
//    head_.compare_exchange(h, h + 1). Winning the CAS makes the consumer the sole owner of slot idx;
//    it moves the element out, destroys it and returns idx to the free list (an SPSC ring of indices
//    running the other way, which never fills because it has room for all S slots).
//  * Drop (producer, overwrite mode, ring full: tail - head == N): the producer claims the oldest
//    position exactly like the consumer does — read entries_[h % N], CAS head_ h -> h + 1. Producer
//    and consumer race on the same CAS: exactly one of them wins position h, so an element is either
//    received once or dropped once, never both, never twice. The winner-producer destroys the old
//    element and reuses its slot for the new one. The loser retries with the new head.
//
// Why the index read before the CAS is the right one: the producer writes entries_[(h + N) % N] (the
// same cell) only after it has seen head_ > h, i.e. after some CAS moved head_ past h. If the
// consumer's CAS from h succeeds, no other CAS moved head_ from h before it, so the producer's overwrite
// of that cell happens after the consumer's CAS, which is sequenced after its read (release on the CAS,
// acquire on the producer's head_ load) — the read cannot see the overwrite. A consumer that read a
// stale cell always fails its CAS. Positions are 64-bit and only grow: no ABA.
//
// Why slot indices and not the elements themselves sit in the ring: with elements stored by position, a
// consumer still moving element h out (a Frame's move is not atomic) would stop a newest-wins producer
// that, after dropping, wants to write position h + N into that same storage — it would have to wait.
// With the indirection the slot being read is simply not in the ring any more.
//
// Why a free slot always exists: the consumer holds at most one slot at a time, and the producer takes
// a slot only after it has made room in the ring (at most N - 1 positions queued then). Every slot the consumer freed before the last head_ CAS the producer has observed is
// visible in the free list (all writes to head_ are RMWs, so an acquire load of head_ synchronises with
// every earlier CAS). At most N - 1 slots are queued and at most one is held or in transit by the
// consumer, so with N + 1 slots at least one free slot is always visible. push_overwrite is therefore
// wait-free: its CAS can fail only because the consumer just took the oldest position, after which the
// ring is no longer full, so it loops at most twice. The consumer moving a frame out in place is never
// disturbed: its slot is not in the ring any more, and the producer cannot reach it.
//
// Sleeping: each side spins briefly, then announces itself (`*_waiting_`, seq_cst) and re-checks the
// condition before sleeping on a 32-bit event counter (futex). The other side publishes with a seq_cst
// operation (tail_ store / head_ CAS) and then reads the announcement (seq_cst): by the single total order
// of seq_cst operations at least one of the two sees the other, so no wake-up is lost. The waker clears
// the announcement with an exchange before bumping the counter and calling FUTEX_WAKE, so the fast path
// costs one load when nobody sleeps and only the first publish after a sleeper announced itself pays
// for a system call. close() always bumps both counters and wakes.
//
// Counters: pushed() = elements accepted (including those later dropped), dropped() = discarded by
// push_overwrite, popped() = received by the consumer; pushed == popped + dropped + size once quiet.
// ---------------------------------------------------------------------------------------------------------
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

namespace sp::pipeline {

namespace spsc_detail {

// std::hardware_destructive_interference_size is not dependable in GCC 12 (it warns and may differ
// between translation units); x86-64 cache lines are 64 bytes.
inline constexpr std::size_t kCacheLine = 64;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

using Clock = std::chrono::steady_clock;

// Sleeps while `word` still holds `expected`, until woken or `deadline` (if any). Spurious returns are
// fine: every caller re-checks its condition.
inline void event_wait(std::atomic<uint32_t>& word, uint32_t expected,
                       std::optional<Clock::time_point> deadline) {
#if defined(__linux__)
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline) {
    auto left = *deadline - Clock::now();
    if (left <= Clock::duration::zero()) return;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    tsp = &ts;  // FUTEX_WAIT takes a relative CLOCK_MONOTONIC timeout
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
#else
  if (!deadline) {
    word.wait(expected, std::memory_order_acquire);
  } else if (word.load(std::memory_order_acquire) == expected && Clock::now() < *deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // no portable timed atomic wait
  }
#endif
}

inline void event_wake_all(std::atomic<uint32_t>& word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, std::numeric_limits<int>::max(),
          nullptr, nullptr, 0);
#else
  word.notify_all();
#endif
}

}  // namespace spsc_detail

template <typename T>
class SpscRing {
  static_assert(std::is_move_constructible_v<T> && std::is_move_assignable_v<T>, "SpscRing<T> needs a movable T");
  static_assert(std::is_nothrow_destructible_v<T>);

 public:
  using value_type = T;
  using Clock = spsc_detail::Clock;

  // `capacity` is rounded up to a power of two (capacity() tells the result); 0 or more than 2^30 throws.
  explicit SpscRing(std::size_t capacity) {
    if (capacity == 0 || capacity > (std::size_t{1} << 30))
      throw std::invalid_argument("SpscRing: capacity must be in [1, 2^30]");
    cap_ = std::bit_ceil(capacity);
    mask_ = cap_ - 1;
    num_slots_ = cap_ + 1;
    free_cap_ = std::bit_ceil(num_slots_);
    free_mask_ = free_cap_ - 1;
    slots_ = std::make_unique<Slot[]>(num_slots_);
    entries_ = std::make_unique<std::atomic<uint32_t>[]>(cap_);
    free_ = std::make_unique<std::atomic<uint32_t>[]>(free_cap_);
    spare_ = std::make_unique<uint32_t[]>(num_slots_);
    for (std::size_t i = 0; i < cap_; ++i) entries_[i].store(0, std::memory_order_relaxed);
    for (std::size_t i = 0; i < free_cap_; ++i)
      free_[i].store(i < num_slots_ ? static_cast<uint32_t>(i) : 0, std::memory_order_relaxed);
    free_tail_.store(num_slots_, std::memory_order_relaxed);  // every slot starts free
    free_head_ = 0;
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Not concurrent with any other call: destroys what is still queued.
  ~SpscRing() {
    const uint64_t h = head_.load(std::memory_order_acquire);
    const uint64_t t = tail_.load(std::memory_order_acquire);
    for (uint64_t p = h; p < t; ++p) slot_ptr(entries_[p & mask_].load(std::memory_order_relaxed))->~T();
  }

  // ---- producer (one thread) ----

  // Lossless: waits while the ring is full. Returns false (and leaves `v` untouched) once closed.
  bool push(T&& v) { return push_lossless(std::move(v), std::nullopt); }

  // Lossless with a time limit: false if closed or still full at the deadline (`v` untouched).
  template <class Rep, class Period>
  bool push_for(T&& v, std::chrono::duration<Rep, Period> timeout) {
    return push_lossless(std::move(v), Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout));
  }

  // Lossless, never waits: false if full or closed (`v` untouched).
  bool try_push(T&& v) {
    if (closed_.load(std::memory_order_acquire)) return false;
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) >= cap_) return false;
    publish(std::move(v), t);
    return true;
  }

  // Newest wins: never waits for the consumer. When full, the oldest queued element is destroyed and
  // counted in dropped(). Returns false (and leaves `v` untouched) only once closed.
  bool push_overwrite(T&& v) {
    if (closed_.load(std::memory_order_acquire)) return false;
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    uint64_t h = head_.load(std::memory_order_acquire);
    while (t - h >= cap_) {
      // Full: claim the oldest position, racing the consumer for it (see the design notes).
      const uint32_t idx = entries_[h & mask_].load(std::memory_order_relaxed);
      if (head_.compare_exchange_strong(h, h + 1, std::memory_order_seq_cst, std::memory_order_acquire)) {
        slot_ptr(idx)->~T();
        spare_[num_spare_++] = idx;  // reused right below
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        break;
      }
      // CAS failed: h now holds the current head (the consumer took it); re-check.
    }
    publish(std::move(v), t);
    return true;
  }

  // ---- consumer (one thread) ----

  // Never waits: false if empty.
  bool try_pop(T& out) {
    uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t t = tail_.load(std::memory_order_acquire);
      if (h >= t) return false;
      const uint32_t idx = entries_[h & mask_].load(std::memory_order_relaxed);
      if (head_.compare_exchange_strong(h, h + 1, std::memory_order_seq_cst, std::memory_order_acquire)) {
        take(idx, out);
        return true;
      }
      // Lost the race to push_overwrite dropping position h (or a spurious failure): h is updated.
    }
  }

  // Waits for an element; false once the ring is closed and drained.
  bool pop(T& out) { return pop_until(out, std::nullopt); }

  // Waits up to `timeout`; false on timeout or when closed and drained (is_closed() tells which).
  template <class Rep, class Period>
  bool pop_for(T& out, std::chrono::duration<Rep, Period> timeout) {
    return pop_until(out, Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout));
  }

  // ---- either side, any thread ----

  // After close(): pushes return false, blocked calls wake up, the consumer drains what is queued.
  void close() {
    closed_.store(true, std::memory_order_seq_cst);
    data_event_.fetch_add(1, std::memory_order_seq_cst);
    space_event_.fetch_add(1, std::memory_order_seq_cst);
    spsc_detail::event_wake_all(data_event_);
    spsc_detail::event_wake_all(space_event_);
  }

  bool is_closed() const { return closed_.load(std::memory_order_acquire); }

  // Queued elements; exact when neither side is active, otherwise a snapshot that may be stale.
  std::size_t size() const {
    const uint64_t h = head_.load(std::memory_order_acquire);
    const uint64_t t = tail_.load(std::memory_order_acquire);
    return t > h ? static_cast<std::size_t>(std::min<uint64_t>(t - h, cap_)) : 0;
  }
  bool empty() const { return size() == 0; }
  std::size_t capacity() const { return cap_; }
  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t popped() const { return popped_.load(std::memory_order_relaxed); }

 private:
  struct alignas(spsc_detail::kCacheLine) Slot {
    alignas(T) unsigned char storage[sizeof(T)];
  };

  T* slot_ptr(uint32_t idx) { return std::launder(reinterpret_cast<T*>(slots_[idx].storage)); }

  // Producer: a free slot. The free list is never empty here (see the design notes); the loop is a
  // defensive wait that cannot block for longer than the consumer's in-flight free-list store.
  uint32_t acquire_slot() {
    if (num_spare_ > 0) return spare_[--num_spare_];
    while (free_tail_.load(std::memory_order_acquire) == free_head_) spsc_detail::cpu_relax();
    const uint32_t idx = free_[free_head_ & free_mask_].load(std::memory_order_relaxed);
    ++free_head_;
    return idx;
  }

  // Producer: construct the element in a free slot and publish it at position t (room is guaranteed).
  void publish(T&& v, uint64_t t) {
    const uint32_t idx = acquire_slot();
    try {
      ::new (static_cast<void*>(slots_[idx].storage)) T(std::move(v));
    } catch (...) {
      spare_[num_spare_++] = idx;  // keep the slot for the next push
      throw;
    }
    entries_[t & mask_].store(idx, std::memory_order_relaxed);
    pushed_.store(pushed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_seq_cst);  // release + the Dekker pairing with consumer_waiting_
    // Load first (cheap), then exchange: only the first push after the consumer fell asleep pays for the
    // system call, not every push until the consumer has woken up and cleared its flag.
    if (consumer_waiting_.load(std::memory_order_seq_cst) && consumer_waiting_.exchange(false, std::memory_order_seq_cst)) {
      data_event_.fetch_add(1, std::memory_order_seq_cst);
      spsc_detail::event_wake_all(data_event_);
    }
  }

  // Consumer: owns slot idx after winning the CAS. Moves the element out, destroys it, frees the slot.
  void take(uint32_t idx, T& out) {
    struct Release {
      SpscRing* ring;
      uint32_t idx;
      ~Release() {
        ring->slot_ptr(idx)->~T();
        const uint64_t ft = ring->free_tail_.load(std::memory_order_relaxed);
        ring->free_[ft & ring->free_mask_].store(idx, std::memory_order_relaxed);
        ring->free_tail_.store(ft + 1, std::memory_order_release);
        ring->popped_.store(ring->popped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        ring->wake_producer_waiter_if_any();
      }
    } release{this, idx};
    out = std::move(*slot_ptr(idx));
  }

  void wake_producer_waiter_if_any() {
    // Pairs with push_lossless: producer_waiting_ store (seq_cst), then head_ load (seq_cst); here the
    // head_ CAS (seq_cst) came first.
    if (producer_waiting_.load(std::memory_order_seq_cst) && producer_waiting_.exchange(false, std::memory_order_seq_cst)) {
      space_event_.fetch_add(1, std::memory_order_seq_cst);
      spsc_detail::event_wake_all(space_event_);
    }
  }

  static constexpr int kSpins = 256;  // ~ a few microseconds of pause before sleeping

  bool push_lossless(T&& v, std::optional<Clock::time_point> deadline) {
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    int spins = 0;
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return false;
      if (t - head_.load(std::memory_order_acquire) < cap_) break;
      if (deadline && Clock::now() >= *deadline) return false;
      if (spins < kSpins) {
        ++spins;
        spsc_detail::cpu_relax();
        continue;
      }
      const uint32_t ev = space_event_.load(std::memory_order_seq_cst);
      producer_waiting_.store(true, std::memory_order_seq_cst);
      if (t - head_.load(std::memory_order_seq_cst) >= cap_ && !closed_.load(std::memory_order_seq_cst))
        spsc_detail::event_wait(space_event_, ev, deadline);
      producer_waiting_.store(false, std::memory_order_relaxed);
    }
    publish(std::move(v), t);
    return true;
  }

  bool pop_until(T& out, std::optional<Clock::time_point> deadline) {
    int spins = 0;
    for (;;) {
      if (try_pop(out)) return true;
      if (closed_.load(std::memory_order_acquire)) return try_pop(out);  // a last push before close
      if (deadline && Clock::now() >= *deadline) return false;
      if (spins < kSpins) {
        ++spins;
        spsc_detail::cpu_relax();
        continue;
      }
      const uint32_t ev = data_event_.load(std::memory_order_seq_cst);
      consumer_waiting_.store(true, std::memory_order_seq_cst);
      if (head_.load(std::memory_order_seq_cst) >= tail_.load(std::memory_order_seq_cst) &&
          !closed_.load(std::memory_order_seq_cst))
        spsc_detail::event_wait(data_event_, ev, deadline);
      consumer_waiting_.store(false, std::memory_order_relaxed);
    }
  }

  // Read-mostly after construction.
  std::size_t cap_ = 0, mask_ = 0, num_slots_ = 0, free_cap_ = 0, free_mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::atomic<uint32_t>[]> entries_;  // position -> slot index
  std::unique_ptr<std::atomic<uint32_t>[]> free_;     // free slot indices, consumer -> producer
  std::atomic<bool> closed_{false};

  // Consumer position; also CAS'd by push_overwrite when it drops the oldest.
  alignas(spsc_detail::kCacheLine) std::atomic<uint64_t> head_{0};

  // Producer-written line.
  alignas(spsc_detail::kCacheLine) std::atomic<uint64_t> tail_{0};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> dropped_{0};
  uint64_t free_head_ = 0;   // producer-only
  std::size_t num_spare_ = 0;  // producer-only: free slots held back (after a drop or a throwing move)
  std::unique_ptr<uint32_t[]> spare_;

  // Consumer-written line.
  alignas(spsc_detail::kCacheLine) std::atomic<uint64_t> free_tail_{0};
  std::atomic<uint64_t> popped_{0};

  // Sleep/wake: the consumer waits for data, the producer (lossless) waits for space.
  alignas(spsc_detail::kCacheLine) std::atomic<uint32_t> data_event_{0};
  std::atomic<bool> consumer_waiting_{false};
  alignas(spsc_detail::kCacheLine) std::atomic<uint32_t> space_event_{0};
  std::atomic<bool> producer_waiting_{false};
};

}  // namespace sp::pipeline
