// The fitted transforms against their textbook definitions computed naively in double (moments and
// scatter matrices as loops, a Jacobi eigensolver, a written-out Cholesky), and their errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ivkit/backend/transforms.hpp"
#include "support/reference.hpp"
#include "transform_reference.hpp"

using tf_ref::Index;
using tf_ref::MatD;
using tf_ref::VecD;

namespace {

using ivkit_test::tol;

template <class S>
MatD linear_of(const ivkit::AffineTransform<S>& t) {
  return t.linear().template cast<double>();
}
template <class S>
VecD offset_of(const ivkit::AffineTransform<S>& t) {
  return t.offset().template cast<double>();
}

/// Checks that rows of `a` equal the columns of `v` up to sign; returns the largest difference.
double rows_match_up_to_sign(const MatD& a, const MatD& v) {
  double worst = 0.0;
  for (Index r = 0; r < a.rows(); ++r) {
    const double sign = a.row(r).dot(v.col(r)) >= 0 ? 1.0 : -1.0;
    worst = std::max(worst, (a.row(r).transpose() - sign * v.col(r)).cwiseAbs().maxCoeff() / v.col(r).cwiseAbs().maxCoeff());
  }
  return worst;
}

}  // namespace

TEST_CASE("the Jacobi reference solves a known eigenproblem") {
  const auto d = tf_ref::draw_classes(5, 3, 4, 6, 11);
  const MatD c = tf_ref::covariance(d.x);
  VecD s;
  MatD u;
  tf_ref::jacobi_eigen(c, s, u);
  CHECK(tf_ref::rel_diff(u * s.asDiagonal() * u.transpose(), c) < 1e-12);
  CHECK(tf_ref::rel_diff(u.transpose() * u, MatD::Identity(5, 5)) < 1e-12);
  for (Index i = 1; i < 5; ++i) CHECK(s(i) <= s(i - 1));
}

TEST_CASE_TEMPLATE("AffineTransform applies, composes and converts to Kaldi's [A | b]", S, float, double) {
  ivkit::Random rng(3);
  MatD a(3, 4), x(5, 4), a2(2, 3);
  VecD b(3), b2(2);
  for (Index i = 0; i < a.size(); ++i) a(i) = rng.normal();
  for (Index i = 0; i < x.size(); ++i) x(i) = rng.normal();
  for (Index i = 0; i < a2.size(); ++i) a2(i) = rng.normal();
  for (Index i = 0; i < 3; ++i) b(i) = rng.normal();
  for (Index i = 0; i < 2; ++i) b2(i) = rng.normal();
  const ivkit::AffineTransform<S> t(a, b), t2(a2, b2);
  CHECK(t.in_dim() == 4);
  CHECK(t.out_dim() == 3);
  CHECK_FALSE(t.is_translation());
  const ivkit::Matrix<S> xs = x.cast<S>();
  CHECK(tf_ref::rel_diff(t.apply(xs).template cast<double>(), tf_ref::affine(a, b, x)) < tol<S>(1e-5, 1e-14));
  // A column-major block expression of double data.
  MatD big = MatD::Zero(7, 6);
  big.block(1, 2, 5, 4) = x;
  CHECK(tf_ref::rel_diff(t.apply(big.block(1, 2, 5, 4)).template cast<double>(), tf_ref::affine(a, b, x)) < tol<S>(1e-5, 1e-14));
  const auto both = t.then(t2);
  CHECK(tf_ref::rel_diff(both.apply(xs).template cast<double>(), tf_ref::affine(a2, b2, tf_ref::affine(a, b, x))) < tol<S>(1e-5, 1e-13));
  const auto k = ivkit::AffineTransform<S>::from_kaldi_matrix(t.kaldi_matrix());
  CHECK(k.linear() == t.linear());
  CHECK(k.offset() == t.offset());
  CHECK(t.kaldi_matrix().col(4) == t.offset());
  const auto shift = ivkit::AffineTransform<S>::translation(b);
  CHECK(shift.is_translation());
  CHECK(tf_ref::rel_diff(shift.apply(x.leftCols(3)).template cast<double>(), tf_ref::affine(MatD::Identity(3, 3), b, x.leftCols(3))) <
        tol<S>(1e-6, 1e-15));

  CHECK_THROWS_WITH_AS(t.apply(x.leftCols(3)), "AffineTransform::apply: embeddings have dimension 3 (matrix 5 x 3) but the transform expects dimension 4",
                       ivkit::DimensionMismatch);
  MatD bad = x;
  bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(t.apply(bad), "AffineTransform::apply: embedding 2 holds NaN or Inf", ivkit::NonFiniteInput);
  if constexpr (std::is_same_v<S, float>) {
    bad(2, 1) = 1e300;
    CHECK_THROWS_WITH_AS(t.apply(bad), "AffineTransform::apply: embedding 2 overflows the transform's scalar type", ivkit::NonFiniteInput);
  }
  CHECK_THROWS_WITH_AS(t2.then(t), "AffineTransform::then: the first transform gives dimension 2 but the second expects dimension 4",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::AffineTransform<S>(a, b2), "AffineTransform: the linear part is 3 x 4 but the offset has 2 entries",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::AffineTransform<S>::from_kaldi_matrix(b), "AffineTransform::from_kaldi_matrix: a 3 x 1 matrix is not an affine transform [A | b]",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::AffineTransform<S>().apply(x), "AffineTransform::apply: the transform is empty", ivkit::InvalidArgument);
}

TEST_CASE_TEMPLATE("centring, PCA and whitening against a naive covariance and Jacobi", S, float, double) {
  const auto d = tf_ref::draw_classes(6, 6, 5, 9, 21, 0.7);
  const ivkit::Matrix<S> x = d.x.cast<S>();
  const MatD xd = x.template cast<double>();  // the data the fit sees
  const VecD mu = tf_ref::mean(xd);
  const MatD cov = tf_ref::covariance(xd);
  VecD s;
  MatD u;
  tf_ref::jacobi_eigen(cov, s, u);
  const double eps = tol<S>(2e-5, 1e-11);

  SUBCASE("centring") {
    ivkit::TransformFitInfo info;
    const auto c = ivkit::fit_centre(x, &info);
    CHECK(c.is_translation());
    CHECK(tf_ref::rel_diff(offset_of(c), -mu) < tol<S>(1e-6, 1e-14));
    CHECK(info.num_embeddings == x.rows());
  }
  SUBCASE("PCA keeps the top directions, decreasing, signed") {
    ivkit::TransformFitInfo info;
    ivkit::PcaOptions o;
    o.dim = 4;
    const auto p = ivkit::fit_pca(x, o, &info);
    CHECK(p.out_dim() == 4);
    CHECK(tf_ref::rel_diff(linear_of(p), u.leftCols(4).transpose()) < eps);
    CHECK(tf_ref::rel_diff(offset_of(p), -(u.leftCols(4).transpose() * mu)) < eps);
    CHECK(tf_ref::rel_diff(info.eigenvalues, s) < 1e-12);
    CHECK(info.rank == 6);
    // The outputs are uncorrelated with variances s_1..s_4.
    const MatD y = p.apply(x).template cast<double>();
    CHECK(tf_ref::rel_diff(tf_ref::covariance(y), MatD(s.head(4).asDiagonal())) < tol<S>(1e-5, 1e-12));
    CHECK(ivkit::fit_pca(x).out_dim() == 6);
  }
  SUBCASE("PCA whitening gives zero mean and identity covariance") {
    const auto w = ivkit::fit_whiten(x);
    CHECK(tf_ref::rel_diff(linear_of(w), s.cwiseSqrt().cwiseInverse().asDiagonal() * u.transpose()) < eps);
    const MatD y = w.apply(x).template cast<double>();
    CHECK(tf_ref::rel_diff(tf_ref::covariance(y), MatD::Identity(6, 6)) < tol<S>(1e-5, 1e-12));
    CHECK(tf_ref::mean(y).cwiseAbs().maxCoeff() < tol<S>(1e-5, 1e-12));
    ivkit::WhitenOptions o;
    o.dim = 3;
    const MatD y3 = ivkit::fit_whiten(x, o).apply(x).template cast<double>();
    CHECK(y3.cols() == 3);
    CHECK(tf_ref::rel_diff(tf_ref::covariance(y3), MatD::Identity(3, 3)) < tol<S>(1e-5, 1e-12));
    CHECK(tf_ref::rel_diff(y3, y.leftCols(3)) < tol<S>(1e-4, 1e-12));
  }
  SUBCASE("ZCA whitening is symmetric, C^-1/2") {
    ivkit::WhitenOptions o;
    o.mode = ivkit::WhitenMode::Zca;
    const auto w = ivkit::fit_whiten(x, o);
    const MatD a = linear_of(w);
    CHECK(tf_ref::rel_diff(a, a.transpose()) < tol<S>(1e-6, 1e-14));
    CHECK(tf_ref::rel_diff(a * cov * a, MatD::Identity(6, 6)) < tol<S>(1e-5, 1e-12));
    CHECK(tf_ref::rel_diff(a, u * s.cwiseSqrt().cwiseInverse().asDiagonal() * u.transpose()) < eps);
    const MatD y = w.apply(x).template cast<double>();
    CHECK(tf_ref::rel_diff(tf_ref::covariance(y), MatD::Identity(6, 6)) < tol<S>(1e-5, 1e-12));
  }
}

TEST_CASE("whitening and PCA: singular and zero covariances, options") {
  // 4 embeddings of dimension 6: the centred data have rank 3.
  const MatD x = tf_ref::draw_classes(6, 1, 4, 4, 5).x;
  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(x),
                       "fit_whiten: the covariance has rank 3 < 6 dimensions kept; keep fewer dimensions (dim) or set covariance_floor > 0",
                       ivkit::NumericalError);
  ivkit::WhitenOptions o;
  o.dim = 3;
  const MatD y = ivkit::fit_whiten(x, o).apply(x);
  CHECK(tf_ref::rel_diff(tf_ref::covariance(y), MatD::Identity(3, 3)) < 1e-9);
  o.dim = 0;
  o.covariance_floor = 1e-3;
  ivkit::TransformFitInfo info;
  const auto floored = ivkit::fit_whiten(x, o, &info);
  CHECK(info.num_floored == 3);
  CHECK(info.rank == 3);
  CHECK(floored.linear().allFinite());
  // The floored directions get variance s_i / (1e-3 s_1) < 1 instead of 1.
  const MatD cf = tf_ref::covariance(floored.apply(x));
  CHECK(std::abs(cf.trace() - 3.0) < 1e-6);

  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(MatD::Ones(5, 3)), "fit_whiten: the covariance is zero", ivkit::NumericalError);
  ivkit::WhitenOptions zca;
  zca.mode = ivkit::WhitenMode::Zca;
  zca.dim = 2;
  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(x, zca),
                       "fit_whiten: ZCA whitening keeps every dimension (dim 2 requested of 6); use PCA whitening to reduce the dimension",
                       ivkit::InvalidArgument);
  o = {};
  o.dim = 7;
  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(x, o), "fit_whiten: dim 7 requested but the embeddings have dimension 6", ivkit::InvalidArgument);
  o.dim = -1;
  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(x, o), "fit_whiten: dim must be >= 0, got -1", ivkit::InvalidArgument);
  o.dim = 0;
  o.covariance_floor = -1;
  CHECK_THROWS_WITH_AS(ivkit::fit_whiten(x, o), "fit_whiten: covariance_floor must be >= 0, got -1", ivkit::InvalidArgument);
  ivkit::PcaOptions p;
  p.dim = 9;
  CHECK_THROWS_WITH_AS(ivkit::fit_pca(x, p), "fit_pca: dim 9 requested but the embeddings have dimension 6", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::fit_pca(MatD(0, 4)), "fit_pca: no embeddings", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::fit_centre(MatD(3, 0)), "fit_centre: embeddings have dimension 0", ivkit::InvalidArgument);
  MatD bad = x;
  bad(3, 5) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(ivkit::fit_centre(bad), "fit_centre: embedding 3 holds NaN or Inf", ivkit::NonFiniteInput);
  CHECK_THROWS_WITH_AS(ivkit::fit_pca(bad), "fit_pca: embedding 3 holds NaN or Inf", ivkit::NonFiniteInput);
}

TEST_CASE_TEMPLATE("LDA solves S_b v = l S_w v with Kaldi's normalisation W S_w W^T = I", S, float, double) {
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 31);
  const ivkit::Matrix<S> x = d.x.cast<S>();
  const MatD xd = x.template cast<double>();
  const MatD sw = tf_ref::within(xd, d.labels, true), sb = tf_ref::between(xd, d.labels);
  // The generalised eigenproblem through the Cholesky factor of S_w: L^-1 S_b L^-T q = l q, v = L^-T q.
  const MatD li = tf_ref::lower_inverse(tf_ref::cholesky(sw));
  VecD l;
  MatD q;
  tf_ref::jacobi_eigen(li * sb * li.transpose(), l, q);
  const MatD v = li.transpose() * q;
  const double eps = tol<S>(1e-4, 1e-9);

  ivkit::TransformFitInfo info;
  const auto lda = ivkit::fit_lda(x, d.labels, {}, &info);
  CHECK(lda.out_dim() == 4);  // classes - 1
  CHECK(info.num_classes == 5);
  CHECK(info.num_embeddings == x.rows());
  CHECK(info.rank == 4);
  CHECK(info.num_floored == 0);
  const MatD w = linear_of(lda);
  CHECK(rows_match_up_to_sign(w, v.leftCols(4)) < eps);
  CHECK(tf_ref::rel_diff(info.eigenvalues.head(4), l.head(4)) < tol<S>(1e-5, 1e-11));
  CHECK(tf_ref::rel_diff(w * sw * w.transpose(), MatD::Identity(4, 4)) < tol<S>(1e-5, 1e-11));
  CHECK(tf_ref::rel_diff(w * sb * w.transpose(), MatD(l.head(4).asDiagonal())) < tol<S>(1e-4, 1e-10));
  CHECK(tf_ref::rel_diff(offset_of(lda), -(w * tf_ref::mean(xd))) < tol<S>(1e-5, 1e-11));
  for (Index r = 0; r < 4; ++r) {  // each row's largest entry is positive
    Index best = 0;
    w.row(r).cwiseAbs().maxCoeff(&best);
    CHECK(w(r, best) > 0);
  }
  // The transformed training data: zero mean, within-class covariance I, between-class diag(l).
  const MatD y = lda.apply(x).template cast<double>();
  CHECK(tf_ref::mean(y).cwiseAbs().maxCoeff() < tol<S>(1e-5, 1e-11));
  CHECK(tf_ref::rel_diff(tf_ref::within(y, d.labels, true), MatD::Identity(4, 4)) < tol<S>(1e-4, 1e-10));

  SUBCASE("fewer dimensions keep the leading directions") {
    ivkit::LdaOptions o;
    o.dim = 2;
    CHECK(tf_ref::rel_diff(linear_of(ivkit::fit_lda(x, d.labels, o)), w.topRows(2)) < tol<S>(1e-5, 1e-12));
  }
  SUBCASE("total_covariance_factor 1 normalises the total covariance") {
    ivkit::LdaOptions o;
    o.total_covariance_factor = 1.0;
    const MatD w1 = linear_of(ivkit::fit_lda(x, d.labels, o));
    CHECK(tf_ref::rel_diff(w1 * (sw + sb) * w1.transpose(), MatD::Identity(4, 4)) < tol<S>(1e-5, 1e-11));
    // Same directions, between-class variances l / (1 + l).
    CHECK(rows_match_up_to_sign(w1, v.leftCols(4) * (VecD::Ones(6) + l).cwiseSqrt().cwiseInverse().asDiagonal()) < eps);
  }
  SUBCASE("float and double fits agree") {
    const MatD wd = linear_of(ivkit::fit_lda(xd, d.labels));
    CHECK(tf_ref::rel_diff(w, wd) < tol<S>(1e-4, 1e-13));
  }
}

TEST_CASE("LDA: output dimension capped by classes - 1 and the rank, too little data, singular scatter") {
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 41);
  ivkit::LdaOptions o;
  o.dim = 7;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x, d.labels, o), "fit_lda: dim 7 requested but the embeddings have dimension 6", ivkit::InvalidArgument);
  o.dim = 5;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x, d.labels, o), "fit_lda: dim 5 requested but 5 classes give at most 4 discriminant directions",
                       ivkit::InvalidArgument);
  o.dim = -2;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x, d.labels, o), "fit_lda: dim must be >= 0, got -2", ivkit::InvalidArgument);
  o = {};
  o.total_covariance_factor = 1.5;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x, d.labels, o), "fit_lda: total_covariance_factor must be in [0, 1], got 1.5", ivkit::InvalidArgument);

  // Class means on a 2-D subspace: the between-class covariance has rank 2 < classes - 1.
  MatD x = d.x;
  {
    auto g = tf_ref::groups(d.labels);
    for (const auto& [label, rows] : g) {
      VecD m = VecD::Zero(6);
      for (Index r : rows) m += x.row(r).transpose();
      m /= static_cast<double>(rows.size());
      const double a = static_cast<double>(label % 3), b = static_cast<double>(label % 5);
      VecD target(6);
      target << a, b, a + b, 0, 0, 0;
      for (Index r : rows) x.row(r) += (target - m).transpose();
    }
  }
  ivkit::TransformFitInfo info;
  CHECK(ivkit::fit_lda(x, d.labels, {}, &info).out_dim() == 2);
  CHECK(info.rank == 2);
  o = {};
  o.dim = 3;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(x, d.labels, o), "fit_lda: dim 3 requested but the between-class covariance has rank 2", ivkit::InvalidArgument);

  // Too little data.
  const std::vector<Index> one_each{4, 8, 15, 16};
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x.topRows(4), one_each),
                       "fit_lda: every class has a single embedding (4 embeddings, 4 classes); the within-class covariance is zero",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x.topRows(4), std::vector<Index>(4, 9)), "fit_lda: the embeddings belong to 1 class; LDA needs at least 2",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(d.x.topRows(3), one_each), "fit_lda: 4 labels for 3 embeddings", ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(MatD(0, 6), std::vector<Index>{}), "fit_lda: no embeddings", ivkit::InvalidArgument);
  MatD bad = d.x;
  bad(7, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(bad, d.labels), "fit_lda: embedding 7 holds NaN or Inf", ivkit::NonFiniteInput);

  // All class means coincide.
  MatD sym(8, 2);
  sym << 1, 0, -1, 0, 0, 1, 0, -1, 2, 1, -2, -1, 1, -2, -1, 2;
  const std::vector<Index> two{0, 0, 0, 0, 1, 1, 1, 1};
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(sym, two), "fit_lda: the between-class covariance is zero (all class means coincide)", ivkit::NumericalError);

  // Singular within-class scatter: the last dimension is the sum of the first two.
  MatD dep = d.x;
  dep.col(5) = dep.col(0) + dep.col(1);
  o = {};
  o.covariance_floor = 0.0;
  CHECK_THROWS_WITH_AS(ivkit::fit_lda(dep, d.labels, o),
                       "fit_lda: the within-class covariance has rank 5 < 6 dimensions kept; set covariance_floor > 0 or reduce the dimension first (PCA)",
                       ivkit::NumericalError);
  // Kaldi's default floor (1e-6 of the largest eigenvalue) handles it; the null direction, which
  // carries no between-class variance either, is left out of the output.
  const auto floored = ivkit::fit_lda(dep, d.labels, {}, &info);
  CHECK(info.num_floored == 1);
  CHECK(floored.out_dim() == 4);
  const MatD wf = linear_of(floored);
  const MatD swd = tf_ref::within(dep, d.labels, true);
  CHECK(tf_ref::rel_diff(wf * swd * wf.transpose(), MatD::Identity(4, 4)) < 1e-6);
}

TEST_CASE_TEMPLATE("WCCN: B B^T = S_w^-1 with B lower triangular, transformed within-class covariance I", S, float, double) {
  auto d = tf_ref::draw_classes(5, 6, 3, 7, 51);
  // A class of one embedding: Hatch's per-class average leaves it out.
  MatD x(d.x.rows() + 1, 5);
  x << d.x, d.x.row(0) * 0.5;
  d.labels.push_back(999);
  const ivkit::Matrix<S> xs = x.cast<S>();
  const MatD xd = xs.template cast<double>();
  for (const bool pooled : {false, true}) {
    CAPTURE(pooled);
    ivkit::WccnOptions o;
    o.weighting = pooled ? ivkit::WccnWeighting::Pooled : ivkit::WccnWeighting::PerClass;
    ivkit::TransformFitInfo info;
    const auto t = ivkit::fit_wccn(xs, d.labels, o, &info);
    const MatD sw = tf_ref::within(xd, d.labels, pooled);
    const MatD b = linear_of(t).transpose();
    CHECK(offset_of(t).isZero(0.0));
    CHECK(b.isLowerTriangular(0.0));
    for (Index i = 0; i < 5; ++i) CHECK(b(i, i) > 0);
    // B is the Cholesky factor of S_w^-1 = L^-T L^-1 (L the Cholesky factor of S_w).
    const MatD li = tf_ref::lower_inverse(tf_ref::cholesky(sw));
    const MatD ref = tf_ref::cholesky(li.transpose() * li);
    CHECK(tf_ref::rel_diff(b, ref) < tol<S>(1e-5, 1e-11));
    CHECK(tf_ref::rel_diff(b.transpose() * sw * b, MatD::Identity(5, 5)) < tol<S>(1e-5, 1e-11));
    const MatD y = t.apply(xs).template cast<double>();
    CHECK(tf_ref::rel_diff(tf_ref::within(y, d.labels, pooled), MatD::Identity(5, 5)) < tol<S>(1e-4, 1e-11));
    CHECK(info.num_classes == 7);
    CHECK(info.rank == 5);
  }
}

TEST_CASE("WCCN errors: singular within-class covariance, one embedding per class") {
  auto d = tf_ref::draw_classes(4, 4, 3, 5, 61);
  MatD dep = d.x;
  dep.col(3) = dep.col(0);
  CHECK_THROWS_WITH_AS(
      ivkit::fit_wccn(dep, d.labels),
      "fit_wccn: the within-class covariance has rank 3 < 4 dimensions kept; set covariance_floor > 0 or reduce the dimension first (PCA or LDA)",
      ivkit::NumericalError);
  ivkit::WccnOptions o;
  o.covariance_floor = 1e-6;
  ivkit::TransformFitInfo info;
  CHECK(ivkit::fit_wccn(dep, d.labels, o, &info).linear().allFinite());
  CHECK(info.num_floored == 1);
  CHECK_THROWS_WITH_AS(ivkit::fit_wccn(d.x.topRows(3), std::vector<Index>{1, 2, 3}),
                       "fit_wccn: every class has a single embedding (3 embeddings, 3 classes); the within-class covariance is zero",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::fit_wccn(d.x, std::vector<Index>{1, 2}), doctest::Contains("fit_wccn: 2 labels for"), ivkit::DimensionMismatch);
}

TEST_CASE_TEMPLATE("length normalisation: unit or sqrt(D) norm, direction kept, zero vectors refused", S, float, double) {
  ivkit::Random rng(71);
  MatD x(6, 5);
  for (Index i = 0; i < x.size(); ++i) x(i) = rng.normal();
  x.row(4) *= 1e-30;  // squared norm underflows float
  x.row(5) *= 1e25;   // squared norm overflows float
  const ivkit::Matrix<S> xs = x.cast<S>();
  const MatD y = ivkit::normalise_length(xs).template cast<double>();
  ivkit::LengthNormOptions o;
  o.scale_to_sqrt_dim = true;
  const MatD z = ivkit::normalise_length(xs, o).template cast<double>();
  for (Index i = 0; i < 6; ++i) {
    CAPTURE(i);
    const VecD xi = xs.row(i).template cast<double>().transpose();
    const double n = std::sqrt(xi.dot(xi));
    CHECK(std::abs(y.row(i).norm() - 1.0) < tol<S>(1e-6, 1e-14));
    CHECK(std::abs(z.row(i).norm() - std::sqrt(5.0)) < tol<S>(1e-5, 1e-14));
    CHECK(tf_ref::rel_diff(y.row(i).transpose(), xi / n) < tol<S>(1e-6, 1e-15));
  }
  MatD zero = x.topRows(3);
  zero.row(1).setZero();
  CHECK_THROWS_WITH_AS(ivkit::normalise_length<S>(zero), "normalise_length: embedding 1 has zero length", ivkit::InvalidArgument);
  zero(2, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(ivkit::normalise_length<S>(zero), "normalise_length: embedding 2 holds NaN or Inf", ivkit::NonFiniteInput);
}
