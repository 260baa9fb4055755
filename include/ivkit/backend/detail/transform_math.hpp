/// @file
/// Internals of the embedding transforms (ivkit/backend/transforms.hpp): input checks, moments and
/// scatter matrices accumulated in double in blocks of rows, sorted eigendecompositions with a sign
/// convention, and the eigenvalue floor. Everything here works on embeddings stored one per row.
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {
namespace detail {

/// Eigenvalues at or below this fraction of the largest count as zero (numerical rank). Far above
/// the rounding error of a covariance accumulated and decomposed in double (~1e-16 relative), far
/// below any conditioning a float back-end can use.
inline constexpr double kTransformRankTolerance = 1e-10;

/// Rows per block when statistics are accumulated (the block is converted to double and centred).
inline constexpr Index kTransformBlockRows = 256;

/// Resolves the scalar of a fitted transform: S if given, else the data's own scalar.
template <class S, class DataScalar>
using transform_scalar_t = std::conditional_t<std::is_void_v<S>, DataScalar, S>;

/// Throws NonFiniteInput naming the first row of `x` holding NaN or Inf; when `x` is double and the
/// target scalar S is float, also the first row that overflows float. One vectorised pass when all
/// is well (x * 0 sums to exactly 0 when every entry is finite, to NaN otherwise).
template <class S, class Derived>
void transform_check_finite(const char* fn, const Eigen::MatrixBase<Derived>& x) {
  using In = typename Derived::Scalar;
  if (x.size() == 0) return;
  if ((x.array() * In(0)).sum() == In(0)) {
    if constexpr (sizeof(S) >= sizeof(In)) {
      return;
    } else {
      if ((x.template cast<S>().array() * S(0)).sum() == S(0)) return;
    }
  }
  for (Index i = 0; i < x.rows(); ++i) {
    if (!x.row(i).allFinite()) throw NonFiniteInput(message(fn, ": embedding ", i, " holds NaN or Inf"));
    if (!x.row(i).template cast<S>().allFinite())
      throw NonFiniteInput(message(fn, ": embedding ", i, " overflows the transform's scalar type"));
  }
}

/// Checks a training set (non-empty, non-zero dimension, finite) and returns its mean in double.
template <class Derived>
Vector<double> transform_mean(const char* fn, const Eigen::MatrixBase<Derived>& x) {
  if (x.rows() == 0) throw InvalidArgument(message(fn, ": no embeddings"));
  if (x.cols() == 0) throw InvalidArgument(message(fn, ": embeddings have dimension 0"));
  transform_check_finite<double>(fn, x);
  Vector<double> sum = Vector<double>::Zero(x.cols());
  for (Index b = 0; b < x.rows(); b += kTransformBlockRows) {
    const Index n = std::min(kTransformBlockRows, x.rows() - b);
    sum += x.middleRows(b, n).template cast<double>().colwise().sum().transpose();
  }
  return sum / static_cast<double>(x.rows());
}

/// Scatter sum_i w_i (x_i - c_i)(x_i - c_i)^T in double (D x D, symmetric), where c_i is row
/// `of_row[i]` of `centres` (row 0 for every i when `of_row` is null) and w_i is
/// `weights[of_row[i]]` (1 when `weights` is null). Blocks of rows are centred, scaled by sqrt(w)
/// and added with one rank update each.
template <class Derived>
ColMatrix<double> transform_scatter(const Eigen::MatrixBase<Derived>& x, const Matrix<double>& centres,
                                    const std::vector<Index>* of_row, const std::vector<double>* weights) {
  const Index D = x.cols();
  ColMatrix<double> scatter = ColMatrix<double>::Zero(D, D);
  ColMatrix<double> block;
  for (Index b = 0; b < x.rows(); b += kTransformBlockRows) {
    const Index n = std::min(kTransformBlockRows, x.rows() - b);
    block = x.middleRows(b, n).template cast<double>();
    if (!of_row) {
      block.rowwise() -= centres.row(0);
    } else {
      for (Index r = 0; r < n; ++r) {
        const auto k = static_cast<std::size_t>((*of_row)[static_cast<std::size_t>(b + r)]);
        block.row(r) -= centres.row(static_cast<Index>(k));
        if (weights) block.row(r) *= std::sqrt((*weights)[k]);
      }
    }
    scatter.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  }
  return scatter.selfadjointView<Eigen::Lower>();
}

/// Per-class means (K x D, double) of rows labelled 0..K-1 by `of_row`.
template <class Derived>
Matrix<double> transform_class_means(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& of_row,
                                     const std::vector<Index>& counts) {
  const Index K = static_cast<Index>(counts.size());
  Matrix<double> means = Matrix<double>::Zero(K, x.cols());
  for (Index i = 0; i < x.rows(); ++i) means.row(of_row[static_cast<std::size_t>(i)]) += x.row(i).template cast<double>();
  for (Index k = 0; k < K; ++k) means.row(k) /= static_cast<double>(counts[static_cast<std::size_t>(k)]);
  return means;
}

/// Makes the entry of largest magnitude of every row of `a` positive (the first such entry on ties):
/// eigenvectors are defined up to sign, and this makes fitted transforms reproducible.
inline void transform_fix_row_signs(ColMatrix<double>& a) {
  for (Index r = 0; r < a.rows(); ++r) {
    Index best = 0;
    for (Index c = 1; c < a.cols(); ++c)
      if (std::abs(a(r, c)) > std::abs(a(r, best))) best = c;
    if (a(r, best) < 0) a.row(r) *= -1.0;
  }
}

/// Eigendecomposition of a symmetric matrix with the eigenvalues in decreasing order (Kaldi's
/// SortSvd); the columns of `vectors` are the matching unit eigenvectors, each signed so that its
/// entry of largest magnitude is positive.
struct SortedEigen {
  Vector<double> values;
  ColMatrix<double> vectors;
};

inline SortedEigen transform_sorted_eigen(const char* fn, const ColMatrix<double>& m) {
  const ColMatrix<double> sym = 0.5 * (m + m.transpose());
  Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(sym);
  if (eig.info() != Eigen::Success) throw NumericalError(message(fn, ": the eigendecomposition did not converge"));
  SortedEigen e{eig.eigenvalues().reverse(), eig.eigenvectors().rowwise().reverse()};
  e.vectors.transposeInPlace();
  transform_fix_row_signs(e.vectors);
  e.vectors.transposeInPlace();
  return e;
}

/// Number of eigenvalues (sorted decreasing) above kTransformRankTolerance times the largest.
inline Index transform_rank(const Vector<double>& sorted) {
  if (sorted.size() == 0 || !(sorted(0) > 0.0)) return 0;
  Index r = 0;
  while (r < sorted.size() && sorted(r) > kTransformRankTolerance * sorted(0)) ++r;
  return r;
}

/// Prepares the eigenvalues `s` (sorted decreasing) of a covariance whose first `keep` eigenvalues
/// are about to be inverted. With floor > 0 (Kaldi's --covariance-floor), those below floor * largest
/// are raised to it; returns how many were. With floor == 0 they must be numerically non-zero:
/// otherwise NumericalError "<fn>: the <what> has rank r < keep dimensions kept; <hint>".
/// A zero covariance is a NumericalError either way.
inline Index transform_floor_eigenvalues(const char* fn, const char* what, const char* hint, Vector<double>& s, Index keep,
                                         double floor) {
  if (!(s.size() > 0 && s(0) > 0.0)) throw NumericalError(message(fn, ": the ", what, " is zero"));
  if (floor > 0.0) {
    const double f = floor * s(0);
    Index n = 0;
    for (Index i = 0; i < keep; ++i)
      if (s(i) < f) {
        s(i) = f;
        ++n;
      }
    return n;
  }
  const Index rank = transform_rank(s);
  if (rank < keep)
    throw NumericalError(message(fn, ": the ", what, " has rank ", rank, " < ", keep, " dimensions kept; ", hint));
  return 0;
}

}  // namespace detail
}  // namespace ivkit
