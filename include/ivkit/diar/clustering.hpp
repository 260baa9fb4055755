/// @file
/// Agglomerative clustering of the windows of one recording from their pairwise scores (higher =
/// more alike: PLDA log-likelihood ratios or cosine scores), as Kaldi's diarisation recipe does
/// (`agglomerative-cluster`): average linkage by default, complete and single linkage as options;
/// stopped at a score threshold or at a number of clusters, within [min_clusters, max_clusters].
///
/// The dendrogram is built with the nearest-neighbour chain (Murtagh 1983; Müllner 2011): O(n^2)
/// time and one n x n matrix of doubles, for recordings of thousands of windows. Average, complete
/// and single linkage are reducible, so the dendrogram, with its merges sorted by score, is the one
/// the greedy algorithm (always merge the best pair) builds, and cutting it gives the greedy
/// clusters. Centroid linkage is not: it runs the greedy algorithm itself, with each cluster's
/// nearest neighbour kept (O(n^2) for most data, O(n^3) at worst). Ties go to the lower indices,
/// so results are deterministic.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

enum class Linkage {
  Average,   ///< mean of the pairwise scores between the clusters (Kaldi's)
  Complete,  ///< the lowest pairwise score (compact clusters)
  Single,    ///< the highest pairwise score (chains)
  /// the clusters' centroids: the Lance-Williams centroid rule on D = 2 (1 - score), which for
  /// cosine scores of unit-length embeddings is the squared distance between the clusters' mean
  /// embeddings; linkage score 1 - D / 2. Not monotone: a merge can score above the one before.
  Centroid,
};

/// "average", "complete", "single"
inline const char* linkage_name(Linkage l) {
  switch (l) {
    case Linkage::Average: return "average";
    case Linkage::Complete: return "complete";
    case Linkage::Single: return "single";
    case Linkage::Centroid: return "centroid";
  }
  return "unknown";
}

/// One merge of the dendrogram: clusters `a` and `b` (the lowest window index of each) joined at
/// linkage score `score`; `size` windows in the result.
struct ClusterMerge {
  Index a = 0, b = 0;
  double score = 0.0;
  Index size = 0;
};

/// The symmetric part (S + S^T) / 2 of a square score matrix, in double: scores of all pairs of a
/// recording's windows computed with the two sides in different roles (PLDA's enrolment and test)
/// are symmetric only up to rounding. Transposed in tiles (cache-friendly for thousands of windows).
/// @throws InvalidArgument when not square
template <class Scalar>
Matrix<double> symmetric_part(const Matrix<Scalar>& s) {
  const Index n = s.rows();
  if (s.cols() != n) throw InvalidArgument(detail::message("symmetric_part: the matrix is ", n, " x ", s.cols(), ", not square"));
  Matrix<double> out(n, n);
  constexpr Index kTile = 64;
  for (Index i0 = 0; i0 < n; i0 += kTile)
    for (Index j0 = 0; j0 < n; j0 += kTile)
      for (Index i = i0; i < std::min(n, i0 + kTile); ++i)
        for (Index j = j0; j < std::min(n, j0 + kTile); ++j)
          out(i, j) = 0.5 * (static_cast<double>(s(i, j)) + static_cast<double>(s(j, i)));
  return out;
}

namespace detail {

/// Checks a score matrix (square, finite, symmetric within 1e-9 relative), in tiles.
inline void check_score_matrix(const char* fn, const Matrix<double>& scores) {
  const Index n = scores.rows();
  if (scores.cols() != n) throw InvalidArgument(message(fn, ": the score matrix is ", n, " x ", scores.cols(), ", not square"));
  constexpr Index kTile = 64;
  for (Index i0 = 0; i0 < n; i0 += kTile)
    for (Index j0 = i0; j0 < n; j0 += kTile)
      for (Index i = i0; i < std::min(n, i0 + kTile); ++i)
        for (Index j = std::max(j0, i + 1); j < std::min(n, j0 + kTile); ++j) {
          const double a = scores(i, j), b = scores(j, i);
          if (!std::isfinite(a) || !std::isfinite(b))
            throw InvalidArgument(message(fn, ": score (", i, ", ", j, ") is ", std::isfinite(a) ? b : a, "; scores must be finite"));
          if (std::abs(a - b) > 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}))
            throw InvalidArgument(message(fn, ": the score matrix is not symmetric at (", i, ", ", j, "): ", a, " and ", b,
                                          " (symmetric_part() makes it so)"));
        }
}

}  // namespace detail

namespace detail {

/// Greedy centroid clustering on D = 2 (1 - score): each step merges the closest pair (ties: the
/// lower indices), with every cluster's nearest neighbour kept and refreshed when it merges.
inline std::vector<ClusterMerge> centroid_dendrogram(Matrix<double>& d) {
  const Index n = d.rows();
  d = (2.0 * (1.0 - d.array())).matrix();
  std::vector<Index> size(static_cast<std::size_t>(n), 1), nn(static_cast<std::size_t>(n), -1);
  std::vector<double> nd(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<char> active(static_cast<std::size_t>(n), 1);
  auto refresh = [&](Index c) {  // nearest among the higher indices (each pair is found from its lower end)
    nn[static_cast<std::size_t>(c)] = -1;
    nd[static_cast<std::size_t>(c)] = std::numeric_limits<double>::infinity();
    for (Index k = c + 1; k < n; ++k)
      if (active[static_cast<std::size_t>(k)] && d(c, k) < nd[static_cast<std::size_t>(c)]) {
        nd[static_cast<std::size_t>(c)] = d(c, k);
        nn[static_cast<std::size_t>(c)] = k;
      }
  };
  for (Index c = 0; c < n; ++c) refresh(c);
  std::vector<ClusterMerge> merges;
  for (Index step = 0; step + 1 < n; ++step) {
    Index i = -1;
    for (Index c = 0; c < n; ++c)
      if (active[static_cast<std::size_t>(c)] && nn[static_cast<std::size_t>(c)] >= 0 &&
          (i < 0 || nd[static_cast<std::size_t>(c)] < nd[static_cast<std::size_t>(i)]))
        i = c;
    const Index j = nn[static_cast<std::size_t>(i)];  // i < j
    const double ni = static_cast<double>(size[static_cast<std::size_t>(i)]), nj = static_cast<double>(size[static_cast<std::size_t>(j)]);
    const double dij = d(i, j), n2 = (ni + nj) * (ni + nj);
    active[static_cast<std::size_t>(j)] = 0;
    for (Index k = 0; k < n; ++k) {
      if (!active[static_cast<std::size_t>(k)] || k == i) continue;
      d(i, k) = d(k, i) = (ni * d(i, k) + nj * d(j, k)) / (ni + nj) - ni * nj * dij / n2;
    }
    size[static_cast<std::size_t>(i)] += size[static_cast<std::size_t>(j)];
    merges.push_back({i, j, 1.0 - 0.5 * dij, size[static_cast<std::size_t>(i)]});
    // Rows whose nearest neighbour was i or j, or that are now closer to i, and i itself.
    for (Index k = 0; k < n; ++k) {
      if (!active[static_cast<std::size_t>(k)]) continue;
      if (k == i || nn[static_cast<std::size_t>(k)] == i || nn[static_cast<std::size_t>(k)] == j) {
        refresh(k);
      } else if (k < i && (d(k, i) < nd[static_cast<std::size_t>(k)] ||
                           (d(k, i) == nd[static_cast<std::size_t>(k)] && i < nn[static_cast<std::size_t>(k)]))) {
        nd[static_cast<std::size_t>(k)] = d(k, i);
        nn[static_cast<std::size_t>(k)] = i;
      }
    }
  }
  return merges;
}

}  // namespace detail

/// The n - 1 merges of n windows in the greedy order (decreasing score, except where centroid
/// linkage makes a later merge score higher).
/// @param scores (n x n) symmetric pairwise scores; the diagonal is ignored. Taken by value: pass
///        an rvalue to spare the copy (the matrix becomes the working distances).
/// @throws InvalidArgument (not square, not symmetric within 1e-9 relative, NaN or Inf)
inline std::vector<ClusterMerge> dendrogram(Matrix<double> scores, Linkage linkage = Linkage::Average) {
  detail::check_score_matrix("dendrogram", scores);
  const Index n = scores.rows();
  std::vector<ClusterMerge> merges;
  if (n < 2) return merges;
  if (linkage == Linkage::Centroid) return detail::centroid_dendrogram(scores);
  // Distances d = -score, updated in place by the Lance-Williams formulas; cluster c lives in row
  // c, the lowest window index it holds.
  Matrix<double>& d = scores;
  d = -d;
  std::vector<Index> size(static_cast<std::size_t>(n), 1);
  std::vector<char> active(static_cast<std::size_t>(n), 1);
  std::vector<Index> chain;
  chain.reserve(static_cast<std::size_t>(n));
  merges.reserve(static_cast<std::size_t>(n - 1));
  auto nearest = [&](Index c, Index prefer) {
    // The nearest active cluster; ties go to `prefer` (the previous chain element, which keeps the
    // chain from cycling), then to the lower index.
    Index best = -1;
    double bd = std::numeric_limits<double>::infinity();
    for (Index k = 0; k < n; ++k) {
      if (k == c || !active[static_cast<std::size_t>(k)]) continue;
      if (d(c, k) < bd) {
        bd = d(c, k);
        best = k;
      }
    }
    if (prefer >= 0 && d(c, prefer) <= bd) best = prefer;
    return best;
  };
  Index remaining = n;
  while (remaining > 1) {
    if (chain.empty()) {
      for (Index k = 0; k < n; ++k)
        if (active[static_cast<std::size_t>(k)]) {
          chain.push_back(k);
          break;
        }
    }
    while (true) {
      const Index c = chain.back();
      const Index prev = chain.size() >= 2 ? chain[chain.size() - 2] : -1;
      const Index nn = nearest(c, prev);
      if (nn == prev) break;  // reciprocal nearest neighbours: merge them
      chain.push_back(nn);
    }
    const Index x = chain.back();
    chain.pop_back();
    const Index y = chain.back();
    chain.pop_back();
    const Index keep = std::min(x, y), gone = std::max(x, y);
    const double dist = d(x, y);
    const double nx = static_cast<double>(size[static_cast<std::size_t>(keep)]), ny = static_cast<double>(size[static_cast<std::size_t>(gone)]);
    for (Index k = 0; k < n; ++k) {
      if (!active[static_cast<std::size_t>(k)] || k == keep || k == gone) continue;
      double v = 0;
      switch (linkage) {
        case Linkage::Average: v = (nx * d(keep, k) + ny * d(gone, k)) / (nx + ny); break;
        case Linkage::Complete: v = std::max(d(keep, k), d(gone, k)); break;
        case Linkage::Single: v = std::min(d(keep, k), d(gone, k)); break;
        case Linkage::Centroid: break;  // not reached: centroid_dendrogram
      }
      d(keep, k) = d(k, keep) = v;
    }
    active[static_cast<std::size_t>(gone)] = 0;
    size[static_cast<std::size_t>(keep)] += size[static_cast<std::size_t>(gone)];
    merges.push_back({keep, gone, -dist, size[static_cast<std::size_t>(keep)]});
    --remaining;
  }
  // The greedy order: decreasing score; equal scores in the order the chain found them.
  std::stable_sort(merges.begin(), merges.end(), [](const ClusterMerge& p, const ClusterMerge& q) { return p.score > q.score; });
  // Relabel each merge by the lowest window of the clusters as they stand at that point.
  std::vector<Index> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), Index{0});
  auto find = [&](Index i) {
    while (parent[static_cast<std::size_t>(i)] != i) i = parent[static_cast<std::size_t>(i)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
    return i;
  };
  std::vector<Index> count(static_cast<std::size_t>(n), 1);
  for (auto& m : merges) {
    const Index ra = find(m.a), rb = find(m.b);
    const Index lo = std::min(ra, rb), hi = std::max(ra, rb);
    parent[static_cast<std::size_t>(hi)] = lo;
    count[static_cast<std::size_t>(lo)] += count[static_cast<std::size_t>(hi)];
    m.a = lo;
    m.b = hi;
    m.size = count[static_cast<std::size_t>(lo)];
  }
  return merges;
}

struct ClusteringOptions {
  Linkage linkage = Linkage::Average;
  /// Merge while the best linkage score is above this (Kaldi's --threshold, with the sign of a
  /// score: PLDA LLRs, cosine); the first merge at or below it stops. Ignored when num_clusters > 0.
  double threshold = 0.0;
  Index num_clusters = 0;  ///< > 0: stop at exactly this many (clamped to the number of windows)
  Index min_clusters = 1;  ///< with a threshold: never fewer
  Index max_clusters = 0;  ///< with a threshold: never more (0 = no limit)
};

/// What clustering found.
struct ClusteringResult {
  std::vector<Index> labels;  ///< per window, 0 .. num_clusters - 1 in order of first appearance
  Index num_clusters = 0;
  double last_merge_score = std::numeric_limits<double>::quiet_NaN();   ///< of the last merge made (NaN: none)
  double next_merge_score = std::numeric_limits<double>::quiet_NaN();   ///< of the first merge not made (NaN: none left)
};

/// Clusters the windows of one recording (`scores` as dendrogram takes them). With num_clusters > 0 the dendrogram is cut at that
/// count; otherwise merges go on while their score is above `threshold`, then continue (or stop
/// early) to respect min_clusters and max_clusters.
/// @throws InvalidArgument (as dendrogram; an empty matrix; inconsistent limits)
inline ClusteringResult cluster(Matrix<double> scores, const ClusteringOptions& opts = {}) {
  constexpr const char* fn = "cluster";
  const Index n = scores.rows();
  if (n == 0) throw InvalidArgument(detail::message(fn, ": no windows to cluster"));
  if (opts.num_clusters < 0 || opts.min_clusters < 1 || opts.max_clusters < 0 ||
      (opts.max_clusters > 0 && opts.max_clusters < opts.min_clusters))
    throw InvalidArgument(detail::message(fn, ": bad limits (num_clusters ", opts.num_clusters, ", min_clusters ", opts.min_clusters,
                                          ", max_clusters ", opts.max_clusters, ")"));
  if (opts.num_clusters == 0 && !std::isfinite(opts.threshold))
    throw InvalidArgument(detail::message(fn, ": the threshold must be finite, got ", opts.threshold));
  const std::vector<ClusterMerge> merges = dendrogram(std::move(scores), opts.linkage);
  // How many merges to apply: n - target clusters.
  Index apply = 0;
  if (opts.num_clusters > 0) {
    apply = n - std::min(opts.num_clusters, n);
  } else {
    while (apply < static_cast<Index>(merges.size()) && merges[static_cast<std::size_t>(apply)].score > opts.threshold) ++apply;
    const Index lo = std::min(opts.min_clusters, n), hi = opts.max_clusters > 0 ? std::min(opts.max_clusters, n) : n;
    apply = std::clamp(apply, n - hi, n - lo);
  }
  std::vector<Index> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), Index{0});
  for (Index k = 0; k < apply; ++k) parent[static_cast<std::size_t>(merges[static_cast<std::size_t>(k)].b)] = merges[static_cast<std::size_t>(k)].a;
  ClusteringResult r;
  r.labels.assign(static_cast<std::size_t>(n), -1);
  std::vector<Index> label_of_root(static_cast<std::size_t>(n), -1);
  for (Index i = 0; i < n; ++i) {
    Index root = i;
    while (parent[static_cast<std::size_t>(root)] != root) root = parent[static_cast<std::size_t>(root)];
    if (label_of_root[static_cast<std::size_t>(root)] < 0) label_of_root[static_cast<std::size_t>(root)] = r.num_clusters++;
    r.labels[static_cast<std::size_t>(i)] = label_of_root[static_cast<std::size_t>(root)];
  }
  if (apply > 0) r.last_merge_score = merges[static_cast<std::size_t>(apply - 1)].score;
  if (apply < static_cast<Index>(merges.size())) r.next_merge_score = merges[static_cast<std::size_t>(apply)].score;
  return r;
}

}  // namespace ivkit
