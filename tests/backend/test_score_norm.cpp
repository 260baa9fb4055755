// Score normalisation against naive per-trial loops in double (every trial recomputes its cohort
// statistics from scratch with a full sort), for float and double inputs in both storage orders;
// AS-norm with K = cohort size against s-norm; the sparse trial variant against the dense one; thread
// independence; and the exact error messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include <ivkit/backend/score_norm.hpp>
#include <ivkit/core/random.hpp>

using namespace ivkit;

namespace {

using MatD = Eigen::MatrixXd;

struct Cohort {
  MatD s, e, t;  // scores (ne x nt), enrolment-cohort (ne x C), cohort-test (C x nt)
};

// Scores with a different offset and spread per enrolment and per test segment, so that the
// normalisations actually change them.
Cohort make_cohort(Index ne, Index nt, Index c, std::uint64_t seed) {
  Random rng(seed);
  Cohort out{MatD(ne, nt), MatD(ne, c), MatD(c, nt)};
  std::vector<double> eo(ne), es(ne), to(nt), ts(nt);
  for (Index i = 0; i < ne; ++i) eo[i] = rng.normal(), es[i] = 0.5 + rng.uniform();
  for (Index j = 0; j < nt; ++j) to[j] = rng.normal(), ts[j] = 0.5 + rng.uniform();
  for (Index i = 0; i < ne; ++i)
    for (Index j = 0; j < nt; ++j) out.s(i, j) = eo[i] + to[j] + es[i] * ts[j] * rng.normal();
  for (Index i = 0; i < ne; ++i)
    for (Index k = 0; k < c; ++k) out.e(i, k) = eo[i] + es[i] * rng.normal();
  for (Index k = 0; k < c; ++k)
    for (Index j = 0; j < nt; ++j) out.t(k, j) = to[j] + ts[j] * rng.normal();
  return out;
}

// Mean and deviation of the k largest values (all if k == 0), by a full sort; divisor k or k - 1.
std::pair<double, double> naive_stats(std::vector<double> v, Index k, bool unbiased) {
  std::sort(v.begin(), v.end(), std::greater<double>());
  const std::size_t n = k > 0 ? static_cast<std::size_t>(k) : v.size();
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += v[i];
  mean /= static_cast<double>(n);
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) ss += (v[i] - mean) * (v[i] - mean);
  return {mean, std::sqrt(ss / static_cast<double>(unbiased ? n - 1 : n))};
}

// One normalised trial, computed from scratch.
double naive_trial(const MatD& s, const MatD& e, const MatD& t, Index i, Index j, ScoreNorm method, Index k, bool unbiased) {
  std::vector<double> row(e.cols()), col(t.rows());
  for (Index c = 0; c < e.cols(); ++c) row[c] = e(i, c);
  for (Index c = 0; c < t.rows(); ++c) col[c] = t(c, j);
  const auto [me, se] = naive_stats(row, k, unbiased);
  const auto [mt, st] = naive_stats(col, k, unbiased);
  const double z = (s(i, j) - me) / se, tn = (s(i, j) - mt) / st;
  if (method == ScoreNorm::Z) return z;
  if (method == ScoreNorm::T) return tn;
  return 0.5 * (z + tn);
}

template <class Scalar, int Order>
using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Order>;

template <class Scalar, int Order>
void check_dense_against_naive() {
  const Index ne = 7, nt = 9, c = 40;
  const Cohort d = make_cohort(ne, nt, c, 11);
  // The inputs in the tested scalar; the reference reads the same (rounded) values in double.
  const Mat<Scalar, Order> s = d.s.cast<Scalar>(), e = d.e.cast<Scalar>(), t = d.t.cast<Scalar>();
  const MatD sd = s.template cast<double>(), ed = e.template cast<double>(), td = t.template cast<double>();
  const double tol = std::is_same_v<Scalar, float> ? 2e-6 : 1e-12;
  for (const ScoreNorm method : {ScoreNorm::Z, ScoreNorm::T, ScoreNorm::S})
    for (const Index k : {Index(0), Index(2), Index(5), c})
      for (const bool unbiased : {false, true}) {
        CAPTURE(score_norm_name(method));
        CAPTURE(k);
        CAPTURE(unbiased);
        ScoreNormOptions o;
        o.top_k = k;
        o.std_convention = unbiased ? StdConvention::Unbiased : StdConvention::Population;
        const auto out = normalise_scores(s, method, e, t, o);
        static_assert(std::is_same_v<typename decltype(out)::Scalar, Scalar>);
        REQUIRE(out.rows() == ne);
        REQUIRE(out.cols() == nt);
        double worst = 0;
        for (Index i = 0; i < ne; ++i)
          for (Index j = 0; j < nt; ++j) {
            const double ref = naive_trial(sd, ed, td, i, j, method, k, unbiased);
            worst = std::max(worst, std::abs(static_cast<double>(out(i, j)) - ref) / (1 + std::abs(ref)));
          }
        CHECK(worst < tol);
        // The named wrappers are the same computation.
        Matrix<Scalar> named;
        if (method == ScoreNorm::Z) named = z_norm(s, e, o);
        else if (method == ScoreNorm::T) named = t_norm(s, t, o);
        else named = s_norm(s, e, t, o);
        CHECK(named == out);
        if (method == ScoreNorm::S && k > 0) {
          ScoreNormOptions o2 = o;
          o2.top_k = 0;
          CHECK(as_norm(s, e, t, k, o2) == out);
        }
      }
}

}  // namespace

TEST_CASE("z-, t-, s-norm and AS-norm equal the naive per-trial computation (float and double, both orders)") {
  check_dense_against_naive<double, Eigen::RowMajor>();
  check_dense_against_naive<double, Eigen::ColMajor>();
  check_dense_against_naive<float, Eigen::RowMajor>();
  check_dense_against_naive<float, Eigen::ColMajor>();
}

TEST_CASE("the normalisation changes the scores as intended: normalised cohort scores have zero mean and unit deviation") {
  // z-norm of the enrolment-cohort matrix against itself: every row has mean 0 and (population) std 1.
  const Cohort d = make_cohort(5, 4, 30, 3);
  const MatD z = z_norm(d.e, d.e);
  for (Index i = 0; i < z.rows(); ++i) {
    const double m = z.row(i).mean();
    const double v = (z.row(i).array() - m).square().mean();
    CHECK(std::abs(m) < 1e-12);
    CHECK(std::abs(v - 1) < 1e-12);
  }
  // And t-norm of the cohort-test matrix against itself, with the unbiased convention.
  ScoreNormOptions o;
  o.std_convention = StdConvention::Unbiased;
  const MatD tn = t_norm(d.t, d.t, o);
  for (Index j = 0; j < tn.cols(); ++j) {
    const double m = tn.col(j).mean();
    CHECK(std::abs(m) < 1e-12);
    CHECK(std::abs((tn.col(j).array() - m).square().sum() / double(tn.rows() - 1) - 1) < 1e-12);
  }
}

TEST_CASE("AS-norm with K = cohort size equals s-norm; smaller K differs") {
  const Index c = 25;
  const Cohort d = make_cohort(6, 8, c, 5);
  const MatD s = s_norm(d.s, d.e, d.t);
  CHECK(as_norm(d.s, d.e, d.t, c) == s);
  CHECK((as_norm(d.s, d.e, d.t, 10) - s).cwiseAbs().maxCoeff() > 1e-3);
}

TEST_CASE("cohort statistics: top-K mean and deviation per row and per column, expressions accepted") {
  const Cohort d = make_cohort(4, 5, 20, 9);
  ScoreNormOptions o;
  o.top_k = 6;
  const CohortStats es = enrol_cohort_stats(d.e, o);
  const CohortStats ts = test_cohort_stats(d.t, o);
  CHECK(es.num_scores == 6);
  REQUIRE(es.size() == 4);
  REQUIRE(ts.size() == 5);
  for (Index i = 0; i < 4; ++i) {
    const auto [m, sd] = naive_stats(std::vector<double>(d.e.row(i).begin(), d.e.row(i).end()), 6, false);
    CHECK(es.mean(i) == doctest::Approx(m).epsilon(1e-14));
    CHECK(es.std(i) == doctest::Approx(sd).epsilon(1e-14));
  }
  for (Index j = 0; j < 5; ++j) {
    const auto [m, sd] = naive_stats(std::vector<double>(d.t.col(j).begin(), d.t.col(j).end()), 6, false);
    CHECK(ts.mean(j) == doctest::Approx(m).epsilon(1e-14));
    CHECK(ts.std(j) == doctest::Approx(sd).epsilon(1e-14));
  }
  // The cohort-test matrix given as the transpose of a test-cohort matrix (an expression), and a
  // product expression (cosine-like scores of embeddings), give the same statistics as their values.
  const MatD tt = d.t.transpose();
  const CohortStats ts2 = test_cohort_stats(tt.transpose(), o);
  CHECK(ts2.mean == ts.mean);
  CHECK(ts2.std == ts.std);
  Random rng(2);
  MatD a(4, 3), b(20, 3);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.normal();
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = rng.normal();
  const MatD ab = a * b.transpose();
  const CohortStats pe = enrol_cohort_stats(a * b.transpose(), o);
  const CohortStats pv = enrol_cohort_stats(ab, o);
  CHECK(pe.mean == pv.mean);
  CHECK(pe.std == pv.std);
  // Ties at the K-th largest value: top 2 of {3, 5, 3, 1, 3} is {5, 3}, top 3 is {5, 3, 3}.
  MatD tied(1, 5);
  tied << 3, 5, 3, 1, 3;
  for (const Index k : {Index(2), Index(3), Index(4)}) {
    ScoreNormOptions ok;
    ok.top_k = k;
    const CohortStats st = enrol_cohort_stats(tied, ok);
    const auto [m, sd] = naive_stats({3, 5, 3, 1, 3}, k, false);
    CHECK(st.mean(0) == doctest::Approx(m).epsilon(1e-15));
    CHECK(st.std(0) == doctest::Approx(sd).epsilon(1e-15));
  }
  // Precomputed statistics give the same normalisation as the one-call form.
  CHECK(normalise_scores(d.s, ScoreNorm::S, es, ts) == as_norm(d.s, d.e, d.t, 6));
  CHECK(normalise_scores(d.s, ScoreNorm::Z, es, CohortStats{}) == z_norm(d.s, d.e, o));
}

TEST_CASE("sparse trial lists agree with the dense matrix, with statistics only for the rows used") {
  const Index ne = 9, nt = 11, c = 30;
  const Cohort d = make_cohort(ne, nt, c, 21);
  Random rng(4);
  TrialIndices idx;
  for (int i = 0; i < 40; ++i) {  // repeats allowed; enrolment 0 and test 0 never used
    idx.enrol.push_back(1 + static_cast<Index>(rng.uniform() * (ne - 1)));
    idx.test.push_back(1 + static_cast<Index>(rng.uniform() * (nt - 1)));
  }
  MatD e = d.e;
  e.row(0).setConstant(1.0);  // a row with zero deviation, never used: no error
  MatD t = d.t;
  t.col(0).setConstant(std::numeric_limits<double>::quiet_NaN());  // never read
  for (const ScoreNorm method : {ScoreNorm::Z, ScoreNorm::T, ScoreNorm::S})
    for (const Index k : {Index(0), Index(7)}) {
      CAPTURE(score_norm_name(method));
      ScoreNormOptions o;
      o.top_k = k;
      MatD e_ok = d.e, t_ok = d.t;
      const MatD dense = normalise_scores(d.s, method, e_ok, t_ok, o);
      Eigen::VectorXd v(40);
      for (Index i = 0; i < 40; ++i) v(i) = d.s(idx.enrol[i], idx.test[i]);
      const Eigen::VectorXd sparse = normalise_trial_scores(v, idx, method, e, t, o);
      const Eigen::VectorXf sparse_f = normalise_trial_scores(v.cast<float>().eval(), idx, method, e, t, o);
      const Eigen::VectorXd from_stats =
          normalise_trial_scores(v, idx, method, enrol_cohort_stats(e_ok, o), test_cohort_stats(t_ok, o));
      for (Index i = 0; i < 40; ++i) {
        CHECK(sparse(i) == dense(idx.enrol[i], idx.test[i]));
        CHECK(from_stats(i) == dense(idx.enrol[i], idx.test[i]));
        CHECK(std::abs(sparse_f(i) - sparse(i)) < 1e-5 * (1 + std::abs(sparse(i))));
      }
    }
}

TEST_CASE("statistics for the entries a trial list names only: the same bits, NaN elsewhere, and a clear error if a trial needs one") {
  const Index ne = 9, nt = 11, c = 30;
  const Cohort d = make_cohort(ne, nt, c, 23);
  const TrialIndices idx{{2, 5, 2, 7}, {1, 1, 9, 4}};
  Eigen::VectorXd v(4);
  for (Index i = 0; i < 4; ++i) v(i) = d.s(idx.enrol[i], idx.test[i]);
  for (const Index k : {Index(0), Index(6)}) {
    ScoreNormOptions o;
    o.top_k = k;
    const CohortStats full_e = enrol_cohort_stats(d.e, o), full_t = test_cohort_stats(d.t, o);
    const CohortStats part_e = enrol_cohort_stats(d.e, o, idx.enrol), part_t = test_cohort_stats(d.t, o, idx.test);
    for (Index i = 0; i < ne; ++i) {
      const bool used = i == 2 || i == 5 || i == 7;
      CHECK(std::isnan(part_e.mean(i)) == !used);
      if (used) CHECK((part_e.mean(i) == full_e.mean(i) && part_e.std(i) == full_e.std(i)));
    }
    for (Index j = 0; j < nt; ++j) {
      const bool used = j == 1 || j == 9 || j == 4;
      CHECK(std::isnan(part_t.std(j)) == !used);
      if (used) CHECK((part_t.mean(j) == full_t.mean(j) && part_t.std(j) == full_t.std(j)));
    }
    for (const ScoreNorm method : {ScoreNorm::Z, ScoreNorm::T, ScoreNorm::S})
      CHECK(normalise_trial_scores(v, idx, method, part_e, part_t) == normalise_trial_scores(v, idx, method, full_e, full_t));
  }
  const CohortStats part_e = enrol_cohort_stats(d.e, ScoreNormOptions{}, {2, 5});
  CHECK_THROWS_WITH_AS(normalise_trial_scores(v, idx, ScoreNorm::Z, part_e, CohortStats{}),
                       "normalise_trial_scores: trial 3 uses enrolment 7 whose statistics were not computed (NaN; compute them for every entry a "
                       "trial uses)",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(enrol_cohort_stats(d.e, ScoreNormOptions{}, {2, 9}),
                       "enrol_cohort_stats: index 9 is outside the 9 rows of the enrolment-cohort matrix", DimensionMismatch);
}

TEST_CASE("results do not depend on the thread count") {
  const Cohort d = make_cohort(150, 140, 50, 8);  // several blocks of rows and columns
  ScoreNormOptions o;
  o.top_k = 12;
  o.num_threads = 1;
  const MatD one = as_norm(d.s, d.e, d.t, 12, o);
  o.num_threads = 4;
  const MatD four = as_norm(d.s, d.e, d.t, 12, o);
  CHECK(one == four);
}

TEST_CASE("degenerate cohorts: zero deviation, too small, NaN; std_floor") {
  const Cohort d = make_cohort(3, 4, 6, 1);
  MatD e = d.e;
  e.row(1).setConstant(0.25);
  CHECK_THROWS_WITH_AS(z_norm(d.s, e), "z_norm: the cohort scores of enrolment 1 have zero standard deviation (all equal to 0.25); "
                                       "set ScoreNormOptions::std_floor to allow it",
                       NumericalError);
  MatD t = d.t;
  t.col(2).head(3).setConstant(2.0);  // the top 3 of column 2 tie if the rest is lower
  t.col(2).tail(3).setConstant(-1.0);
  ScoreNormOptions o3;
  o3.top_k = 3;
  CHECK_THROWS_WITH_AS(t_norm(d.s, t, o3), "t_norm: the top 3 cohort scores of test segment 2 have zero standard deviation (all equal to 2); "
                                           "set ScoreNormOptions::std_floor to allow it",
                       NumericalError);
  // With a floor the constant row is normalised by the floor.
  ScoreNormOptions of;
  of.std_floor = 0.5;
  const MatD z = z_norm(d.s, e, of);
  for (Index j = 0; j < 4; ++j) CHECK(z(1, j) == doctest::Approx((d.s(1, j) - 0.25) / 0.5).epsilon(1e-14));
  // The floor only raises deviations below it.
  of.std_floor = 1e-9;
  CHECK(z_norm(d.s, d.e, of) == z_norm(d.s, d.e));

  ScoreNormOptions o;
  o.top_k = 7;
  CHECK_THROWS_WITH_AS(as_norm(d.s, d.e, d.t, 7), "as_norm: top_k = 7 exceeds the cohort size 6 (enrolment-cohort matrix 3 x 6)",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(t_norm(d.s, d.t, o), "t_norm: top_k = 7 exceeds the cohort size 6 (cohort-test matrix 6 x 4)", InvalidArgument);
  CHECK_THROWS_WITH_AS(as_norm(d.s, d.e, d.t, 1), "as_norm: top_k = 1 is too small; the statistics need at least 2 cohort scores",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(as_norm(d.s, d.e, d.t, 0), "as_norm: top_k must be >= 1, got 0", InvalidArgument);
  o.top_k = -1;
  CHECK_THROWS_WITH_AS(s_norm(d.s, d.e, d.t, o), "s_norm: top_k must be >= 0 (0 = the whole cohort), got -1", InvalidArgument);
  o.top_k = 0;
  o.std_floor = -1;
  CHECK_THROWS_WITH_AS(s_norm(d.s, d.e, d.t, o), "s_norm: std_floor must be finite and >= 0, got -1", InvalidArgument);
  CHECK_THROWS_WITH_AS(z_norm(d.s, MatD(d.e.leftCols(1))),
                       "z_norm: the cohort has 1 segment (enrolment-cohort matrix 3 x 1); the statistics need at least 2", InvalidArgument);

  const double nan = std::numeric_limits<double>::quiet_NaN();
  MatD en = d.e;
  en(2, 4) = nan;
  CHECK_THROWS_WITH_AS(s_norm(d.s, en, d.t), "s_norm: enrolment-cohort score (2, 4) is NaN or Inf", NonFiniteInput);
  MatD tn = d.t;
  tn(5, 3) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(t_norm(d.s, tn), "t_norm: cohort-test score (5, 3) is NaN or Inf", NonFiniteInput);
  MatD sn = d.s;
  sn(1, 2) = nan;
  CHECK_THROWS_WITH_AS(z_norm(sn, d.e), "z_norm: score (1, 2) is NaN or Inf", NonFiniteInput);
}

TEST_CASE("mismatched shapes and bad trial lists: exact errors") {
  const Cohort d = make_cohort(3, 4, 6, 2);
  CHECK_THROWS_WITH_AS(z_norm(d.s, MatD(d.e.topRows(2))),
                       "z_norm: the score matrix is 3 x 4 but the enrolment-cohort matrix is 2 x 6 (one row per enrolment expected)",
                       DimensionMismatch);
  // A test-cohort matrix passed where the cohort-test matrix is expected.
  CHECK_THROWS_WITH_AS(t_norm(d.s, MatD(d.t.transpose())),
                       "t_norm: the score matrix is 3 x 4 but the cohort-test matrix is 4 x 6 (one column per test segment expected)",
                       DimensionMismatch);
  const CohortStats es = enrol_cohort_stats(d.e), ts = test_cohort_stats(d.t);
  CHECK_THROWS_WITH_AS(normalise_scores(d.s, ScoreNorm::S, es, CohortStats{}),
                       "normalise_scores: the score matrix is 3 x 4 but the test statistics cover 0 test segments", DimensionMismatch);
  CHECK_THROWS_WITH_AS(normalise_scores(MatD(d.s.transpose()), ScoreNorm::Z, es, ts),
                       "normalise_scores: the score matrix is 4 x 3 but the enrolment statistics cover 3 enrolments", DimensionMismatch);
  CohortStats bad = es;
  bad.std(1) = 0;
  CHECK_THROWS_WITH_AS(normalise_scores(d.s, ScoreNorm::Z, bad, ts),
                       "normalise_scores: the enrolment statistics hold standard deviation 0 at 1 (positive and finite expected)",
                       InvalidArgument);

  TrialIndices idx{{0, 2, 1}, {3, 0, 1}};
  const Eigen::VectorXd v = Eigen::VectorXd::Ones(3);
  CHECK_THROWS_WITH_AS(normalise_trial_scores(Eigen::VectorXd(Eigen::VectorXd::Ones(2)), idx, ScoreNorm::S, d.e, d.t),
                       "normalise_trial_scores: 2 trial scores but 3 trials in the index lists", DimensionMismatch);
  TrialIndices uneven{{0, 1}, {0}};
  CHECK_THROWS_WITH_AS(normalise_trial_scores(Eigen::VectorXd(Eigen::VectorXd::Ones(2)), uneven, ScoreNorm::S, d.e, d.t),
                       "normalise_trial_scores: 2 enrolment indices but 1 test indices", DimensionMismatch);
  TrialIndices out_e{{0, 3, 1}, {0, 0, 0}};
  CHECK_THROWS_WITH_AS(normalise_trial_scores(v, out_e, ScoreNorm::Z, d.e, MatD()),
                       "normalise_trial_scores: trial 1 has enrolment index 3, outside the 3 rows of the enrolment-cohort matrix",
                       DimensionMismatch);
  TrialIndices out_t{{0, 0, 0}, {0, 0, 4}};
  CHECK_THROWS_WITH_AS(normalise_trial_scores(v, out_t, ScoreNorm::S, es, ts),
                       "normalise_trial_scores: trial 2 has test index 4, outside the 4 test segments of the statistics", DimensionMismatch);
  Eigen::VectorXd vn = v;
  vn(2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(normalise_trial_scores(vn, idx, ScoreNorm::T, MatD(), d.t),
                       "normalise_trial_scores: the score of trial 2 is NaN or Inf", NonFiniteInput);
  CHECK_THROWS_WITH_AS(normalise_trial_scores(MatD(MatD::Ones(3, 2)), idx, ScoreNorm::S, d.e, d.t),
                       "normalise_trial_scores: the trial scores must be a vector, got a 3 x 2 matrix", DimensionMismatch);
}
