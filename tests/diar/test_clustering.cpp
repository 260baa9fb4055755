// Agglomerative clustering (nearest-neighbour chain, Lance-Williams updates) against a naive greedy
// implementation that recomputes every linkage from the original pairwise scores: the same
// partitions for every linkage, threshold and number of clusters on random score matrices; and the
// edge cases (one window, identical windows, thresholds that merge everything or nothing).
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <set>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/diar/clustering.hpp"

using ivkit::Index;
using ivkit::Linkage;
using RowMatD = ivkit::Matrix<double>;

namespace {

/// Naive greedy agglomerative clustering: merge the best pair while its linkage (from the original
/// scores) is above the threshold or until `k` clusters remain. Returns the partition as sets.
std::set<std::set<Index>> naive(const RowMatD& s, Linkage linkage, double threshold, Index k) {
  std::vector<std::vector<Index>> clusters;
  for (Index i = 0; i < s.rows(); ++i) clusters.push_back({i});
  auto link = [&](const std::vector<Index>& a, const std::vector<Index>& b) {
    double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (Index i : a)
      for (Index j : b) {
        sum += s(i, j);
        lo = std::min(lo, s(i, j));
        hi = std::max(hi, s(i, j));
      }
    return linkage == Linkage::Average ? sum / static_cast<double>(a.size() * b.size()) : linkage == Linkage::Complete ? lo : hi;
  };
  while (clusters.size() > 1) {
    if (k > 0 && static_cast<Index>(clusters.size()) <= k) break;
    double best = -std::numeric_limits<double>::infinity();
    std::size_t bi = 0, bj = 0;
    for (std::size_t i = 0; i < clusters.size(); ++i)
      for (std::size_t j = i + 1; j < clusters.size(); ++j) {
        const double v = link(clusters[i], clusters[j]);
        if (v > best) {
          best = v;
          bi = i;
          bj = j;
        }
      }
    if (k == 0 && !(best > threshold)) break;
    clusters[bi].insert(clusters[bi].end(), clusters[bj].begin(), clusters[bj].end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  std::set<std::set<Index>> out;
  for (const auto& c : clusters) out.insert(std::set<Index>(c.begin(), c.end()));
  return out;
}

std::set<std::set<Index>> partition(const std::vector<Index>& labels) {
  std::vector<std::set<Index>> by(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) by[static_cast<std::size_t>(labels[i])].insert(static_cast<Index>(i));
  std::set<std::set<Index>> out;
  for (auto& c : by)
    if (!c.empty()) out.insert(c);
  return out;
}

/// Scores of windows from a few speakers: within-speaker pairs high, across low, with noise.
RowMatD speaker_scores(Index n, Index speakers, ivkit::Random& rng) {
  std::vector<Index> who(static_cast<std::size_t>(n));
  for (auto& w : who) w = static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(speakers)));
  RowMatD s(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j <= i; ++j) s(i, j) = s(j, i) = (who[static_cast<std::size_t>(i)] == who[static_cast<std::size_t>(j)] ? 2.0 : -2.0) + 1.5 * rng.normal();
  return s;
}

}  // namespace

TEST_CASE("clustering equals naive greedy clustering for every linkage, threshold and cluster count") {
  ivkit::Random rng(5);
  for (int trial = 0; trial < 12; ++trial) {
    const Index n = 5 + static_cast<Index>(rng.uniform_index(40));
    const RowMatD s = speaker_scores(n, 1 + static_cast<Index>(rng.uniform_index(5)), rng);
    for (Linkage l : {Linkage::Average, Linkage::Complete, Linkage::Single}) {
      CAPTURE(n);
      CAPTURE(ivkit::linkage_name(l));
      for (double threshold : {-3.0, -1.0, 0.0, 0.5, 2.0, 5.0}) {
        CAPTURE(threshold);
        ivkit::ClusteringOptions o;
        o.linkage = l;
        o.threshold = threshold;
        const auto r = ivkit::cluster(s, o);
        CHECK(partition(r.labels) == naive(s, l, threshold, 0));
        CHECK(r.num_clusters == static_cast<Index>(naive(s, l, threshold, 0).size()));
        if (r.num_clusters < n) CHECK(r.last_merge_score > threshold);
        if (r.num_clusters > 1) CHECK(r.next_merge_score <= threshold);
      }
      for (Index k : {Index{1}, Index{2}, Index{3}, n / 2, n}) {
        CAPTURE(k);
        ivkit::ClusteringOptions o;
        o.linkage = l;
        o.num_clusters = k;
        const auto r = ivkit::cluster(s, o);
        CHECK(r.num_clusters == k);
        CHECK(partition(r.labels) == naive(s, l, 0, k));
      }
    }
  }
}

namespace {
/// Naive greedy centroid clustering of unit-length embeddings: merge the two clusters whose mean
/// embeddings are closest (squared Euclidean distance) while 1 - distance / 2 is above the
/// threshold, or until k clusters remain.
std::set<std::set<Index>> naive_centroid(const RowMatD& x, double threshold, Index k) {
  std::vector<std::vector<Index>> clusters;
  for (Index i = 0; i < x.rows(); ++i) clusters.push_back({i});
  auto mean = [&](const std::vector<Index>& c) {
    Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(x.cols());
    for (Index i : c) m += x.row(i);
    return Eigen::RowVectorXd(m / static_cast<double>(c.size()));
  };
  while (clusters.size() > 1) {
    if (k > 0 && static_cast<Index>(clusters.size()) <= k) break;
    double best = std::numeric_limits<double>::infinity();
    std::size_t bi = 0, bj = 0;
    for (std::size_t i = 0; i < clusters.size(); ++i)
      for (std::size_t j = i + 1; j < clusters.size(); ++j) {
        const double dist = (mean(clusters[i]) - mean(clusters[j])).squaredNorm();
        if (dist < best) {
          best = dist;
          bi = i;
          bj = j;
        }
      }
    if (k == 0 && !(1.0 - 0.5 * best > threshold)) break;
    clusters[bi].insert(clusters[bi].end(), clusters[bj].begin(), clusters[bj].end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  std::set<std::set<Index>> out;
  for (const auto& c : clusters) out.insert(std::set<Index>(c.begin(), c.end()));
  return out;
}
}  // namespace

TEST_CASE("centroid linkage on cosine scores equals greedy clustering of the mean embeddings") {
  ivkit::Random rng(8);
  for (int trial = 0; trial < 10; ++trial) {
    const Index n = 4 + static_cast<Index>(rng.uniform_index(35)), d = 6, speakers = 1 + static_cast<Index>(rng.uniform_index(4));
    RowMatD centres(speakers, d);
    for (Index i = 0; i < centres.size(); ++i) centres.data()[i] = rng.normal();
    RowMatD x(n, d);
    for (Index i = 0; i < n; ++i) {
      x.row(i) = centres.row(static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(speakers))));
      for (Index j = 0; j < d; ++j) x(i, j) += 0.6 * rng.normal();
      x.row(i).normalize();
    }
    const RowMatD cosine = x * x.transpose();
    CAPTURE(n);
    for (double threshold : {-0.5, 0.0, 0.3, 0.6, 0.9}) {
      CAPTURE(threshold);
      ivkit::ClusteringOptions o;
      o.linkage = Linkage::Centroid;
      o.threshold = threshold;
      CHECK(partition(ivkit::cluster(cosine, o).labels) == naive_centroid(x, threshold, 0));
    }
    for (Index k : {Index{1}, Index{2}, Index{3}, n}) {
      ivkit::ClusteringOptions o;
      o.linkage = Linkage::Centroid;
      o.num_clusters = k;
      CHECK(partition(ivkit::cluster(cosine, o).labels) == naive_centroid(x, 0, k));
    }
  }
}

TEST_CASE("clustering: labels in order of first appearance, limits, edge cases, bad input") {
  ivkit::Random rng(6);
  const RowMatD s = speaker_scores(30, 3, rng);
  const auto r = ivkit::cluster(s);
  Index next = 0;
  for (Index l : r.labels) {
    CHECK(l <= next);
    if (l == next) ++next;
  }
  // min / max clusters override the threshold.
  ivkit::ClusteringOptions o;
  o.threshold = 100.0;  // merges nothing
  CHECK(ivkit::cluster(s, o).num_clusters == 30);
  o.max_clusters = 4;
  CHECK(ivkit::cluster(s, o).num_clusters == 4);
  o.threshold = -100.0;  // merges everything
  o.max_clusters = 0;
  CHECK(ivkit::cluster(s, o).num_clusters == 1);
  o.min_clusters = 2;
  CHECK(ivkit::cluster(s, o).num_clusters == 2);
  // One window; windows that are all identical (every score equal: ties, deterministic).
  CHECK(ivkit::cluster(RowMatD::Constant(1, 1, 0.0)).num_clusters == 1);
  const RowMatD same = RowMatD::Constant(6, 6, 1.0);
  const auto a = ivkit::cluster(same), b = ivkit::cluster(same);
  CHECK(a.num_clusters == 1);
  ivkit::ClusteringOptions centroid;
  centroid.linkage = Linkage::Centroid;
  centroid.threshold = 0.5;
  CHECK(ivkit::cluster(same, centroid).num_clusters == 1);
  ivkit::ClusteringOptions three;
  three.num_clusters = 3;
  CHECK(ivkit::cluster(same, three).labels == ivkit::cluster(same, three).labels);
  CHECK(ivkit::cluster(same, three).num_clusters == 3);
  // More clusters asked than windows: every window alone.
  three.num_clusters = 50;
  CHECK(ivkit::cluster(same, three).num_clusters == 6);
  // Bad input.
  CHECK_THROWS_AS(ivkit::cluster(RowMatD(0, 0)), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::cluster(RowMatD(2, 3)), ivkit::InvalidArgument);
  RowMatD asym = s;
  asym(1, 2) += 1.0;
  CHECK_THROWS_WITH_AS(ivkit::cluster(asym), doctest::Contains("dendrogram: the score matrix is not symmetric at (1, 2)"), ivkit::InvalidArgument);
  RowMatD nan = s;
  nan(3, 4) = nan(4, 3) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(ivkit::cluster(nan), ivkit::InvalidArgument);
  ivkit::ClusteringOptions bad;
  bad.min_clusters = 3;
  bad.max_clusters = 2;
  CHECK_THROWS_AS(ivkit::cluster(s, bad), ivkit::InvalidArgument);
}
