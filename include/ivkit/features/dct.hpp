/// @file
/// The DCT-II matrix and cepstral lifter of Kaldi's MFCC (src/matrix/matrix-functions.cc,
/// ComputeDctMatrix; src/feat/feature-functions.cc, ComputeLifterCoeffs).
///
/// dct_matrix(K, N)(k, n) = sqrt(1/N) for k = 0, sqrt(2/N) cos(pi / N (n + 1/2) k) for k > 0:
/// the first K rows of the orthonormal DCT-II, so that D D^T = I_K (for K <= N).
/// lifter_coefficients(Q, K)(k) = 1 + Q/2 sin(pi k / Q) (C0 is unchanged).
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// K x N DCT-II matrix with Kaldi's (orthonormal) scaling. @throws InvalidArgument for K or N < 1
inline Eigen::MatrixXd dct_matrix(Index num_rows, Index num_cols) {
  if (num_rows < 1 || num_cols < 1)
    throw InvalidArgument(detail::message("dct_matrix: sizes must be positive, got ", num_rows, " x ", num_cols));
  const double pi = 3.14159265358979323846;
  Eigen::MatrixXd d(num_rows, num_cols);
  const double n = static_cast<double>(num_cols);
  d.row(0).setConstant(std::sqrt(1.0 / n));
  const double s = std::sqrt(2.0 / n);
  for (Index k = 1; k < num_rows; ++k)
    for (Index j = 0; j < num_cols; ++j)
      d(k, j) = s * std::cos(pi / n * (static_cast<double>(j) + 0.5) * static_cast<double>(k));
  return d;
}

/// Cepstral lifter weights 1 + Q/2 sin(pi k / Q), k = 0 .. num_ceps - 1.
/// @throws InvalidArgument for Q <= 0 or num_ceps < 1
inline Eigen::VectorXd lifter_coefficients(double q, Index num_ceps) {
  if (!(q > 0) || !std::isfinite(q))
    throw InvalidArgument(detail::message("lifter_coefficients: Q must be positive, got ", q));
  if (num_ceps < 1)
    throw InvalidArgument(detail::message("lifter_coefficients: num_ceps must be positive, got ", num_ceps));
  const double pi = 3.14159265358979323846;
  Eigen::VectorXd c(num_ceps);
  for (Index k = 0; k < num_ceps; ++k) c(k) = 1.0 + 0.5 * q * std::sin(pi * static_cast<double>(k) / q);
  return c;
}

}  // namespace ivkit
