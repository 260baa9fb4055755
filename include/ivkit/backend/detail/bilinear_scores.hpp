/// @file
/// The kernel behind cosine and PLDA scoring. Both are scores of the form
///
///   score(k, j) = p_k . t_j + a_k + c(j, g_k)
///
/// where p_k is a prepared enrolment vector, t_j a prepared test vector, a_k an enrolment constant
/// and c(j, g) a test constant that may depend on the enrolment's group g_k (for PLDA: enrolments
/// with the same number of embeddings share a group). A full score matrix is one matrix product,
/// tiled so that the constants are added while a tile is still in cache; a sparse trial list is one
/// dot product per trial.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {
namespace detail {

template <class S>
struct BilinearSides {
  const Matrix<S>* p = nullptr;            // enrolments x dim
  const Vector<S>* a = nullptr;            // enrolments, or nullptr for none
  const std::vector<Index>* group = nullptr;  // enrolments, or nullptr: every enrolment in group 0
  const Matrix<S>* t = nullptr;            // tests x dim
  const Matrix<S>* c = nullptr;            // tests x groups, or nullptr for none
};

inline constexpr Index kScoreTileRows = 256;   // enrolments per tile
inline constexpr Index kScoreTileCols = 1024;  // tests per tile: a 1 MB float tile stays in L2

template <class S>
void bilinear_score_matrix(const BilinearSides<S>& s, Matrix<S>& out, int num_threads) {
  const Matrix<S>& p = *s.p;
  const Matrix<S>& t = *s.t;
  const Index ne = p.rows(), nt = t.rows();
  out.resize(ne, nt);
  const Index row_tiles = num_blocks(ne, kScoreTileRows), col_tiles = num_blocks(nt, kScoreTileCols);
  parallel_for_blocks(row_tiles * col_tiles, num_threads, [&](Index b) {
    const Index r0 = (b / col_tiles) * kScoreTileRows, c0 = (b % col_tiles) * kScoreTileCols;
    const Index nr = std::min(kScoreTileRows, ne - r0), nc = std::min(kScoreTileCols, nt - c0);
    auto tile = out.block(r0, c0, nr, nc);
    tile.noalias() = p.middleRows(r0, nr) * t.middleRows(c0, nc).transpose();
    if (s.a) tile.colwise() += s.a->segment(r0, nr);
    if (s.c) {
      for (Index r = 0; r < nr; ++r) {
        const Index g = s.group ? (*s.group)[static_cast<std::size_t>(r0 + r)] : 0;
        tile.row(r) += s.c->col(g).segment(c0, nc).transpose();
      }
    }
  });
}

inline constexpr Index kTrialBlock = 1 << 14;
inline constexpr Index kTrialCacheBytes = 1 << 20;  // both sets of vectors of a bucket fit in L2 together

template <class S>
void bilinear_score_trials(const char* fn, const BilinearSides<S>& s, const std::vector<Index>& enrol, const std::vector<Index>& test,
                           Vector<S>& out, int num_threads) {
  const Matrix<S>& p = *s.p;
  const Matrix<S>& t = *s.t;
  if (enrol.size() != test.size())
    throw DimensionMismatch(detail::message(fn, ": ", enrol.size(), " enrolment indices but ", test.size(), " test indices"));
  const Index n = static_cast<Index>(enrol.size());
  for (Index i = 0; i < n; ++i) {
    const Index e = enrol[static_cast<std::size_t>(i)], j = test[static_cast<std::size_t>(i)];
    if (e < 0 || e >= p.rows() || j < 0 || j >= t.rows())
      throw DimensionMismatch(detail::message(fn, ": trial ", i, " pairs enrolment ", e, " with test ", j, " but there are ", p.rows(),
                                              " enrolments and ", t.rows(), " tests"));
  }
  out.resize(n);
  const Index dim = p.cols();
  auto score_one = [&](Index i) {
    const Index e = enrol[static_cast<std::size_t>(i)], j = test[static_cast<std::size_t>(i)];
    S v = Eigen::Map<const Vector<S>>(p.data() + e * dim, dim).dot(Eigen::Map<const Vector<S>>(t.data() + j * dim, dim));
    if (s.a) v += (*s.a)(e);
    if (s.c) v += (*s.c)(j, s.group ? (*s.group)[static_cast<std::size_t>(e)] : 0);
    out(i) = v;
  };
  // When the two sets do not fit in cache, random pairs stream both vectors from memory. Then the
  // trials are bucketed by (enrolment tile, test tile), with tiles small enough that both stay in
  // L2 while a bucket is scored. Each score is computed the same way in either path.
  const double bytes = static_cast<double>(p.rows() + t.rows()) * static_cast<double>(dim * static_cast<Index>(sizeof(S)));
  if (bytes <= double(kTrialCacheBytes) || n < 65536) {
    parallel_for_blocks(num_blocks(n, kTrialBlock), num_threads, [&](Index b) {
      const Index i1 = std::min(n, (b + 1) * kTrialBlock);
      for (Index i = b * kTrialBlock; i < i1; ++i) score_one(i);
    });
    return;
  }
  // Bucketing costs one pass that writes (enrolment, test, trial) triples into their bucket, so that
  // scoring then reads its triples sequentially and only the result is written out of order.
  if (n > static_cast<Index>(std::numeric_limits<std::uint32_t>::max()) || p.rows() > static_cast<Index>(std::numeric_limits<std::uint32_t>::max()) ||
      t.rows() > static_cast<Index>(std::numeric_limits<std::uint32_t>::max())) {
    for (Index i = 0; i < n; ++i) score_one(i);
    return;
  }
  const Index tile = std::max<Index>(16, kTrialCacheBytes / (2 * dim * static_cast<Index>(sizeof(S))));
  const Index test_tiles = num_blocks(t.rows(), tile);
  const Index tiles = num_blocks(p.rows(), tile) * test_tiles;
  std::vector<Index> start(static_cast<std::size_t>(tiles) + 1, 0);
  auto bucket = [&](Index i) {
    return static_cast<std::size_t>((enrol[static_cast<std::size_t>(i)] / tile) * test_tiles + test[static_cast<std::size_t>(i)] / tile);
  };
  for (Index i = 0; i < n; ++i) ++start[bucket(i) + 1];
  for (Index k = 0; k < tiles; ++k) start[static_cast<std::size_t>(k + 1)] += start[static_cast<std::size_t>(k)];
  struct Triple {
    std::uint32_t e, j, i;
  };
  std::vector<Triple> triples(static_cast<std::size_t>(n));
  {
    std::vector<Index> fill(start.begin(), start.end() - 1);
    for (Index i = 0; i < n; ++i)
      triples[static_cast<std::size_t>(fill[bucket(i)]++)] = {static_cast<std::uint32_t>(enrol[static_cast<std::size_t>(i)]),
                                                             static_cast<std::uint32_t>(test[static_cast<std::size_t>(i)]), static_cast<std::uint32_t>(i)};
  }
  parallel_for_blocks(tiles, num_threads, [&](Index k) {
    for (Index q = start[static_cast<std::size_t>(k)]; q < start[static_cast<std::size_t>(k + 1)]; ++q) {
      const Triple& tr = triples[static_cast<std::size_t>(q)];
      S v = Eigen::Map<const Vector<S>>(p.data() + Index(tr.e) * dim, dim).dot(Eigen::Map<const Vector<S>>(t.data() + Index(tr.j) * dim, dim));
      if (s.a) v += (*s.a)(tr.e);
      if (s.c) v += (*s.c)(tr.j, s.group ? (*s.group)[tr.e] : 0);
      out(tr.i) = v;
    }
  });
}

}  // namespace detail
}  // namespace ivkit
