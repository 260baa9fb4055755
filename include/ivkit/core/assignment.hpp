/// @file
/// Minimum-cost perfect assignment (Hungarian algorithm, O(n^3)), e.g. to match the components
/// of a trained GMM to those of a reference model.
#pragma once

#include <limits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Rows of `cost` (n x m, n <= m) assigned to distinct columns with the least total cost.
/// @return assignment[i] = column of row i
/// @throws InvalidArgument when n > m or a cost is not finite
inline std::vector<Index> min_cost_assignment(const Eigen::MatrixXd& cost) {
  const Index n = cost.rows(), m = cost.cols();
  if (n > m) throw InvalidArgument(detail::message("min_cost_assignment: ", n, " rows cannot be assigned to ", m, " columns"));
  if (!cost.allFinite()) throw InvalidArgument("min_cost_assignment: costs must be finite");
  // Shortest augmenting paths with row and column potentials (Kuhn-Munkres, 1-based arrays).
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<std::size_t>(n + 1), 0.0), v(static_cast<std::size_t>(m + 1), 0.0);
  std::vector<Index> p(static_cast<std::size_t>(m + 1), 0), way(static_cast<std::size_t>(m + 1), 0);
  for (Index i = 1; i <= n; ++i) {
    p[0] = i;
    Index j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(m + 1), inf);
    std::vector<char> used(static_cast<std::size_t>(m + 1), 0);
    do {
      used[static_cast<std::size_t>(j0)] = 1;
      const Index i0 = p[static_cast<std::size_t>(j0)];
      double delta = inf;
      Index j1 = 0;
      for (Index j = 1; j <= m; ++j) {
        if (used[static_cast<std::size_t>(j)]) continue;
        const double cur = cost(i0 - 1, j - 1) - u[static_cast<std::size_t>(i0)] - v[static_cast<std::size_t>(j)];
        if (cur < minv[static_cast<std::size_t>(j)]) {
          minv[static_cast<std::size_t>(j)] = cur;
          way[static_cast<std::size_t>(j)] = j0;
        }
        if (minv[static_cast<std::size_t>(j)] < delta) {
          delta = minv[static_cast<std::size_t>(j)];
          j1 = j;
        }
      }
      for (Index j = 0; j <= m; ++j) {
        if (used[static_cast<std::size_t>(j)]) {
          u[static_cast<std::size_t>(p[static_cast<std::size_t>(j)])] += delta;
          v[static_cast<std::size_t>(j)] -= delta;
        } else {
          minv[static_cast<std::size_t>(j)] -= delta;
        }
      }
      j0 = j1;
    } while (p[static_cast<std::size_t>(j0)] != 0);
    do {
      const Index j1 = way[static_cast<std::size_t>(j0)];
      p[static_cast<std::size_t>(j0)] = p[static_cast<std::size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<Index> assignment(static_cast<std::size_t>(n), -1);
  for (Index j = 1; j <= m; ++j)
    if (p[static_cast<std::size_t>(j)] != 0) assignment[static_cast<std::size_t>(p[static_cast<std::size_t>(j)] - 1)] = j - 1;
  return assignment;
}

}  // namespace ivkit
