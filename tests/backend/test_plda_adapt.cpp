// Unsupervised PLDA adaptation (Kaldi's ivector-adapt-plda) checked against what it promises.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>

#include "ivkit/backend/plda_adapt.hpp"
#include "support/reference.hpp"

using ivkit::Index;
using ivkit_test::MatD;
using VecD = Eigen::VectorXd;

TEST_CASE("adaptation moves the mean and raises the model's total covariance to the in-domain one where it is larger") {
  ivkit::Random rng(13);
  const Index d = 4;
  MatD a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = rng.normal();
  const MatD b = a * a.transpose() + MatD::Identity(d, d), w = 0.5 * MatD::Identity(d, d);
  const auto plda = ivkit::Plda<double>::from_covariances(VecD::Zero(d), b, w);

  // In-domain data: wider than the model along the first axis, narrower along the last, shifted.
  MatD x(4000, d);
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = rng.normal() * (j == 0 ? 6.0 : (j == d - 1 ? 0.2 : 1.0)) + (j == 1 ? 0.5 : 0.0);
  ivkit::PldaAdaptor adaptor;
  adaptor.add(x.topRows(1000));
  adaptor.add(x.bottomRows(3000));
  CHECK(adaptor.total_weight() == 4000);
  ivkit::PldaAdaptationOptions opt;
  opt.mean_diff_scale = 0.0;
  const auto adapted = adaptor.adapt(plda, opt);

  const VecD mean = x.colwise().mean().transpose();
  CHECK(ivkit_test::max_abs_diff(adapted.mean(), mean) < 1e-12);
  // In the space where the old model's total covariance is I and the in-domain covariance is
  // diag(s), the adapted total covariance is diag(max(s, 1)) (the 0.3 + 0.7 shares add up to 1).
  const MatD centred = x.rowwise() - mean.transpose();
  const MatD cov = centred.transpose() * centred / static_cast<double>(x.rows());
  MatD t = plda.transform();
  for (Index i = 0; i < d; ++i) t.row(i) /= std::sqrt(1.0 + plda.psi()(i));
  Eigen::SelfAdjointEigenSolver<MatD> eig(t * cov * t.transpose());
  const MatD p = eig.eigenvectors();
  const MatD total_new = adapted.within_covariance() + adapted.between_covariance();
  const MatD in_basis = p.transpose() * t * total_new * t.transpose() * p;
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) CHECK(in_basis(i, j) == doctest::Approx(i == j ? std::max(eig.eigenvalues()(i), 1.0) : 0.0).epsilon(1e-8).scale(1.0));
  // The within-class share of the excess is 0.3 of it.
  const MatD w_new = p.transpose() * t * adapted.within_covariance() * t.transpose() * p;
  const MatD w_old = p.transpose() * t * plda.within_covariance() * t.transpose() * p;
  for (Index i = 0; i < d; ++i)
    CHECK(w_new(i, i) - w_old(i, i) == doctest::Approx(0.3 * std::max(eig.eigenvalues()(i) - 1.0, 0.0)).epsilon(1e-8).scale(1.0));

  CHECK_THROWS_WITH_AS(ivkit::PldaAdaptor().adapt(plda), "PldaAdaptor::adapt: no in-domain embeddings were added", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(adaptor.add(MatD::Ones(2, 3)), "PldaAdaptor::add: embeddings have dimension 3 but earlier ones had 4", ivkit::DimensionMismatch);
  MatD bad = MatD::Ones(2, 4);
  bad(1, 0) = std::nan("");
  CHECK_THROWS_WITH_AS(adaptor.add(bad), "PldaAdaptor::add: embedding 1 holds NaN or Inf", ivkit::NonFiniteInput);
}

TEST_CASE("adaptation with Kaldi's default mean_diff_scale = 1 against an independent computation") {
  // With mean_diff_scale = 1 the in-domain covariance Kaldi adapts to is the second moment about the
  // OLD model mean, V = (1/N) sum (x - mu_old)(x - mu_old)^T (the covariance plus the mean shift's
  // outer product). Whitening the old total covariance T = W + B = L L^T (Cholesky, not the model's
  // own transform) and diagonalising L^-1 V L^-T = Q diag(s) Q^T, the adapted model must be
  //   mean = in-domain mean,  W' = W + L Q diag(0.3 e) Q^T L^T,  B' = B + L Q diag(0.7 e) Q^T L^T,
  // with e = max(s - 1, 0) (any whitening gives the same result; Kaldi uses the PLDA transform).
  ivkit::Random rng(31);
  const Index d = 5;
  MatD a(d, d), c(d, d);
  VecD mu_old(d);
  for (Index i = 0; i < d; ++i) {
    mu_old(i) = rng.normal();
    for (Index j = 0; j < d; ++j) {
      a(i, j) = rng.normal();
      c(i, j) = 0.3 * rng.normal();
    }
  }
  const MatD b = a * a.transpose() + 0.5 * MatD::Identity(d, d), w = c * c.transpose() + 0.4 * MatD::Identity(d, d);
  const auto plda = ivkit::Plda<double>::from_covariances(mu_old, b, w);
  REQUIRE(ivkit_test::max_abs_diff(plda.within_covariance(), w) < 1e-9);
  REQUIRE(ivkit_test::max_abs_diff(plda.between_covariance(), b) < 1e-9);

  // In-domain data: a shifted mean (the term mean_diff_scale weighs), wider in some directions.
  MatD x(3000, d);
  for (Index r = 0; r < x.rows(); ++r)
    for (Index j = 0; j < d; ++j) x(r, j) = mu_old(j) + (j == 2 ? 2.0 : 0.7) + rng.normal() * (j == 0 ? 5.0 : (j == 4 ? 0.3 : 1.5));
  ivkit::PldaAdaptor adaptor;
  adaptor.add(x);
  const auto adapted = adaptor.adapt(plda);  // defaults: 1, 0.3, 0.7
  CHECK(ivkit::PldaAdaptationOptions{}.mean_diff_scale == 1.0);

  // The independent computation, in plain loops where it matters.
  VecD mean = VecD::Zero(d);
  for (Index r = 0; r < x.rows(); ++r)
    for (Index j = 0; j < d; ++j) mean(j) += x(r, j);
  mean /= static_cast<double>(x.rows());
  MatD v = MatD::Zero(d, d);
  for (Index r = 0; r < x.rows(); ++r)
    for (Index i = 0; i < d; ++i)
      for (Index j = 0; j < d; ++j) v(i, j) += (x(r, i) - mu_old(i)) * (x(r, j) - mu_old(j));
  v /= static_cast<double>(x.rows());
  MatD l;
  REQUIRE(ivkit_test::naive_cholesky(w + b, l));
  const MatD l_inv = l.inverse();
  Eigen::SelfAdjointEigenSolver<MatD> eig(l_inv * v * l_inv.transpose());
  const MatD q = eig.eigenvectors();
  VecD excess(d);
  for (Index i = 0; i < d; ++i) excess(i) = std::max(eig.eigenvalues()(i) - 1.0, 0.0);
  REQUIRE(excess.maxCoeff() > 1.0);    // some directions are wider than the model
  REQUIRE(excess.minCoeff() == 0.0);   // and some are not
  const MatD w_expected = w + l * q * (0.3 * excess).asDiagonal() * q.transpose() * l.transpose();
  const MatD b_expected = b + l * q * (0.7 * excess).asDiagonal() * q.transpose() * l.transpose();

  CHECK(ivkit_test::max_abs_diff(adapted.mean(), mean) < 1e-12);
  CHECK(ivkit_test::scaled_diff(adapted.within_covariance(), w_expected) < 1e-9);
  CHECK(ivkit_test::scaled_diff(adapted.between_covariance(), b_expected) < 1e-9);

  // The mean term matters here: without it (scale 0) the adapted model differs.
  ivkit::PldaAdaptationOptions no_shift;
  no_shift.mean_diff_scale = 0.0;
  const auto without = adaptor.adapt(plda, no_shift);
  CHECK(ivkit_test::scaled_diff(without.between_covariance(), b_expected) > 1e-3);
}
