// Two-covariance PLDA: training recovers the covariances that generated the data, its objective is the
// exact log-likelihood and never decreases, and batched scoring equals the direct Gaussian formula.
#include <doctest/doctest.h>

#include <filesystem>

#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/backend/plda_train.hpp"
#include "support/reference.hpp"

using ivkit::Index;
using ivkit_test::MatD;
using VecD = Eigen::VectorXd;

namespace {

MatD random_spd(Index d, ivkit::Random& rng, double scale) {
  MatD a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = rng.normal();
  return scale * (a * a.transpose() / static_cast<double>(d) + 0.3 * MatD::Identity(d, d));
}

/// Joint log-density of the n vectors (columns of xs) of one speaker: mean mu each, covariance
/// W + B on the diagonal blocks and B off the diagonal.
double naive_same_speaker_loglike(const MatD& xs, const VecD& mu, const MatD& b, const MatD& w) {
  const Index d = xs.rows(), n = xs.cols();
  MatD cov(n * d, n * d);
  VecD x(n * d), m(n * d);
  for (Index i = 0; i < n; ++i) {
    x.segment(i * d, d) = xs.col(i);
    m.segment(i * d, d) = mu;
    for (Index j = 0; j < n; ++j) cov.block(i * d, j * d, d, d) = i == j ? MatD(w + b) : b;
  }
  return ivkit_test::naive_log_gauss(x, m, cov);
}

struct TwoCovData {
  VecD mu;
  MatD b, w;
  MatD x;  // one embedding per row
  std::vector<Index> labels;
};

TwoCovData draw_two_cov(Index d, Index speakers, Index max_per_speaker, ivkit::Random& rng) {
  TwoCovData t;
  t.mu = VecD(d);
  for (Index i = 0; i < d; ++i) t.mu(i) = 2.0 * rng.normal();
  t.b = random_spd(d, rng, 4.0);
  t.w = random_spd(d, rng, 1.0);
  const MatD lb = ivkit_test::naive_cholesky_factor(t.b), lw = ivkit_test::naive_cholesky_factor(t.w);
  std::vector<VecD> rows;
  for (Index s = 0; s < speakers; ++s) {
    VecD z(d);
    for (Index i = 0; i < d; ++i) z(i) = rng.normal();
    const VecD y = t.mu + lb * z;
    const Index n = 1 + static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(max_per_speaker)));
    for (Index k = 0; k < n; ++k) {
      for (Index i = 0; i < d; ++i) z(i) = rng.normal();
      rows.push_back(y + lw * z);
      t.labels.push_back(1000 + s);
    }
  }
  t.x.resize(static_cast<Index>(rows.size()), d);
  for (std::size_t r = 0; r < rows.size(); ++r) t.x.row(static_cast<Index>(r)) = rows[r].transpose();
  return t;
}

double rel_frobenius(const MatD& a, const MatD& b) { return (a - b).norm() / b.norm(); }

}  // namespace

TEST_CASE("train_plda recovers the covariances that generated the data; EM never decreases its objective") {
  ivkit::Random rng(7);
  const TwoCovData t = draw_two_cov(5, 3000, 6, rng);
  ivkit::PldaTrainingReport report;
  ivkit::PldaTrainingOptions opt;
  opt.num_em_iters = 40;
  const auto plda = ivkit::train_plda<double>(t.x, t.labels, opt, &report);
  CHECK(report.num_classes == 3000);
  REQUIRE(report.objective.size() == 40);
  for (std::size_t i = 1; i < report.objective.size(); ++i) CHECK(report.objective[i] >= report.objective[i - 1] - 1e-12);
  CHECK(rel_frobenius(plda.within_covariance(), t.w) < 0.03);
  CHECK(rel_frobenius(plda.between_covariance(), t.b) < 0.08);
  CHECK((plda.mean() - t.mu).norm() / t.mu.norm() < 0.05);

  // The transform makes W the identity and B diagonal with decreasing psi.
  const MatD a = plda.transform();
  CHECK(ivkit_test::max_abs_diff(MatD(a * plda.within_covariance() * a.transpose()), MatD::Identity(5, 5)) < 1e-9);
  for (Index i = 1; i < 5; ++i) CHECK(plda.psi()(i) <= plda.psi()(i - 1));

  // float output agrees
  const auto plda_f = ivkit::train_plda<float>(t.x.cast<float>(), t.labels, opt);
  CHECK(rel_frobenius(plda_f.between_covariance(), plda.between_covariance()) < 1e-4);
}

TEST_CASE("the PLDA objective is the exact log-likelihood of the data under the model") {
  // Kaldi's objective leaves out the -d/2 log n Jacobian of each class's mean/contrast split.
  ivkit::Random rng(11);
  const TwoCovData t = draw_two_cov(3, 40, 4, rng);
  ivkit::PldaTrainingReport report;
  ivkit::PldaTrainingOptions opt;
  opt.num_em_iters = 3;
  const auto plda = ivkit::train_plda<double>(t.x, t.labels, opt, &report);
  const ivkit::ClassIndex c = ivkit::index_classes("t", t.labels, t.x.rows());
  const MatD w = plda.within_covariance(), b = plda.between_covariance();
  double naive = 0, jacobian = 0;
  for (Index k = 0; k < c.num_classes(); ++k) {
    const auto& rows = c.rows_of[static_cast<std::size_t>(k)];
    MatD xs(3, static_cast<Index>(rows.size()));
    for (std::size_t j = 0; j < rows.size(); ++j) xs.col(static_cast<Index>(j)) = t.x.row(rows[j]).transpose();
    naive += naive_same_speaker_loglike(xs, plda.mean(), b, w);
    jacobian += 1.5 * std::log(static_cast<double>(rows.size()));
  }
  CHECK(report.objective.back() * static_cast<double>(t.x.rows()) == doctest::Approx(naive + jacobian).epsilon(1e-9));
}

TEST_CASE("batched PLDA scores equal the direct Gaussian likelihood ratio, count-aware enrolment included") {
  ivkit::Random rng(3);
  const Index d = 4;
  VecD mu(d);
  for (Index i = 0; i < d; ++i) mu(i) = rng.normal();
  const MatD b = random_spd(d, rng, 3.0), w = random_spd(d, rng, 1.0);
  const auto plda = ivkit::Plda<double>::from_covariances(mu, b, w);
  // Enrolments of 1, 2, 5 and 2 embeddings; three tests.
  const std::vector<Index> counts{1, 2, 5, 2};
  std::vector<MatD> enrol_sets;
  MatD means(4, d);
  for (std::size_t k = 0; k < counts.size(); ++k) {
    MatD xs(d, counts[k]);
    for (Index j = 0; j < counts[k]; ++j)
      for (Index i = 0; i < d; ++i) xs(i, j) = mu(i) + 2.0 * rng.normal();
    enrol_sets.push_back(xs);
    means.row(static_cast<Index>(k)) = xs.rowwise().mean().transpose();
  }
  MatD tests(3, d);
  for (Index j = 0; j < 3; ++j)
    for (Index i = 0; i < d; ++i) tests(j, i) = mu(i) + 2.0 * rng.normal();

  ivkit::PldaOptions raw;
  raw.normalise_length = false;
  const ivkit::PldaScorer<double> scorer(plda, raw);
  const auto e = scorer.enrol(means, counts);
  const auto te = scorer.test(tests);
  const auto scores = scorer.score_matrix(e, te);
  for (std::size_t k = 0; k < counts.size(); ++k) {
    for (Index j = 0; j < 3; ++j) {
      MatD joint(d, counts[k] + 1);
      joint << enrol_sets[k], tests.row(j).transpose();
      const double naive = naive_same_speaker_loglike(joint, mu, b, w) - naive_same_speaker_loglike(enrol_sets[k], mu, b, w) -
                           ivkit_test::naive_log_gauss(tests.row(j).transpose(), mu, b + w);
      CAPTURE(k);
      CAPTURE(j);
      CHECK(scores(static_cast<Index>(k), j) == doctest::Approx(naive).epsilon(1e-9));
    }
  }
}

TEST_CASE("PLDA scoring: trials equal the matrix, any thread count, float close to double, Kaldi's length norm") {
  ivkit::Random rng(5);
  const TwoCovData t = draw_two_cov(6, 1200, 4, rng);
  REQUIRE(t.x.rows() >= 2800);
  const auto plda = ivkit::train_plda<double>(t.x, t.labels);
  const MatD enrol = t.x.topRows(300), test = t.x.bottomRows(2500);  // 300 enrolments (different tiles), > 1024 tests
  std::vector<Index> counts(300);
  for (Index k = 0; k < 300; ++k) counts[static_cast<std::size_t>(k)] = 1 + k % 3;
  const ivkit::PldaScorer<double> scorer(plda);
  const auto e = scorer.enrol(enrol, counts);
  const auto te = scorer.test(test);

  // Kaldi's normalisation: u^T (psi + 1/n)^-1 u = dim.
  const MatD u = ivkit::plda_transform(plda, enrol, counts);
  for (Index k = 0; k < 5; ++k) {
    double q = 0;
    for (Index i = 0; i < 6; ++i) q += u(k, i) * u(k, i) / (plda.psi()(i) + 1.0 / counts[static_cast<std::size_t>(k)]);
    CHECK(q == doctest::Approx(6.0).epsilon(1e-12));
  }

  const auto m1 = scorer.score_matrix(e, te, ivkit::ThreadOptions{1});
  const auto m2 = scorer.score_matrix(e, te, ivkit::ThreadOptions{2});
  CHECK((m1.array() == m2.array()).all());
  ivkit::Matrix<double> into(3, 7);  // wrong size: resized
  scorer.score_matrix_into(e, te, into, ivkit::ThreadOptions{2});
  CHECK((into.array() == m1.array()).all());
  const double* storage = into.data();
  scorer.score_matrix_into(e, te, into);  // right size: the same storage, reused
  CHECK(into.data() == storage);
  CHECK((into.array() == m1.array()).all());
  ivkit::TrialIndices trials;
  for (Index i = 0; i < 5000; ++i) {
    trials.enrol.push_back(static_cast<Index>(rng.uniform_index(300)));
    trials.test.push_back(static_cast<Index>(rng.uniform_index(2500)));
  }
  const auto s1 = scorer.score_trials(e, te, trials, ivkit::ThreadOptions{1});
  const auto s2 = scorer.score_trials(e, te, trials, ivkit::ThreadOptions{2});
  CHECK((s1.array() == s2.array()).all());
  double worst = 0;
  for (Index i = 0; i < 5000; ++i) {
    const Index k = trials.enrol[static_cast<std::size_t>(i)], j = trials.test[static_cast<std::size_t>(i)];
    worst = std::max(worst, std::abs(s1(i) - m1(k, j)));
    if (i < 50)
      CHECK(s1(i) == doctest::Approx(ivkit::plda_llr(plda, u.row(k), counts[static_cast<std::size_t>(k)], te.vectors.row(j))).epsilon(1e-10));
  }
  CHECK(worst < 1e-10);
  ivkit::Vector<double> trial_scores;
  scorer.score_trials_into(e, te, trials, trial_scores, ivkit::ThreadOptions{2});
  CHECK((trial_scores.array() == s1.array()).all());

  const ivkit::PldaScorer<float> scorer_f(plda.cast<float>());
  const auto mf = scorer_f.score_matrix(scorer_f.enrol(enrol.cast<float>(), counts), scorer_f.test(test.cast<float>()));
  CHECK(ivkit_test::scaled_diff(mf.cast<double>(), m1) < 1e-4);

  ivkit::TrialIndices bad{{0}, {2500}};
  CHECK_THROWS_WITH_AS(scorer.score_trials(e, te, bad),
                       "PldaScorer::score_trials: trial 0 pairs enrolment 0 with test 2500 but there are 300 enrolments and 2500 tests",
                       ivkit::DimensionMismatch);
}

TEST_CASE("smoothing and transforms of a PLDA model act on the covariances as Kaldi defines them") {
  ivkit::Random rng(9);
  const Index d = 4;
  VecD mu(d);
  for (Index i = 0; i < d; ++i) mu(i) = rng.normal();
  const MatD b = random_spd(d, rng, 3.0), w = random_spd(d, rng, 1.0);
  auto plda = ivkit::Plda<double>::from_covariances(mu, b, w);
  CHECK(ivkit_test::max_abs_diff(plda.within_covariance(), w) < 1e-10);
  CHECK(ivkit_test::max_abs_diff(plda.between_covariance(), b) < 1e-10);

  // Any invertible affine map of the data leaves (un-normalised) log-likelihood ratios unchanged.
  MatD m(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) m(i, j) = rng.normal() + (i == j ? 3.0 : 0.0);
  const auto mapped = plda.apply_transform(m);
  MatD x(6, d);
  for (Index i = 0; i < 6; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = mu(j) + rng.normal();
  ivkit::PldaOptions raw;
  raw.normalise_length = false;
  const ivkit::PldaScorer<double> s0(plda, raw), s1(mapped, raw);
  const MatD xm = x * m.transpose();
  const MatD a0 = s0.score_matrix(s0.enrol(x.topRows(3), {1, 2, 3}), s0.test(x.bottomRows(3)));
  const MatD a1 = s1.score_matrix(s1.enrol(xm.topRows(3), {1, 2, 3}), s1.test(xm.bottomRows(3)));
  CHECK(ivkit_test::max_abs_diff(a0, a1) < 1e-9);
  const auto reduced = plda.apply_transform(m.topRows(2));
  CHECK(reduced.dim() == 2);
  CHECK(ivkit_test::max_abs_diff(reduced.within_covariance(), MatD(m.topRows(2) * w * m.topRows(2).transpose())) < 1e-9);

  plda.smooth_within_class_covariance(0.25);
  CHECK(ivkit_test::max_abs_diff(plda.within_covariance(), MatD(w + 0.25 * b)) < 1e-10);
  CHECK(ivkit_test::max_abs_diff(plda.between_covariance(), b) < 1e-10);
  CHECK_THROWS_WITH_AS(plda.smooth_within_class_covariance(1.5), "Plda::smooth_within_class_covariance: factor 1.5 is outside [0, 1]",
                       ivkit::InvalidArgument);
}

TEST_CASE("PLDA models save and load exactly, in either scalar type; corrupt files are format errors") {
  namespace fs = std::filesystem;
  ivkit::Random rng(1);
  const TwoCovData t = draw_two_cov(3, 50, 3, rng);
  const auto plda = ivkit::train_plda<double>(t.x, t.labels);
  const fs::path dir = fs::temp_directory_path() / "ivkit_test_plda";
  fs::create_directories(dir);
  const std::string path = (dir / "plda.ivk").string();
  plda.save(path);
  const auto back = ivkit::Plda<double>::load(path);
  CHECK((back.transform().array() == plda.transform().array()).all());
  CHECK((back.psi().array() == plda.psi().array()).all());
  CHECK((back.mean().array() == plda.mean().array()).all());
  const auto back_f = ivkit::Plda<float>::load(path);
  CHECK(back_f.psi()(0) == static_cast<float>(plda.psi()(0)));
  std::string bytes = plda.to_bytes();
  CHECK_THROWS_AS(ivkit::Plda<double>::from_bytes(bytes.substr(0, bytes.size() - 3)), ivkit::FormatError);
  // A psi made negative by corruption is refused with the reason.
  const auto pos = bytes.rfind("psi");
  REQUIRE(pos != std::string::npos);
  double neg = -1.0;
  std::memcpy(&bytes[pos + 3 + 1 + 1 + 16], &neg, 8);
  CHECK_THROWS_WITH_AS(ivkit::Plda<double>::from_bytes(bytes, "x.ivk"),
                       "ModelReader: 'x.ivk' holds an invalid PLDA model: Plda: psi(0) = -1 is negative", ivkit::FormatError);
  fs::remove_all(dir);
}

TEST_CASE("train_plda refuses data it cannot estimate from, with the reason") {
  MatD x(3, 3);
  x.setRandom();
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(x, {1, 1, 2}), "train_plda: 3 embeddings of dimension 3; PLDA needs more embeddings than dimensions",
                       ivkit::InvalidArgument);
  MatD y(6, 2);
  y.setRandom();
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(y, {1, 2, 3, 4, 5, 6}),
                       "train_plda: every one of the 6 speakers has a single embedding; PLDA needs speakers with two or more",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(y, {1, 2}), "train_plda: 2 labels for 6 embeddings", ivkit::DimensionMismatch);
  y(4, 1) = std::nan("");
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(y, {1, 1, 2, 2, 3, 3}), "train_plda: embedding 4 holds NaN or Inf", ivkit::NonFiniteInput);
  // Identical embeddings within every speaker: the within-class scatter is singular.
  MatD z(6, 2);
  z << 1, 2, 1, 2, 3, 1, 3, 1, 0, 5, 0, 5;
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(z, {1, 1, 2, 2, 3, 3}),
                       "train_plda: the within-class scatter of 6 embeddings in 3 speakers has rank 0 < dimension 2; reduce the dimension "
                       "first (LDA or PCA) or add speakers with several embeddings",
                       ivkit::NumericalError);
  z(1, 0) = 1.5;  // scatter along one direction only: rank 1
  CHECK_THROWS_WITH_AS(ivkit::train_plda<double>(z, {1, 1, 2, 2, 3, 3}), doctest::Contains("has rank 1 < dimension 2"), ivkit::NumericalError);

  const auto plda = ivkit::Plda<double>::from_covariances(VecD::Zero(2), MatD::Identity(2, 2), MatD::Identity(2, 2));
  const ivkit::PldaScorer<double> scorer(plda);
  CHECK_THROWS_WITH_AS(scorer.test(MatD::Zero(1, 2)), "plda_transform: embedding 0 is the PLDA mean; it cannot be length-normalised",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(scorer.test(MatD::Ones(1, 3)), "plda_transform: embeddings have dimension 3 but the PLDA model has dimension 2",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(scorer.enrol(MatD::Ones(2, 2), {1, 0}), "plda_transform: count 0 of embedding 1 is below 1", ivkit::InvalidArgument);
  // Empty sets: errors, not empty results (an empty trial list over non-empty sets is an empty result).
  const auto e2 = scorer.enrol(MatD::Ones(2, 2));
  const auto t2 = scorer.test(MatD::Ones(3, 2));
  const auto e0 = scorer.enrol(MatD(0, 2));
  const auto t0 = scorer.test(MatD(0, 2));
  CHECK_THROWS_WITH_AS(scorer.score_matrix(e0, t2), "PldaScorer::score_matrix: no enrolments", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(scorer.score_matrix(e2, t0), "PldaScorer::score_matrix: no tests", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(scorer.score_trials(e0, t2, ivkit::TrialIndices{}), "PldaScorer::score_trials: no enrolments", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(scorer.score_trials(e2, t0, ivkit::TrialIndices{}), "PldaScorer::score_trials: no tests", ivkit::InvalidArgument);
  CHECK(scorer.score_trials(e2, t2, ivkit::TrialIndices{}).size() == 0);
  CHECK(scorer.score_matrix(e2, t2).rows() == 2);
  CHECK_THROWS_WITH_AS(ivkit::Plda<double>::from_covariances(VecD::Zero(2), MatD::Identity(2, 2), MatD::Zero(2, 2)),
                       "Plda::from_covariances: the within-class covariance (2 x 2) is not positive definite", ivkit::NumericalError);
}
