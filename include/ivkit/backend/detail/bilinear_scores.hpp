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
  parallel_for_blocks(num_blocks(n, kTrialBlock), num_threads, [&](Index b) {
    const Index i0 = b * kTrialBlock, i1 = std::min(n, i0 + kTrialBlock);
    for (Index i = i0; i < i1; ++i) {
      const Index e = enrol[static_cast<std::size_t>(i)], j = test[static_cast<std::size_t>(i)];
      const S* pe = p.data() + e * dim;
      const S* tj = t.data() + j * dim;
      S v = Eigen::Map<const Vector<S>>(pe, dim).dot(Eigen::Map<const Vector<S>>(tj, dim));
      if (s.a) v += (*s.a)(e);
      if (s.c) v += (*s.c)(j, s.group ? (*s.group)[static_cast<std::size_t>(e)] : 0);
      out(i) = v;
    }
  });
}

}  // namespace detail
}  // namespace ivkit
