// Simplified PLDA: recovers the model that generated the data; EM's log-likelihood never decreases
// and equals the naive joint Gaussian log-density; conversion to two-covariance PLDA is exact.
#include <doctest/doctest.h>

#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/backend/simplified_plda.hpp"
#include "support/reference.hpp"

using ivkit::Index;
using ivkit_test::MatD;
using VecD = Eigen::VectorXd;

namespace {


struct Drawn {
  VecD mu;
  MatD f, sigma, x;
  std::vector<Index> labels;
};

Drawn draw(Index d, Index r, Index speakers, Index per, ivkit::Random& rng) {
  Drawn t;
  t.mu = VecD(d);
  t.f = MatD(d, r);
  MatD a(d, d);
  for (Index i = 0; i < d; ++i) {
    t.mu(i) = rng.normal();
    for (Index j = 0; j < r; ++j) t.f(i, j) = 1.5 * rng.normal();
    for (Index j = 0; j < d; ++j) a(i, j) = 0.5 * rng.normal();
  }
  t.sigma = a * a.transpose() + 0.5 * MatD::Identity(d, d);
  const MatD ls = ivkit_test::naive_cholesky_factor(t.sigma);
  t.x.resize(speakers * per, d);
  VecD y(r), e(d);
  for (Index s = 0; s < speakers; ++s) {
    for (Index j = 0; j < r; ++j) y(j) = rng.normal();
    for (Index k = 0; k < per - (s % 2); ++k) {  // alternate per and per-1 embeddings
      for (Index i = 0; i < d; ++i) e(i) = rng.normal();
      t.x.row(static_cast<Index>(t.labels.size())) = (t.mu + t.f * y + ls * e).transpose();
      t.labels.push_back(s);
    }
  }
  t.x.conservativeResize(static_cast<Index>(t.labels.size()), d);
  return t;
}

}  // namespace

TEST_CASE("train_simplified_plda recovers F F^T and Sigma; the log-likelihood never decreases") {
  ivkit::Random rng(21);
  const Drawn t = draw(6, 2, 2500, 4, rng);
  ivkit::SimplifiedPldaOptions opt;
  opt.rank = 2;
  opt.num_iters = 30;
  ivkit::SimplifiedPldaReport report;
  const auto model = ivkit::train_simplified_plda<double>(t.x, t.labels, opt, &report);
  REQUIRE(report.log_likelihood.size() == 31);
  for (std::size_t i = 1; i < report.log_likelihood.size(); ++i) CHECK(report.log_likelihood[i] >= report.log_likelihood[i - 1] - 1e-12);
  const MatD ffT = model.speaker_loading() * model.speaker_loading().transpose();
  const MatD true_ffT = t.f * t.f.transpose();
  CHECK((ffT - true_ffT).norm() / true_ffT.norm() < 0.06);
  CHECK((model.residual_covariance() - t.sigma).norm() / t.sigma.norm() < 0.05);  // sampling error ~0.035 here (0.011 with 8x the data)

  // Without minimum divergence EM reaches the same likelihood (it only reparametrises F).
  opt.minimum_divergence = false;
  ivkit::SimplifiedPldaReport plain;
  const auto model2 = ivkit::train_simplified_plda<double>(t.x, t.labels, opt, &plain);
  for (std::size_t i = 1; i < plain.log_likelihood.size(); ++i) CHECK(plain.log_likelihood[i] >= plain.log_likelihood[i - 1] - 1e-12);
  CHECK(plain.log_likelihood.back() == doctest::Approx(report.log_likelihood.back()).epsilon(1e-5));

  const auto model_f = ivkit::train_simplified_plda<float>(t.x.cast<float>(), t.labels, opt);
  CHECK(ivkit_test::scaled_diff(model_f.residual_covariance().cast<double>(), model2.residual_covariance()) < 1e-4);
}

TEST_CASE("the reported log-likelihood is the joint Gaussian density of each speaker's embeddings") {
  ivkit::Random rng(4);
  const Drawn t = draw(3, 1, 30, 3, rng);
  ivkit::SimplifiedPldaOptions opt;
  opt.rank = 1;
  opt.num_iters = 2;
  ivkit::SimplifiedPldaReport report;
  const auto m = ivkit::train_simplified_plda<double>(t.x, t.labels, opt, &report);
  const MatD b = m.speaker_loading() * m.speaker_loading().transpose(), w = m.residual_covariance();
  const ivkit::ClassIndex c = ivkit::index_classes("t", t.labels, t.x.rows());
  double naive = 0;
  for (Index s = 0; s < c.num_classes(); ++s) {
    const auto& rows = c.rows_of[static_cast<std::size_t>(s)];
    const Index n = static_cast<Index>(rows.size());
    VecD xs(3 * n), mu(3 * n);
    MatD cov(3 * n, 3 * n);
    for (Index i = 0; i < n; ++i) {
      xs.segment(3 * i, 3) = t.x.row(rows[static_cast<std::size_t>(i)]).transpose();
      mu.segment(3 * i, 3) = m.mean();
      for (Index j = 0; j < n; ++j) cov.block(3 * i, 3 * j, 3, 3) = i == j ? MatD(b + w) : b;
    }
    naive += ivkit_test::naive_log_gauss(xs, mu, cov);
  }
  CHECK(report.log_likelihood.back() * static_cast<double>(t.x.rows()) == doctest::Approx(naive).epsilon(1e-10));
}

TEST_CASE("simplified PLDA converts exactly to two-covariance PLDA and saves/loads") {
  ivkit::Random rng(8);
  const Drawn t = draw(5, 2, 200, 3, rng);
  ivkit::SimplifiedPldaOptions opt;
  opt.rank = 2;
  const auto m = ivkit::train_simplified_plda<double>(t.x, t.labels, opt);
  const auto p = m.to_plda();
  const MatD ffT = m.speaker_loading() * m.speaker_loading().transpose();
  CHECK(ivkit_test::max_abs_diff(p.between_covariance(), ffT) < 1e-9);
  CHECK(ivkit_test::max_abs_diff(p.within_covariance(), MatD(m.residual_covariance())) < 1e-9);
  CHECK(p.psi()(2) == doctest::Approx(0.0).epsilon(1e-9));  // rank 2: the rest of psi is zero
  const auto back = ivkit::SimplifiedPlda<float>::from_bytes(m.to_bytes());
  CHECK(back.rank() == 2);
  CHECK(back.speaker_loading()(1, 1) == static_cast<float>(m.speaker_loading()(1, 1)));
  CHECK_THROWS_WITH_AS(ivkit::train_simplified_plda<double>(t.x, t.labels, ivkit::SimplifiedPldaOptions{6, 10, true}),
                       "train_simplified_plda: rank 6 is outside 1..5 (the embedding dimension)", ivkit::InvalidArgument);
}

TEST_CASE("train_simplified_plda: data errors name train_simplified_plda, not the two-covariance trainer it shares checks with") {
  using ivkit::train_simplified_plda;
  const ivkit::SimplifiedPldaOptions opt{1, 5, true};
  MatD x(3, 3);
  x.setRandom();
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(x, {1, 1, 2}, opt),
                       "train_simplified_plda: 3 embeddings of dimension 3; PLDA needs more embeddings than dimensions", ivkit::InvalidArgument);
  MatD y(6, 2);
  y.setRandom();
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(y, {1, 2, 3, 4, 5, 6}, opt),
                       "train_simplified_plda: every one of the 6 speakers has a single embedding; PLDA needs speakers with two or more",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(y, {1, 2}, opt), "train_simplified_plda: 2 labels for 6 embeddings",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(MatD(0, 2), {}, opt), "train_simplified_plda: no embeddings", ivkit::InvalidArgument);
  y(4, 1) = std::nan("");
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(y, {1, 1, 2, 2, 3, 3}, opt), "train_simplified_plda: embedding 4 holds NaN or Inf",
                       ivkit::NonFiniteInput);
  MatD z(6, 2);
  z << 1, 2, 1, 2, 3, 1, 3, 1, 0, 5, 0, 5;
  CHECK_THROWS_WITH_AS(train_simplified_plda<double>(z, {1, 1, 2, 2, 3, 3}, opt),
                       "train_simplified_plda: the within-class scatter of 6 embeddings in 3 speakers has rank 0 < dimension 2; reduce the "
                       "dimension first (LDA or PCA) or add speakers with several embeddings",
                       ivkit::NumericalError);
  // The two-covariance trainer keeps its own name.
  CHECK_THROWS_WITH_AS(ivkit::plda_stats(y, {1, 1, 2, 2, 3, 3}), "train_plda: embedding 4 holds NaN or Inf", ivkit::NonFiniteInput);
}
