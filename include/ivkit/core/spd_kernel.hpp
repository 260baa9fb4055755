/// @file
/// Cholesky factorisation, triangular inverse and Gram product of one small dense symmetric
/// positive-definite matrix (R of a few hundred: an i-vector precision), with AVX-512, in float and
/// double. Eigen 3.4's blocked versions run these at 35-85 GFLOPS on R = 400 in float, a third of
/// the core's peak; they are a quarter of an i-vector training step.
///
/// All three are column panels of 8 whose bulk is one register-blocked update
///   C[i, c] (+)= alpha * sum_{l in [kb, ke)} A[i, l] B[c, l],   A and B column-major,
/// a 3-vector by 8 tile (48 x 8 in float, 24 x 8 in double) with B's 8 rows packed: the A column is
/// loaded, each B entry broadcast. Matrices are column-major with a leading dimension; only the
/// triangle named is read, the other one may hold anything. The summation order depends only on R,
/// so results are reproducible.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ivkit/core/avx512.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::detail {

inline constexpr Index kSpdPanel = 8;  ///< columns per panel (the tile's width)

#if defined(__AVX512F__)
inline constexpr bool kHaveSpdKernel = true;

/// One tile: rows [0, rows) of C (rows <= 3 W), columns [0, n) (n <= 8), summed over l in [kb, ke);
/// Bp holds B packed as Bp[l * 8 + c] (indexed from l = 0). Overwrites C, or adds to it.
template <class T>
inline void spd_tile(Index rows, Index n, Index kb, Index ke, const T* A, Index lda, const T* Bp, T* C, Index ldc, T alpha,
                     bool accumulate) {
  using S = Simd512<T>;
  constexpr Index W = S::W;
  const typename S::Mask m0 = S::mask(rows), m1 = S::mask(rows - W), m2 = S::mask(rows - 2 * W);
  typename S::V acc[kSpdPanel][3];
#pragma GCC unroll 8
  for (int c = 0; c < kSpdPanel; ++c) acc[c][0] = acc[c][1] = acc[c][2] = S::zero();
  const T* a = A + kb * lda;
  const T* b = Bp + kb * kSpdPanel;
  for (Index l = kb; l < ke; ++l, a += lda, b += kSpdPanel) {
    const typename S::V a0 = S::load(m0, a), a1 = S::load(m1, a + W), a2 = S::load(m2, a + 2 * W);
#pragma GCC unroll 8
    for (int c = 0; c < kSpdPanel; ++c) {
      const typename S::V bb = S::set1(b[c]);
      acc[c][0] = S::fmadd(a0, bb, acc[c][0]);
      acc[c][1] = S::fmadd(a1, bb, acc[c][1]);
      acc[c][2] = S::fmadd(a2, bb, acc[c][2]);
    }
  }
  // Constant indices throughout, so the accumulators stay in registers.
  const typename S::V va = S::set1(alpha);
#pragma GCC unroll 8
  for (int c = 0; c < kSpdPanel; ++c) {
    if (c >= n) break;
    T* o = C + c * ldc;
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) {
      const typename S::Mask m = v == 0 ? m0 : v == 1 ? m1 : m2;
      typename S::V x = S::mul(acc[c][v], va);
      if (accumulate) x = S::add(x, S::load(m, o + v * W));
      S::store(o + v * W, m, x);
    }
  }
}

/// What spd_panel_times_triangle does to a panel's columns.
enum class PanelTriangle {
  SolveLower,  ///< x_c <- (x_c - sum_{p<c} coef[c][p] x_p) * d[c], c ascending, with the new x_p
  TimesUpper,  ///< x_c <- x_c * d[c] + sum_{p<c} coef[c][p] x_p, c descending, with the old x_p
};

/// The n (<= 8) columns X[:, c] (rows [0, rows), leading dimension ld) replaced in place, a vector
/// of rows at a time with all n columns in registers: a forward substitution by a lower triangle
/// (the Cholesky's rows below a diagonal block) or a product by an upper one (the inverse's -Zjj).
/// Written with intrinsics: GCC's -O2 leaves plain loops of this kind scalar, which made the whole
/// factorisation twice as slow as with -O3.
template <class T>
inline void spd_panel_times_triangle(T* X, Index ld, Index rows, Index n, const T (&coef)[kSpdPanel][kSpdPanel],
                                     const T (&d)[kSpdPanel], PanelTriangle op) {
  using S = Simd512<T>;
  for (Index i = 0; i < rows; i += S::W) {
    const typename S::Mask m = S::mask(rows - i);
    typename S::V x[kSpdPanel];
#pragma GCC unroll 8
    for (int c = 0; c < kSpdPanel; ++c)
      if (c < n) x[c] = S::load(m, X + i + c * ld);
    if (op == PanelTriangle::SolveLower) {
#pragma GCC unroll 8
      for (int c = 0; c < kSpdPanel; ++c) {
        if (c >= n) break;
#pragma GCC unroll 8
        for (int p = 0; p < c; ++p) x[c] = S::fmadd(S::set1(-coef[c][p]), x[p], x[c]);
        x[c] = S::mul(S::set1(d[c]), x[c]);
        S::store(X + i + c * ld, m, x[c]);
      }
    } else {
#pragma GCC unroll 8
      for (int c = kSpdPanel - 1; c >= 0; --c) {
        if (c >= n) continue;
        x[c] = S::mul(S::set1(d[c]), x[c]);
#pragma GCC unroll 8
        for (int p = 0; p < c; ++p) x[c] = S::fmadd(S::set1(coef[c][p]), x[p], x[c]);
        S::store(X + i + c * ld, m, x[c]);
      }
    }
  }
}

/// Bp[l * 8 + c] = M[(r0 + c) + l * ld] for l in [l0, l1), c < n; zero for c >= n.
template <class T>
inline void spd_pack_rows(const T* M, Index ld, Index r0, Index n, Index l0, Index l1, std::vector<T>& Bp) {
  Bp.resize(static_cast<std::size_t>(std::max<Index>(l1, 1) * kSpdPanel));
  for (Index l = l0; l < l1; ++l) {
    T* dst = Bp.data() + l * kSpdPanel;
    const T* src = M + r0 + l * ld;
    for (Index c = 0; c < kSpdPanel; ++c) dst[c] = c < n ? src[c] : T(0);
  }
}

/// In-place Cholesky A = K K^T of the lower triangle of A (R x R, leading dimension ld): K in the
/// lower triangle (the strict upper triangle of each diagonal 8 x 8 block is overwritten). Left-
/// looking: panel j takes the update from all columns before it in one pass of tiles, then its
/// diagonal block is factorised in double and the rows below it solved against that block.
/// @return false if A is not (numerically) positive definite; A is then partly overwritten.
template <class T>
bool spd_cholesky_lower(T* A, Index R, Index ld) {
  constexpr Index MR = 3 * Simd512<T>::W;
  thread_local std::vector<T> Bp;
  for (Index j0 = 0; j0 < R; j0 += kSpdPanel) {
    const Index jn = std::min(kSpdPanel, R - j0);
    if (j0 > 0) {
      spd_pack_rows(A, ld, j0, jn, 0, j0, Bp);
      for (Index i0 = j0; i0 < R; i0 += MR)
        spd_tile<T>(std::min(MR, R - i0), jn, 0, j0, A + i0, ld, Bp.data(), A + i0 + j0 * ld, ld, T(-1), true);
    }
    // The diagonal block.
    double L[kSpdPanel][kSpdPanel];
    for (Index c = 0; c < jn; ++c) {
      for (Index r = c; r < jn; ++r) L[r][c] = static_cast<double>(A[(j0 + r) + (j0 + c) * ld]);
    }
    for (Index c = 0; c < jn; ++c) {
      for (Index p = 0; p < c; ++p)
        for (Index r = c; r < jn; ++r) L[r][c] -= L[r][p] * L[c][p];
      if (!(L[c][c] > 0.0) || !std::isfinite(L[c][c])) return false;
      const double d = std::sqrt(L[c][c]);
      for (Index r = c; r < jn; ++r) L[r][c] /= d;
    }
    for (Index c = 0; c < jn; ++c)
      for (Index r = c; r < jn; ++r) A[(j0 + r) + (j0 + c) * ld] = static_cast<T>(L[r][c]);
    // Rows below: K21 = A21 K11^-T, column c = (a_c - sum_{p<c} k_p L[c][p]) / L[c][c], a vector of
    // rows at a time with the panel's columns in registers (column by column over all rows, each
    // column was read and written c + 1 times: a fifth of the factorisation's time).
    const Index below = R - j0 - jn;
    if (below > 0) {
      T coef[kSpdPanel][kSpdPanel], inv_diag[kSpdPanel];
      for (Index c = 0; c < jn; ++c) {
        for (Index p = 0; p < c; ++p) coef[c][p] = static_cast<T>(L[c][p]);
        inv_diag[c] = static_cast<T>(1.0 / L[c][c]);
      }
      spd_panel_times_triangle(A + (j0 + jn) + j0 * ld, ld, below, jn, coef, inv_diag, PanelTriangle::SolveLower);
    }
  }
  return true;
}

/// Z = K^-T for lower-triangular K (R x R, leading dimension ldk): Z (leading dimension ldz) is upper
/// triangular, its strict lower triangle set to zero. Column panels left to right (Z U = I with
/// U = K^T): Z[0:j, J] = -Z[0:j, 0:j] U[0:j, J] U_JJ^-1, Z_JJ = U_JJ^-1.
template <class T>
void spd_inverse_transpose_lower(const T* K, Index R, Index ldk, T* Z, Index ldz) {
  constexpr Index MR = 3 * Simd512<T>::W;
  thread_local std::vector<T> Bp;
  for (Index j = 0; j < R; ++j) std::fill(Z + j * ldz, Z + j * ldz + R, T(0));
  for (Index j0 = 0; j0 < R; j0 += kSpdPanel) {
    const Index jn = std::min(kSpdPanel, R - j0);
    // Zjj = U_JJ^-1 (upper), in double; U_JJ[r][c] = K[j0 + c, j0 + r].
    double Zjj[kSpdPanel][kSpdPanel] = {};
    for (Index c = 0; c < jn; ++c) {
      Zjj[c][c] = 1.0 / static_cast<double>(K[(j0 + c) + (j0 + c) * ldk]);
      for (Index r = c - 1; r >= 0; --r) {
        double s = 0.0;
        for (Index p = r + 1; p <= c; ++p) s += static_cast<double>(K[(j0 + p) + (j0 + r) * ldk]) * Zjj[p][c];
        Zjj[r][c] = -s / static_cast<double>(K[(j0 + r) + (j0 + r) * ldk]);
      }
    }
    if (j0 > 0) {
      // Z[0:j0, J] = Z[0:j0, 0:j0] U[0:j0, J]; U[l, j0 + c] = K[j0 + c, l]; Z[i, l] = 0 for l < i.
      spd_pack_rows(K, ldk, j0, jn, 0, j0, Bp);
      for (Index i0 = 0; i0 < j0; i0 += MR)
        spd_tile<T>(std::min(MR, j0 - i0), jn, i0, j0, Z + i0, ldz, Bp.data(), Z + i0 + j0 * ldz, ldz, T(1), false);
      // Times -Zjj on the right, in place: column c = -Zjj[c][c] z_c - sum_{p<c} Zjj[p][c] z_p.
      T coef[kSpdPanel][kSpdPanel], diag[kSpdPanel];
      for (Index c = 0; c < jn; ++c) {
        for (Index p = 0; p < c; ++p) coef[c][p] = static_cast<T>(-Zjj[p][c]);
        diag[c] = static_cast<T>(-Zjj[c][c]);
      }
      spd_panel_times_triangle(Z + j0 * ldz, ldz, j0, jn, coef, diag, PanelTriangle::TimesUpper);
    }
    for (Index c = 0; c < jn; ++c)
      for (Index r = 0; r <= c; ++r) Z[(j0 + r) + (j0 + c) * ldz] = static_cast<T>(Zjj[r][c]);
  }
}

/// The lower triangle (with the diagonal) of S = Z Z^T for upper-triangular Z (strict lower
/// triangle zero, as spd_inverse_transpose_lower leaves it): S[i, c] = sum_{l >= i} Z[i, l] Z[c, l].
/// The strict upper triangle of each diagonal 8 x 8 block of S is overwritten too; the rest of the
/// upper triangle is left as it was.
template <class T>
void spd_gram_upper(const T* Z, Index R, Index ldz, T* S, Index lds) {
  constexpr Index MR = 3 * Simd512<T>::W;
  thread_local std::vector<T> Bp;
  for (Index c0 = 0; c0 < R; c0 += kSpdPanel) {
    const Index cn = std::min(kSpdPanel, R - c0);
    spd_pack_rows(Z, ldz, c0, cn, c0, R, Bp);
    for (Index i0 = c0; i0 < R; i0 += MR)
      spd_tile<T>(std::min(MR, R - i0), cn, i0, R, Z + i0, ldz, Bp.data(), S + i0 + c0 * lds, lds, T(1), false);
  }
}

/// v[i] = sum_{l >= i} Z[i, l]^2 (the diagonal of Z Z^T) for upper-triangular Z.
template <class T>
void spd_row_squared_norms(const T* Z, Index R, Index ldz, T* v) {
  using S = Simd512<T>;
  std::fill(v, v + R, T(0));
  for (Index l = 0; l < R; ++l) {
    const T* col = Z + l * ldz;
    for (Index i = 0; i <= l; i += S::W) {
      const typename S::Mask m = S::mask(l + 1 - i);
      const typename S::V x = S::load(m, col + i);
      S::store(v + i, m, S::fmadd(x, x, S::load(m, v + i)));
    }
  }
}

/// y += P w in double, P symmetric with its lower triangle packed column by column in float
/// (column j: P[j..R-1, j], i.e. the upper triangle row by row): each float column is converted
/// once and used twice, as an axpy into y[j..] and a dot with w[j+1..] into y[j]. The i-vector
/// solver's residual b - L w, 4.3x the portable packed_symmetric_times_add (core/packed.hpp; its
/// conversions do not vectorise) in bench_spd_kernel. The summation order depends only on R.
inline void spd_packed_times_add(const float* p, Index R, const double* w, double* y) {
  for (Index j = 0; j < R; p += R - j, ++j) {
    const Index len = R - j;
    const __m512d wj = _mm512_set1_pd(w[j]);
    __m512d dot0 = _mm512_setzero_pd(), dot1 = _mm512_setzero_pd();
    for (Index i = 0; i < len; i += 16) {
      const __mmask16 m = Simd512<float>::mask(len - i);
      const __mmask8 m0 = static_cast<__mmask8>(m & 0xFF), m1 = static_cast<__mmask8>(m >> 8);
      const __m512 x = _mm512_maskz_loadu_ps(m, p + i);
      __m512d x0, x1;
      widen_to_double(x, x0, x1);
      double* yi = y + j + i;
      const double* wi = w + j + i;
      _mm512_mask_storeu_pd(yi, m0, _mm512_fmadd_pd(x0, wj, _mm512_maskz_loadu_pd(m0, yi)));
      _mm512_mask_storeu_pd(yi + 8, m1, _mm512_fmadd_pd(x1, wj, _mm512_maskz_loadu_pd(m1, yi + 8)));
      // The diagonal entry is in the axpy already: lane 0 of the first block is left out of the dot.
      const __mmask8 d0 = i == 0 ? static_cast<__mmask8>(m0 & 0xFE) : m0;
      dot0 = _mm512_mask3_fmadd_pd(x0, _mm512_maskz_loadu_pd(d0, wi), dot0, d0);
      dot1 = _mm512_mask3_fmadd_pd(x1, _mm512_maskz_loadu_pd(m1, wi + 8), dot1, m1);
    }
    y[j] += _mm512_reduce_add_pd(_mm512_add_pd(dot0, dot1));
  }
}

#else
inline constexpr bool kHaveSpdKernel = false;

// Declared only, so that callers' `if constexpr (kHaveSpdKernel)` branches compile; without
// AVX-512 they take Eigen's factorisation instead.
template <class T>
bool spd_cholesky_lower(T* A, Index R, Index ld);
template <class T>
void spd_inverse_transpose_lower(const T* K, Index R, Index ldk, T* Z, Index ldz);
template <class T>
void spd_gram_upper(const T* Z, Index R, Index ldz, T* S, Index lds);
template <class T>
void spd_row_squared_norms(const T* Z, Index R, Index ldz, T* v);
void spd_packed_times_add(const float* p, Index R, const double* w, double* y);
#endif

}  // namespace ivkit::detail
