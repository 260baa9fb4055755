// Construction, validation, derived terms (the scoring matrices made on first use) and conversions of
// DiagGmm and FullGmm.
#include <doctest/doctest.h>

#include <cmath>
#include <ivkit/gmm/full_gmm.hpp>
#include <thread>
#include <type_traits>
#include <vector>

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
  const Matrix<S> inv_vars = g.inv_variances(), means_inv_vars = g.means_inv_variances();
  for (Index c = 0; c < 2; ++c) {
    double gc = std::log(static_cast<double>(p.w(c))) - 1.5 * std::log(2.0 * M_PI);
    for (Index d = 0; d < 3; ++d) {
      const double v = p.var(c, d), m = p.mu(c, d);
      gc -= 0.5 * (std::log(v) + m * m / v);
      CHECK(static_cast<double>(inv_vars(c, d)) == doctest::Approx(1.0 / v));
      CHECK(static_cast<double>(means_inv_vars(c, d)) == doctest::Approx(m / v));
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

namespace {
// W and W^T of a fresh model, asked for from several threads at once.
template <class Model>
void check_scoring_matrices_made_once(const Model& model, const Matrix<double>& expected_w) {
  const Model copy = model;  // copies share the tables, made or not
  std::vector<const void*> w_seen(8), wt_seen(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      // Half the threads ask for W^T first, so that both orders race.
      const Model& m = i % 2 ? model : copy;
      if (i % 4 < 2) {
        wt_seen[i] = m.scoring_weights_transposed().data();
        w_seen[i] = m.scoring_weights().data();
      } else {
        w_seen[i] = m.scoring_weights().data();
        wt_seen[i] = m.scoring_weights_transposed().data();
      }
    });
  for (auto& t : threads) t.join();
  for (std::size_t i = 1; i < 8; ++i) {
    CHECK(w_seen[i] == w_seen[0]);
    CHECK(wt_seen[i] == wt_seen[0]);
  }
  const double tol = std::is_same_v<typename Model::Scalar, float> ? 1e-6 : 1e-14;
  CHECK((model.scoring_weights().template cast<double>() - expected_w).cwiseAbs().maxCoeff() < tol * (1 + expected_w.cwiseAbs().maxCoeff()));
  CHECK(model.scoring_weights_transposed() == model.scoring_weights().transpose());
  Model moved_into = Model(model);
  Model moved_from = std::move(moved_into);
  CHECK(moved_from.scoring_weights().data() == w_seen[0]);
  // Released tables are made again, the same; a copy made before keeps its own.
  Model released = model;
  released.release_scoring_weights();
  CHECK(copy.scoring_weights().data() == w_seen[0]);
  CHECK(released.scoring_weights() == model.scoring_weights());
  CHECK(released.scoring_weights_transposed() == model.scoring_weights_transposed());
}
}  // namespace

TEST_CASE_TEMPLATE("The scoring matrices are made on first use, once, and shared by copies", S, float, double) {
  const auto p = params<S>();
  const Index C = 2, D = 3;
  const Eigen::RowVectorXd o = p.w.template cast<double>().transpose() * p.mu.template cast<double>();
  SUBCASE("diagonal: W_c = [(mu_c - o) / var_c, -1 / (2 var_c)]") {
    Matrix<double> w(C, 2 * D);
    for (Index c = 0; c < C; ++c)
      for (Index d = 0; d < D; ++d) {
        const double v = p.var(c, d);
        w(c, d) = (p.mu(c, d) - o(d)) / v;
        w(c, D + d) = -0.5 / v;
      }
    check_scoring_matrices_made_once(DiagGmm<S>(p.w, p.mu, p.var), w);
  }
  SUBCASE("full: W_c = [P_c (mu_c - o), -P_c,ii / 2, -P_c,ij]") {
    std::vector<ColMatrix<S>> covs(2);
    covs[0] = p.var.row(0).transpose().asDiagonal().toDenseMatrix();
    covs[1] = p.var.row(1).transpose().asDiagonal().toDenseMatrix();
    covs[1](0, 2) = covs[1](2, 0) = S(0.4);
    covs[0](1, 2) = covs[0](2, 1) = S(-0.3);
    const FullGmm<S> full(p.w, p.mu, covs);
    Matrix<double> w(C, D + D * (D + 1) / 2);
    for (Index c = 0; c < C; ++c) {
      const ColMatrix<double> P = covs[static_cast<std::size_t>(c)].template cast<double>().inverse();
      w.row(c).head(D) = (P * (p.mu.row(c).template cast<double>() - o).transpose()).transpose();
      Index off = D;
      for (Index i = 0; i < D; ++i) {
        w(c, off++) = -0.5 * P(i, i);
        for (Index j = i + 1; j < D; ++j) w(c, off++) = -P(i, j);
      }
    }
    check_scoring_matrices_made_once(full, w);
  }
}
