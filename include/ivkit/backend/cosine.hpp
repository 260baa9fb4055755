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
#include "ivkit/core/parallel.hpp"
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

namespace detail {

/// Both sets must hold embeddings of one dimension: an empty set is an error, not an empty result.
inline void check_score_sets(const char* fn, Index enrol_rows, Index enrol_cols, Index test_rows, Index test_cols) {
  if (enrol_cols != test_cols)
    throw DimensionMismatch(message(fn, ": enrolment embeddings have dimension ", enrol_cols, " but test embeddings ", test_cols));
  if (enrol_rows == 0) throw InvalidArgument(message(fn, ": no enrolment embeddings"));
  if (test_rows == 0) throw InvalidArgument(message(fn, ": no test embeddings"));
}

template <class S, class DE, class DT>
void cosine_score_matrix_into(const char* fn, const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, Matrix<S>& out,
                              int num_threads) {
  check_score_sets(fn, enrol.rows(), enrol.cols(), test.rows(), test.cols());
  const Matrix<S> e = unit_rows<S>(fn, "enrolment embedding", enrol);
  const Matrix<S> t = unit_rows<S>(fn, "test embedding", test);
  bilinear_score_matrix<S>({&e, nullptr, nullptr, &t, nullptr}, out, num_threads);
}

template <class S, class DE, class DT>
void cosine_score_trials_into(const char* fn, const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test,
                              const TrialIndices& trials, Vector<S>& out, int num_threads) {
  check_score_sets(fn, enrol.rows(), enrol.cols(), test.rows(), test.cols());
  const Matrix<S> e = unit_rows<S>(fn, "enrolment embedding", enrol);
  const Matrix<S> t = unit_rows<S>(fn, "test embedding", test);
  bilinear_score_trials<S>(fn, {&e, nullptr, nullptr, &t, nullptr}, trials.enrol, trials.test, out, num_threads);
}

}  // namespace detail

/// All cosine scores of enrolments (rows of `enrol`) against tests (rows of `test`).
/// @throws DimensionMismatch, NonFiniteInput, InvalidArgument (zero vectors, an empty set)
template <class S, class DE, class DT>
Matrix<S> cosine_score_matrix(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const ThreadOptions& opts = {}) {
  Matrix<S> out;
  detail::cosine_score_matrix_into("cosine_score_matrix", enrol, test, out, opts.num_threads);
  return out;
}

/// cosine_score_matrix into a caller-owned matrix, resized to enrolments x tests (no allocation
/// when it already has that size): reusing it across calls avoids the page faults of a fresh large
/// result. @throws as cosine_score_matrix
template <class S, class DE, class DT>
void cosine_score_matrix_into(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, Matrix<S>& out,
                              const ThreadOptions& opts = {}) {
  detail::cosine_score_matrix_into("cosine_score_matrix_into", enrol, test, out, opts.num_threads);
}

/// The cosine score of each listed trial (enrolment row, test row); an empty list gives an empty
/// result (the sets must still be non-empty).
/// @throws as cosine_score_matrix, and DimensionMismatch for indices outside the sets (naming the trial)
template <class S, class DE, class DT>
Vector<S> cosine_score_trials(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const TrialIndices& trials,
                              const ThreadOptions& opts = {}) {
  Vector<S> out;
  detail::cosine_score_trials_into("cosine_score_trials", enrol, test, trials, out, opts.num_threads);
  return out;
}

/// cosine_score_trials into a caller-owned vector, resized to the number of trials (no allocation
/// when it already has that size): reusing it across calls avoids the page faults of a fresh large
/// result. @throws as cosine_score_trials
template <class S, class DE, class DT>
void cosine_score_trials_into(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const TrialIndices& trials,
                              Vector<S>& out, const ThreadOptions& opts = {}) {
  detail::cosine_score_trials_into("cosine_score_trials_into", enrol, test, trials, out, opts.num_threads);
}

// The thread count as a trailing int: deprecated, removed in the next release.
template <class S, class DE, class DT>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Matrix<S> cosine_score_matrix(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, int num_threads) {
  return cosine_score_matrix<S>(enrol, test, ThreadOptions{num_threads});
}
template <class S, class DE, class DT>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] void cosine_score_matrix_into(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, Matrix<S>& out, int num_threads) {
  cosine_score_matrix_into(enrol, test, out, ThreadOptions{num_threads});
}
template <class S, class DE, class DT>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Vector<S> cosine_score_trials(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const TrialIndices& trials,
                                  int num_threads) {
  return cosine_score_trials<S>(enrol, test, trials, ThreadOptions{num_threads});
}
template <class S, class DE, class DT>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] void cosine_score_trials_into(const Eigen::MatrixBase<DE>& enrol, const Eigen::MatrixBase<DT>& test, const TrialIndices& trials,
                                  Vector<S>& out, int num_threads) {
  cosine_score_trials_into(enrol, test, trials, out, ThreadOptions{num_threads});
}

}  // namespace ivkit
