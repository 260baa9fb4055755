/// @file
/// Naive double-precision references for the embedding transforms: moments and scatter matrices as
/// plain loops, a cyclic Jacobi eigensolver and a Cholesky factorisation written out (no Eigen
/// decompositions), and labelled data drawn from a known class model.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "ivkit/core/random.hpp"

namespace tf_ref {

using Index = Eigen::Index;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

struct Labelled {
  MatD x;                     ///< N x D, one embedding per row
  std::vector<Index> labels;  ///< arbitrary integers, rows of a class scattered
};

/// K classes of n_min..n_max embeddings: x = m_k + L e with e ~ N(0, I), class means
/// m_k = c + diag(1..D) * spread * z_k with z_k ~ N(0, I), L lower triangular (diagonal 0.5..1.5).
/// Rows are shuffled; class k has label 100 + 7 k.
inline Labelled draw_classes(Index D, Index K, Index n_min, Index n_max, std::uint64_t seed, double spread = 1.0) {
  ivkit::Random rng(seed);
  MatD L = MatD::Zero(D, D);
  for (Index i = 0; i < D; ++i) {
    for (Index j = 0; j < i; ++j) L(i, j) = 0.5 * rng.normal();
    L(i, i) = 0.5 + rng.uniform();
  }
  VecD c(D);
  for (Index d = 0; d < D; ++d) c(d) = 3.0 * rng.normal();
  std::vector<std::pair<Index, VecD>> rows;
  for (Index k = 0; k < K; ++k) {
    VecD m(D);
    for (Index d = 0; d < D; ++d) m(d) = c(d) + spread * static_cast<double>(d + 1) * rng.normal();
    const Index n = n_min + static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(n_max - n_min + 1)));
    for (Index i = 0; i < n; ++i) {
      VecD e(D);
      for (Index d = 0; d < D; ++d) e(d) = rng.normal();
      rows.emplace_back(100 + 7 * k, m + L * e);
    }
  }
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.uniform_index(i)]);
  Labelled out{MatD(static_cast<Index>(rows.size()), D), {}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.x.row(static_cast<Index>(i)) = rows[i].second.transpose();
    out.labels.push_back(rows[i].first);
  }
  return out;
}

inline VecD mean(const MatD& x) {
  VecD m = VecD::Zero(x.cols());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index d = 0; d < x.cols(); ++d) m(d) += x(i, d);
  return m / static_cast<double>(x.rows());
}

/// (1/N) sum_i (x_i - mu)(x_i - mu)^T.
inline MatD covariance(const MatD& x) {
  const VecD m = mean(x);
  const Index D = x.cols();
  MatD c = MatD::Zero(D, D);
  for (Index i = 0; i < x.rows(); ++i)
    for (Index a = 0; a < D; ++a)
      for (Index b = 0; b < D; ++b) c(a, b) += (x(i, a) - m(a)) * (x(i, b) - m(b));
  return c / static_cast<double>(x.rows());
}

/// Rows of each label, in order.
inline std::map<Index, std::vector<Index>> groups(const std::vector<Index>& labels) {
  std::map<Index, std::vector<Index>> g;
  for (std::size_t i = 0; i < labels.size(); ++i) g[labels[i]].push_back(static_cast<Index>(i));
  return g;
}

/// Within-class covariance. pooled: (1/N) sum over every row of (x - m_class)(x - m_class)^T.
/// Otherwise Hatch's average of the per-class covariances (1/n_k) sum (x - m_k)(x - m_k)^T over the
/// classes of two or more rows.
inline MatD within(const MatD& x, const std::vector<Index>& labels, bool pooled) {
  const Index D = x.cols();
  MatD w = MatD::Zero(D, D);
  Index used = 0;
  for (const auto& [label, rows] : groups(labels)) {
    VecD m = VecD::Zero(D);
    for (Index r : rows) m += x.row(r).transpose();
    m /= static_cast<double>(rows.size());
    MatD s = MatD::Zero(D, D);
    for (Index r : rows)
      for (Index a = 0; a < D; ++a)
        for (Index b = 0; b < D; ++b) s(a, b) += (x(r, a) - m(a)) * (x(r, b) - m(b));
    if (pooled) {
      w += s;
    } else if (rows.size() >= 2) {
      w += s / static_cast<double>(rows.size());
      ++used;
    }
  }
  return pooled ? MatD(w / static_cast<double>(x.rows())) : MatD(w / static_cast<double>(used));
}

/// Between-class covariance (1/N) sum_k n_k (m_k - mu)(m_k - mu)^T.
inline MatD between(const MatD& x, const std::vector<Index>& labels) {
  const Index D = x.cols();
  const VecD mu = mean(x);
  MatD b = MatD::Zero(D, D);
  for (const auto& [label, rows] : groups(labels)) {
    VecD m = VecD::Zero(D);
    for (Index r : rows) m += x.row(r).transpose();
    m /= static_cast<double>(rows.size());
    for (Index a = 0; a < D; ++a)
      for (Index c = 0; c < D; ++c) b(a, c) += static_cast<double>(rows.size()) * (m(a) - mu(a)) * (m(c) - mu(c));
  }
  return b / static_cast<double>(x.rows());
}

/// Makes the largest-magnitude entry of each column positive.
inline void sign_columns(MatD& v) {
  for (Index c = 0; c < v.cols(); ++c) {
    Index best = 0;
    for (Index r = 1; r < v.rows(); ++r)
      if (std::abs(v(r, c)) > std::abs(v(best, c))) best = r;
    if (v(best, c) < 0) v.col(c) *= -1.0;
  }
}

/// Cyclic Jacobi: a symmetric -> eigenvalues (decreasing) and unit eigenvectors (columns, signed by
/// sign_columns).
inline void jacobi_eigen(MatD a, VecD& values, MatD& vectors) {
  const Index n = a.rows();
  MatD v = MatD::Identity(n, n);
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0, total = 0.0;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) (i == j ? total : off) += a(i, j) * a(i, j);
    if (off <= 1e-30 * (total + off)) break;
    for (Index p = 0; p < n; ++p)
      for (Index q = p + 1; q < n; ++q) {
        if (a(p, q) == 0.0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2.0 * a(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (Index k = 0; k < n; ++k) {
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * akq;
          a(k, q) = s * akp + c * akq;
        }
        for (Index k = 0; k < n; ++k) {
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * aqk;
          a(q, k) = s * apk + c * aqk;
        }
        for (Index k = 0; k < n; ++k) {
          const double vkp = v(k, p), vkq = v(k, q);
          v(k, p) = c * vkp - s * vkq;
          v(k, q) = s * vkp + c * vkq;
        }
      }
  }
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index i, Index j) { return a(i, i) > a(j, j); });
  values.resize(n);
  vectors.resize(n, n);
  for (Index k = 0; k < n; ++k) {
    values(k) = a(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(k)]);
    vectors.col(k) = v.col(order[static_cast<std::size_t>(k)]);
  }
  sign_columns(vectors);
}

/// Lower Cholesky factor (the matrix must be positive definite).
inline MatD cholesky(const MatD& s) {
  const Index n = s.rows();
  MatD l = MatD::Zero(n, n);
  for (Index j = 0; j < n; ++j) {
    double d = s(j, j);
    for (Index k = 0; k < j; ++k) d -= l(j, k) * l(j, k);
    l(j, j) = std::sqrt(d);
    for (Index i = j + 1; i < n; ++i) {
      double t = s(i, j);
      for (Index k = 0; k < j; ++k) t -= l(i, k) * l(j, k);
      l(i, j) = t / l(j, j);
    }
  }
  return l;
}

/// Inverse of a lower-triangular matrix by forward substitution.
inline MatD lower_inverse(const MatD& l) {
  const Index n = l.rows();
  MatD inv = MatD::Zero(n, n);
  for (Index c = 0; c < n; ++c)
    for (Index i = c; i < n; ++i) {
      double t = i == c ? 1.0 : 0.0;
      for (Index k = c; k < i; ++k) t -= l(i, k) * inv(k, c);
      inv(i, c) = t / l(i, i);
    }
  return inv;
}

/// y_i = A x_i + b for every row, as loops.
inline MatD affine(const MatD& a, const VecD& b, const MatD& x) {
  MatD y(x.rows(), a.rows());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index r = 0; r < a.rows(); ++r) {
      double s = b(r);
      for (Index c = 0; c < a.cols(); ++c) s += a(r, c) * x(i, c);
      y(i, r) = s;
    }
  return y;
}

/// max |a - b| / max(1, max |b|).
inline double rel_diff(const MatD& a, const MatD& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  double scale = 1.0;
  for (Index i = 0; i < b.size(); ++i) scale = std::max(scale, std::abs(b(i)));
  double m = 0.0;
  for (Index i = 0; i < b.size(); ++i) m = std::max(m, std::abs(a(i) - b(i)));
  return m / scale;
}

}  // namespace tf_ref
