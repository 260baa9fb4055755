/// @file
/// Naive double-precision references and small helpers shared by the tests.
///
/// Everything computed here is written as plain loops in double and never calls ivkit's
/// evaluation, accumulation or update code: the tests compare the library against these. Only
/// ivkit::Random (to draw data) and the models' parameter accessors are used.
#pragma once

#include <doctest/doctest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ivkit/core/layout.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"

namespace ivkit_test {

using Index = Eigen::Index;
using MatD = Eigen::MatrixXd;  ///< column-major double
using VecD = Eigen::VectorXd;
template <class Scalar>
using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class Scalar>
using ColMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// ---------------------------------------------------------------------------------------------
// Model parameters in double

struct DiagParams {
  VecD weights;  ///< (C)
  MatD means;    ///< (C x D)
  MatD vars;     ///< (C x D)
  Index num_components() const { return weights.size(); }
  Index dim() const { return means.cols(); }
};

struct FullParams {
  VecD weights;            ///< (C)
  MatD means;              ///< (C x D)
  std::vector<MatD> covs;  ///< C of (D x D)
  Index num_components() const { return weights.size(); }
  Index dim() const { return means.cols(); }
};

template <class Scalar>
DiagParams params_of(const ivkit::DiagGmm<Scalar>& g) {
  return {g.weights().template cast<double>(), g.means().template cast<double>(), g.variances().template cast<double>()};
}

template <class Scalar>
FullParams params_of(const ivkit::FullGmm<Scalar>& g) {
  FullParams p{g.weights().template cast<double>(), g.means().template cast<double>(), {}};
  for (const auto& S : g.covariances()) p.covs.push_back(S.template cast<double>());
  return p;
}

template <class Scalar>
ivkit::DiagGmm<Scalar> make_diag(const DiagParams& p) {
  return ivkit::DiagGmm<Scalar>(p.weights.cast<Scalar>(), p.means.cast<Scalar>(), p.vars.cast<Scalar>());
}

template <class Scalar>
ivkit::FullGmm<Scalar> make_full(const FullParams& p) {
  std::vector<ivkit::ColMatrix<Scalar>> covs;
  for (const auto& S : p.covs) covs.push_back(S.cast<Scalar>());
  return ivkit::FullGmm<Scalar>(p.weights.cast<Scalar>(), p.means.cast<Scalar>(), std::move(covs));
}

/// Random diagonal model: means uniform in [offset - spread, offset + spread], variances uniform
/// in [var_lo, var_hi], weights uniform in [0.5, 1.5] normalised.
inline DiagParams random_diag_params(Index C, Index D, ivkit::Random& rng, double spread = 3.0, double offset = 0.0,
                                     double var_lo = 0.5, double var_hi = 2.0) {
  DiagParams p{VecD(C), MatD(C, D), MatD(C, D)};
  for (Index c = 0; c < C; ++c) {
    p.weights(c) = 0.5 + rng.uniform();
    for (Index d = 0; d < D; ++d) {
      p.means(c, d) = offset + spread * (2.0 * rng.uniform() - 1.0);
      p.vars(c, d) = var_lo + (var_hi - var_lo) * rng.uniform();
    }
  }
  p.weights /= p.weights.sum();
  return p;
}

/// Random full-covariance model: covariances A A^T / D + 0.3 I with A standard normal.
inline FullParams random_full_params(Index C, Index D, ivkit::Random& rng, double spread = 3.0, double offset = 0.0) {
  const DiagParams d = random_diag_params(C, D, rng, spread, offset);
  FullParams p{d.weights, d.means, {}};
  for (Index c = 0; c < C; ++c) {
    MatD A(D, D);
    for (Index i = 0; i < D; ++i)
      for (Index j = 0; j < D; ++j) A(i, j) = rng.normal();
    MatD S(D, D);
    for (Index i = 0; i < D; ++i)
      for (Index j = 0; j < D; ++j) {
        double s = 0.0;
        for (Index k = 0; k < D; ++k) s += A(i, k) * A(j, k);
        S(i, j) = s / static_cast<double>(D) + (i == j ? 0.3 : 0.0);
      }
    p.covs.push_back(S);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Naive linear algebra

/// Lower Cholesky factor of a symmetric matrix; returns false if it is not positive definite.
inline bool naive_cholesky(const MatD& S, MatD& L) {
  const Index D = S.rows();
  L = MatD::Zero(D, D);
  for (Index j = 0; j < D; ++j) {
    double s = S(j, j);
    for (Index k = 0; k < j; ++k) s -= L(j, k) * L(j, k);
    if (!(s > 0.0)) return false;
    L(j, j) = std::sqrt(s);
    for (Index i = j + 1; i < D; ++i) {
      double t = S(i, j);
      for (Index k = 0; k < j; ++k) t -= L(i, k) * L(j, k);
      L(i, j) = t / L(j, j);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Log-densities, posteriors

/// The Cholesky factor L (S = L L^T) of a positive definite matrix; fails the test otherwise.
inline MatD naive_cholesky_factor(const MatD& S) {
  MatD L;
  REQUIRE(naive_cholesky(S, L));
  return L;
}

/// log N(x; mean, cov) with a full covariance: forward substitution with the naive Cholesky factor.
inline double naive_log_gauss(const VecD& x, const VecD& mean, const MatD& cov) {
  const MatD l = naive_cholesky_factor(cov);
  VecD z = x - mean;
  for (Index i = 0; i < z.size(); ++i) {
    for (Index k = 0; k < i; ++k) z(i) -= l(i, k) * z(k);
    z(i) /= l(i, i);
  }
  double logdet = 0;
  for (Index i = 0; i < z.size(); ++i) logdet += 2 * std::log(l(i, i));
  return -0.5 * (static_cast<double>(z.size()) * std::log(2.0 * M_PI) + logdet + z.squaredNorm());
}

/// log N(x; mean, diag(var)), all in double, one frame.
inline double naive_diag_log_gauss(const double* x, const double* mean, const double* var, Index D) {
  double s = 0.0;
  for (Index d = 0; d < D; ++d) {
    const double z = x[d] - mean[d];
    s += std::log(2.0 * M_PI * var[d]) + z * z / var[d];
  }
  return -0.5 * s;
}

/// (N x C) log w_c + log N(x_t; mu_c, diag(var_c)) for frames X (N x D).
inline MatD naive_diag_loglikes(const DiagParams& p, const MatD& X) {
  const Index N = X.rows(), C = p.num_components(), D = p.dim();
  MatD out(N, C);
  // Per-component constant log w_c - 0.5 sum_d log(2 pi var_cd), then the quadratic term per frame.
  VecD base(C);
  for (Index c = 0; c < C; ++c) {
    double s = std::log(p.weights(c));
    for (Index d = 0; d < D; ++d) s -= 0.5 * std::log(2.0 * M_PI * p.vars(c, d));
    base(c) = s;
  }
  for (Index c = 0; c < C; ++c)
    for (Index t = 0; t < N; ++t) {
      double q = 0.0;
      for (Index d = 0; d < D; ++d) {
        const double z = X(t, d) - p.means(c, d);
        q += z * z / p.vars(c, d);
      }
      out(t, c) = base(c) - 0.5 * q;
    }
  return out;
}

/// (N x C) log w_c + log N(x_t; mu_c, S_c) for frames X (N x D), via a naive Cholesky solve.
inline MatD naive_full_loglikes(const FullParams& p, const MatD& X) {
  const Index N = X.rows(), C = p.num_components(), D = p.dim();
  MatD out(N, C);
  std::vector<double> z(static_cast<std::size_t>(D));
  for (Index c = 0; c < C; ++c) {
    MatD L;
    if (!naive_cholesky(p.covs[static_cast<std::size_t>(c)], L)) throw std::runtime_error("naive_full_loglikes: not PD");
    double log_det = 0.0;
    for (Index d = 0; d < D; ++d) log_det += 2.0 * std::log(L(d, d));
    const double base = std::log(p.weights(c)) - 0.5 * (static_cast<double>(D) * std::log(2.0 * M_PI) + log_det);
    for (Index t = 0; t < N; ++t) {
      // Forward substitution: L z = x - mu; the quadratic form is |z|^2.
      double q = 0.0;
      for (Index i = 0; i < D; ++i) {
        double s = X(t, i) - p.means(c, i);
        for (Index k = 0; k < i; ++k) s -= L(i, k) * z[static_cast<std::size_t>(k)];
        z[static_cast<std::size_t>(i)] = s / L(i, i);
        q += z[static_cast<std::size_t>(i)] * z[static_cast<std::size_t>(i)];
      }
      out(t, c) = base - 0.5 * q;
    }
  }
  return out;
}

/// log sum_c exp(ll(t, c)) per row.
inline VecD naive_log_sum_exp_rows(const MatD& ll) {
  VecD out(ll.rows());
  for (Index t = 0; t < ll.rows(); ++t) {
    double m = -std::numeric_limits<double>::infinity();
    for (Index c = 0; c < ll.cols(); ++c) m = std::max(m, ll(t, c));
    double s = 0.0;
    for (Index c = 0; c < ll.cols(); ++c) s += std::exp(ll(t, c) - m);
    out(t) = m + std::log(s);
  }
  return out;
}

/// Dense posteriors from per-component log-likelihoods (N x C).
inline MatD naive_posteriors(const MatD& ll) {
  const VecD lse = naive_log_sum_exp_rows(ll);
  MatD post(ll.rows(), ll.cols());
  for (Index t = 0; t < ll.rows(); ++t)
    for (Index c = 0; c < ll.cols(); ++c) post(t, c) = std::exp(ll(t, c) - lse(t));
  return post;
}

/// Kaldi's top-N rule on dense posteriors (N x C): per frame keep the n largest posteriors
/// (ties: lower index first), drop those below min_post but always keep the best, renormalise.
/// Returns an (N x C) matrix with zeros where entries were dropped.
inline MatD naive_top_n(const MatD& post, Index n, double min_post) {
  const Index N = post.rows(), C = post.cols();
  MatD out = MatD::Zero(N, C);
  std::vector<Index> order(static_cast<std::size_t>(C));
  for (Index t = 0; t < N; ++t) {
    std::iota(order.begin(), order.end(), Index{0});
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return post(t, a) > post(t, b); });
    Index m = std::min(n, C);
    while (m > 1 && post(t, order[static_cast<std::size_t>(m - 1)]) < min_post) --m;
    double total = 0.0;
    for (Index k = 0; k < m; ++k) total += post(t, order[static_cast<std::size_t>(k)]);
    for (Index k = 0; k < m; ++k) {
      const Index c = order[static_cast<std::size_t>(k)];
      out(t, c) = post(t, c) / total;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// EM statistics and M-step

/// Statistics as ivkit::EmAccumulator defines them, centred on `center`:
/// occupancy_c = sum_t g_tc, first_c = sum_t g_tc (x_t - o), second_c = sum_t g_tc (x_t - o)^2
/// (diagonal) or the upper triangle of (x_t - o)(x_t - o)^T row by row (full).
struct NaiveStats {
  VecD centre;
  VecD occupancy;
  MatD first;
  MatD second;
  double log_likelihood = 0.0;
  double num_frames = 0.0;
};

inline Index packed_dim(Index D) { return D * (D + 1) / 2; }

/// post (N x C), X (N x D); frame_loglik (N) may be empty (then log_likelihood stays 0).
inline NaiveStats naive_em_stats(const MatD& post, const MatD& X, const VecD& center, bool full,
                                 const VecD& frame_loglik = VecD()) {
  const Index N = X.rows(), C = post.cols(), D = X.cols();
  NaiveStats s;
  s.centre = center;
  s.occupancy = VecD::Zero(C);
  s.first = MatD::Zero(C, D);
  s.second = MatD::Zero(C, full ? packed_dim(D) : D);
  s.num_frames = static_cast<double>(N);
  for (Index t = 0; t < N; ++t) {
    if (frame_loglik.size() == N) s.log_likelihood += frame_loglik(t);
    for (Index c = 0; c < C; ++c) {
      const double g = post(t, c);
      s.occupancy(c) += g;
      Index k = 0;
      for (Index i = 0; i < D; ++i) {
        const double yi = X(t, i) - center(i);
        s.first(c, i) += g * yi;
        if (full) {
          for (Index j = i; j < D; ++j) s.second(c, k++) += g * yi * (X(t, j) - center(j));
        } else {
          s.second(c, i) += g * yi * yi;
        }
      }
    }
  }
  return s;
}

/// Unpacks row c of full second-order statistics into a symmetric (D x D) matrix.
inline MatD unpack_symmetric(const MatD& packed, Index c, Index D) {
  MatD S(D, D);
  Index k = 0;
  for (Index i = 0; i < D; ++i)
    for (Index j = i; j < D; ++j, ++k) S(i, j) = S(j, i) = packed(c, k);
  return S;
}

/// Plain maximum-likelihood M-step, no floors, no pruning.
inline DiagParams naive_diag_mstep(const NaiveStats& s) {
  const Index C = s.occupancy.size(), D = s.first.cols();
  double tot = 0.0;
  for (Index c = 0; c < C; ++c) tot += s.occupancy(c);
  DiagParams p{VecD(C), MatD(C, D), MatD(C, D)};
  for (Index c = 0; c < C; ++c) {
    const double occ = s.occupancy(c);
    p.weights(c) = occ / tot;
    for (Index d = 0; d < D; ++d) {
      const double m = s.first(c, d) / occ;
      p.means(c, d) = s.centre(d) + m;
      p.vars(c, d) = s.second(c, d) / occ - m * m;
    }
  }
  return p;
}

inline FullParams naive_full_mstep(const NaiveStats& s) {
  const Index C = s.occupancy.size(), D = s.first.cols();
  double tot = 0.0;
  for (Index c = 0; c < C; ++c) tot += s.occupancy(c);
  FullParams p{VecD(C), MatD(C, D), {}};
  for (Index c = 0; c < C; ++c) {
    const double occ = s.occupancy(c);
    p.weights(c) = occ / tot;
    MatD S = unpack_symmetric(s.second, c, D);
    for (Index i = 0; i < D; ++i) {
      p.means(c, i) = s.centre(i) + s.first(c, i) / occ;
      for (Index j = 0; j < D; ++j) S(i, j) = S(i, j) / occ - (s.first(c, i) / occ) * (s.first(c, j) / occ);
    }
    p.covs.push_back(S);
  }
  return p;
}

/// Per-dimension variance of all the data pooled, from statistics (what the variance floor is
/// relative to).
inline VecD naive_global_variance(const NaiveStats& s, bool full) {
  const Index C = s.occupancy.size(), D = s.first.cols();
  double tot = 0.0;
  for (Index c = 0; c < C; ++c) tot += s.occupancy(c);
  VecD var(D);
  for (Index d = 0; d < D; ++d) {
    double m = 0.0, sq = 0.0;
    for (Index c = 0; c < C; ++c) {
      m += s.first(c, d);
      sq += full ? unpack_symmetric(s.second, c, D)(d, d) : s.second(c, d);
    }
    m /= tot;
    var(d) = sq / tot - m * m;
  }
  return var;
}

// ---------------------------------------------------------------------------------------------
// Data

/// Draws n frames (n x D) from a diagonal GMM; labels (if not null) receive the components.
inline MatD sample_diag_gmm(const DiagParams& p, Index n, ivkit::Random& rng, std::vector<Index>* labels = nullptr) {
  const Index C = p.num_components(), D = p.dim();
  VecD cdf(C);
  double acc = 0.0;
  for (Index c = 0; c < C; ++c) cdf(c) = (acc += p.weights(c));
  MatD X(n, D);
  if (labels) labels->assign(static_cast<std::size_t>(n), 0);
  for (Index t = 0; t < n; ++t) {
    const double u = rng.uniform() * acc;
    Index c = 0;
    while (c < C - 1 && !(u < cdf(c))) ++c;
    for (Index d = 0; d < D; ++d) X(t, d) = p.means(c, d) + std::sqrt(p.vars(c, d)) * rng.normal();
    if (labels) (*labels)[static_cast<std::size_t>(t)] = c;
  }
  return X;
}

// ---------------------------------------------------------------------------------------------
// Assignment

// ---------------------------------------------------------------------------------------------
// Comparison helpers

/// max |a - b| over all entries (shapes must agree; returns +inf if they do not).
template <class A, class B>
double max_abs_diff(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  double m = 0.0;
  for (Index i = 0; i < a.rows(); ++i)
    for (Index j = 0; j < a.cols(); ++j)
      m = std::max(m, std::abs(static_cast<double>(a(i, j)) - static_cast<double>(b(i, j))));
  return m;
}

/// max |a - b| / max(1, max |b|): an error relative to the size of the reference.
template <class A, class B>
double scaled_diff(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  double scale = 1.0;
  for (Index i = 0; i < b.rows(); ++i)
    for (Index j = 0; j < b.cols(); ++j) scale = std::max(scale, std::abs(static_cast<double>(b(i, j))));
  return max_abs_diff(a, b) / scale;
}

/// Runs fn(layout_tag, frames) in four SUBCASEs: FramesAsRows (N x D) and FramesAsCols (D x N),
/// each in row-major and column-major storage, with the frames X (N x D) cast to Scalar.
/// Call it at most once per test case run (the SUBCASE names are fixed).
template <class Scalar, class Fn>
void for_each_layout(const MatD& X, Fn&& fn) {
  SUBCASE("FramesAsRows, row-major") {
    const RowMajor<Scalar> m = X.cast<Scalar>();
    fn(ivkit::FramesAsRows{}, m);
  }
  SUBCASE("FramesAsRows, column-major") {
    const ColMajor<Scalar> m = X.cast<Scalar>();
    fn(ivkit::FramesAsRows{}, m);
  }
  SUBCASE("FramesAsCols, row-major") {
    const RowMajor<Scalar> m = X.transpose().cast<Scalar>();
    fn(ivkit::FramesAsCols{}, m);
  }
  SUBCASE("FramesAsCols, column-major") {
    const ColMajor<Scalar> m = X.transpose().cast<Scalar>();
    fn(ivkit::FramesAsCols{}, m);
  }
}

/// Per-scalar tolerance: the float value for float, the double value for double.
template <class Scalar>
constexpr double tol(double float_tol, double double_tol) {
  return std::is_same_v<Scalar, float> ? float_tol : double_tol;
}

}  // namespace ivkit_test
