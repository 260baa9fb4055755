/// @file
/// Packed symmetric matrices: the upper triangle stored row by row (vech), D (D + 1) / 2 entries.
#pragma once

#include "ivkit/core/types.hpp"

namespace ivkit {

/// Number of entries of the upper triangle of a D x D symmetric matrix, D (D + 1) / 2.
inline constexpr Index packed_size(Index D) { return D * (D + 1) / 2; }

/// vech(A): the upper triangle of symmetric A (R x R) row by row into out (R(R+1)/2).
template <class DA, class DO>
void pack_symmetric(const Eigen::MatrixBase<DA>& A, Eigen::MatrixBase<DO>& out) {
  const Index R = A.rows();
  Index k = 0;
  for (Index i = 0; i < R; ++i)
    for (Index j = i; j < R; ++j) out(k++) = A(i, j);
}

/// The symmetric matrix (R x R) whose packed upper triangle is `packed`.
template <class Scalar, class DP>
ColMatrix<Scalar> unpack_symmetric(const Eigen::MatrixBase<DP>& packed, Index R) {
  ColMatrix<Scalar> A(R, R);
  Index k = 0;
  for (Index i = 0; i < R; ++i)
    for (Index j = i; j < R; ++j, ++k) A(i, j) = A(j, i) = static_cast<Scalar>(packed(k));
  return A;
}

}  // namespace ivkit
