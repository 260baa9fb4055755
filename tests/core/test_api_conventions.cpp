// The API conventions of docs/conventions.md: threads asked for one way (ThreadOptions or an options
// field, default 1), the `_into` contract (out is resized), and the deprecated names kept for one
// release giving exactly what their replacements give. Delete the alias checks with the aliases.
#include <doctest/doctest.h>

#include "ivkit/backend/calibration.hpp"
#include "ivkit/backend/cosine.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/backend/score_norm.hpp"
#include "ivkit/backend/transform_pipeline.hpp"
#include "ivkit/backend/transforms.hpp"
#include "ivkit/diar/dense_scoring.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/scoring.hpp"
#include "support/reference.hpp"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

using ivkit::Index;
using ivkit_test::MatD;

namespace {

MatD random_matrix(Index rows, Index cols, ivkit::Random& rng) {
  MatD m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = rng.normal() + (j == 0 ? 2.0 : 0.0);
  return m;
}

}  // namespace

TEST_CASE("threads: one field, default 1, everywhere") {
  CHECK(ivkit::ThreadOptions{}.num_threads == 1);
  CHECK(ivkit::ScoringOptions{}.num_threads == 1);
  CHECK(ivkit::ScoreNormOptions{}.num_threads == 1);
  CHECK(ivkit::CalibrationOptions{}.num_threads == 1);
  CHECK(ivkit::DenseScoringOptions{}.num_threads == 1);
  CHECK(ivkit::AccumulateOptions{}.num_threads == 1);
}

TEST_CASE("the _into contract: out is resized to the result's shape") {
  ivkit::Random rng(3);
  const MatD e = random_matrix(5, 4, rng), t = random_matrix(7, 4, rng);
  ivkit::Matrix<double> out(1, 1);
  ivkit::cosine_score_matrix_into(e, t, out);
  CHECK(out.rows() == 5);
  CHECK(out.cols() == 7);
  const double* storage = out.data();
  ivkit::cosine_score_matrix_into(e, t, out, ivkit::ThreadOptions{2});
  CHECK(out.data() == storage);  // the right shape already: no allocation

  const auto gmm = ivkit_test::make_diag<double>(ivkit_test::random_diag_params(3, 4, rng));
  ivkit::Matrix<double> post(2, 9);
  gmm.posteriors_into(t, post);
  CHECK(post.rows() == 7);
  CHECK(post.cols() == 3);
  CHECK(post == gmm.posteriors(t));
}

TEST_CASE("deprecated thread arguments give the same scores as ThreadOptions") {
  ivkit::Random rng(4);
  const MatD e = random_matrix(6, 5, rng), t = random_matrix(9, 5, rng);
  const ivkit::TrialIndices trials{{0, 5, 3}, {8, 1, 1}};
  CHECK(ivkit::cosine_score_matrix<double>(e, t, 2) == ivkit::cosine_score_matrix<double>(e, t, ivkit::ThreadOptions{2}));
  CHECK(ivkit::cosine_score_trials<double>(e, t, trials, 2) == ivkit::cosine_score_trials<double>(e, t, trials));
  ivkit::Vector<double> v;
  ivkit::cosine_score_trials_into<double>(e, t, trials, v, 2);
  CHECK(v == ivkit::cosine_score_trials<double>(e, t, trials));

  const auto plda = ivkit::Plda<double>::from_covariances(Eigen::VectorXd::Zero(5), MatD::Identity(5, 5), 0.5 * MatD::Identity(5, 5));
  const ivkit::PldaScorer<double> scorer(plda);
  const auto pe = scorer.enrol(e);
  const auto pt = scorer.test(t);
  CHECK(scorer.score_matrix(pe, pt, 2) == scorer.score_matrix(pe, pt));
  CHECK(scorer.score_trials(pe, pt, trials, 2) == scorer.score_trials(pe, pt, trials));

  const ivkit::ScoreNormOptions o;
  const ivkit::CohortStats es = ivkit::enrol_cohort_stats(random_matrix(6, 4, rng), o);
  const ivkit::CohortStats ts = ivkit::test_cohort_stats(random_matrix(4, 9, rng), o);
  const MatD s = random_matrix(6, 9, rng);
  CHECK(ivkit::normalise_scores(s, ivkit::ScoreNorm::S, es, ts, 2) == ivkit::normalise_scores(s, ivkit::ScoreNorm::S, es, ts));
}

TEST_CASE("deprecated American spellings give what the British names give") {
  ivkit::Random rng(5);
  const MatD x = random_matrix(20, 3, rng);
  CHECK(ivkit::fit_center(x).offset() == ivkit::fit_centre(x).offset());
  CHECK(ivkit::length_normalize(x) == ivkit::normalise_length(x));
  CHECK(ivkit::TransformKind::Center == ivkit::TransformKind::Centre);
  ivkit::TransformPipeline<double> a, b;
  a.center();
  b.centre();
  a.fit(x);
  b.fit(x);
  CHECK(a.apply(x) == b.apply(x));

  const auto gmm = ivkit_test::make_diag<double>(ivkit_test::random_diag_params(3, 4, rng));
  CHECK(gmm.center() == gmm.centre());

  // PldaOptions::normalize_length = false still turns length normalisation off.
  const auto plda = ivkit::Plda<double>::from_covariances(Eigen::VectorXd::Zero(3), MatD::Identity(3, 3), 0.5 * MatD::Identity(3, 3));
  ivkit::PldaOptions old_name, new_name;
  old_name.normalize_length = false;
  new_name.normalise_length = false;
  const MatD raw = ivkit::plda_transform(plda, x, {}, new_name);
  CHECK(ivkit::plda_transform(plda, x, {}, old_name) == raw);
  CHECK(ivkit::plda_transform(plda, x) != raw);
}
