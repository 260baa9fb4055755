/// @file
/// out = B * A with a register-blocked kernel, in float and double, for the i-vector products
/// whose shapes Eigen 3.4's kernel runs at about a quarter to a half of the core's peak: the
/// packed precisions n (U x C) * U_packed (C x R(R+1)/2), the linear terms F (U x CD) * Sigma^-1 T,
/// and the accumulators N^T (C x U) * Phi (U x R(R+1)/2) and F^T W.
/// A is row-major (K x N, the long packed dimension contiguous); B is read as b(i, k) through two
/// strides. Packed 3-vector-wide panels of A and row panels of B (detail/gemm_kernel_body.inc):
/// on the AVX-512 path an 8 x 3-vector tile of accumulators (24 of the 32 registers), on the
/// AVX2 path 4 x 3 (12 of 16). The path is chosen at run time (core/isa.hpp). Each entry is
/// summed along K in an order that depends only on K and the path, so results do not depend on how
/// a caller splits the rows or columns among threads.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "ivkit/core/detail/simd_avx2.hpp"
#include "ivkit/core/detail/simd_avx512.hpp"
#include "ivkit/core/isa.hpp"
#include "ivkit/core/types.hpp"

#if defined(IVKIT_HAVE_AVX512_KERNELS)
IVKIT_TARGET_AVX512_BEGIN
namespace ivkit::detail::avx512 {
#include "ivkit/core/detail/gemm_kernel_body.inc"
}  // namespace ivkit::detail::avx512
IVKIT_TARGET_END
#endif

#if defined(IVKIT_HAVE_AVX2_KERNELS)
IVKIT_TARGET_AVX2_BEGIN
namespace ivkit::detail::avx2 {
#include "ivkit/core/detail/gemm_kernel_body.inc"
}  // namespace ivkit::detail::avx2
IVKIT_TARGET_END
#endif

namespace ivkit::detail {

/// Whether the path in use has the kernel; callers take Eigen's products otherwise.
inline bool have_gemm_kernel() { return active_isa() >= Isa::avx2; }

/// Plain loops for a path without the kernel: correct if called, never fast.
template <class T, class Out>
inline void gemm_reference(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, Out* out,
                           Index ldo, bool add) {
  for (Index i = 0; i < M; ++i)
    for (Index j = 0; j < N; ++j) {
      T sum = 0;
      for (Index k = 0; k < K; ++k) sum += B[i * bs_i + k * bs_k] * A[k * lda + j];
      out[i * ldo + j] = add ? out[i * ldo + j] + sum : static_cast<Out>(sum);
    }
}

template <class T, class Out>
inline void gemm_dispatch(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, Out* out,
                          Index ldo, bool add) {
  switch (active_isa()) {
#if defined(IVKIT_HAVE_AVX512_KERNELS)
    case Isa::avx512: return avx512::gemm_kernel(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, add);
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
    case Isa::avx2: return avx2::gemm_kernel(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, add);
#endif
    default: return gemm_reference(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, add);
  }
}

/// out (M x N, row stride ldo) = B * A; see the file comment.
template <class T>
inline void gemm(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, T* out, Index ldo) {
  gemm_dispatch(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, false);
}

/// out (M x N, row stride ldo, double) += B * A; see the file comment.
template <class T>
inline void gemm_add(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, double* out,
                     Index ldo) {
  gemm_dispatch(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, true);
}

}  // namespace ivkit::detail
