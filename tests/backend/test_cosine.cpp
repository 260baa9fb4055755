// Cosine scoring and multi-embedding enrolment against naive loops.
#include <doctest/doctest.h>

#include "ivkit/backend/cosine.hpp"
#include "ivkit/backend/enrolment.hpp"
#include "support/reference.hpp"

using ivkit::Index;
using ivkit_test::MatD;

namespace {
MatD random_matrix(Index r, Index c, ivkit::Random& rng) {
  MatD m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = rng.normal();
  return m;
}
}  // namespace

TEST_CASE_TEMPLATE("cosine scores equal the naive formula for the matrix and for trial lists", S, float, double) {
  ivkit::Random rng(2);
  const MatD e = random_matrix(300, 7, rng), t = random_matrix(1100, 7, rng);  // several tiles each way
  const auto m = ivkit::cosine_score_matrix<S>(e, t);
  const auto m2 = ivkit::cosine_score_matrix<S>(e.template cast<S>(), t.template cast<S>(), ivkit::ThreadOptions{2});
  CHECK((m.array() == m2.array()).all());
  ivkit::Matrix<S> into(2, 2);
  ivkit::cosine_score_matrix_into(e, t, into, ivkit::ThreadOptions{2});
  CHECK((into.array() == m.array()).all());
  const S* storage = into.data();
  ivkit::cosine_score_matrix_into(e, t, into);
  CHECK(into.data() == storage);
  CHECK((into.array() == m.array()).all());
  double worst = 0;
  for (Index i = 0; i < 300; i += 7)
    for (Index j = 0; j < 1100; j += 13) {
      double dot = 0, ne = 0, nt = 0;
      for (Index k = 0; k < 7; ++k) {
        dot += e(i, k) * t(j, k);
        ne += e(i, k) * e(i, k);
        nt += t(j, k) * t(j, k);
      }
      worst = std::max(worst, std::abs(dot / std::sqrt(ne * nt) - static_cast<double>(m(i, j))));
    }
  CHECK(worst < ivkit_test::tol<S>(1e-6, 1e-14));
  ivkit::TrialIndices trials{{0, 299, 5, 5}, {1099, 0, 3, 3}};
  const auto s = ivkit::cosine_score_trials<S>(e, t, trials, ivkit::ThreadOptions{2});
  // One dot product per trial against the GEMM tile of the matrix: the summation order may differ
  // (e.g. FMA kernels under -march=native), so equal to rounding, not bit for bit.
  for (Index i = 0; i < 4; ++i)
    CHECK(std::abs(static_cast<double>(s(i)) - static_cast<double>(m(trials.enrol[static_cast<std::size_t>(i)], trials.test[static_cast<std::size_t>(i)]))) <
          ivkit_test::tol<S>(1e-6, 1e-14));
}

TEST_CASE("cosine scoring refuses zero vectors, NaN and mismatched dimensions") {
  MatD e = MatD::Ones(2, 3), t = MatD::Ones(3, 3);
  t.row(1).setZero();
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_matrix<float>(e, t), "cosine_score_matrix: test embedding 1 is the zero vector; it has no cosine score",
                       ivkit::InvalidArgument);
  e(1, 2) = std::nan("");
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_matrix<float>(e, t), "cosine_score_matrix: enrolment embedding 1 holds NaN or Inf", ivkit::NonFiniteInput);
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_matrix<float>(MatD::Ones(2, 4), t),
                       "cosine_score_matrix: enrolment embeddings have dimension 4 but test embeddings 3", ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_trials<double>(MatD::Ones(2, 3), MatD::Ones(2, 3), ivkit::TrialIndices{{2}, {0}}),
                       "cosine_score_trials: trial 0 pairs enrolment 2 with test 0 but there are 2 enrolments and 2 tests",
                       ivkit::DimensionMismatch);
  // Empty sets: errors, not empty results (an empty trial list over non-empty sets is an empty result).
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_matrix<float>(MatD(0, 3), t), "cosine_score_matrix: no enrolment embeddings", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_matrix<float>(MatD::Ones(2, 3), MatD(0, 3)), "cosine_score_matrix: no test embeddings",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_trials<double>(MatD(0, 3), MatD::Ones(2, 3), ivkit::TrialIndices{}),
                       "cosine_score_trials: no enrolment embeddings", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::cosine_score_trials<double>(MatD::Ones(2, 3), MatD(0, 3), ivkit::TrialIndices{}),
                       "cosine_score_trials: no test embeddings", ivkit::InvalidArgument);
  CHECK(ivkit::cosine_score_trials<double>(MatD::Ones(2, 3), MatD::Ones(2, 3), ivkit::TrialIndices{}).size() == 0);
}

TEST_CASE("enrolment averaging follows the requested order of averaging and length normalisation") {
  MatD x(3, 2);
  x << 3, 4, 1, 0, 0, 2;
  const std::vector<std::vector<Index>> groups{{0, 1}, {2}};
  using A = ivkit::EnrolmentAveraging;
  const auto mean = ivkit::average_embeddings<double>(x, groups, A::Mean);
  CHECK(mean.means(0, 0) == doctest::Approx(2.0));
  CHECK(mean.means(0, 1) == doctest::Approx(2.0));
  CHECK(mean.counts == std::vector<Index>{2, 1});
  const auto norm_mean = ivkit::average_embeddings<double>(x, groups, A::NormThenMean);
  CHECK(norm_mean.means(0, 0) == doctest::Approx((0.6 + 1.0) / 2));
  CHECK(norm_mean.means(0, 1) == doctest::Approx(0.8 / 2));
  const auto mean_norm = ivkit::average_embeddings<double>(x, groups, A::MeanThenNorm);
  CHECK(mean_norm.means(0, 0) == doctest::Approx(std::sqrt(0.5)));
  CHECK(mean_norm.means(1, 1) == doctest::Approx(1.0));
  const auto nmn = ivkit::average_embeddings<float>(x, groups, A::NormMeanNorm);
  const double len = std::sqrt(0.8 * 0.8 + 0.4 * 0.4);
  CHECK(nmn.means(0, 0) == doctest::Approx(0.8 / len));
  const auto by_label = ivkit::average_by_label<double>(x, {5, 9, 5}, A::Mean);
  CHECK(by_label.means(0, 1) == doctest::Approx(3.0));
  CHECK(by_label.counts == std::vector<Index>{2, 1});
  CHECK_THROWS_WITH_AS(ivkit::average_embeddings<double>(x, {{}}, A::Mean), "average_embeddings: enrolment model 0 has no embeddings",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::average_embeddings<double>(x, {{0, 3}}, A::Mean), "average_embeddings: enrolment model 0 lists row 3 of 3 embeddings",
                       ivkit::InvalidArgument);
  MatD z(2, 2);
  z << 1, 1, -1, -1;
  CHECK_THROWS_WITH_AS(ivkit::average_embeddings<double>(z, {{0, 1}}, A::MeanThenNorm), "average_embeddings: the mean of enrolment model 0 is the zero vector",
                       ivkit::InvalidArgument);
}

TEST_CASE("long trial lists over sets larger than cache (bucketed scoring) give every trial its own score") {
  ivkit::Random rng(6);
  const MatD e = random_matrix(200, 64, rng), t = random_matrix(2000, 64, rng);  // 1.1 MB of vectors: bucketed path
  ivkit::TrialIndices trials;
  for (Index i = 0; i < 70000; ++i) {
    trials.enrol.push_back(static_cast<Index>(rng.uniform_index(200)));
    trials.test.push_back(static_cast<Index>(rng.uniform_index(2000)));
  }
  const auto s1 = ivkit::cosine_score_trials<double>(e, t, trials, ivkit::ThreadOptions{1});
  const auto s2 = ivkit::cosine_score_trials<double>(e, t, trials, ivkit::ThreadOptions{2});
  CHECK((s1.array() == s2.array()).all());
  const auto m = ivkit::cosine_score_matrix<double>(e, t);
  double worst = 0;
  for (Index i = 0; i < 70000; ++i) worst = std::max(worst, std::abs(s1(i) - m(trials.enrol[static_cast<std::size_t>(i)], trials.test[static_cast<std::size_t>(i)])));
  CHECK(worst < 1e-13);

  ivkit::Vector<double> into(3);  // wrong size: resized
  ivkit::cosine_score_trials_into<double>(e, t, trials, into, ivkit::ThreadOptions{2});
  CHECK((into.array() == s1.array()).all());
  const double* storage = into.data();
  ivkit::cosine_score_trials_into<double>(e, t, trials, into);  // right size: the same storage, reused
  CHECK(into.data() == storage);
  CHECK((into.array() == s1.array()).all());

  // Two bad trials in different chunks: the error names the first, whatever the thread count.
  trials.test[68000] = 2000;
  trials.enrol[69999] = -1;
  const std::string expected = "cosine_score_trials: trial 68000 pairs enrolment " + std::to_string(trials.enrol[68000]) +
                               " with test 2000 but there are 200 enrolments and 2000 tests";
  for (int threads : {1, 2})
    CHECK_THROWS_WITH_AS(ivkit::cosine_score_trials<double>(e, t, trials, ivkit::ThreadOptions{threads}), expected.c_str(), ivkit::DimensionMismatch);
}
