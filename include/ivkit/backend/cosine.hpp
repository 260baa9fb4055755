/// @file
/// Cosine scoring: score(e, t) = e . t / (|e| |t|). Both sets are normalised once, then a score
/// matrix is one matrix product (tiled, multi-threaded, identical for any thread count) and a sparse
/// trial list one dot product per trial. Centring, whitening or LDA before cosine scoring are
/// transforms (backend/transforms), applied by the caller.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "ivkit/backend/detail/bilinear_scores.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/trials.hpp"

namespace ivkit {

/// The rows of `x` scaled to unit length, in scalar S. `what` names the set in errors.
/// @throws NonFiniteInput (names the row), InvalidArgument (a zero row has no direction)
template <class S, class Derived>
Matrix<S> unit_rows(const char* fn, const char* what, const Eigen::MatrixBase<Derived>& x) {
  Matrix<S> out = x.template cast<S>();
  for (Index i = 0; i < out.rows(); ++i) {
    if (!x.row(i).allFinite()) throw NonFiniteInput(detail::message(fn, ": ", what, " ", i, " holds NaN or Inf"));
    const double norm = out.row(i).template cast<double>().norm();
    if (!(norm > 0)) throw InvalidArgument(detail::message(fn, ": ", what, " ", i, " is the zero vector; it has no cosine score"));
    out.row(i) *= static_cast<S>(1.0 / norm);
  }
  return out;
}

/// All cosine scores of enrolments (rows of `enrol`) against tests (rows of `test`).
/// @throws DimensionMismatch, NonFiniteInput, InvalidArgument (zero vectors)
template <class S, class DE, class DT>
Matrix<S> cosine_score_matrix(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, int num_threads = 1) {
  constexpr const char* fn = "cosine_score_matrix";
  if (enrol.cols() != test.cols())
    throw DimensionMismatch(detail::message(fn, ": enrolment embeddings have dimension ", enrol.cols(), " but test embeddings ", test.cols()));
  const Matrix<S> e = unit_rows<S>(fn, "enrolment embedding", enrol);
  const Matrix<S> t = unit_rows<S>(fn, "test embedding", test);
  Matrix<S> out;
  detail::bilinear_score_matrix<S>({&e, nullptr, nullptr, &t, nullptr}, out, num_threads);
  return out;
}

/// The cosine score of each listed trial (enrolment row, test row).
/// @throws as cosine_score_matrix, and DimensionMismatch for indices outside the sets (naming the trial)
template <class S, class DE, class DT>
Vector<S> cosine_score_trials(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const TrialIndices& trials,
                              int num_threads = 1) {
  constexpr const char* fn = "cosine_score_trials";
  if (enrol.cols() != test.cols())
    throw DimensionMismatch(detail::message(fn, ": enrolment embeddings have dimension ", enrol.cols(), " but test embeddings ", test.cols()));
  const Matrix<S> e = unit_rows<S>(fn, "enrolment embedding", enrol);
  const Matrix<S> t = unit_rows<S>(fn, "test embedding", test);
  Vector<S> out;
  detail::bilinear_score_trials<S>(fn, {&e, nullptr, nullptr, &t, nullptr}, trials.enrol, trials.test, out, num_threads);
  return out;
}

}  // namespace ivkit
