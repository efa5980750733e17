#include "tracking/linear_assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace sp::tracking {
namespace {

// Stands for "not allowed" in the padded matrix: larger than any sum of real costs can reach, yet finite
// so the potentials stay finite.
constexpr double kForbidden = 1e12;

bool admissible(float c, float limit) { return c < limit; }  // false for NaN

}  // namespace

int LinearAssignment::find(int x) {
  while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
  return x;
}

const std::vector<Match>& LinearAssignment::solve(std::span<const float> cost, int rows, int cols, float limit) {
  matches_.clear();
  if (rows < 0 || cols < 0 || cost.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols))
    throw Error("linear assignment: the cost matrix does not have rows x cols entries");
  if (rows == 0 || cols == 0) return matches_;

  // Components of the bipartite graph of admissible pairs (rows are 0..rows-1, columns rows..).
  parent_.resize(static_cast<size_t>(rows + cols));
  for (int i = 0; i < rows + cols; ++i) parent_[i] = i;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      if (admissible(cost[static_cast<size_t>(r) * cols + c], limit)) {
        const int a = find(r), b = find(rows + c);
        if (a != b) parent_[a] = b;
      }

  // Each component with at least one admissible pair, in order of its smallest row.
  order_.assign(static_cast<size_t>(rows + cols), 0);  // 1: root already solved
  for (int r = 0; r < rows; ++r) {
    const int root = find(r);
    if (order_[root]) continue;
    order_[root] = 1;
    comp_rows_.clear();
    comp_cols_.clear();
    for (int rr = r; rr < rows; ++rr)
      if (find(rr) == root) comp_rows_.push_back(rr);
    for (int c = 0; c < cols; ++c)
      if (find(rows + c) == root) comp_cols_.push_back(c);
    if (comp_cols_.empty()) continue;  // a row with no admissible pair
    if (comp_rows_.size() == 1 && comp_cols_.size() == 1) {
      matches_.push_back({comp_rows_[0], comp_cols_[0]});  // one admissible pair: take it
      continue;
    }
    solve_component(cost, cols, limit, comp_rows_, comp_cols_);
  }
  std::sort(matches_.begin(), matches_.end(), [](const Match& a, const Match& b) { return a.row < b.row; });
  return matches_;
}

void LinearAssignment::solve_component(std::span<const float> cost, int cols, float limit,
                                       const std::vector<int>& rs, const std::vector<int>& cs) {
  const int n = static_cast<int>(rs.size()), m = static_cast<int>(cs.size());
  const int N = n + m;  // padded square size
  const double half = static_cast<double>(limit) / 2.0;
  a_.assign(static_cast<size_t>(N + 1) * (N + 1), 0.0);
  auto at = [&](int i, int j) -> double& { return a_[static_cast<size_t>(i) * (N + 1) + j]; };  // 1-indexed
  for (int i = 0; i < N; ++i) {
    for (int j = 0; j < N; ++j) {
      double c;
      if (i < n && j < m) {
        const float x = cost[static_cast<size_t>(rs[i]) * cols + cs[j]];
        c = admissible(x, limit) ? static_cast<double>(x) : kForbidden;
      } else if (i < n) {
        c = (j - m == i) ? half : kForbidden;  // row i left unmatched
      } else if (j < m) {
        c = (i - n == j) ? half : kForbidden;  // column j left unmatched
      } else {
        c = 0.0;  // dummy with dummy
      }
      at(i + 1, j + 1) = c;
    }
  }
  // Hungarian method, shortest augmenting paths with row/column potentials u, v.
  u_.assign(static_cast<size_t>(N + 1), 0.0);
  v_.assign(static_cast<size_t>(N + 1), 0.0);
  p_.assign(static_cast<size_t>(N + 1), 0);
  way_.assign(static_cast<size_t>(N + 1), 0);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (int i = 1; i <= N; ++i) {
    p_[0] = i;
    int j0 = 0;
    minv_.assign(static_cast<size_t>(N + 1), kInf);
    used_.assign(static_cast<size_t>(N + 1), 0);
    do {
      used_[j0] = 1;
      const int i0 = p_[j0];
      double delta = kInf;
      int j1 = 0;
      for (int j = 1; j <= N; ++j) {
        if (used_[j]) continue;
        const double cur = at(i0, j) - u_[i0] - v_[j];
        if (cur < minv_[j]) minv_[j] = cur, way_[j] = j0;
        if (minv_[j] < delta) delta = minv_[j], j1 = j;
      }
      for (int j = 0; j <= N; ++j) {
        if (used_[j]) {
          u_[p_[j]] += delta;
          v_[j] -= delta;
        } else {
          minv_[j] -= delta;
        }
      }
      j0 = j1;
    } while (p_[j0] != 0);
    do {
      const int j1 = way_[j0];
      p_[j0] = p_[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  for (int j = 1; j <= m; ++j) {
    const int i = p_[j];
    if (i >= 1 && i <= n && at(i, j) < kForbidden) matches_.push_back({rs[i - 1], cs[j - 1]});
  }
}

}  // namespace sp::tracking
