// Assigns every buffer an offset in one arena so that buffers alive at the same time never overlap
// (greedy by size, best offset first — as TFLite's arena planner does). Planned once per Session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sp {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // first op that writes it (or 0 for inputs)
  int last_step = 0;   // last op that reads it (or the end for outputs)
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // per request, aligned to kArenaAlignment
  size_t total_bytes = 0;
};

constexpr size_t kArenaAlignment = 64;

ArenaPlan plan_arena(const std::vector<BufferRequest>& requests);

}  // namespace sp
