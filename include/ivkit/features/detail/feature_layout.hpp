/// @file
/// Feature matrices in and out of the post-processing functions (deltas, CMVN, VAD selection):
/// input in either layout is brought to a row-major N x D working matrix, and results go back in
/// the caller's layout.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// The matrix type a feature post-processing function returns for a layout: Matrix<S> (N x D,
/// row-major) for FramesAsRows, ColMatrix<S> (D x N, column-major, frames contiguous) for
/// FramesAsCols.
template <class Layout, class S>
using FeatureMatrix = std::conditional_t<std::is_same_v<Layout, FramesAsRows>, Matrix<S>, ColMatrix<S>>;

namespace detail {

/// Row-major N x D copy of a feature matrix in the given layout.
template <class Layout, class Derived>
Matrix<typename Derived::Scalar> frames_as_rows(const Eigen::MatrixBase<Derived>& feats) {
  IVKIT_CHECK_LAYOUT(Layout);
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  if constexpr (std::is_same_v<Layout, FramesAsRows>)
    return feats;
  else
    return feats.transpose();
}

/// A row-major N x D result, returned in the caller's layout.
template <class Layout, class S>
FeatureMatrix<Layout, S> to_layout(Matrix<S>&& rows) {
  if constexpr (std::is_same_v<Layout, FramesAsRows>)
    return std::move(rows);
  else
    return rows.transpose();
}

/// @throws NonFiniteInput naming the first frame holding NaN or Inf
template <class S>
void check_finite_frames(const Matrix<S>& x, const char* who) {
  for (Index t = 0; t < x.rows(); ++t)
    if (!x.row(t).allFinite()) throw NonFiniteInput(message(who, ": frame ", t, " holds NaN or Inf"));
}

}  // namespace detail
}  // namespace ivkit
