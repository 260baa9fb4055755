/// @file
/// Batched PLDA scoring: a whole enrolment x test matrix, or a sparse trial list.
///
/// In the PLDA space (see plda.hpp) the log-likelihood ratio of test u_t against an enrolment of n
/// embeddings averaging to u_e splits, per dimension i with a = n psi/(n psi + 1) and
/// v = 1 + psi/(n psi + 1), into
///
///   LLR = sum_i (a_i u_e,i / v_i) u_t,i                          (enrolment vector . test vector)
///       + sum_i 0.5 (1/(1 + psi_i) - 1/v_i) u_t,i^2              (test constant, depends on n only)
///       + sum_i 0.5 (log(1 + psi_i) - log v_i - a_i^2 u_e,i^2 / v_i)   (enrolment constant)
///
/// so a score matrix is one matrix product plus constants, and enrolments with different counts
/// only add one small product per distinct count. This is Kaldi's `ivector-plda-scoring` with
/// `--num-utts` (count-aware multi-utterance enrolment), done in batch.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <map>
#include <vector>

#include "ivkit/backend/detail/bilinear_scores.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/trials.hpp"

namespace ivkit {

/// Enrolment models prepared for PLDA scoring (PldaScorer::enrol).
template <class S>
struct PldaEnrolments {
  Matrix<S> vectors;          ///< enrolments x dim: a u_e / v
  Vector<S> constants;        ///< per enrolment
  std::vector<Index> counts;  ///< number of embeddings behind each enrolment
  std::vector<Index> group;   ///< index of each enrolment's count in `quadratic`
  Matrix<S> quadratic;        ///< distinct counts x dim: 0.5 (1/(1 + psi) - 1/v)
  Index size() const { return vectors.rows(); }
};

/// Test embeddings prepared for PLDA scoring (PldaScorer::test): transformed and length-normalised.
template <class S>
struct PldaTests {
  Matrix<S> vectors;  ///< tests x dim
  Index size() const { return vectors.rows(); }
};

/// Scores trials with a PLDA model. Scores are log-likelihood ratios (natural log).
template <class S>
class PldaScorer {
 public:
  explicit PldaScorer(Plda<S> plda, PldaOptions options = {}) : plda_(std::move(plda)), options_(options) {}

  const Plda<S>& plda() const { return plda_; }
  const PldaOptions& options() const { return options_; }

  /// Prepares enrolment models: row k of `means` is the average of counts[k] embeddings of one
  /// speaker (count-aware, "by the book"); empty `counts` means one embedding each, which is also how
  /// averaged embeddings are scored when the count is to be ignored.
  /// @throws DimensionMismatch, NonFiniteInput, InvalidArgument (count < 1, an embedding at the PLDA mean)
  template <class Derived>
  PldaEnrolments<S> enrol(const Eigen::MatrixBase<Derived>& means, const std::vector<Index>& counts = {}) const {
    const Matrix<S> u = plda_transform(plda_, means, counts, options_);
    const Index d = plda_.dim(), ne = u.rows();
    PldaEnrolments<S> out;
    out.counts = counts.empty() ? std::vector<Index>(static_cast<std::size_t>(ne), 1) : counts;
    out.group.resize(out.counts.size());
    std::map<Index, Index> group_of;
    for (std::size_t k = 0; k < out.counts.size(); ++k)
      out.group[k] = group_of.emplace(out.counts[k], static_cast<Index>(group_of.size())).first->second;
    const Vector<double> psi = plda_.psi().template cast<double>();
    double log_total = 0;
    for (Index i = 0; i < d; ++i) log_total += std::log1p(psi(i));
    out.quadratic.resize(static_cast<Index>(group_of.size()), d);
    std::vector<Vector<double>> scale(group_of.size()), inv_v(group_of.size());
    std::vector<double> log_v(group_of.size());
    for (const auto& [n, g] : group_of) {
      const auto gi = static_cast<std::size_t>(g);
      const double nd = static_cast<double>(n);
      scale[gi].resize(d);
      inv_v[gi].resize(d);
      log_v[gi] = 0;
      for (Index i = 0; i < d; ++i) {
        const double v = 1.0 + psi(i) / (nd * psi(i) + 1.0);
        scale[gi](i) = nd * psi(i) / (nd * psi(i) + 1.0);  // a
        inv_v[gi](i) = 1.0 / v;
        log_v[gi] += std::log(v);
        out.quadratic(g, i) = static_cast<S>(0.5 * (1.0 / (1.0 + psi(i)) - 1.0 / v));
      }
    }
    out.vectors.resize(ne, d);
    out.constants.resize(ne);
    for (Index k = 0; k < ne; ++k) {
      const auto g = static_cast<std::size_t>(out.group[static_cast<std::size_t>(k)]);
      double c = 0.5 * (log_total - log_v[g]);
      for (Index i = 0; i < d; ++i) {
        const double au = scale[g](i) * static_cast<double>(u(k, i));
        out.vectors(k, i) = static_cast<S>(au * inv_v[g](i));
        c -= 0.5 * au * au * inv_v[g](i);
      }
      out.constants(k) = static_cast<S>(c);
    }
    return out;
  }

  /// Prepares test embeddings (one per row): transformed and length-normalised with count 1.
  /// @throws DimensionMismatch, NonFiniteInput, InvalidArgument
  template <class Derived>
  PldaTests<S> test(const Eigen::MatrixBase<Derived>& x) const {
    return PldaTests<S>{plda_transform(plda_, x, {}, options_)};
  }

  /// All enrolment x test log-likelihood ratios; tiles run on `opts.num_threads` threads (0 = all)
  /// and the result is identical for any thread count.
  /// @throws DimensionMismatch (sets prepared for another model), InvalidArgument (an empty set)
  Matrix<S> score_matrix(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const ThreadOptions& opts = {}) const {
    Matrix<S> out;
    score_matrix_into("PldaScorer::score_matrix", enrolments, tests, out, opts.num_threads);
    return out;
  }

  /// score_matrix into a caller-owned matrix, resized to enrolments x tests (no allocation when it
  /// already has that size): reusing it across calls avoids the page faults of a fresh large result
  /// (a 1000 x 10000 float matrix is 40 MB, which glibc maps anew for every allocation).
  /// @throws as score_matrix
  void score_matrix_into(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, Matrix<S>& out,
                         const ThreadOptions& opts = {}) const {
    score_matrix_into("PldaScorer::score_matrix_into", enrolments, tests, out, opts.num_threads);
  }

  /// The log-likelihood ratio of each listed trial (enrolment row, test row), one dot product each;
  /// an empty list gives an empty result.
  /// @throws DimensionMismatch for indices outside the prepared sets (naming the trial), InvalidArgument
  /// (an empty set)
  Vector<S> score_trials(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const TrialIndices& trials,
                         const ThreadOptions& opts = {}) const {
    Vector<S> out;
    score_trials_into("PldaScorer::score_trials", enrolments, tests, trials, out, opts.num_threads);
    return out;
  }

  /// score_trials into a caller-owned vector, resized to the number of trials (no allocation when it
  /// already has that size). For long lists the fresh result's page faults are a large share of the
  /// time (10 million float scores are 40 MB); reusing the vector across calls avoids them.
  /// @throws as score_trials
  void score_trials_into(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const TrialIndices& trials, Vector<S>& out,
                         const ThreadOptions& opts = {}) const {
    score_trials_into("PldaScorer::score_trials_into", enrolments, tests, trials, out, opts.num_threads);
  }

  // The thread count as a trailing int: deprecated, removed in the next release.
  [[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Matrix<S> score_matrix(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, int num_threads) const {
    return score_matrix(enrolments, tests, ThreadOptions{num_threads});
  }
  [[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] void score_matrix_into(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, Matrix<S>& out, int num_threads) const {
    score_matrix_into(enrolments, tests, out, ThreadOptions{num_threads});
  }
  [[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Vector<S> score_trials(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const TrialIndices& trials,
                             int num_threads) const {
    return score_trials(enrolments, tests, trials, ThreadOptions{num_threads});
  }
  [[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] void score_trials_into(const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const TrialIndices& trials, Vector<S>& out,
                             int num_threads) const {
    score_trials_into(enrolments, tests, trials, out, ThreadOptions{num_threads});
  }

 private:
  void score_trials_into(const char* fn, const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, const TrialIndices& trials,
                         Vector<S>& out, int num_threads) const {
    check(fn, enrolments, tests);
    const Matrix<S> c = test_constants(enrolments, tests);
    detail::bilinear_score_trials<S>(fn, {&enrolments.vectors, &enrolments.constants, &enrolments.group, &tests.vectors, &c}, trials.enrol,
                                     trials.test, out, num_threads);
  }

  void score_matrix_into(const char* fn, const PldaEnrolments<S>& enrolments, const PldaTests<S>& tests, Matrix<S>& out,
                         int num_threads) const {
    check(fn, enrolments, tests);
    const Matrix<S> c = test_constants(enrolments, tests);
    detail::bilinear_score_matrix<S>({&enrolments.vectors, &enrolments.constants, &enrolments.group, &tests.vectors, &c}, out, num_threads);
  }

  void check(const char* fn, const PldaEnrolments<S>& e, const PldaTests<S>& t) const {
    if (e.vectors.cols() != plda_.dim() || t.vectors.cols() != plda_.dim() || e.quadratic.cols() != plda_.dim())
      throw DimensionMismatch(detail::message(fn, ": prepared enrolments have dimension ", e.vectors.cols(), " and tests ",
                                              t.vectors.cols(), " but the PLDA model has dimension ", plda_.dim()));
    // An empty set is an error, not an empty result.
    if (e.size() == 0) throw InvalidArgument(detail::message(fn, ": no enrolments"));
    if (t.size() == 0) throw InvalidArgument(detail::message(fn, ": no tests"));
  }
  // tests x distinct counts: sum_i q_gi t_ji^2
  static Matrix<S> test_constants(const PldaEnrolments<S>& e, const PldaTests<S>& t) {
    Matrix<S> c(t.vectors.rows(), e.quadratic.rows());
    c.noalias() = t.vectors.cwiseAbs2() * e.quadratic.transpose();
    return c;
  }

  Plda<S> plda_;
  PldaOptions options_;
};

}  // namespace ivkit
