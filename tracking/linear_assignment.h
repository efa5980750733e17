// Optimal one-to-one assignment of tracks (rows) to detections (columns) with a cost limit, the
// problem ByteTrack hands to lap.lapjv(cost_limit=...): each row and column is matched at most once,
// a pair is allowed only when its cost is below the limit, and the matching minimizes
//   sum of matched costs + limit/2 per unmatched row and per unmatched column,
// i.e. it maximizes the total of (limit - cost) over matched pairs. That is exact, unlike greedy
// matching, which can let one early pair steal the only partner of another track when two people
// overlap (the moment IDs switch).
//
// Solved with the Hungarian method in its shortest-augmenting-path form (Jonker-Volgenant's
// augmentation, O(n^3)) on the padded square matrix [C, D_rows; D_cols, 0] where the dummies cost
// limit/2. Rows and columns with no admissible pair are dropped first and the rest is split into
// connected components of admissible pairs, so people far apart cost a few comparisons each and the
// cubic step only sees the small groups that really overlap.
#pragma once

#include <span>
#include <vector>

namespace sp::tracking {

struct Match {
  int row = 0;
  int col = 0;
};

class LinearAssignment {
 public:
  // cost is row-major rows x cols. Costs that are NaN count as inadmissible. The returned matches are
  // sorted by row; the reference is valid until the next call. Reuses its buffers between calls.
  const std::vector<Match>& solve(std::span<const float> cost, int rows, int cols, float cost_limit);

 private:
  void solve_component(std::span<const float> cost, int cols, float limit, const std::vector<int>& comp_rows,
                       const std::vector<int>& comp_cols);
  int find(int x);

  std::vector<Match> matches_;
  std::vector<int> parent_;                        // union-find over rows then columns
  std::vector<int> comp_rows_, comp_cols_, order_;
  std::vector<double> a_, u_, v_, minv_;           // the padded square problem, 1-indexed as the textbook
  std::vector<int> p_, way_;
  std::vector<char> used_;
};

}  // namespace sp::tracking
