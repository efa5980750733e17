// Latency statistics with the exact definitions bench/ort_bench.js uses, so the two sides of a
// comparison are computed the same way: population std, nearest-rank percentiles
// (k = ceil(P/100 * n) computed on integers, value x[k-1] of the ascending list).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "pipeline/stage_stats.h"  // nearest_rank: the one definition of a percentile in the project

namespace sp::app {

struct LatencyStats {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, std = 0, min = 0, max = 0;
};

inline LatencyStats latency_stats(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double x : ms) sum += x;
  s.mean = sum / ms.size();
  double var = 0;
  for (double x : ms) var += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(var / ms.size());
  s.min = ms.front();
  s.max = ms.back();
  s.p50 = pipeline::nearest_rank(ms, 50);
  s.p90 = pipeline::nearest_rank(ms, 90);
  s.p99 = pipeline::nearest_rank(ms, 99);
  return s;
}

}  // namespace sp::app
