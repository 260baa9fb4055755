/// @file
/// Score normalisation against a cohort of impostor segments, in matrix form: z-norm, t-norm, s-norm
/// and adaptive s-norm (AS-norm, statistics over the top-K cohort scores of each side), over a whole
/// enrolment x test score matrix or over a sparse list of trials.
///
/// Inputs are score matrices the caller computes with whatever scoring it uses (cosine, PLDA):
///  - `scores`        S, enrolments x tests;
///  - `enrol_cohort`  E, enrolments x cohort (each enrolment scored against every cohort segment);
///  - `cohort_test`   T, cohort x tests (every cohort segment scored against each test segment).
/// The statistics of each enrolment (a row of E) and of each test segment (a column of T) are computed
/// once, in double, in parallel over blocks of rows (columns) with results independent of the thread
/// count; then one pass over S (or over the listed trials) applies them. See docs/score_normalisation.md.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/trials.hpp"

namespace ivkit {

/// Which normalisation: z-norm (enrolment statistics), t-norm (test statistics) or s-norm (the average
/// of the two). With ScoreNormOptions::top_k > 0 each becomes its adaptive variant (S: AS-norm).
enum class ScoreNorm { Z, T, S };

/// "z-norm", "t-norm", "s-norm".
inline const char* score_norm_name(ScoreNorm m) {
  switch (m) {
    case ScoreNorm::Z: return "z-norm";
    case ScoreNorm::T: return "t-norm";
    case ScoreNorm::S: return "s-norm";
  }
  return "unknown";
}

/// Divisor of the cohort variance.
enum class StdConvention {
  Population,  ///< sum of squared deviations / K (numpy.std, WeSpeaker's score_norm.py); the default
  Unbiased,    ///< sum of squared deviations / (K - 1) (torch.std, SpeechBrain's recipes)
};

/// "population", "unbiased".
inline const char* std_convention_name(StdConvention c) {
  return c == StdConvention::Population ? "population" : "unbiased";
}

/// Options of the cohort statistics.
struct ScoreNormOptions {
  /// 0: statistics over the whole cohort (plain z-, t-, s-norm). K > 0: over the K highest cohort
  /// scores of each enrolment (each test segment), the adaptive variants (AS-norm). At least 2 and at
  /// most the cohort size.
  Index top_k = 0;
  /// Divisor of the variance: K (default) or K - 1.
  StdConvention std_convention = StdConvention::Population;
  /// 0 (default): a standard deviation of exactly zero (all selected cohort scores equal) is a
  /// NumericalError. > 0: every standard deviation is raised to at least this value.
  double std_floor = 0.0;
  /// Threads for the statistics and the normalisation pass (0 = all hardware threads); the results
  /// do not depend on it.
  int num_threads = 1;
};

/// Mean and standard deviation of the (selected) cohort scores of each enrolment or test segment.
struct CohortStats {
  Vector<double> mean;
  Vector<double> std;
  Index num_scores = 0;  ///< cohort scores behind each entry: top_k, or the cohort size
  Index size() const { return mean.size(); }
  bool empty() const { return mean.size() == 0; }
};

namespace detail {

inline constexpr Index kCohortStatsBlock = 64;    // rows (columns) of cohort scores per parallel block, at most
inline constexpr Index kCohortStatsBufferScores = Index(1) << 19;  // cohort scores copied per block, at most
inline constexpr Index kScoreNormRowBlock = 16;   // score-matrix rows per parallel block
inline constexpr Index kScoreNormTrialBlock = 8192;  // trials per parallel block

/// Calls f(m) with m usable for repeated coefficient access: the object itself when it has direct
/// access (matrices, maps, blocks), else the expression evaluated once (products, casts).
template <class Derived, class F>
decltype(auto) with_evaluated(const Eigen::MatrixBase<Derived>& m, F&& f) {
  if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) {
    return f(m.derived());
  } else {
    const typename Derived::PlainObject tmp = m;
    return f(tmp);
  }
}

inline void check_score_norm_options(const char* fn, const ScoreNormOptions& o) {
  if (o.top_k < 0) throw InvalidArgument(message(fn, ": top_k must be >= 0 (0 = the whole cohort), got ", o.top_k));
  if (!(o.std_floor >= 0) || !std::isfinite(o.std_floor))
    throw InvalidArgument(message(fn, ": std_floor must be finite and >= 0, got ", o.std_floor));
  if (o.num_threads < 0) throw InvalidArgument(message(fn, ": num_threads must be >= 0, got ", o.num_threads));
}

/// Number of cohort scores each statistic uses, checked against the cohort size.
/// `matrix` names the cohort matrix and its shape in messages.
inline Index cohort_count(const char* fn, const ScoreNormOptions& o, Index cohort_size, const std::string& matrix) {
  if (o.top_k > cohort_size)
    throw InvalidArgument(message(fn, ": top_k = ", o.top_k, " exceeds the cohort size ", cohort_size, " (", matrix, ")"));
  const Index k = o.top_k > 0 ? o.top_k : cohort_size;
  if (k < 2) {
    if (o.top_k > 0) throw InvalidArgument(message(fn, ": top_k = ", o.top_k, " is too small; the statistics need at least 2 cohort scores"));
    throw InvalidArgument(message(fn, ": the cohort has ", cohort_size, " segment", cohort_size == 1 ? "" : "s", " (", matrix,
                                  "); the statistics need at least 2"));
  }
  return k;
}

/// Mean and standard deviation of the k largest of line[0, n) (all of them when k == n), in double.
/// With k < n, the k-th largest value v is found by nth_element on `scratch` (n entries), then the
/// sums run over `line` in its own order: every entry above v, and v for the remaining places (ties
/// at v). The result therefore does not depend on how nth_element arranged the scratch copy.
inline std::pair<double, double> top_k_mean_std(const double* line, double* scratch, Index n, Index k, StdConvention conv) {
  double v = -std::numeric_limits<double>::infinity();
  Index above = 0;
  if (k < n) {
    std::copy(line, line + n, scratch);
    std::nth_element(scratch, scratch + (k - 1), scratch + n, std::greater<double>());
    v = scratch[k - 1];
  }
  double sum = 0;
  for (Index i = 0; i < n; ++i)
    if (line[i] > v) {
      sum += line[i];
      ++above;
    }
  const double ties = static_cast<double>(k - above);  // 0 when k == n
  const double mean = (sum + ties * (k < n ? v : 0.0)) / static_cast<double>(k);
  double ss = 0;
  for (Index i = 0; i < n; ++i)
    if (line[i] > v) {
      const double d = line[i] - mean;
      ss += d * d;
    }
  if (k < n) ss += ties * (v - mean) * (v - mean);
  const double var = ss / static_cast<double>(conv == StdConvention::Population ? k : k - 1);
  return {mean, std::sqrt(var)};
}

/// Statistics of each row (by_rows) or column of a cohort matrix; only entries with needed[i] != 0
/// when `needed` is given (the others are NaN).
template <class M>
CohortStats cohort_stats(const char* fn, const M& m, bool by_rows, const ScoreNormOptions& o, const std::vector<char>* needed) {
  check_score_norm_options(fn, o);
  const Index count = by_rows ? m.rows() : m.cols();
  const Index cohort = by_rows ? m.cols() : m.rows();
  const std::string what = by_rows ? message("enrolment-cohort matrix ", m.rows(), " x ", m.cols())
                                   : message("cohort-test matrix ", m.rows(), " x ", m.cols());
  const Index k = cohort_count(fn, o, cohort, what);
  CohortStats out;
  out.mean.setConstant(count, std::numeric_limits<double>::quiet_NaN());
  out.std.setConstant(count, std::numeric_limits<double>::quiet_NaN());
  out.num_scores = k;
  const char* side = by_rows ? "enrolment" : "test segment";
  // Lines (rows of E, columns of T) are copied a block at a time; when they are strided in memory
  // the copy walks the cohort index outermost, reading each block's entries contiguously.
  const bool line_contiguous = by_rows == bool(M::IsRowMajor);
  // At most 64 lines and about 4 MB of copied scores per block.
  const Index block = std::clamp<Index>(kCohortStatsBufferScores / std::max<Index>(cohort, 1), 1, kCohortStatsBlock);
  parallel_for_blocks(num_blocks(count, block), o.num_threads, [&](Index b) {
    const Index i0 = b * block, i1 = std::min(count, i0 + block);
    std::vector<double> buf(static_cast<std::size_t>((i1 - i0) * cohort));
    std::vector<double> scratch(k < cohort ? static_cast<std::size_t>(cohort) : 0);
    auto use = [&](Index i) { return !needed || (*needed)[static_cast<std::size_t>(i)]; };
    auto load = [&](Index i, Index j) {
      const double v = static_cast<double>(by_rows ? m(i, j) : m(j, i));
      if (!std::isfinite(v)) {
        if (by_rows) throw NonFiniteInput(message(fn, ": enrolment-cohort score (", i, ", ", j, ") is NaN or Inf"));
        throw NonFiniteInput(message(fn, ": cohort-test score (", j, ", ", i, ") is NaN or Inf"));
      }
      buf[static_cast<std::size_t>((i - i0) * cohort + j)] = v;
    };
    if (line_contiguous) {
      for (Index i = i0; i < i1; ++i)
        if (use(i))
          for (Index j = 0; j < cohort; ++j) load(i, j);
    } else {
      for (Index j = 0; j < cohort; ++j)
        for (Index i = i0; i < i1; ++i)
          if (use(i)) load(i, j);
    }
    for (Index i = i0; i < i1; ++i) {
      if (!use(i)) continue;
      const double* line = buf.data() + (i - i0) * cohort;
      auto [mean, sd] = top_k_mean_std(line, scratch.data(), cohort, k, o.std_convention);
      if (o.std_floor > 0) sd = std::max(sd, o.std_floor);
      if (!std::isfinite(sd))
        throw NumericalError(message(fn, ": the standard deviation of the cohort scores of ", side, " ", i, " overflows"));
      if (!(sd > 0))
        throw NumericalError(message(fn, ": the ", k < cohort ? message("top ", k, " cohort scores") : std::string("cohort scores"), " of ",
                                     side, " ", i, " have zero standard deviation (all equal to ", mean,
                                     "); set ScoreNormOptions::std_floor to allow it"));
      out.mean(i) = mean;
      out.std(i) = sd;
    }
  });
  return out;
}

inline void check_stats_for(const char* fn, ScoreNorm method, const CohortStats& enrol, const CohortStats& test, Index num_enrol,
                            Index num_test, const char* what) {
  if (method != ScoreNorm::T && enrol.size() != num_enrol)
    throw DimensionMismatch(message(fn, ": ", what, " but the enrolment statistics cover ", enrol.size(), " enrolments"));
  if (method != ScoreNorm::Z && test.size() != num_test)
    throw DimensionMismatch(message(fn, ": ", what, " but the test statistics cover ", test.size(), " test segments"));
  if (method != ScoreNorm::T && enrol.std.size() != enrol.size())
    throw DimensionMismatch(message(fn, ": the enrolment statistics have ", enrol.mean.size(), " means but ", enrol.std.size(), " deviations"));
  if (method != ScoreNorm::Z && test.std.size() != test.size())
    throw DimensionMismatch(message(fn, ": the test statistics have ", test.mean.size(), " means but ", test.std.size(), " deviations"));
}

/// The normalised value of score s of enrolment e and test t (statistics already checked).
struct ScoreNormApply {
  ScoreNorm method;
  const double* em;
  const double* einv;
  const double* tm;
  const double* tinv;
  double operator()(double s, Index e, Index t) const {
    switch (method) {
      case ScoreNorm::Z: return (s - em[e]) * einv[e];
      case ScoreNorm::T: return (s - tm[t]) * tinv[t];
      case ScoreNorm::S: break;
    }
    return 0.5 * ((s - em[e]) * einv[e] + (s - tm[t]) * tinv[t]);
  }
};

/// Reciprocals of the standard deviations; empty when unused. `partial`: statistics computed only for
/// the entries in use, the others NaN (and never read).
inline Vector<double> reciprocal_std(const CohortStats& c, bool used, const char* fn, const char* side, bool partial = false) {
  if (!used) return Vector<double>();
  Vector<double> r(c.size());
  for (Index i = 0; i < c.size(); ++i) {
    const double sd = c.std(i);
    if (partial && std::isnan(sd)) {
      r(i) = sd;
      continue;
    }
    if (!(sd > 0 && std::isfinite(sd)))
      throw InvalidArgument(message(fn, ": the ", side, " statistics hold standard deviation ", sd, " at ", i, " (positive and finite expected)"));
    if (!std::isfinite(c.mean(i)))
      throw InvalidArgument(message(fn, ": the ", side, " statistics hold mean ", c.mean(i), " at ", i, " (finite expected)"));
    r(i) = 1.0 / sd;
  }
  return r;
}

template <class S, class M>
Matrix<S> normalise_matrix(const char* fn, const M& scores, ScoreNorm method, const CohortStats& enrol, const CohortStats& test,
                           int num_threads) {
  if (num_threads < 0) throw InvalidArgument(message(fn, ": num_threads must be >= 0, got ", num_threads));
  const Index ne = scores.rows(), nt = scores.cols();
  check_stats_for(fn, method, enrol, test, ne, nt, message("the score matrix is ", ne, " x ", nt).c_str());
  const bool use_e = method != ScoreNorm::T, use_t = method != ScoreNorm::Z;
  const Vector<double> einv = reciprocal_std(enrol, use_e, fn, "enrolment");
  const Vector<double> tinv = reciprocal_std(test, use_t, fn, "test");
  const ScoreNormApply apply{method, use_e ? enrol.mean.data() : nullptr, einv.data(), use_t ? test.mean.data() : nullptr, tinv.data()};
  Matrix<S> out(ne, nt);
  parallel_for_blocks(num_blocks(ne, kScoreNormRowBlock), num_threads, [&](Index b) {
    const Index r0 = b * kScoreNormRowBlock, r1 = std::min(ne, r0 + kScoreNormRowBlock);
    for (Index e = r0; e < r1; ++e)
      for (Index t = 0; t < nt; ++t) {
        const double s = static_cast<double>(scores(e, t));
        if (!std::isfinite(s)) throw NonFiniteInput(message(fn, ": score (", e, ", ", t, ") is NaN or Inf"));
        out(e, t) = static_cast<S>(apply(s, e, t));
      }
  });
  return out;
}

inline void check_trial_indices(const char* fn, const TrialIndices& trials, Index num_scores, ScoreNorm method, Index num_enrol,
                                Index num_test, const char* enrol_what, const char* test_what) {
  if (trials.enrol.size() != trials.test.size())
    throw DimensionMismatch(message(fn, ": ", trials.enrol.size(), " enrolment indices but ", trials.test.size(), " test indices"));
  if (static_cast<Index>(trials.enrol.size()) != num_scores)
    throw DimensionMismatch(message(fn, ": ", num_scores, " trial scores but ", trials.enrol.size(), " trials in the index lists"));
  for (std::size_t i = 0; i < trials.enrol.size(); ++i) {
    const Index e = trials.enrol[i], t = trials.test[i];
    if (method != ScoreNorm::T && (e < 0 || e >= num_enrol))
      throw DimensionMismatch(message(fn, ": trial ", i, " has enrolment index ", e, ", outside the ", num_enrol, " ", enrol_what));
    if (method != ScoreNorm::Z && (t < 0 || t >= num_test))
      throw DimensionMismatch(message(fn, ": trial ", i, " has test index ", t, ", outside the ", num_test, " ", test_what));
  }
}

template <class S, class V>
Vector<S> normalise_trials(const char* fn, const V& v, const TrialIndices& trials, ScoreNorm method, const CohortStats& enrol,
                           const CohortStats& test, int num_threads, bool partial_stats) {
  if (num_threads < 0) throw InvalidArgument(message(fn, ": num_threads must be >= 0, got ", num_threads));
  const bool use_e = method != ScoreNorm::T, use_t = method != ScoreNorm::Z;
  const Vector<double> einv = reciprocal_std(enrol, use_e, fn, "enrolment", partial_stats);
  const Vector<double> tinv = reciprocal_std(test, use_t, fn, "test", partial_stats);
  const ScoreNormApply apply{method, use_e ? enrol.mean.data() : nullptr, einv.data(), use_t ? test.mean.data() : nullptr, tinv.data()};
  const Index n = v.size();
  Vector<S> out(n);
  parallel_for_blocks(num_blocks(n, kScoreNormTrialBlock), num_threads, [&](Index b) {
    const Index i0 = b * kScoreNormTrialBlock, i1 = std::min(n, i0 + kScoreNormTrialBlock);
    for (Index i = i0; i < i1; ++i) {
      const double s = static_cast<double>(v(i));
      if (!std::isfinite(s)) throw NonFiniteInput(message(fn, ": the score of trial ", i, " is NaN or Inf"));
      const auto k = static_cast<std::size_t>(i);
      const double r = apply(s, trials.enrol[k], trials.test[k]);
      // Finite scores and checked statistics give a finite result; NaN comes only from the
      // statistics of an entry left out of a partial computation.
      if (std::isnan(r)) {
        const bool enrol_missing = use_e && std::isnan(einv[trials.enrol[k]]);
        throw InvalidArgument(message(fn, ": trial ", i, " uses ", enrol_missing ? "enrolment " : "test segment ",
                                      enrol_missing ? trials.enrol[k] : trials.test[k],
                                      " whose statistics were not computed (NaN; compute them for every entry a trial uses)"));
      }
      out(i) = static_cast<S>(r);
    }
  });
  return out;
}

/// A mask of the listed indices, each checked against `count`.
inline std::vector<char> needed_mask(const char* fn, const std::vector<Index>& needed, Index count, const char* what) {
  std::vector<char> mask(static_cast<std::size_t>(count), 0);
  for (Index i : needed) {
    if (i < 0 || i >= count) throw DimensionMismatch(message(fn, ": index ", i, " is outside the ", count, " ", what));
    mask[static_cast<std::size_t>(i)] = 1;
  }
  return mask;
}

template <class Derived>
void check_vector(const char* fn, const Eigen::MatrixBase<Derived>& v) {
  if (v.rows() != 1 && v.cols() != 1 && v.size() != 0)
    throw DimensionMismatch(message(fn, ": the trial scores must be a vector, got a ", v.rows(), " x ", v.cols(), " matrix"));
}

}  // namespace detail

/// Statistics of each enrolment: mean and standard deviation of each row of the enrolment-cohort
/// matrix E (enrolments x cohort), over the options.top_k highest scores of the row (all if 0).
/// @throws InvalidArgument (bad options, top_k above the cohort size, fewer than 2 scores),
/// NonFiniteInput (names the entry), NumericalError (zero deviation without std_floor)
template <class Derived>
CohortStats enrol_cohort_stats(const Eigen::MatrixBase<Derived>& enrol_cohort, const ScoreNormOptions& options = {}) {
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  return detail::with_evaluated(enrol_cohort, [&](const auto& m) {
    return detail::cohort_stats("enrol_cohort_stats", m, true, options, nullptr);
  });
}

/// enrol_cohort_stats for the rows listed in `needed` only (e.g. the enrolments a trial list names);
/// the other entries are NaN. Each listed row's statistics have the same bits as enrol_cohort_stats
/// gives them. @throws as enrol_cohort_stats, and DimensionMismatch for an index outside E
template <class Derived>
CohortStats enrol_cohort_stats(const Eigen::MatrixBase<Derived>& enrol_cohort, const ScoreNormOptions& options,
                               const std::vector<Index>& needed) {
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  const std::vector<char> mask = detail::needed_mask("enrol_cohort_stats", needed, enrol_cohort.rows(), "rows of the enrolment-cohort matrix");
  return detail::with_evaluated(enrol_cohort, [&](const auto& m) {
    return detail::cohort_stats("enrol_cohort_stats", m, true, options, &mask);
  });
}

/// Statistics of each test segment: mean and standard deviation of each column of the cohort-test
/// matrix T (cohort x tests), over the options.top_k highest scores of the column (all if 0).
/// @throws as enrol_cohort_stats
template <class Derived>
CohortStats test_cohort_stats(const Eigen::MatrixBase<Derived>& cohort_test, const ScoreNormOptions& options = {}) {
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  return detail::with_evaluated(cohort_test, [&](const auto& m) {
    return detail::cohort_stats("test_cohort_stats", m, false, options, nullptr);
  });
}

/// test_cohort_stats for the columns listed in `needed` only; the other entries are NaN.
/// @throws as test_cohort_stats, and DimensionMismatch for an index outside T
template <class Derived>
CohortStats test_cohort_stats(const Eigen::MatrixBase<Derived>& cohort_test, const ScoreNormOptions& options,
                              const std::vector<Index>& needed) {
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  const std::vector<char> mask = detail::needed_mask("test_cohort_stats", needed, cohort_test.cols(), "columns of the cohort-test matrix");
  return detail::with_evaluated(cohort_test, [&](const auto& m) {
    return detail::cohort_stats("test_cohort_stats", m, false, options, &mask);
  });
}

/// Normalises an enrolment x test score matrix with precomputed statistics:
///   z-norm  (s - mu_e) / sigma_e,   t-norm  (s - mu_t) / sigma_t,   s-norm  the average of both.
/// The statistics not used by `method` may be empty. Computed in double, returned in the scalar of
/// `scores` (row-major).
/// @throws DimensionMismatch (statistics of another size), InvalidArgument (a non-positive deviation
/// in hand-made statistics), NonFiniteInput (a NaN or Inf score, naming its entry)
template <class Derived>
Matrix<typename Derived::Scalar> normalise_scores(const Eigen::MatrixBase<Derived>& scores, ScoreNorm method, const CohortStats& enrol,
                                                  const CohortStats& test, const ThreadOptions& opts = {}) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(S);
  return detail::with_evaluated(scores, [&](const auto& m) {
    return detail::normalise_matrix<S>("normalise_scores", m, method, enrol, test, opts.num_threads);
  });
}

/// The thread count as a trailing int: deprecated, removed in the next release.
template <class Derived>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Matrix<typename Derived::Scalar> normalise_scores(const Eigen::MatrixBase<Derived>& scores, ScoreNorm method,
                                                      const CohortStats& enrol, const CohortStats& test, int num_threads) {
  return normalise_scores(scores, method, enrol, test, ThreadOptions{num_threads});
}

namespace detail {

template <class DS, class DE, class DT>
Matrix<typename DS::Scalar> normalise_dense(const char* fn, const Eigen::MatrixBase<DS>& scores, ScoreNorm method,
                                            const Eigen::MatrixBase<DE>& enrol_cohort, const Eigen::MatrixBase<DT>& cohort_test,
                                            const ScoreNormOptions& o) {
  using S = typename DS::Scalar;
  IVKIT_CHECK_SCALAR(S);
  IVKIT_CHECK_SCALAR(typename DE::Scalar);
  IVKIT_CHECK_SCALAR(typename DT::Scalar);
  check_score_norm_options(fn, o);
  const Index ne = scores.rows(), nt = scores.cols();
  if (method != ScoreNorm::T && enrol_cohort.rows() != ne)
    throw DimensionMismatch(message(fn, ": the score matrix is ", ne, " x ", nt, " but the enrolment-cohort matrix is ", enrol_cohort.rows(),
                                    " x ", enrol_cohort.cols(), " (one row per enrolment expected)"));
  if (method != ScoreNorm::Z && cohort_test.cols() != nt)
    throw DimensionMismatch(message(fn, ": the score matrix is ", ne, " x ", nt, " but the cohort-test matrix is ", cohort_test.rows(),
                                    " x ", cohort_test.cols(), " (one column per test segment expected)"));
  CohortStats es, ts;
  if (method != ScoreNorm::T) es = with_evaluated(enrol_cohort, [&](const auto& m) { return cohort_stats(fn, m, true, o, nullptr); });
  if (method != ScoreNorm::Z) ts = with_evaluated(cohort_test, [&](const auto& m) { return cohort_stats(fn, m, false, o, nullptr); });
  return with_evaluated(scores, [&](const auto& m) { return normalise_matrix<S>(fn, m, method, es, ts, o.num_threads); });
}

}  // namespace detail

/// Normalises an enrolment x test score matrix S against the cohort: statistics of each row of the
/// enrolment-cohort matrix E (enrolments x cohort) and of each column of the cohort-test matrix T
/// (cohort x tests), over the options.top_k highest cohort scores (0: all), then one pass over S.
/// The matrix `method` does not use is not read (pass an empty one). Result in the scalar of S.
/// @throws DimensionMismatch (shapes), InvalidArgument (options, top_k above the cohort size, fewer
/// than 2 cohort scores), NonFiniteInput (NaN or Inf in S, E or T, naming the entry), NumericalError
/// (a zero standard deviation without std_floor)
template <class DS, class DE, class DT>
Matrix<typename DS::Scalar> normalise_scores(const Eigen::MatrixBase<DS>& scores, ScoreNorm method,
                                             const Eigen::MatrixBase<DE>& enrol_cohort, const Eigen::MatrixBase<DT>& cohort_test,
                                             const ScoreNormOptions& options = {}) {
  return detail::normalise_dense("normalise_scores", scores, method, enrol_cohort, cohort_test, options);
}

/// z-norm: (s - mu_e) / sigma_e with the statistics of each enrolment's row of E (enrolments x
/// cohort). With options.top_k > 0, adaptive z-norm over the top-K cohort scores.
template <class DS, class DE>
Matrix<typename DS::Scalar> z_norm(const Eigen::MatrixBase<DS>& scores, const Eigen::MatrixBase<DE>& enrol_cohort,
                                   const ScoreNormOptions& options = {}) {
  return detail::normalise_dense("z_norm", scores, ScoreNorm::Z, enrol_cohort, Matrix<typename DE::Scalar>(), options);
}

/// t-norm: (s - mu_t) / sigma_t with the statistics of each test segment's column of T (cohort x
/// tests). With options.top_k > 0, adaptive t-norm over the top-K cohort scores.
template <class DS, class DT>
Matrix<typename DS::Scalar> t_norm(const Eigen::MatrixBase<DS>& scores, const Eigen::MatrixBase<DT>& cohort_test,
                                   const ScoreNormOptions& options = {}) {
  return detail::normalise_dense("t_norm", scores, ScoreNorm::T, Matrix<typename DT::Scalar>(), cohort_test, options);
}

/// s-norm: the average of z-norm and t-norm. With options.top_k > 0 this is AS-norm.
template <class DS, class DE, class DT>
Matrix<typename DS::Scalar> s_norm(const Eigen::MatrixBase<DS>& scores, const Eigen::MatrixBase<DE>& enrol_cohort,
                                   const Eigen::MatrixBase<DT>& cohort_test, const ScoreNormOptions& options = {}) {
  return detail::normalise_dense("s_norm", scores, ScoreNorm::S, enrol_cohort, cohort_test, options);
}

/// Adaptive s-norm (AS-norm): s-norm with the statistics of each enrolment over the `top_k` highest
/// scores of its row of E, and of each test segment over the `top_k` highest of its column of T
/// (options.top_k is replaced by `top_k`, which must be >= 1).
template <class DS, class DE, class DT>
Matrix<typename DS::Scalar> as_norm(const Eigen::MatrixBase<DS>& scores, const Eigen::MatrixBase<DE>& enrol_cohort,
                                    const Eigen::MatrixBase<DT>& cohort_test, Index top_k, ScoreNormOptions options = {}) {
  if (top_k < 1) throw InvalidArgument(detail::message("as_norm: top_k must be >= 1, got ", top_k));
  options.top_k = top_k;
  return detail::normalise_dense("as_norm", scores, ScoreNorm::S, enrol_cohort, cohort_test, options);
}

/// Normalises the scores of a sparse list of trials with precomputed statistics: trial i has score
/// trial_scores(i), enrolment trials.enrol[i] and test segment trials.test[i] (eval/trials.hpp).
/// Only the statistics `method` uses must be given, and only for the enrolments and test segments the
/// trials name: the others may be NaN, as the `needed` overloads of enrol_cohort_stats and
/// test_cohort_stats leave them. Result in the scalar of `trial_scores`.
/// @throws DimensionMismatch (sizes, an index outside the statistics), InvalidArgument (a trial whose
/// statistics are NaN, naming it), NonFiniteInput (a NaN or Inf score, naming the trial)
template <class Derived>
Vector<typename Derived::Scalar> normalise_trial_scores(const Eigen::MatrixBase<Derived>& trial_scores, const TrialIndices& trials,
                                                        ScoreNorm method, const CohortStats& enrol, const CohortStats& test,
                                                        const ThreadOptions& opts = {}) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(S);
  constexpr const char* fn = "normalise_trial_scores";
  detail::check_vector(fn, trial_scores);
  if (method != ScoreNorm::T && enrol.std.size() != enrol.size())
    throw DimensionMismatch(detail::message(fn, ": the enrolment statistics have ", enrol.mean.size(), " means but ", enrol.std.size(),
                                            " deviations"));
  if (method != ScoreNorm::Z && test.std.size() != test.size())
    throw DimensionMismatch(detail::message(fn, ": the test statistics have ", test.mean.size(), " means but ", test.std.size(),
                                            " deviations"));
  detail::check_trial_indices(fn, trials, trial_scores.size(), method, enrol.size(), test.size(), "enrolments of the statistics",
                              "test segments of the statistics");
  return detail::with_evaluated(trial_scores, [&](const auto& v) {
    return detail::normalise_trials<S>(fn, v, trials, method, enrol, test, opts.num_threads, true);
  });
}

/// The thread count as a trailing int: deprecated, removed in the next release.
template <class Derived>
[[deprecated("threads are the num_threads field of the options: pass ThreadOptions{n}")]] Vector<typename Derived::Scalar> normalise_trial_scores(const Eigen::MatrixBase<Derived>& trial_scores, const TrialIndices& trials,
                                                            ScoreNorm method, const CohortStats& enrol, const CohortStats& test,
                                                            int num_threads) {
  return normalise_trial_scores(trial_scores, trials, method, enrol, test, ThreadOptions{num_threads});
}

/// Normalises the scores of a sparse list of trials against the cohort matrices E (enrolments x
/// cohort) and T (cohort x tests), as normalise_scores does for a whole matrix; statistics are
/// computed only for the enrolments and test segments the trials use. The matrix `method` does not
/// use is not read (pass an empty one).
/// @throws as normalise_scores; DimensionMismatch names a trial whose index lies outside E or T
template <class DV, class DE, class DT>
Vector<typename DV::Scalar> normalise_trial_scores(const Eigen::MatrixBase<DV>& trial_scores, const TrialIndices& trials,
                                                   ScoreNorm method, const Eigen::MatrixBase<DE>& enrol_cohort,
                                                   const Eigen::MatrixBase<DT>& cohort_test, const ScoreNormOptions& options = {}) {
  using S = typename DV::Scalar;
  IVKIT_CHECK_SCALAR(S);
  IVKIT_CHECK_SCALAR(typename DE::Scalar);
  IVKIT_CHECK_SCALAR(typename DT::Scalar);
  constexpr const char* fn = "normalise_trial_scores";
  detail::check_score_norm_options(fn, options);
  detail::check_vector(fn, trial_scores);
  detail::check_trial_indices(fn, trials, trial_scores.size(), method, enrol_cohort.rows(), cohort_test.cols(),
                              "rows of the enrolment-cohort matrix", "columns of the cohort-test matrix");
  CohortStats es, ts;
  if (method != ScoreNorm::T) {
    const std::vector<char> needed = detail::needed_mask(fn, trials.enrol, enrol_cohort.rows(), "rows of the enrolment-cohort matrix");
    es = detail::with_evaluated(enrol_cohort, [&](const auto& m) { return detail::cohort_stats(fn, m, true, options, &needed); });
  }
  if (method != ScoreNorm::Z) {
    const std::vector<char> needed = detail::needed_mask(fn, trials.test, cohort_test.cols(), "columns of the cohort-test matrix");
    ts = detail::with_evaluated(cohort_test, [&](const auto& m) { return detail::cohort_stats(fn, m, false, options, &needed); });
  }
  return detail::with_evaluated(trial_scores, [&](const auto& v) {
    return detail::normalise_trials<S>(fn, v, trials, method, es, ts, options.num_threads, true);
  });
}

}  // namespace ivkit
