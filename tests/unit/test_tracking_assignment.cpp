// Linear assignment with a cost limit against brute force on small random problems, and the cases
// greedy matching gets wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "core/error.h"
#include "tracking/linear_assignment.h"

namespace sp::tracking {
namespace {

// The objective the solver minimizes: matched costs + limit/2 per unmatched row and column.
double objective(const std::vector<float>& c, int rows, int cols, float limit, const std::vector<Match>& m) {
  double total = 0;
  for (const Match& x : m) total += c[x.row * cols + x.col];
  return total + limit / 2.0 * ((rows - static_cast<int>(m.size())) + (cols - static_cast<int>(m.size())));
}

// Brute force: every partial matching of admissible pairs.
double best_objective(const std::vector<float>& c, int rows, int cols, float limit) {
  double best = 1e30;
  std::vector<char> used(cols, 0);
  std::vector<Match> cur;
  std::function<void(int)> go = [&](int r) {
    if (r == rows) {
      best = std::min(best, objective(c, rows, cols, limit, cur));
      return;
    }
    go(r + 1);  // row r unmatched
    for (int j = 0; j < cols; ++j) {
      if (used[j] || !(c[r * cols + j] < limit)) continue;
      used[j] = 1;
      cur.push_back({r, j});
      go(r + 1);
      cur.pop_back();
      used[j] = 0;
    }
  };
  go(0);
  return best;
}

TEST(LinearAssignment, MatchesBruteForceOnRandomProblems) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> size(0, 6);
  std::uniform_real_distribution<float> cost(0.0f, 1.0f);
  LinearAssignment la;
  for (int trial = 0; trial < 400; ++trial) {
    const int rows = size(rng), cols = size(rng);
    std::vector<float> c(static_cast<size_t>(rows * cols));
    for (float& x : c) x = cost(rng);
    const float limit = 0.3f + 0.7f * cost(rng);
    const auto& m = la.solve(c, rows, cols, limit);
    std::vector<char> rused(rows, 0), cused(cols, 0);
    for (const Match& x : m) {
      ASSERT_LT(c[x.row * cols + x.col], limit) << "a pair at or above the limit was matched";
      ASSERT_FALSE(rused[x.row]++) << "row matched twice";
      ASSERT_FALSE(cused[x.col]++) << "column matched twice";
    }
    EXPECT_NEAR(objective(c, rows, cols, limit, m), best_objective(c, rows, cols, limit), 1e-5)
        << "trial " << trial << " (" << rows << "x" << cols << ")";
  }
}

TEST(LinearAssignment, BeatsGreedyWhenOnePairWouldStealAnothersOnlyPartner) {
  // Track 0 fits detection 0 best (0.1) but also detection 1 (0.2); track 1 fits only detection 0 (0.3).
  // Greedy takes (0,0) and leaves track 1 unmatched; the optimum is (0,1) + (1,0).
  const std::vector<float> c = {0.1f, 0.2f, 0.3f, 0.95f};
  LinearAssignment la;
  const auto& m = la.solve(c, 2, 2, 0.8f);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].row, 0);
  EXPECT_EQ(m[0].col, 1);
  EXPECT_EQ(m[1].row, 1);
  EXPECT_EQ(m[1].col, 0);
}

TEST(LinearAssignment, NothingAdmissibleMeansNoMatchAndNaNIsNeverAdmissible) {
  LinearAssignment la;
  EXPECT_TRUE(la.solve(std::vector<float>{0.9f, 0.95f}, 1, 2, 0.8f).empty());
  EXPECT_TRUE(la.solve(std::vector<float>{std::nanf("")}, 1, 1, 0.8f).empty());
  EXPECT_TRUE(la.solve(std::vector<float>{}, 0, 3, 0.8f).empty());
  EXPECT_THROW(la.solve(std::vector<float>{0.1f}, 2, 2, 0.8f), Error);
}

}  // namespace
}  // namespace sp::tracking
