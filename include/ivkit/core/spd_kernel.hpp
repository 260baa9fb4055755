/// @file
/// Cholesky factorisation, triangular inverse and Gram product of one small dense symmetric
/// positive-definite matrix (R of a few hundred: an i-vector precision), in float and double, on
/// the AVX-512 and AVX2 paths (chosen at run time, core/isa.hpp). Eigen 3.4's blocked versions run
/// these at 35-85 GFLOPS on R = 400 in float, a third of the core's peak; they are a quarter of an
/// i-vector training step.
///
/// All three are column panels of 8 whose bulk is one register-blocked update
///   C[i, c] (+)= alpha * sum_{l in [kb, ke)} A[i, l] B[c, l],   A and B column-major,
/// a 3-vector by 8 tile (48 x 8 in float, 24 x 8 in double on AVX-512; on AVX2, 24 x 8 and 12 x 8
/// in two passes of 4 columns) with B's 8 rows packed: the A column is loaded, each B entry
/// broadcast (detail/spd_kernel_body.inc). Matrices are column-major with a leading dimension; only
/// the triangle named is read, the other one may hold anything. The summation order depends only
/// on R and the path, so results are reproducible.
///
/// Callers test have_spd_kernel() and take Eigen's factorisation on the baseline path.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ivkit/core/detail/simd_avx2.hpp"
#include "ivkit/core/detail/simd_avx512.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/isa.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::detail {

inline constexpr Index kSpdPanel = 8;  ///< columns per panel

/// What spd_panel_times_triangle does to a panel's columns.
enum class PanelTriangle {
  SolveLower,  ///< x_c <- (x_c - sum_{p<c} coef[c][p] x_p) * d[c], c ascending, with the new x_p
  TimesUpper,  ///< x_c <- x_c * d[c] + sum_{p<c} coef[c][p] x_p, c descending, with the old x_p
};


}  // namespace ivkit::detail

#if defined(IVKIT_HAVE_AVX512_KERNELS)
IVKIT_TARGET_AVX512_BEGIN
namespace ivkit::detail::avx512 {
#include "ivkit/core/detail/spd_kernel_body.inc"
}  // namespace ivkit::detail::avx512
IVKIT_TARGET_END
#endif

#if defined(IVKIT_HAVE_AVX2_KERNELS)
IVKIT_TARGET_AVX2_BEGIN
namespace ivkit::detail::avx2 {
#include "ivkit/core/detail/spd_kernel_body.inc"
}  // namespace ivkit::detail::avx2
IVKIT_TARGET_END
#endif

namespace ivkit::detail {

/// Whether the path in use has these kernels.
inline bool have_spd_kernel() { return active_isa() >= Isa::avx2; }

/// The baseline path's stand-ins: callers take Eigen's factorisation there, so these only say
/// that a caller forgot to test have_spd_kernel().
namespace spd_unavailable {
[[noreturn]] inline void fail() { throw Error("an SPD kernel was called on the baseline path (no kernel there)"); }
template <class T>
bool spd_cholesky_lower(T*, Index, Index) { fail(); }
template <class T>
void spd_inverse_transpose_lower(const T*, Index, Index, T*, Index) { fail(); }
template <class T>
void spd_gram_upper(const T*, Index, Index, T*, Index) { fail(); }
template <class T>
void spd_row_squared_norms(const T*, Index, Index, T*) { fail(); }
inline void packed_times_add(const float*, Index, const double*, double*) { fail(); }
}  // namespace spd_unavailable

// Each entry point runs the path in use.
#if defined(IVKIT_HAVE_AVX512_KERNELS) && defined(IVKIT_HAVE_AVX2_KERNELS)
#define IVKIT_SPD_DISPATCH(call)           \
  switch (active_isa()) {                  \
    case Isa::avx512: return avx512::call; \
    case Isa::avx2: return avx2::call;     \
    default: return spd_unavailable::call; \
  }
#elif defined(IVKIT_HAVE_AVX2_KERNELS)
#define IVKIT_SPD_DISPATCH(call)                    \
  if (active_isa() >= Isa::avx2) return avx2::call; \
  return spd_unavailable::call;
#else
#define IVKIT_SPD_DISPATCH(call) return spd_unavailable::call;
#endif

/// In-place Cholesky A = K K^T of the lower triangle of A (R x R, leading dimension ld): K in the
/// lower triangle (the strict upper triangle of each diagonal 8 x 8 block is overwritten). Left-
/// looking: panel j takes the update from all columns before it in one pass of tiles, then its
/// diagonal block is factorised in double and the rows below it solved against that block.
/// @return false if A is not (numerically) positive definite; A is then partly overwritten.
template <class T>
bool spd_cholesky_lower(T* A, Index R, Index ld) {
  IVKIT_SPD_DISPATCH(spd_cholesky_lower(A, R, ld))
}

/// Z = K^-T for lower-triangular K (R x R, leading dimension ldk): Z (leading dimension ldz) is upper
/// triangular, its strict lower triangle set to zero.
template <class T>
void spd_inverse_transpose_lower(const T* K, Index R, Index ldk, T* Z, Index ldz) {
  IVKIT_SPD_DISPATCH(spd_inverse_transpose_lower(K, R, ldk, Z, ldz))
}

/// The lower triangle (with the diagonal) of S = Z Z^T for upper-triangular Z (strict lower
/// triangle zero, as spd_inverse_transpose_lower leaves it). The strict upper triangle of each
/// diagonal 8 x 8 block of S is overwritten too; the rest of the upper triangle is left as it was.
template <class T>
void spd_gram_upper(const T* Z, Index R, Index ldz, T* S, Index lds) {
  IVKIT_SPD_DISPATCH(spd_gram_upper(Z, R, ldz, S, lds))
}

/// v[i] = sum_{l >= i} Z[i, l]^2 (the diagonal of Z Z^T) for upper-triangular Z.
template <class T>
void spd_row_squared_norms(const T* Z, Index R, Index ldz, T* v) {
  IVKIT_SPD_DISPATCH(spd_row_squared_norms(Z, R, ldz, v))
}

/// y += P w in double, P symmetric with its lower triangle packed column by column in float
/// (column j: P[j..R-1, j], i.e. the upper triangle row by row). The i-vector solver's residual
/// b - L w, 4.3x the portable packed_symmetric_times_add (core/packed.hpp; its conversions do not
/// vectorise) in bench_spd_kernel on AVX-512. The summation order depends only on R and the path.
inline void spd_packed_times_add(const float* p, Index R, const double* w, double* y) {
  IVKIT_SPD_DISPATCH(packed_times_add(p, R, w, y))
}

#undef IVKIT_SPD_DISPATCH

}  // namespace ivkit::detail
