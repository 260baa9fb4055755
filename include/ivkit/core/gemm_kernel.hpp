/// @file
/// out = B * A with an AVX-512 register-blocked kernel, in float and double, for the i-vector
/// products whose shapes Eigen 3.4's kernel runs at about a quarter to a half of the core's peak: the
/// packed precisions n (U x C) * U_packed (C x R(R+1)/2), the linear terms F (U x CD) * Sigma^-1 T,
/// and the accumulators N^T (C x U) * Phi (U x R(R+1)/2) and F^T W.
/// A is row-major (K x N, the long packed dimension contiguous); B is read as b(i, k) through two
/// strides. Packed 3-vector-wide panels of A (48 columns in float, 24 in double) and 8-wide panels
/// of B, an 8 x 3-vector tile of accumulators (24 of the 32 vector registers; 1 or 2 vectors for a
/// last panel that narrow). Each entry is summed
/// along K in an order that depends only on K, so results do not depend on how a caller splits the
/// rows or columns among threads.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ivkit/core/avx512.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::detail {

#if defined(__AVX512F__)
inline constexpr bool kHaveGemmKernel = true;

/// One vector of the tile added to out (in double: EM accumulators, no copy in the input type).
inline void gemm_add_vector(double* o, __m512 x, __mmask16 mask) {
  const __mmask8 lo = static_cast<__mmask8>(mask & 0xFF), hi = static_cast<__mmask8>(mask >> 8);
  __m512d x0, x1;
  widen_to_double(x, x0, x1);
  _mm512_mask_storeu_pd(o, lo, _mm512_add_pd(x0, _mm512_maskz_loadu_pd(lo, o)));
  _mm512_mask_storeu_pd(o + 8, hi, _mm512_add_pd(x1, _mm512_maskz_loadu_pd(hi, o + 8)));
}
inline void gemm_add_vector(double* o, __m512d x, __mmask8 mask) {
  _mm512_mask_storeu_pd(o, mask, _mm512_add_pd(x, _mm512_maskz_loadu_pd(mask, o)));
}
inline void gemm_add_vector(float* o, __m512 x, __mmask16 mask) {
  _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, o)));
}

/// One 8 x (V vectors) tile: out rows (up to 8, `rows` of them) = or += b-panel * a-panel over kc
/// (a: [k][3 vectors], b: [k][8]). V < 3 serves the last columns of a matrix whose width is not a
/// multiple of three vectors (R = 400 is 8 panels of 48 floats and 16 columns), so no product is
/// spent on the padding.
template <int V, class T, class Out>
inline void gemm_tile(const T* a, const T* b, Index kc, Out* o, Index ldo, Index rows,
                      const typename Simd512<T>::Mask (&mask)[3], bool store) {
  using S = Simd512<T>;
  constexpr Index MR = 8, W = S::W, NR = 3 * W;
  typename S::V c[MR][V];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) c[r][v] = S::zero();
  for (Index k = 0; k < kc; ++k, a += NR, b += MR) {
    typename S::V av[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) av[v] = S::load(a + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const typename S::V bb = S::set1(b[r]);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) c[r][v] = S::fmadd(av[v], bb, c[r][v]);
    }
  }
  // Fully unrolled with constant indices: the accumulators must stay in registers (a loop
  // indexing c[r][v] with run-time bounds makes the compiler keep them on the stack).
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      if constexpr (std::is_same_v<Out, T>) {
        if (store) {
          S::store(o + v * W, mask[v], c[r][v]);
          continue;
        }
      }
      gemm_add_vector(o + v * W, c[r][v], mask[v]);
    }
    o += ldo;
  }
}

/// out (M x N, row stride ldo) = B (M x K, b(i, k) = B[i * bs_i + k * bs_k]) * A (K x N, row stride
/// lda) when `add` is false (out of type T), out += B * A when it is true (out of type T or double).
/// Output rows are prefetched two tiles ahead, so reading and writing a large accumulator overlaps
/// the arithmetic.
template <class T, class Out>
inline void gemm_kernel(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, Out* out,
                        Index ldo, bool add) {
  using S = Simd512<T>;
  // K in one block when it fits (up to 4096): each output tile is then written once. Re-reading
  // tiles of a large output for every block along K costs Eigen's kernel, and this one, half
  // the core's speed on these shapes.
  constexpr Index KC = 4096, MR = 8, W = S::W, NR = 3 * W;
  thread_local std::vector<T, Eigen::aligned_allocator<T>> apack, bpack;
  const Index m_panels = (M + MR - 1) / MR, n_panels = (N + NR - 1) / NR;
  for (Index k0 = 0; k0 < K; k0 += KC) {
    const Index kc = std::min(KC, K - k0);
    const bool store = !add && k0 == 0;  // the first block of an overwrite stores, the others add
    // B panels: [panel][k][8], rows past M zero.
    bpack.resize(static_cast<std::size_t>(m_panels * MR * kc));
    for (Index ip = 0; ip < m_panels; ++ip)
      for (Index k = 0; k < kc; ++k)
        for (Index r = 0; r < MR; ++r) {
          const Index i = ip * MR + r;
          bpack[static_cast<std::size_t>((ip * kc + k) * MR + r)] = i < M ? B[i * bs_i + (k0 + k) * bs_k] : T(0);
        }
    apack.resize(static_cast<std::size_t>(NR * kc));
    for (Index jp = 0; jp < n_panels; ++jp) {
      // One A panel, [k][NR], columns past N zero; it stays in L2 while every B panel passes.
      const Index j0 = jp * NR, jn = std::min(NR, N - j0);
      T* dst = apack.data();
      for (Index k = 0; k < kc; ++k, dst += NR) {
        const T* src = A + (k0 + k) * lda + j0;
        if (jn == NR) {
          S::store(dst, S::load(src));
          S::store(dst + W, S::load(src + W));
          S::store(dst + 2 * W, S::load(src + 2 * W));
        } else {
          for (Index j = 0; j < NR; ++j) dst[j] = j < jn ? src[j] : T(0);
        }
      }
      const typename S::Mask mask[3] = {S::mask(jn), S::mask(jn - W), S::mask(jn - 2 * W)};
      for (Index ip = 0; ip < m_panels; ++ip) {
        const Index rows = std::min(MR, M - ip * MR);
        if (ip + 2 < m_panels) {
          // The output rows of the tile after next, into L2: the rows of a large accumulator are
          // far apart, beyond the hardware prefetchers.
          const Index next_rows = std::min(MR, M - (ip + 2) * MR);
          constexpr Index lines = static_cast<Index>(NR * sizeof(Out) / 64);
          for (Index r = 0; r < next_rows; ++r)
            for (Index l = 0; l < lines; ++l)
              _mm_prefetch(reinterpret_cast<const char*>(out + ((ip + 2) * MR + r) * ldo + j0) + 64 * l, _MM_HINT_T1);
        }
        const T* b = bpack.data() + ip * kc * MR;
        Out* o = out + ip * MR * ldo + j0;
        if (jn > 2 * W) gemm_tile<3>(apack.data(), b, kc, o, ldo, rows, mask, store);
        else if (jn > W) gemm_tile<2>(apack.data(), b, kc, o, ldo, rows, mask, store);
        else gemm_tile<1>(apack.data(), b, kc, o, ldo, rows, mask, store);
      }
    }
  }
}

/// out (M x N, row stride ldo) = B * A; see gemm_kernel.
template <class T>
inline void gemm(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, T* out, Index ldo) {
  gemm_kernel(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, false);
}

/// out (M x N, row stride ldo, double) += B * A; see gemm_kernel.
template <class T>
inline void gemm_add(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, double* out,
                     Index ldo) {
  gemm_kernel(M, N, K, A, lda, B, bs_i, bs_k, out, ldo, true);
}
#else
inline constexpr bool kHaveGemmKernel = false;

/// Without AVX-512 callers use Eigen's products (they test kHaveGemmKernel); these plain versions
/// only keep their code compiling, and are correct if called.
template <class T>
inline void gemm(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, T* out, Index ldo) {
  for (Index i = 0; i < M; ++i)
    for (Index j = 0; j < N; ++j) {
      T sum = 0;
      for (Index k = 0; k < K; ++k) sum += B[i * bs_i + k * bs_k] * A[k * lda + j];
      out[i * ldo + j] = sum;
    }
}

template <class T>
inline void gemm_add(Index M, Index N, Index K, const T* A, Index lda, const T* B, Index bs_i, Index bs_k, double* out,
                     Index ldo) {
  for (Index i = 0; i < M; ++i)
    for (Index j = 0; j < N; ++j) {
      T sum = 0;
      for (Index k = 0; k < K; ++k) sum += B[i * bs_i + k * bs_k] * A[k * lda + j];
      out[i * ldo + j] += sum;
    }
}
#endif

}  // namespace ivkit::detail
