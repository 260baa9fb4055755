// Construction, validation, cached terms and conversions of DiagGmm and FullGmm.
#include <doctest/doctest.h>

#include <cmath>
#include <ivkit/gmm/full_gmm.hpp>

using namespace ivkit;

namespace {
template <class S>
struct Params {
  Vector<S> w;
  Matrix<S> mu, var;
};
template <class S>
Params<S> params() {
  Params<S> p{Vector<S>(2), Matrix<S>(2, 3), Matrix<S>(2, 3)};
  p.w << S(0.25), S(0.75);
  p.mu << 1, 2, 3, -1, 0, 4;
  p.var << 1, 2, 0.5, 3, 1, 2;
  return p;
}
}  // namespace

TEST_CASE_TEMPLATE("DiagGmm keeps Kaldi's derived terms", S, float, double) {
  const auto p = params<S>();
  const DiagGmm<S> g(p.w, p.mu, p.var);
  CHECK(g.num_components() == 2);
  CHECK(g.dim() == 3);
  for (Index c = 0; c < 2; ++c) {
    double gc = std::log(static_cast<double>(p.w(c))) - 1.5 * std::log(2.0 * M_PI);
    for (Index d = 0; d < 3; ++d) {
      const double v = p.var(c, d), m = p.mu(c, d);
      gc -= 0.5 * (std::log(v) + m * m / v);
      CHECK(static_cast<double>(g.inv_variances()(c, d)) == doctest::Approx(1.0 / v));
      CHECK(static_cast<double>(g.means_inv_variances()(c, d)) == doctest::Approx(m / v));
    }
    CHECK(static_cast<double>(g.gconsts()(c)) == doctest::Approx(gc).epsilon(1e-6));
  }
  const DiagGmm<double> d = g.template cast<double>();
  CHECK(d.means() == p.mu.template cast<double>());
}

TEST_CASE_TEMPLATE("DiagGmm rejects bad parameters with clear messages", S, float, double) {
  auto p = params<S>();
  SUBCASE("non-positive variance") {
    p.var(1, 2) = 0;
    CHECK_THROWS_WITH_AS(DiagGmm<S>(p.w, p.mu, p.var),
                         "DiagGmm: variance of component 1, dimension 2 is 0; variances must be positive and finite",
                         InvalidArgument);
  }
  SUBCASE("NaN variance") {
    p.var(0, 0) = std::numeric_limits<S>::quiet_NaN();
    CHECK_THROWS_AS(DiagGmm<S>(p.w, p.mu, p.var), InvalidArgument);
  }
  SUBCASE("weights not summing to one") {
    p.w(1) = S(0.5);
    CHECK_THROWS_WITH_AS(DiagGmm<S>(p.w, p.mu, p.var), "DiagGmm: weights sum to 0.75 (C = 2); they must sum to one",
                         InvalidArgument);
  }
  SUBCASE("negative weight") {
    p.w << S(-0.25), S(1.25);
    CHECK_THROWS_WITH_AS(DiagGmm<S>(p.w, p.mu, p.var),
                         "DiagGmm: weight of component 0 is -0.25; weights must be positive and finite", InvalidArgument);
  }
  SUBCASE("dimension mismatches") {
    CHECK_THROWS_WITH_AS(DiagGmm<S>(p.w, p.mu, Matrix<S>::Ones(2, 2)),
                         "DiagGmm: variances are 2 x 2 but means are 2 x 3", DimensionMismatch);
    CHECK_THROWS_WITH_AS(DiagGmm<S>(Vector<S>::Constant(3, S(1) / 3), p.mu, p.var),
                         "DiagGmm: means are 2 x 3 but there are 3 weights", DimensionMismatch);
  }
  SUBCASE("empty") {
    CHECK_THROWS_WITH_AS(DiagGmm<S>(Vector<S>(), Matrix<S>(), Matrix<S>()), "DiagGmm: a GMM needs at least one component",
                         InvalidArgument);
  }
  SUBCASE("NaN mean") {
    p.mu(1, 0) = std::numeric_limits<S>::infinity();
    CHECK_THROWS_WITH_AS(DiagGmm<S>(p.w, p.mu, p.var), "DiagGmm: mean of component 1 holds NaN or Inf", InvalidArgument);
  }
}

TEST_CASE_TEMPLATE("FullGmm validates covariances and converts to and from diagonal", S, float, double) {
  const auto p = params<S>();
  const DiagGmm<S> diag(p.w, p.mu, p.var);
  const FullGmm<S> full = to_full(diag);
  for (Index c = 0; c < 2; ++c) {
    CHECK(full.covariances()[static_cast<std::size_t>(c)].diagonal().transpose() == p.var.row(c));
    CHECK(static_cast<double>(full.gconsts()(c)) == doctest::Approx(static_cast<double>(diag.gconsts()(c))).epsilon(1e-6));
    const ColMatrix<S> L = full.cholesky_factors()[static_cast<std::size_t>(c)];
    CHECK((L * L.transpose() - full.covariances()[static_cast<std::size_t>(c)]).cwiseAbs().maxCoeff() < 1e-5);
  }
  const DiagGmm<S> back = to_diag(full);
  CHECK(back.variances() == diag.variances());
  CHECK(back.means() == diag.means());

  auto covs = full.covariances();
  SUBCASE("singular covariance") {
    covs[1].setZero();
    covs[1](0, 0) = 1;
    CHECK_THROWS_WITH_AS(FullGmm<S>(p.w, p.mu, covs), "FullGmm: covariance of component 1 is not positive definite",
                         NumericalError);
  }
  SUBCASE("indefinite covariance") {
    covs[0](0, 1) = covs[0](1, 0) = 5;
    CHECK_THROWS_AS(FullGmm<S>(p.w, p.mu, covs), NumericalError);
  }
  SUBCASE("not symmetric") {
    covs[0](0, 1) = 0.5;
    CHECK_THROWS_WITH_AS(FullGmm<S>(p.w, p.mu, covs),
                         "FullGmm: covariance of component 0 is not symmetric (max |S - S^T| = 0.5)", InvalidArgument);
  }
  SUBCASE("wrong shape") {
    covs[1] = ColMatrix<S>::Identity(2, 2);
    CHECK_THROWS_WITH_AS(FullGmm<S>(p.w, p.mu, covs),
                         "FullGmm: covariance of component 1 is 2 x 2 but the feature dimension is 3", DimensionMismatch);
  }
  SUBCASE("wrong count") {
    covs.pop_back();
    CHECK_THROWS_WITH_AS(FullGmm<S>(p.w, p.mu, covs), "FullGmm: 1 covariances for 2 components", DimensionMismatch);
  }
}
