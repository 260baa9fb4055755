/// @file
/// Matrix and vector aliases shared by every module, and the scalar-type constraint.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <type_traits>

namespace ivkit {

using Index = Eigen::Index;

/// log(2 pi), the constant of every Gaussian log-density.
inline constexpr double kLog2Pi = 1.8378770664093454835606594728112;

/// Row-major dynamic matrix: ivkit's storage for per-frame results (N x C), parameters
/// (C x D) and other tables whose rows are read one at a time.
template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Column-major dynamic matrix: small dense linear algebra (covariances, Cholesky factors).
template <class Scalar>
using ColMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Integer table, row-major (e.g. Gaussian selection: N x n component indices).
using IndexMatrix = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace detail {
template <class Scalar>
inline constexpr bool is_supported_scalar_v =
    std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>;
}  // namespace detail

}  // namespace ivkit

#define IVKIT_CHECK_SCALAR(Scalar) \
  static_assert(::ivkit::detail::is_supported_scalar_v<Scalar>, "ivkit: Scalar must be float or double")
