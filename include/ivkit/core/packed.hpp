/// @file
/// Packed symmetric matrices: the upper triangle stored row by row (vech), D (D + 1) / 2 entries.
#pragma once

#include "ivkit/core/error.hpp"
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

/// y += P w in double, P symmetric given by its packed upper triangle (as pack_symmetric writes it,
/// i.e. the lower triangle column by column) in any scalar type: each stored column is used twice,
/// as an axpy into y[j..] and a dot with w[j+1..] into y[j]. With AVX-512 the float i-vector solver
/// uses detail::spd_packed_times_add (core/spd_kernel.hpp) instead, 4.3x faster.
/// @throws DimensionMismatch when w or y does not have R entries
template <class Scalar>
void packed_symmetric_times_add(const Scalar* packed, Index R, const Eigen::VectorXd& w, Eigen::VectorXd& y) {
  if (w.size() != R || y.size() != R)
    throw DimensionMismatch(detail::message("packed_symmetric_times_add: R = ", R, " but w has ", w.size(), " entries and y ",
                                            y.size()));
  const Scalar* p = packed;
  for (Index j = 0; j < R; p += R - j, ++j) {
    const Index len = R - j;
    const auto col = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(p, len).template cast<double>();
    y.segment(j, len) += col * w(j);
    if (len > 1) y(j) += col.tail(len - 1).dot(w.tail(len - 1));
  }
}

}  // namespace ivkit
