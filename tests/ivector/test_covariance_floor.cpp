// The covariance floors of the i-vector extractor's variance update (IvectorUpdateOptions::
// variance_floor and reference_floor) bind: accumulators built so that the unfloored update would
// collapse one variance (diagonal) or one direction (full) give exactly the floor, checked against
// the closed form and, for full covariances, against Eigen's generalized eigensolver (an independent
// route to the eigenvalues of Sigma relative to the floor's base). With the floors at zero the same
// accumulators give the collapsed values, so a removed floor fails these tests.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>

#include "ivkit/core/packed.hpp"
#include "ivkit/ivector/trainer.hpp"
#include "support/reference.hpp"

using ivkit::ColMatrix;
using ivkit::Index;
using ivkit::IvectorExtractor;
using ivkit::IvectorTrainerStats;
using ivkit::IvectorUpdateOptions;
using ivkit::Matrix;
using ivkit_test::MatD;

namespace {

constexpr double kGamma = 10.0;

Eigen::RowVectorXd packed(const MatD& a) {
  Eigen::RowVectorXd out(ivkit::packed_size(a.rows()));
  ivkit::pack_symmetric(a, out);
  return out;
}

// Accumulators of a model with m = UBM means and T = 0 that explain nothing (Y = 0, F = 0): the
// variance update is then Sigma_c = S_c / gamma_c, the second-order totals divided by the count.
IvectorTrainerStats collapsing_stats(Index C, Index D, Index R) {
  IvectorTrainerStats acc(C, D, R);
  acc.gamma.setConstant(kGamma);
  for (Index c = 0; c < C; ++c) acc.R_packed.row(c) = packed(kGamma * MatD::Identity(R, R));
  acc.num_utterances = 5;
  return acc;
}

/// Eigenvalues of A relative to B (A v = lambda B v), ascending: Eigen's generalized solver.
Eigen::VectorXd relative_eigenvalues(const MatD& a, const MatD& b) {
  Eigen::GeneralizedSelfAdjointEigenSolver<MatD> g(a, b);
  REQUIRE(g.info() == Eigen::Success);
  return g.eigenvalues();
}

}  // namespace

TEST_CASE("diagonal variance update: a collapsing variance stops at variance_floor * current, and at the reference floor") {
  const Index C = 2, D = 3, R = 1;
  const MatD means = MatD::Zero(C, D);
  MatD var(C, D);
  var << 1.0, 2.0, 0.5, 4.0, 1.0, 1.0;
  const IvectorExtractor<double> e(means, means, Matrix<double>::Zero(C * D, R), var, ivkit::Vector<double>::Zero(R));
  IvectorTrainerStats acc = collapsing_stats(C, D, R);
  Matrix<double> second(C, D);
  second << 1.0, 1e-6, 0.3, 2.0, 0.5, 1e-9;  // times gamma below: the unfloored variances
  second *= kGamma;
  IvectorUpdateOptions o;
  o.minimum_divergence = false;
  o.second_order = &second;

  o.variance_floor = 0.0;
  const auto raw = ivkit::update_extractor(e, acc, o);
  CHECK(raw.variances()(0, 1) == doctest::Approx(1e-6).epsilon(1e-9));
  CHECK(raw.variances()(1, 2) == doctest::Approx(1e-9).epsilon(1e-9));

  o.variance_floor = 0.01;
  const auto floored = ivkit::update_extractor(e, acc, o);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      CAPTURE(c);
      CAPTURE(d);
      const double expected = std::max(second(c, d) / kGamma, 0.01 * var(c, d));
      CHECK(floored.variances()(c, d) == doctest::Approx(expected).epsilon(1e-12));
    }
  CHECK(floored.variances()(0, 1) == doctest::Approx(0.02).epsilon(1e-12));  // 0.01 * 2, not 1e-6
  CHECK(floored.variances()(1, 2) == doctest::Approx(0.01).epsilon(1e-12));

  // The reference floor: a fraction of another model's variances (the UBM's in train_extractor).
  const ivkit::CovarianceFloorReference<double> ref{MatD::Constant(C, D, 3.0), {}};
  o.reference_floor = 0.1;
  const auto with_ref = ivkit::update_extractor(e, acc, o, &ref);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d)
      CHECK(with_ref.variances()(c, d) == doctest::Approx(std::max({second(c, d) / kGamma, 0.01 * var(c, d), 0.3})).epsilon(1e-12));
}

TEST_CASE("full covariance update: a collapsing direction stops at variance_floor relative to the current covariance") {
  const Index C = 1, D = 3, R = 1;
  const MatD means = MatD::Zero(C, D);
  // The current covariance, far from the identity so that "relative to it" matters.
  MatD old(D, D);
  old << 2.0, 0.6, 0.1, 0.6, 1.0, -0.2, 0.1, -0.2, 0.5;
  const IvectorExtractor<double> e(means, means, Matrix<double>::Zero(C * D, R), std::vector<ColMatrix<double>>{old},
                                   ivkit::Vector<double>::Zero(R));
  // Sigma = Q diag(1.5, 0.8, 1e-7) Q^T: one direction all but collapsed.
  Eigen::HouseholderQR<MatD> qr(MatD::Random(D, D));
  const MatD q = qr.householderQ();
  const Eigen::Vector3d lambda(1.5, 0.8, 1e-7);
  const MatD sigma = q * lambda.asDiagonal() * q.transpose();
  IvectorTrainerStats acc = collapsing_stats(C, D, R);
  Matrix<double> second(C, ivkit::packed_size(D));
  second.row(0) = packed(kGamma * sigma);
  IvectorUpdateOptions o;
  o.minimum_divergence = false;
  o.second_order = &second;

  o.variance_floor = 0.0;
  const MatD raw = ivkit::update_extractor(e, acc, o).covariances()[0];
  CHECK(ivkit_test::max_abs_diff(raw, sigma) <= 1e-12);
  CHECK(relative_eigenvalues(raw, old)(0) < 1e-6);

  o.variance_floor = 0.05;
  const MatD floored = ivkit::update_extractor(e, acc, o).covariances()[0];
  const Eigen::VectorXd rel_raw = relative_eigenvalues(sigma, old), rel = relative_eigenvalues(floored, old);
  // Exactly the floor where the update fell below it, unchanged elsewhere.
  for (Index i = 0; i < D; ++i) {
    CAPTURE(i);
    CHECK(rel(i) == doctest::Approx(std::max(rel_raw(i), 0.05)).epsilon(1e-9));
  }
  CHECK(rel_raw(0) < 0.05);
  // Raised, never lowered: floored - sigma is positive semi-definite.
  const Eigen::SelfAdjointEigenSolver<MatD> diff(floored - sigma);
  CHECK(diff.eigenvalues().minCoeff() >= -1e-12);
}
