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
