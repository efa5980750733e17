#include "core/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace sp {

ArenaPlan plan_arena(const std::vector<BufferRequest>& requests) {
  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });

  auto align = [](size_t x) { return (x + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; };
  std::vector<size_t> placed;
  for (size_t r : order) {
    const BufferRequest& req = requests[r];
    size_t size = align(std::max<size_t>(req.bytes, 1));
    // Buffers alive at the same time as this one, by offset.
    std::vector<size_t> live;
    for (size_t p : placed) {
      const BufferRequest& o = requests[p];
      if (o.first_step <= req.last_step && req.first_step <= o.last_step) live.push_back(p);
    }
    std::sort(live.begin(), live.end(), [&](size_t a, size_t b) { return plan.offsets[a] < plan.offsets[b]; });
    // Smallest gap that fits; else after the last live buffer.
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (size_t p : live) {
      size_t start = plan.offsets[p];
      if (start > cursor && start - cursor >= size && start - cursor < best_gap) {
        best = cursor;
        best_gap = start - cursor;
      }
      cursor = std::max(cursor, plan.offsets[p] + align(std::max<size_t>(requests[p].bytes, 1)));
    }
    plan.offsets[r] = best != SIZE_MAX ? best : cursor;
    plan.total_bytes = std::max(plan.total_bytes, plan.offsets[r] + size);
    placed.push_back(r);
  }
  return plan;
}

}  // namespace sp
