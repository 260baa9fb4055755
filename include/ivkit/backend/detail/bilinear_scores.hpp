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
inline constexpr Index kTrialCacheBytes = 1 << 20;  // both sets fit in L2: score the trials in the given order
// Bucketing parameters, chosen by measurement (R = 200 and 512, 10 million random trials): a chunk
// of 2^20 trials keeps its 4 MB of float results in cache while they are written out of order, at a
// cost of 12 MB of bucketed trials per thread; the two tiles of a bucket take 1 MB together (with the
// enrolment vector held in L1, below, L2 serves only the test vectors).
inline constexpr Index kTrialChunk = 1 << 20;
inline constexpr Index kTrialTileBytes = 1 << 20;

template <class S>
void bilinear_score_trials(const char* fn, const BilinearSides<S>& s, const std::vector<Index>& enrol, const std::vector<Index>& test,
                           Vector<S>& out, int num_threads) {
  const Matrix<S>& p = *s.p;
  const Matrix<S>& t = *s.t;
  if (enrol.size() != test.size())
    throw DimensionMismatch(detail::message(fn, ": ", enrol.size(), " enrolment indices but ", test.size(), " test indices"));
  const Index n = static_cast<Index>(enrol.size());
  const Index ne = p.rows(), nt = t.rows(), dim = p.cols();
  auto check = [&](Index i) {
    const Index e = enrol[static_cast<std::size_t>(i)], j = test[static_cast<std::size_t>(i)];
    if (e < 0 || e >= ne || j < 0 || j >= nt)
      throw DimensionMismatch(
          detail::message(fn, ": trial ", i, " pairs enrolment ", e, " with test ", j, " but there are ", ne, " enrolments and ", nt, " tests"));
  };
  auto score = [&](Index e, Index j) {
    S v = Eigen::Map<const Vector<S>>(p.data() + e * dim, dim).dot(Eigen::Map<const Vector<S>>(t.data() + j * dim, dim));
    if (s.a) v += (*s.a)(e);
    if (s.c) v += (*s.c)(j, s.group ? (*s.group)[static_cast<std::size_t>(e)] : 0);
    return v;
  };
  out.resize(n);
  // When both sets fit in cache, the trials are scored in the order given. Otherwise random pairs
  // would stream both vectors of every trial from memory, so each chunk of trials is bucketed by
  // (enrolment tile, test tile), with tiles small enough that both stay in L2 while a bucket is
  // scored, and the chunk small enough that its results stay in cache while written out of order.
  // A chunk is validated as it is bucketed; the lowest failing chunk's error is the one thrown, so the
  // error names the first bad trial whatever the thread count. Each score is computed the same way in
  // either path.
  const double bytes = static_cast<double>(ne + nt) * static_cast<double>(dim * static_cast<Index>(sizeof(S)));
  constexpr Index kMax32 = static_cast<Index>(std::numeric_limits<std::uint32_t>::max());
  if (bytes <= double(kTrialCacheBytes) || n < 65536 || ne > kMax32 || nt > kMax32) {
    parallel_for_blocks(num_blocks(n, kTrialBlock), num_threads, [&](Index b) {
      const Index i1 = std::min(n, (b + 1) * kTrialBlock);
      for (Index i = b * kTrialBlock; i < i1; ++i) {
        check(i);
        out(i) = score(enrol[static_cast<std::size_t>(i)], test[static_cast<std::size_t>(i)]);
      }
    });
    return;
  }
  const Index tile = std::max<Index>(16, kTrialTileBytes / (2 * dim * static_cast<Index>(sizeof(S))));
  const Index test_tiles = num_blocks(nt, tile);
  const std::size_t tiles = static_cast<std::size_t>(num_blocks(ne, tile) * test_tiles);
  struct Triple {
    std::uint32_t e, j, i;  // enrolment, test, trial offset within the chunk
  };
  // Shorter lists are cut into one chunk per thread. Every score is computed the same way whatever
  // the chunk, so results do not depend on the thread count.
  const Index chunk_size = std::min(kTrialChunk, std::max<Index>(65536, num_blocks(n, resolve_num_threads(num_threads))));
  parallel_for_blocks(num_blocks(n, chunk_size), num_threads, [&](Index chunk) {
    const Index i0 = chunk * chunk_size, i1 = std::min(n, i0 + chunk_size);
    // Reused across calls and chunks: fresh buffers would page-fault on every chunk.
    thread_local std::vector<std::uint32_t> start;
    thread_local std::vector<Triple> triples, sorted;
    thread_local std::vector<std::uint32_t> order;
    start.assign(tiles + 1, 0);
    if (triples.size() < static_cast<std::size_t>(i1 - i0)) triples.resize(static_cast<std::size_t>(i1 - i0));
    auto bucket = [&](Index i) {
      return static_cast<std::size_t>((enrol[static_cast<std::size_t>(i)] / tile) * test_tiles + test[static_cast<std::size_t>(i)] / tile);
    };
    for (Index i = i0; i < i1; ++i) {
      check(i);
      ++start[bucket(i) + 1];
    }
    for (std::size_t k = 0; k < tiles; ++k) start[k + 1] += start[k];
    for (Index i = i0; i < i1; ++i)
      triples[start[bucket(i)]++] = {static_cast<std::uint32_t>(enrol[static_cast<std::size_t>(i)]),
                                     static_cast<std::uint32_t>(test[static_cast<std::size_t>(i)]), static_cast<std::uint32_t>(i - i0)};
    // Each bucket's end is now its start. Within a bucket the trials are put in enrolment order
    // (a counting sort on the enrolment's place in its tile), so that an enrolment vector stays in
    // L1 over its trials and only the test vectors are read from L2.
    S* result = out.data() + i0;
    std::size_t begin = 0;
    for (std::size_t k = 0; k < tiles; ++k) {
      const std::size_t end = start[k];
      if (end == begin) continue;
      const std::uint32_t e0 = static_cast<std::uint32_t>((static_cast<Index>(k) / test_tiles) * tile);
      order.assign(static_cast<std::size_t>(tile) + 1, 0);
      for (std::size_t q = begin; q < end; ++q) ++order[triples[q].e - e0 + 1];
      for (Index r = 0; r < tile; ++r) order[static_cast<std::size_t>(r + 1)] += order[static_cast<std::size_t>(r)];
      if (sorted.size() < end - begin) sorted.resize(end - begin);
      for (std::size_t q = begin; q < end; ++q) sorted[order[triples[q].e - e0]++] = triples[q];
      for (std::size_t q = 0; q < end - begin; ++q) result[sorted[q].i] = score(Index(sorted[q].e), Index(sorted[q].j));
      begin = end;
    }
  });
}

}  // namespace detail
}  // namespace ivkit
