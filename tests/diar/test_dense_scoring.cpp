// Dense scores of a recording's windows: the recording PCA (eigenvectors of the centred covariance,
// Kaldi's energy rule) and PLDA log-likelihood ratios of every pair, with and without the PCA,
// against the two-covariance model's closed form evaluated naively in double (a joint Gaussian of
// the pair against two independent ones), with the covariances projected by hand.
#include <doctest/doctest.h>

#include <Eigen/Cholesky>
#include <cmath>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/diar/dense_scoring.hpp"

using ivkit::Index;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

namespace {

double log_gauss(const VecD& x, const VecD& mean, const MatD& cov) {
  const Eigen::LLT<MatD> llt(cov);
  REQUIRE(llt.info() == Eigen::Success);
  const VecD z = llt.matrixL().solve(x - mean);
  const double logdet = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  return -0.5 * (static_cast<double>(x.size()) * std::log(2 * M_PI) + logdet + z.squaredNorm());
}

/// log p(x1, x2 | same speaker) - log p(x1) p(x2) under y ~ N(mu, B), x = y + e, e ~ N(0, W).
double naive_llr(const VecD& x1, const VecD& x2, const VecD& mu, const MatD& b, const MatD& w) {
  const Index d = mu.size();
  MatD joint(2 * d, 2 * d);
  joint << b + w, b, b, b + w;
  VecD xx(2 * d), mm(2 * d);
  xx << x1, x2;
  mm << mu, mu;
  return log_gauss(xx, mm, joint) - log_gauss(x1, mu, b + w) - log_gauss(x2, mu, b + w);
}

MatD random_spd(Index d, ivkit::Random& rng, double scale) {
  MatD a(d, d);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.normal();
  return scale * (a * a.transpose() / static_cast<double>(d) + 0.2 * MatD::Identity(d, d));
}

}  // namespace

TEST_CASE("recording PCA: orthonormal eigenvectors of the centred covariance, Kaldi's energy rule") {
  ivkit::Random rng(3);
  const Index n = 200, d = 6;
  ivkit::Matrix<double> x(n, d);
  const double sd[6] = {5, 3, 2, 1, 0.5, 0.1};
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = 7.0 + sd[j] * rng.normal();
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const MatD c = (x.rowwise() - mean).transpose() * (x.rowwise() - mean) / static_cast<double>(n);
  for (double target : {0.1, 0.5, 0.8, 0.95, 0.999}) {
    CAPTURE(target);
    const MatD p = ivkit::recording_pca(x, target);
    CHECK((p * p.transpose() - MatD::Identity(p.rows(), p.rows())).cwiseAbs().maxCoeff() < 1e-10);
    // Each row an eigenvector, eigenvalues decreasing.
    std::vector<double> lambda;
    for (Index k = 0; k < p.rows(); ++k) {
      const VecD v = p.row(k).transpose();
      const double l = v.dot(c * v);
      CHECK((c * v - l * v).norm() < 1e-8 * c.norm());
      if (k > 0) CHECK(l <= lambda.back() + 1e-12);
      lambda.push_back(l);
    }
    // Kaldi's count: components are added while the energy kept is at most the target, and its
    // loop counter, one ahead, is the number kept (at most d).
    const double total = c.trace();
    Index added = 0;
    double energy = 0;
    const Eigen::VectorXd all = Eigen::SelfAdjointEigenSolver<MatD>(c).eigenvalues().reverse();
    while (added < d && energy / total <= target) energy += all(added++);
    CHECK(p.rows() == std::min(added + 1, d));
  }
  CHECK(ivkit::recording_pca(x, 1.0).isIdentity(0.0));
  CHECK(ivkit::recording_pca(ivkit::Matrix<double>(x.topRows(1)), 0.5).isIdentity(0.0));
  CHECK(ivkit::recording_pca(ivkit::Matrix<double>(ivkit::Matrix<double>::Constant(5, 3, 2.0)), 0.5).isIdentity(0.0));  // identical windows
  CHECK_THROWS_AS(ivkit::recording_pca(x, 0.0), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::recording_pca(x, 1.5), ivkit::InvalidArgument);
}

TEST_CASE("dense PLDA scores equal the naive two-covariance ratio, with and without the recording PCA") {
  ivkit::Random rng(9);
  const Index d = 5, n = 12;
  const MatD b = random_spd(d, rng, 2.0), w = random_spd(d, rng, 1.0);
  VecD mu(d);
  for (Index i = 0; i < d; ++i) mu(i) = rng.normal();
  const auto plda = ivkit::Plda<double>::from_covariances(mu, b, w);
  ivkit::Matrix<double> x(n, d);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = 2.0 * rng.normal();
  ivkit::DenseScoringOptions o;
  o.plda.normalise_length = false;  // the closed form has no length normalisation
  for (double target : {1.0, 0.6}) {
    CAPTURE(target);
    o.target_energy = target;
    const ivkit::Matrix<double> s = ivkit::dense_plda_scores(plda, x, o);
    REQUIRE(s.rows() == n);
    const MatD p = ivkit::recording_pca(x, target);
    if (target < 1) CHECK(p.rows() < d);
    const MatD bp = p * b * p.transpose(), wp = p * w * p.transpose();
    const VecD mp = p * mu;
    double worst = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) {
        const double ref = naive_llr(p * x.row(i).transpose(), p * x.row(j).transpose(), mp, bp, wp);
        worst = std::max(worst, std::abs(s(i, j) - ref) / std::max(1.0, std::abs(ref)));
      }
    CHECK(worst < 1e-9);
    CHECK(s == s.transpose());
  }
  // Cosine: symmetric, ones on the diagonal.
  const ivkit::Matrix<double> cs = ivkit::dense_cosine_scores(x);
  CHECK(cs == cs.transpose());
  CHECK((cs.diagonal().array() - 1.0).abs().maxCoeff() < 1e-12);
  CHECK_THROWS_AS(ivkit::dense_plda_scores(plda, ivkit::Matrix<double>(x.leftCols(3))), ivkit::DimensionMismatch);
}
