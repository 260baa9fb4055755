// Factor analysis: posteriors and log-likelihoods against naive double references that use an explicit
// D x D inverse (direct Gaussian conditioning), EM statistics and the M-step against the seed's formulas
// evaluated per sample, training on data drawn from a known model, thread determinism and bad input.
#include <doctest/doctest.h>

#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <Eigen/Eigenvalues>
#include <ivkit/fa/factor_analysis.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/reference.hpp"

using namespace ivkit_test;
using ivkit::FactorAnalysis;
using ivkit::FactorAnalysisStats;
using ivkit::FaInit;
using ivkit::FaIteration;
using ivkit::FaOptions;
using ivkit::FaTrainOptions;
using ivkit::FaTrainReport;
using ivkit::FramesAsCols;
using ivkit::FramesAsRows;

namespace {

/// Model parameters in double.
struct FaParams {
  VecD mean;  ///< (D)
  MatD V;     ///< (D x R)
  VecD psi;   ///< (D)
  Index dim() const { return mean.size(); }
  Index rank() const { return V.cols(); }
};

/// Mean offset + 2 N(0, 1), loadings N(0, 1) * scale, noise variances uniform in [psi_lo, psi_hi].
FaParams random_fa_params(Index D, Index R, ivkit::Random& rng, double offset = 0.0, double scale = 1.0,
                          double psi_lo = 0.3, double psi_hi = 1.0) {
  FaParams p{VecD(D), MatD(D, R), VecD(D)};
  for (Index d = 0; d < D; ++d) {
    p.mean(d) = offset + 2.0 * rng.normal();
    p.psi(d) = psi_lo + (psi_hi - psi_lo) * rng.uniform();
    for (Index r = 0; r < R; ++r) p.V(d, r) = scale * rng.normal();
  }
  return p;
}

template <class S>
FactorAnalysis<S> make_fa(const FaParams& p) {
  return FactorAnalysis<S>(p.mean.cast<S>(), p.V.cast<S>(), p.psi.cast<S>());
}

template <class S>
FaParams params_of(const FactorAnalysis<S>& fa) {
  return {fa.mean().template cast<double>(), fa.loading().template cast<double>(),
          fa.noise_variances().template cast<double>()};
}

/// n samples (n x D) of x = m + V z + e, z ~ N(0, I), e ~ N(0, diag psi).
MatD sample_fa(const FaParams& p, Index n, ivkit::Random& rng) {
  const Index D = p.dim(), R = p.rank();
  MatD X(n, D);
  VecD z(R);
  for (Index i = 0; i < n; ++i) {
    for (Index r = 0; r < R; ++r) z(r) = rng.normal();
    for (Index d = 0; d < D; ++d) {
      double x = p.mean(d) + std::sqrt(p.psi(d)) * rng.normal();
      for (Index r = 0; r < R; ++r) x += p.V(d, r) * z(r);
      X(i, d) = x;
    }
  }
  return X;
}

/// V V^T + diag(psi), plain loops.
MatD naive_covariance(const FaParams& p) {
  const Index D = p.dim(), R = p.rank();
  MatD C(D, D);
  for (Index i = 0; i < D; ++i)
    for (Index j = 0; j < D; ++j) {
      double s = i == j ? p.psi(i) : 0.0;
      for (Index r = 0; r < R; ++r) s += p.V(i, r) * p.V(j, r);
      C(i, j) = s;
    }
  return C;
}

/// Direct Gaussian conditioning of the joint (z, x), with the explicit D x D inverse of
/// C = V V^T + Psi: E[z | x] = V^T C^-1 (x - m), Cov[z | x] = I - V^T C^-1 V.
struct NaivePosterior {
  MatD means;  ///< (N x R)
  MatD cov;    ///< (R x R)
};

NaivePosterior naive_posterior(const FaParams& p, const MatD& X) {
  const MatD Cinv = naive_covariance(p).inverse();
  const MatD G = p.V.transpose() * Cinv;  // R x D
  NaivePosterior out{MatD(X.rows(), p.rank()), MatD::Identity(p.rank(), p.rank()) - G * p.V};
  for (Index i = 0; i < X.rows(); ++i) out.means.row(i) = (G * (X.row(i).transpose() - p.mean)).transpose();
  return out;
}

/// log N(x_i; m, C) with log det C from an LU determinant and the explicit inverse of C.
VecD naive_log_likelihoods(const FaParams& p, const MatD& X) {
  const MatD C = naive_covariance(p);
  const MatD Cinv = C.inverse();
  const double log_det = std::log(C.determinant());
  const double D = static_cast<double>(p.dim());
  VecD ll(X.rows());
  for (Index i = 0; i < X.rows(); ++i) {
    const VecD y = X.row(i).transpose() - p.mean;
    ll(i) = -0.5 * (D * std::log(2.0 * M_PI) + log_det + y.dot(Cinv * y));
  }
  return ll;
}

/// The seed's E-step per sample with an explicit L^-1: <z_i> = L^-1 V^T Psi^-1 (x_i - m),
/// <z_i z_i^T> = L^-1 + <z_i><z_i>^T, summed as FactorAnalysisStats defines the statistics.
struct NaiveFaStats {
  VecD sum_y, sum_z, sum_yy;
  MatD sum_yz, sum_zz;
  double log_likelihood = 0.0;
  MatD z;  ///< (N x R) posterior means
};

NaiveFaStats naive_fa_stats(const FaParams& p, const MatD& X) {
  const Index D = p.dim(), R = p.rank(), N = X.rows();
  MatD PsiInvV(D, R);
  for (Index d = 0; d < D; ++d)
    for (Index r = 0; r < R; ++r) PsiInvV(d, r) = p.V(d, r) / p.psi(d);
  const MatD L = MatD::Identity(R, R) + p.V.transpose() * PsiInvV;
  const MatD Linv = L.inverse();
  NaiveFaStats s{VecD::Zero(D), VecD::Zero(R), VecD::Zero(D), MatD::Zero(D, R), MatD::Zero(R, R), 0.0, MatD(N, R)};
  const VecD ll = naive_log_likelihoods(p, X);
  for (Index i = 0; i < N; ++i) {
    const VecD y = X.row(i).transpose() - p.mean;
    const VecD z = Linv * (PsiInvV.transpose() * y);
    s.z.row(i) = z.transpose();
    s.sum_y += y;
    s.sum_z += z;
    s.sum_yy += y.cwiseAbs2();
    s.sum_yz += y * z.transpose();
    s.sum_zz += Linv + z * z.transpose();
    s.log_likelihood += ll(i);
  }
  return s;
}

/// The seed's M-step written out per sample: m' = mean x, V' = [sum (x - m') <z>^T][sum <z z^T>]^-1,
/// Psi' = diag((1/N) sum [(x - m')(x - m')^T - V' <z> (x - m')^T]).
FaParams naive_mstep(const FaParams& p, const MatD& X) {
  const Index D = p.dim(), R = p.rank(), N = X.rows();
  const NaiveFaStats s = naive_fa_stats(p, X);
  const VecD m = X.colwise().mean().transpose();
  MatD A = MatD::Zero(D, R), B = MatD::Zero(R, R);
  for (Index i = 0; i < N; ++i) {
    const VecD z = s.z.row(i).transpose();
    A += (X.row(i).transpose() - m) * z.transpose();
  }
  B = s.sum_zz;
  const MatD V = A * B.inverse();
  VecD psi = VecD::Zero(D);
  for (Index i = 0; i < N; ++i) {
    const VecD y = X.row(i).transpose() - m;
    const VecD vz = V * s.z.row(i).transpose();
    for (Index d = 0; d < D; ++d) psi(d) += y(d) * y(d) - vz(d) * y(d);
  }
  psi /= static_cast<double>(N);
  return {m, V, psi};
}

/// Per-dimension variance of X (divide by N).
VecD data_variance(const MatD& X) {
  const VecD m = X.colwise().mean().transpose();
  return (X.rowwise() - m.transpose()).cwiseAbs2().colwise().sum().transpose() / static_cast<double>(X.rows());
}

/// Cosines of the principal angles between the column spaces of A and B (singular values of
/// Q_A^T Q_B with orthonormal bases Q), smallest first.
VecD principal_cosines(const MatD& A, const MatD& B) {
  const MatD Qa = Eigen::HouseholderQR<MatD>(A).householderQ() * MatD::Identity(A.rows(), A.cols());
  const MatD Qb = Eigen::HouseholderQR<MatD>(B).householderQ() * MatD::Identity(B.rows(), B.cols());
  const VecD s = Eigen::JacobiSVD<MatD>(Qa.transpose() * Qb).singularValues();
  return s.reverse();
}

template <class S>
void check_stats_equal(const FactorAnalysisStats& a, const FactorAnalysisStats& b) {
  CHECK(a.count == b.count);
  CHECK(a.centre == b.centre);
  CHECK(a.sum_y == b.sum_y);
  CHECK(a.sum_yz == b.sum_yz);
  CHECK(a.sum_z == b.sum_z);
  CHECK(a.sum_zz == b.sum_zz);
  CHECK(a.sum_yy == b.sum_yy);
  CHECK(a.log_likelihood == b.log_likelihood);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The model

TEST_CASE_TEMPLATE("FactorAnalysis: derived terms match the textbook formulas", S, float, double) {
  ivkit::Random rng(1);
  const FaParams p = random_fa_params(7, 3, rng, 5.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  CHECK(fa.dim() == 7);
  CHECK(fa.rank() == 3);
  CHECK_FALSE(fa.empty());
  const double t = tol<S>(2e-6, 1e-12);
  // L^-1 = (I + V^T Psi^-1 V)^-1, with the parameters as the model holds them (rounded to S).
  const FaParams q = params_of(fa);
  const MatD L = MatD::Identity(3, 3) + q.V.transpose() * q.psi.cwiseInverse().asDiagonal() * q.V;
  CHECK(scaled_diff(fa.posterior_covariance(), L.inverse()) <= t);
  CHECK(scaled_diff(fa.projection(), q.psi.cwiseInverse().asDiagonal() * q.V * L.inverse()) <= t);
  const MatD C = naive_covariance(q);
  CHECK(scaled_diff(fa.covariance(), C) <= t);
  CHECK(std::abs(fa.log_det_covariance() - std::log(C.determinant())) <= 1e-10 * std::abs(std::log(C.determinant())) + 1e-12);
  CHECK(fa.log_constant() == doctest::Approx(7 * std::log(2.0 * M_PI) + std::log(C.determinant())).epsilon(1e-12));
  // cast() keeps the parameters.
  const auto other = fa.template cast<double>();
  CHECK(other.mean() == fa.mean().template cast<double>());
  CHECK(other.loading() == fa.loading().template cast<double>());
  CHECK(other.noise_variances() == fa.noise_variances().template cast<double>());
}

TEST_CASE("FactorAnalysis: invalid parameters") {
  using FA = FactorAnalysis<double>;
  const ivkit::Vector<double> m = ivkit::Vector<double>::Zero(3);
  const ivkit::ColMatrix<double> V = ivkit::ColMatrix<double>::Ones(3, 2);
  const ivkit::Vector<double> psi = ivkit::Vector<double>::Ones(3);
  CHECK_NOTHROW(FA(m, V, psi));
  CHECK_THROWS_WITH_AS(FA(ivkit::Vector<double>(), ivkit::ColMatrix<double>(), ivkit::Vector<double>()),
                       "FactorAnalysis: dimension must be at least 1", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(FA(m, ivkit::ColMatrix<double>::Ones(4, 2), psi),
                       "FactorAnalysis: the loading matrix is 4 x 2 but the mean has dimension 3", ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(FA(m, ivkit::ColMatrix<double>(3, 0), psi),
                       "FactorAnalysis: the loading matrix needs at least one column", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(FA(m, V, ivkit::Vector<double>::Ones(2)),
                       "FactorAnalysis: there are 2 noise variances but the mean has dimension 3", ivkit::DimensionMismatch);
  ivkit::Vector<double> bad_m = m;
  bad_m(1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(FA(bad_m, V, psi), "FactorAnalysis: the mean holds NaN or Inf", ivkit::InvalidArgument);
  ivkit::ColMatrix<double> bad_V = V;
  bad_V(2, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(FA(m, bad_V, psi), "FactorAnalysis: row 2 of the loading matrix holds NaN or Inf",
                       ivkit::InvalidArgument);
  ivkit::Vector<double> bad_psi = psi;
  bad_psi(1) = 0.0;
  CHECK_THROWS_WITH_AS(FA(m, V, bad_psi),
                       "FactorAnalysis: noise variance of dimension 1 is 0; noise variances must be positive and finite",
                       ivkit::InvalidArgument);
  bad_psi(1) = -2.0;
  CHECK_THROWS_WITH_AS(FA(m, V, bad_psi),
                       "FactorAnalysis: noise variance of dimension 1 is -2; noise variances must be positive and finite",
                       ivkit::InvalidArgument);
  bad_psi(1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(FA(m, V, bad_psi), ivkit::InvalidArgument);
  bad_psi(1) = 1e-300;  // finite and positive, but V^T Psi^-1 V overflows
  ivkit::ColMatrix<double> bigV = V * 1e10;
  CHECK_THROWS_WITH_AS(FA(m, bigV, bad_psi),
                       "FactorAnalysis: I + V^T Psi^-1 V is not finite (D = 3, R = 2); the noise variances are too small "
                       "for the loadings",
                       ivkit::NumericalError);
  // Two equal loading columns and one tiny noise variance: L = I + V^T Psi^-1 V loses its identity
  // part to rounding and is singular in double.
  bad_psi(1) = 1e-300;
  CHECK_THROWS_WITH_AS(FA(m, V, bad_psi), "FactorAnalysis: I + V^T Psi^-1 V is not positive definite (D = 3, R = 2)",
                       ivkit::NumericalError);
  // Independent columns: fine in double, but 1 / Psi overflows float.
  ivkit::ColMatrix<double> V2(3, 2);
  V2 << 1, 0, 0, 1, 1, 1;
  ivkit::Vector<float> tiny = psi.cast<float>();
  tiny(0) = 1e-39f;
  CHECK_NOTHROW(FA(m, V2, tiny.cast<double>()));
  CHECK_THROWS_WITH_AS(FactorAnalysis<float>(m.cast<float>(), V2.cast<float>(), tiny),
                       "FactorAnalysis: 1 / Psi or Psi^-1 V L^-1 overflows the scalar type (D = 3, R = 2); the noise "
                       "variances are too small",
                       ivkit::NumericalError);
}

// ---------------------------------------------------------------------------------------------
// Posteriors and log-likelihoods

TEST_CASE_TEMPLATE("posterior matches direct Gaussian conditioning with an explicit D x D inverse", S, float, double) {
  ivkit::Random rng(2);
  const FaParams p = random_fa_params(9, 4, rng, 3.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  const FaParams q = params_of(fa);
  const MatD X = sample_fa(p, 101, rng);
  const NaivePosterior ref = naive_posterior(q, X.cast<S>().template cast<double>());
  // float: the posterior means are a product of 9 terms of size ~1 in float.
  const double t = tol<S>(2e-5, 1e-11);
  for_each_layout<S>(X, [&](auto layout, const auto& data) {
    using L = decltype(layout);
    FaOptions opts;
    opts.block_samples = 16;  // 7 blocks, the last partial
    opts.num_threads = 2;
    const ivkit::FaPosterior<S> post = fa.template posterior<L>(data, opts);
    REQUIRE(post.means.rows() == 101);
    REQUIRE(post.means.cols() == 4);
    CHECK(scaled_diff(post.means, ref.means) <= t);
    CHECK(scaled_diff(post.covariance, ref.cov) <= t);
    // Default options (one block) give the same numbers.
    const ivkit::FaPosterior<S> post1 = fa.template posterior<L>(data);
    CHECK(scaled_diff(post1.means, ref.means) <= t);
  });
}

TEST_CASE_TEMPLATE("log_likelihood matches the naive multivariate Gaussian density", S, float, double) {
  ivkit::Random rng(3);
  // Features far from zero (offset 40): the model centres on its mean before the products.
  const FaParams p = random_fa_params(11, 3, rng, 40.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  const MatD X = sample_fa(p, 77, rng);
  const VecD ref = naive_log_likelihoods(params_of(fa), X.cast<S>().template cast<double>());
  const double ref_sum = ref.sum();
  const double t = tol<S>(2e-5, 1e-11);  // relative to |log p|, about 20 here
  for_each_layout<S>(X, [&](auto layout, const auto& data) {
    using L = decltype(layout);
    FaOptions opts;
    opts.block_samples = 10;
    opts.num_threads = 3;
    const ivkit::Vector<S> ll = fa.template log_likelihoods<L>(data, opts);
    REQUIRE(ll.size() == 77);
    CHECK(scaled_diff(ll, ref) <= t);
    const double total = fa.template log_likelihood<L>(data, opts);
    CHECK(std::abs(total - ref_sum) <= t * std::abs(ref_sum));
    CHECK(std::abs(fa.template average_log_likelihood<L>(data, opts) - ref_sum / 77.0) <= t * std::abs(ref_sum) / 77.0);
  });
}

TEST_CASE("log_likelihood in float stays accurate when the noise is small next to the loadings") {
  // C = V V^T + Psi with Psi 1e-4 of V's scale: y^T Psi^-1 y and u^T L^-1 u nearly cancel; the
  // residual form r^T Psi^-1 r + |z|^2 keeps the float result within 1e-4 of the double reference.
  ivkit::Random rng(4);
  const FaParams p = random_fa_params(20, 5, rng, 0.0, 3.0, 1e-3, 2e-3);
  const MatD X = sample_fa(p, 200, rng);
  const FactorAnalysis<float> fa = make_fa<float>(p);
  const VecD ref = naive_log_likelihoods(params_of(fa), X.cast<float>().cast<double>());
  const ivkit::Vector<float> ll = fa.log_likelihoods(X.cast<float>());
  CHECK(scaled_diff(ll, ref) <= 1e-4);
  const VecD ref_d = naive_log_likelihoods(p, X);
  CHECK(scaled_diff(make_fa<double>(p).log_likelihoods(X), ref_d) <= 1e-10);
}

// ---------------------------------------------------------------------------------------------
// EM statistics

TEST_CASE_TEMPLATE("accumulate_fa_stats matches the seed's E-step per sample", S, float, double) {
  ivkit::Random rng(5);
  const FaParams p = random_fa_params(8, 3, rng, 2.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  const MatD X = sample_fa(p, 150, rng);
  const NaiveFaStats ref = naive_fa_stats(params_of(fa), X.cast<S>().template cast<double>());
  const double t = tol<S>(2e-5, 1e-11);  // relative to the largest entry of each statistic
  for_each_layout<S>(X, [&](auto layout, const auto& data) {
    using L = decltype(layout);
    FaOptions opts;
    opts.block_samples = 32;
    FactorAnalysisStats st(fa);
    ivkit::accumulate_fa_stats<L>(fa, data, st, opts);
    CHECK(st.count == 150.0);
    CHECK(st.centre == fa.mean().template cast<double>());
    CHECK(scaled_diff(st.sum_y, ref.sum_y) <= t * 150);
    CHECK(scaled_diff(st.sum_yz, ref.sum_yz) <= t);
    CHECK(scaled_diff(st.sum_z, ref.sum_z) <= t * 150);
    CHECK(scaled_diff(st.sum_zz, ref.sum_zz) <= t);
    CHECK(scaled_diff(st.sum_yy, ref.sum_yy) <= t);
    CHECK(std::abs(st.log_likelihood - ref.log_likelihood) <= t * std::abs(ref.log_likelihood));
    CHECK(st.average_log_likelihood() == doctest::Approx(st.log_likelihood / 150.0));
    // Without the log-likelihood the other statistics are the same numbers.
    opts.accumulate_log_likelihood = false;
    FactorAnalysisStats st2(fa);
    ivkit::accumulate_fa_stats<L>(fa, data, st2, opts);
    CHECK(st2.log_likelihood == 0.0);
    CHECK(st2.sum_yz == st.sum_yz);
    CHECK(st2.sum_zz == st.sum_zz);
  });
}

TEST_CASE_TEMPLATE("accumulation and evaluation are bit-identical for 1 and 3 threads", S, float, double) {
  ivkit::Random rng(6);
  const FaParams p = random_fa_params(10, 4, rng, 1.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  const ivkit::Matrix<S> X = sample_fa(p, 1000, rng).cast<S>();
  auto run = [&](int threads) {
    FaOptions opts;
    opts.block_samples = 16;  // 63 blocks
    opts.num_threads = threads;
    FactorAnalysisStats st(fa);
    ivkit::accumulate_fa_stats(fa, X, st, opts);
    return st;
  };
  const FactorAnalysisStats one = run(1), three = run(3), all = run(0);
  check_stats_equal<S>(one, three);
  check_stats_equal<S>(one, all);
  FaOptions o1, o3;
  o1.block_samples = o3.block_samples = 16;
  o3.num_threads = 3;
  CHECK(fa.log_likelihood(X, o1) == fa.log_likelihood(X, o3));
  CHECK(fa.log_likelihoods(X, o1) == fa.log_likelihoods(X, o3));
  CHECK(fa.posterior(X, o1).means == fa.posterior(X, o3).means);
  // The log-likelihood of the statistics is the model's.
  CHECK(one.log_likelihood == fa.log_likelihood(X, o1));
}

TEST_CASE_TEMPLATE("FactorAnalysisStats::operator+=: two halves add up to the whole", S, float, double) {
  ivkit::Random rng(7);
  const FaParams p = random_fa_params(6, 2, rng, -3.0);
  const FactorAnalysis<S> fa = make_fa<S>(p);
  const ivkit::Matrix<S> X = sample_fa(p, 400, rng).cast<S>();
  FaOptions opts;
  opts.block_samples = 50;
  FactorAnalysisStats whole(fa), first(fa), second(fa);
  ivkit::accumulate_fa_stats(fa, X, whole, opts);
  ivkit::accumulate_fa_stats(fa, X.topRows(150), first, opts);
  ivkit::accumulate_fa_stats(fa, X.bottomRows(250), second, opts);
  first += second;
  CHECK(first.count == whole.count);
  // Same block partials, summed in another order: equal to double rounding.
  const double t = 1e-12;
  CHECK(scaled_diff(first.sum_y, whole.sum_y) <= t * 400);
  CHECK(scaled_diff(first.sum_yz, whole.sum_yz) <= t);
  CHECK(scaled_diff(first.sum_z, whole.sum_z) <= t * 400);
  CHECK(scaled_diff(first.sum_zz, whole.sum_zz) <= t);
  CHECK(scaled_diff(first.sum_yy, whole.sum_yy) <= t);
  CHECK(std::abs(first.log_likelihood - whole.log_likelihood) <= t * std::abs(whole.log_likelihood));
  // And the halves are not trivially equal to the whole.
  CHECK(second.count == 250.0);
  CHECK(scaled_diff(second.sum_yy, whole.sum_yy) > 0.1);
}

TEST_CASE("FactorAnalysisStats::operator+=: statistics of other models throw") {
  ivkit::Random rng(8);
  const FactorAnalysis<double> a = make_fa<double>(random_fa_params(5, 2, rng));
  const FactorAnalysis<double> b = make_fa<double>(random_fa_params(5, 3, rng));
  const FactorAnalysis<double> c = make_fa<double>(random_fa_params(4, 2, rng));
  const FactorAnalysis<double> a2 = make_fa<double>(random_fa_params(5, 2, rng));
  FactorAnalysisStats st(a);
  st.count = 3.0;
  st.sum_yy.setConstant(2.0);
  const FactorAnalysisStats before = st;
  CHECK_THROWS_WITH_AS(st += FactorAnalysisStats(b), "FactorAnalysisStats::operator+=: statistics differ (D = 5 vs 5, R = 2 vs 3)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(st += FactorAnalysisStats(c), "FactorAnalysisStats::operator+=: statistics differ (D = 5 vs 4, R = 2 vs 2)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(st += FactorAnalysisStats(a2),
                       "FactorAnalysisStats::operator+=: statistics are centred differently (different models)",
                       ivkit::DimensionMismatch);
  check_stats_equal<double>(st, before);
  st += FactorAnalysisStats(a);
  check_stats_equal<double>(st, before);
  st.set_zero();
  CHECK(st.count == 0.0);
  CHECK(st.sum_yy.isZero());
  CHECK(st.dim() == 5);
  CHECK(st.rank() == 2);
}

// ---------------------------------------------------------------------------------------------
// M-step

TEST_CASE_TEMPLATE("fa_em_update matches the seed's M-step evaluated per sample", S, float, double) {
  ivkit::Random rng(9);
  const FaParams truth = random_fa_params(8, 3, rng, 1.0);
  const MatD X = sample_fa(truth, 500, rng);
  // Start from another model whose mean is not the data mean: the update must use x - m' with the
  // new mean m' although <z_i> were computed with the old one.
  const FaParams start = random_fa_params(8, 3, rng, 0.5, 0.7);
  const FactorAnalysis<S> fa = make_fa<S>(start);
  const FaParams ref = naive_mstep(params_of(fa), X.cast<S>().template cast<double>());
  const ivkit::Matrix<S> data = X.cast<S>();
  FactorAnalysisStats st(fa);
  ivkit::accumulate_fa_stats(fa, data, st);
  const double t = tol<S>(1e-4, 1e-10);
  SUBCASE("no floor") {
    ivkit::FaUpdateOptions o;
    o.variance_floor = 0.0;
    ivkit::FaUpdateReport rep;
    rep.floored = 99;
    const FactorAnalysis<S> next = ivkit::fa_em_update(fa, st, o, &rep);
    CHECK(rep.floored == 0);
    CHECK(scaled_diff(next.mean(), ref.mean) <= t);
    CHECK(scaled_diff(next.loading(), ref.V) <= t);
    CHECK(scaled_diff(next.noise_variances(), ref.psi) <= t);
  }
  SUBCASE("floor relative to the data variance") {
    const VecD var = data_variance(X.cast<S>().template cast<double>());
    ivkit::FaUpdateOptions o;
    o.variance_floor = 0.4;
    Index expected = 0;
    VecD psi = ref.psi;
    for (Index d = 0; d < 8; ++d)
      if (psi(d) < 0.4 * var(d)) {
        psi(d) = 0.4 * var(d);
        ++expected;
      }
    REQUIRE(expected > 0);
    REQUIRE(expected < 8);
    ivkit::FaUpdateReport rep;
    const FactorAnalysis<S> next = ivkit::fa_em_update(fa, st, o, &rep);
    CHECK(rep.floored == expected);
    CHECK(scaled_diff(next.noise_variances(), psi) <= t);
    CHECK(scaled_diff(next.loading(), ref.V) <= t);  // V' does not depend on Psi
  }
}

TEST_CASE("fa_em_update: bad statistics and options") {
  ivkit::Random rng(10);
  const FaParams p = random_fa_params(4, 2, rng);
  const FactorAnalysis<double> fa = make_fa<double>(p);
  const FactorAnalysis<double> other = make_fa<double>(random_fa_params(4, 2, rng));
  const FactorAnalysis<double> rank1 = make_fa<double>(random_fa_params(4, 1, rng));
  const MatD X = sample_fa(p, 50, rng);
  FactorAnalysisStats st(fa);
  ivkit::accumulate_fa_stats(fa, X, st);
  CHECK_NOTHROW(ivkit::fa_em_update(fa, st));
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(other, st), "fa_em_update: the statistics were accumulated under another model",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(rank1, st),
                       "fa_em_update: the statistics (D = 4, R = 2) do not match the model (D = 4, R = 1)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(fa, FactorAnalysisStats(fa)), "fa_em_update: no samples accumulated (count is 0)",
                       ivkit::InvalidArgument);
  FactorAnalysisStats nan = st;
  nan.sum_yz(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(fa, nan), "fa_em_update: the statistics hold NaN or Inf", ivkit::InvalidArgument);
  ivkit::FaUpdateOptions o;
  o.variance_floor = 1.0;
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(fa, st, o), "fa_em_update: variance_floor must be in [0, 1), got 1",
                       ivkit::InvalidArgument);
  o.variance_floor = -0.5;
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(fa, st, o), "fa_em_update: variance_floor must be in [0, 1), got -0.5",
                       ivkit::InvalidArgument);
  // A constant dimension: zero data variance.
  MatD Xc = X;
  Xc.col(2).setConstant(p.mean(2));
  FactorAnalysisStats stc(fa);
  ivkit::accumulate_fa_stats(fa, Xc, stc);
  CHECK_THROWS_WITH_AS(ivkit::fa_em_update(fa, stc),
                       "fa_em_update: the data have zero variance in dimension 2; factor analysis cannot be fitted",
                       ivkit::NumericalError);
}

// ---------------------------------------------------------------------------------------------
// Training

namespace {

struct KnownModel {
  FaParams truth;
  MatD X;
};

/// D = 12, R = 3, N = 20000: loadings N(0, 1), noise variances in [0.3, 1], mean offset 5.
const KnownModel& known_model() {
  static const KnownModel k = [] {
    ivkit::Random rng(2024);
    KnownModel m;
    m.truth = random_fa_params(12, 3, rng, 5.0);
    m.X = sample_fa(m.truth, 20000, rng);
    return m;
  }();
  return k;
}

}  // namespace

TEST_CASE_TEMPLATE("train_factor_analysis recovers a known model", S, float, double) {
  const KnownModel& k = known_model();
  const ivkit::Matrix<S> X = k.X.cast<S>();
  FaTrainOptions opts;
  opts.rank = 3;
  opts.num_threads = 2;
  opts.seed = 5;
  int num_iterations = 0;
  SUBCASE("PCA initialisation") {
    opts.init = FaInit::Pca;
    opts.num_iterations = num_iterations = 40;
  }
  SUBCASE("random initialisation") {
    opts.init = FaInit::Random;
    opts.num_iterations = num_iterations = 150;
  }
  std::vector<FaIteration> seen;
  opts.progress = [&](const FaIteration& it) { seen.push_back(it); };
  FaTrainReport rep;
  const FactorAnalysis<S> fa = ivkit::train_factor_analysis(X, opts, &rep);
  REQUIRE(fa.dim() == 12);
  REQUIRE(fa.rank() == 3);

  // Report: one entry per iteration, seen by the callback in order; the log-likelihood never decreases.
  REQUIRE(rep.iterations.size() == static_cast<std::size_t>(num_iterations));
  REQUIRE(seen.size() == rep.iterations.size());
  std::vector<double> ll;
  for (std::size_t i = 0; i < rep.iterations.size(); ++i) {
    CHECK(rep.iterations[i].iteration == static_cast<int>(i));
    CHECK(seen[i].log_likelihood == rep.iterations[i].log_likelihood);
    CHECK(rep.iterations[i].average_log_likelihood == doctest::Approx(rep.iterations[i].log_likelihood / 20000.0));
    ll.push_back(rep.iterations[i].log_likelihood);
  }
  ll.push_back(rep.final_log_likelihood);
  // double: exact EM; only the rounding of a 20000-term sum (~1e-12 relative) could show (no
  // decrease at all was measured). float: statistics and log-likelihoods are rounded to float per
  // block, so near convergence the sequence wobbles by up to 6e-9 relative (measured); slack 1e-7.
  const double slack = tol<S>(1e-7, 1e-12) * std::abs(ll.back());
  for (std::size_t i = 0; i + 1 < ll.size(); ++i) {
    CAPTURE(i);
    CHECK(ll[i + 1] >= ll[i] - slack);
  }
  CHECK(ll.back() > ll.front() + (opts.init == FaInit::Random ? 1000.0 : 1.0));
  // The final log-likelihood is the returned model's, by the naive density.
  const double naive_final = naive_log_likelihoods(params_of(fa), X.template cast<double>()).sum();
  CHECK(std::abs(rep.final_log_likelihood - naive_final) <= tol<S>(1e-5, 1e-10) * std::abs(naive_final));
  CHECK(rep.final_average_log_likelihood == doctest::Approx(rep.final_log_likelihood / 20000.0));

  // The mean is the sample mean.
  const VecD xbar = X.template cast<double>().colwise().mean().transpose();
  CHECK(max_abs_diff(fa.mean(), xbar) <= tol<S>(1e-4, 1e-10));
  // V V^T + Psi matches the true covariance: sampling error at N = 20000 is about 1% of the
  // entries' scale (measured 1.0%); the tolerance is 3%.
  const MatD C_true = naive_covariance(k.truth);
  const MatD C = fa.covariance().template cast<double>();
  CHECK(scaled_diff(C, C_true) <= 0.03);
  // The loading subspace: every principal angle has cosine > 0.99 (measured 0.9999).
  const VecD cosines = principal_cosines(k.truth.V, fa.loading().template cast<double>());
  CAPTURE(cosines.transpose());
  CHECK(cosines.minCoeff() > 0.99);
  // V up to rotation: V V^T matches (measured 1.1%).
  const MatD VVt = fa.loading().template cast<double>() * fa.loading().template cast<double>().transpose();
  CHECK(scaled_diff(VVt, k.truth.V * k.truth.V.transpose()) <= 0.035);
  // Noise variances within 8% of the truth (measured: at most 2.4%).
  const VecD psi = fa.noise_variances().template cast<double>();
  for (Index d = 0; d < 12; ++d) {
    CAPTURE(d);
    CHECK(std::abs(psi(d) - k.truth.psi(d)) <= 0.08 * k.truth.psi(d));
  }
}

TEST_CASE("train_factor_analysis: the PCA initialisation") {
  ivkit::Random rng(11);
  const FaParams p = random_fa_params(7, 2, rng, 1.0);
  const MatD X = sample_fa(p, 800, rng);
  FaTrainOptions opts;
  opts.rank = 2;
  opts.num_iterations = 0;
  FaTrainReport rep;
  const FactorAnalysis<double> fa = ivkit::train_factor_analysis<FramesAsCols>(X.transpose(), opts, &rep);
  CHECK(rep.iterations.empty());
  // Reference: eigen-decomposition of the ML sample covariance computed here.
  const VecD m = X.colwise().mean().transpose();
  const MatD Y = X.rowwise() - m.transpose();
  const MatD S = Y.transpose() * Y / 800.0;
  const Eigen::SelfAdjointEigenSolver<MatD> eig(S);
  const VecD lam = eig.eigenvalues();  // ascending
  const double sigma2 = lam.head(5).sum() / 5.0;
  MatD U(7, 2);
  U.col(0) = eig.eigenvectors().col(6);
  U.col(1) = eig.eigenvectors().col(5);
  const VecD scale = (VecD(2) << lam(6) - sigma2, lam(5) - sigma2).finished();
  const MatD VVt = U * scale.asDiagonal() * U.transpose();
  const MatD V = fa.loading();
  CHECK(max_abs_diff(fa.mean(), m) <= 1e-12);
  CHECK(scaled_diff(V * V.transpose(), VVt) <= 1e-10);
  // Columns orthogonal, with squared norms lambda_r - sigma^2 in decreasing order.
  CHECK(std::abs(V.col(0).dot(V.col(1))) <= 1e-10);
  CHECK(V.col(0).squaredNorm() == doctest::Approx(scale(0)).epsilon(1e-10));
  CHECK(V.col(1).squaredNorm() == doctest::Approx(scale(1)).epsilon(1e-10));
  // Psi is the residual diag(S - V V^T).
  const VecD residual = S.diagonal() - VVt.diagonal();
  CHECK(scaled_diff(fa.noise_variances(), residual) <= 1e-10);
  CHECK(rep.initial_floored == 0);
  CHECK(rep.final_log_likelihood == doctest::Approx(naive_log_likelihoods(params_of(fa), X).sum()).epsilon(1e-10));
}

TEST_CASE("train_factor_analysis: variance floor, determinism, thread count") {
  ivkit::Random rng(12);
  const FaParams p = random_fa_params(6, 2, rng, 1.0);
  const MatD X = sample_fa(p, 3000, rng);
  const VecD var = data_variance(X);
  FaTrainOptions opts;
  opts.rank = 2;
  opts.num_iterations = 5;
  opts.block_samples = 64;
  SUBCASE("a high floor holds every noise variance at floor * data variance") {
    opts.variance_floor = 0.9;
    FaTrainReport rep;
    const FactorAnalysis<double> fa = ivkit::train_factor_analysis(X, opts, &rep);
    CHECK(rep.initial_floored == 6);
    for (const auto& it : rep.iterations) CHECK(it.floored == 6);
    for (Index d = 0; d < 6; ++d) CHECK(fa.noise_variances()(d) == doctest::Approx(0.9 * var(d)).epsilon(1e-9));
    for (std::size_t i = 0; i + 1 < rep.iterations.size(); ++i)
      CHECK(rep.iterations[i + 1].log_likelihood >= rep.iterations[i].log_likelihood - 1e-9 * std::abs(rep.final_log_likelihood));
  }
  SUBCASE("bit-identical for 1 and 3 threads, both inits; the seed matters for random init") {
    for (const FaInit init : {FaInit::Pca, FaInit::Random}) {
      opts.init = init;
      opts.num_threads = 1;
      FaTrainReport r1, r3;
      const FactorAnalysis<float> a = ivkit::train_factor_analysis(X.cast<float>(), opts, &r1);
      opts.num_threads = 3;
      const FactorAnalysis<float> b = ivkit::train_factor_analysis(X.cast<float>(), opts, &r3);
      CHECK(a.mean() == b.mean());
      CHECK(a.loading() == b.loading());
      CHECK(a.noise_variances() == b.noise_variances());
      CHECK(r1.final_log_likelihood == r3.final_log_likelihood);
      if (init == FaInit::Random) {
        opts.seed += 1;
        const FactorAnalysis<float> c = ivkit::train_factor_analysis(X.cast<float>(), opts);
        CHECK_FALSE(c.loading() == a.loading());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("factor analysis: bad input") {
  ivkit::Random rng(13);
  const FaParams p = random_fa_params(4, 2, rng);
  const FactorAnalysis<double> fa = make_fa<double>(p);
  MatD X = sample_fa(p, 100, rng);
  SUBCASE("dimension mismatch") {
    const MatD X5 = MatD::Zero(10, 5);
    CHECK_THROWS_WITH_AS(fa.posterior(X5),
                         "FactorAnalysis::posterior: samples have dimension 5 (FramesAsRows, matrix 10 x 5) but the model "
                         "has dimension 4",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(fa.log_likelihood<FramesAsCols>(X5),
                         "FactorAnalysis::log_likelihood: samples have dimension 10 (FramesAsCols, matrix 10 x 5) but the "
                         "model has dimension 4",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(fa.log_likelihoods(X5),
                         "FactorAnalysis::log_likelihoods: samples have dimension 5 (FramesAsRows, matrix 10 x 5) but the "
                         "model has dimension 4",
                         ivkit::DimensionMismatch);
    FactorAnalysisStats st(fa);
    CHECK_THROWS_WITH_AS(ivkit::accumulate_fa_stats(fa, X5, st),
                         "accumulate_fa_stats: samples have dimension 5 (FramesAsRows, matrix 10 x 5) but the model has "
                         "dimension 4",
                         ivkit::DimensionMismatch);
    const FactorAnalysis<double> other = make_fa<double>(random_fa_params(4, 2, rng));
    CHECK_THROWS_WITH_AS(ivkit::accumulate_fa_stats(other, X, st),
                         "accumulate_fa_stats: the statistics (D = 4, R = 2) were not made for this model (D = 4, R = 2)",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(FactorAnalysis<double>().posterior(X), "FactorAnalysis::posterior: the model is empty",
                         ivkit::InvalidArgument);
    CHECK_THROWS_WITH_AS(fa.average_log_likelihood(MatD(0, 4)), "FactorAnalysis::average_log_likelihood: no samples",
                         ivkit::InvalidArgument);
    CHECK(fa.log_likelihood(MatD(0, 4)) == 0.0);
    FaOptions o;
    o.block_samples = -1;
    CHECK_THROWS_WITH_AS(fa.posterior(X, o), "FactorAnalysis::posterior: block_samples must be >= 0, got -1",
                         ivkit::InvalidArgument);
  }
  SUBCASE("NaN samples: the message names the first one, whatever the thread count") {
    X(57, 1) = std::numeric_limits<double>::quiet_NaN();
    X(80, 3) = std::numeric_limits<double>::infinity();
    FaOptions o;
    o.block_samples = 8;
    o.num_threads = 3;
    CHECK_THROWS_WITH_AS(fa.posterior<FramesAsCols>(X.transpose(), o), "FactorAnalysis::posterior: sample 57 holds NaN or Inf",
                         ivkit::NonFiniteInput);
    CHECK_THROWS_WITH_AS(fa.log_likelihoods(X, o), "FactorAnalysis::log_likelihoods: sample 57 holds NaN or Inf",
                         ivkit::NonFiniteInput);
    CHECK_THROWS_WITH_AS(fa.log_likelihood(X, o), "FactorAnalysis::log_likelihood: sample 57 holds NaN or Inf",
                         ivkit::NonFiniteInput);
    FactorAnalysisStats st(fa);
    CHECK_THROWS_WITH_AS(ivkit::accumulate_fa_stats(fa, X, st, o), "accumulate_fa_stats: sample 57 holds NaN or Inf",
                         ivkit::NonFiniteInput);
    FaTrainOptions t;
    t.rank = 2;
    t.num_threads = 3;
    t.block_samples = 8;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis<FramesAsCols>(X.transpose(), t),
                         "train_factor_analysis: sample 57 holds NaN or Inf", ivkit::NonFiniteInput);
    t.init = FaInit::Random;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X, t), "train_factor_analysis: sample 57 holds NaN or Inf",
                         ivkit::NonFiniteInput);
    // A double sample too large for a float model.
    MatD big = sample_fa(p, 20, rng);
    big(4, 0) = 1e300;
    CHECK_THROWS_WITH_AS(fa.cast<float>().posterior(big), "FactorAnalysis::posterior: sample 4 overflows the model's scalar type",
                         ivkit::NonFiniteInput);
  }
  SUBCASE("training options and too little data") {
    FaTrainOptions t;
    t.rank = 0;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X, t), "train_factor_analysis: rank must be in [1, 3] for dimension 4, got 0",
                         ivkit::InvalidArgument);
    t.rank = 4;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X, t), "train_factor_analysis: rank must be in [1, 3] for dimension 4, got 4",
                         ivkit::InvalidArgument);
    t.rank = 2;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X.topRows(1), t),
                         "train_factor_analysis: at least 2 samples are needed, got 1", ivkit::InvalidArgument);
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis<FramesAsCols>(MatD(4, 0), t),
                         "train_factor_analysis: at least 2 samples are needed, got 0", ivkit::InvalidArgument);
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X.leftCols(1), t),
                         "train_factor_analysis: the samples have dimension 1; factor analysis needs at least 2",
                         ivkit::InvalidArgument);
    t.num_iterations = -1;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X, t), "train_factor_analysis: num_iterations must be >= 0, got -1",
                         ivkit::InvalidArgument);
    t.num_iterations = 3;
    t.variance_floor = 1.5;
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(X, t), "train_factor_analysis: variance_floor must be in [0, 1), got 1.5",
                         ivkit::InvalidArgument);
    t.variance_floor = 1e-3;
    MatD Xc = X;
    Xc.col(3).setConstant(2.0);
    CHECK_THROWS_WITH_AS(ivkit::train_factor_analysis(Xc, t),
                         "train_factor_analysis: the data have zero variance in dimension 3; factor analysis cannot be fitted",
                         ivkit::NumericalError);
    // Two samples are enough.
    CHECK_NOTHROW(ivkit::train_factor_analysis(X.topRows(2), t));
  }
}
