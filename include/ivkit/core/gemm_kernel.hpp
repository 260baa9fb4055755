/// @file
/// out = B * A for float with an AVX-512 register-blocked kernel, for the i-vector products whose
/// shapes Eigen 3.4's kernel (48 x 4 tile) runs at about half the core's peak: the packed precisions
/// n (U x C) * U_packed (C x R(R+1)/2) and the accumulator N^T (C x U) * Phi (U x R(R+1)/2).
/// A is row-major (K x N, the long packed dimension contiguous); B is read as b(i, k) through two
/// strides. Packed 48-wide panels of A and 8-wide panels of B, a 48 x 8 tile of accumulators (24 of
/// the 32 vector registers). Each entry is summed along K in an order that depends only on K, so
/// results do not depend on how a caller splits the rows or columns among threads.
#pragma once

#include <algorithm>
#include <vector>

#include "ivkit/core/types.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ivkit::detail {

#if defined(__AVX512F__)
inline constexpr bool kHaveGemmKernel = true;

/// The tile's 16 floats added to out[0, 16) in double (the accumulators of EM are double).
inline void gemm_store_tile(double* o, __m512 x, __mmask16 mask, bool /*first*/) {
  const __mmask8 lo = static_cast<__mmask8>(mask & 0xFF), hi = static_cast<__mmask8>(mask >> 8);
  const __m512d x0 = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
  const __m512d x1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
  _mm512_mask_storeu_pd(o, lo, _mm512_add_pd(x0, _mm512_maskz_loadu_pd(lo, o)));
  _mm512_mask_storeu_pd(o + 8, hi, _mm512_add_pd(x1, _mm512_maskz_loadu_pd(hi, o + 8)));
}

/// The tile's 16 floats stored to out[0, 16), or added to it after the first block along K.
inline void gemm_store_tile(float* o, __m512 x, __mmask16 mask, bool first) {
  if (!first) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, o));
  _mm512_mask_storeu_ps(o, mask, x);
}

/// out (M x N, row stride ldo) = B (M x K, b(i, k) = B[i * bs_i + k * bs_k]) * A (K x N, row stride
/// lda) for float out; out += B * A for double out (EM accumulators, added to without a float copy;
/// output rows are prefetched two tiles ahead, so the read and write of a large accumulator overlap
/// the arithmetic).
template <class Out>
inline void gemm_f32_into(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index bs_i, Index bs_k,
                          Out* out, Index ldo) {
  // K in one block when it fits (up to 4096): each output tile is then written once. Re-reading
  // tiles of a large output for every block along K costs Eigen's kernel, and this one, half
  // the core's speed on these shapes.
  constexpr Index KC = 4096, MR = 8, NR = 48;
  thread_local std::vector<float, Eigen::aligned_allocator<float>> apack, bpack;
  const Index m_panels = (M + MR - 1) / MR, n_panels = (N + NR - 1) / NR;
  for (Index k0 = 0; k0 < K; k0 += KC) {
    const Index kc = std::min(KC, K - k0);
    const bool first = k0 == 0;
    // B panels: [panel][k][8], rows past M zero.
    bpack.resize(static_cast<std::size_t>(m_panels * MR * kc));
    for (Index ip = 0; ip < m_panels; ++ip)
      for (Index k = 0; k < kc; ++k)
        for (Index r = 0; r < MR; ++r) {
          const Index i = ip * MR + r;
          bpack[static_cast<std::size_t>((ip * kc + k) * MR + r)] = i < M ? B[i * bs_i + (k0 + k) * bs_k] : 0.0f;
        }
    apack.resize(static_cast<std::size_t>(NR * kc));
    for (Index jp = 0; jp < n_panels; ++jp) {
      // One A panel, [k][48], columns past N zero; it stays in L2 while every B panel passes.
      const Index j0 = jp * NR, jn = std::min(NR, N - j0);
      float* dst = apack.data();
      for (Index k = 0; k < kc; ++k, dst += NR) {
        const float* src = A + (k0 + k) * lda + j0;
        if (jn == NR) {
          _mm512_store_ps(dst, _mm512_loadu_ps(src));
          _mm512_store_ps(dst + 16, _mm512_loadu_ps(src + 16));
          _mm512_store_ps(dst + 32, _mm512_loadu_ps(src + 32));
        } else {
          for (Index j = 0; j < NR; ++j) dst[j] = j < jn ? src[j] : 0.0f;
        }
      }
      __mmask16 mask[3];
      for (int v = 0; v < 3; ++v) {
        const Index left = std::clamp<Index>(jn - 16 * v, 0, 16);
        mask[v] = static_cast<__mmask16>(left == 16 ? 0xFFFF : ((1u << left) - 1u));
      }
      for (Index ip = 0; ip < m_panels; ++ip) {
        const Index rows = std::min(MR, M - ip * MR);
        if (ip + 2 < m_panels) {
          // The output rows of the tile after next (48 entries each: 3 lines of float, 6 of double),
          // into L2: the rows of a large accumulator are far apart, beyond the hardware prefetchers.
          const Index next_rows = std::min(MR, M - (ip + 2) * MR);
          constexpr Index lines = static_cast<Index>(NR * sizeof(Out) / 64);
          for (Index r = 0; r < next_rows; ++r)
            for (Index l = 0; l < lines; ++l)
              _mm_prefetch(reinterpret_cast<const char*>(out + ((ip + 2) * MR + r) * ldo + j0) + 64 * l, _MM_HINT_T1);
        }
        __m512 c[MR][3];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = c[r][2] = _mm512_setzero_ps();
        const float* a = apack.data();
        const float* b = bpack.data() + ip * kc * MR;
        for (Index k = 0; k < kc; ++k, a += NR, b += MR) {
          const __m512 a0 = _mm512_load_ps(a), a1 = _mm512_load_ps(a + 16), a2 = _mm512_load_ps(a + 32);
#pragma GCC unroll 8
          for (int r = 0; r < MR; ++r) {
            const __m512 bb = _mm512_set1_ps(b[r]);
            c[r][0] = _mm512_fmadd_ps(a0, bb, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(a1, bb, c[r][1]);
            c[r][2] = _mm512_fmadd_ps(a2, bb, c[r][2]);
          }
        }
        // Fully unrolled with constant indices: the accumulators must stay in registers (a loop
        // indexing c[r][v] with run-time bounds makes the compiler keep them on the stack).
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          if (r >= rows) break;
          Out* o = out + (ip * MR + r) * ldo + j0;
#pragma GCC unroll 3
          for (int v = 0; v < 3; ++v) gemm_store_tile(o + 16 * v, c[r][v], mask[v], first);
        }
      }
    }
  }
}

/// out (M x N, row stride ldo) = B * A in float; see gemm_f32_into.
inline void gemm_f32(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index bs_i, Index bs_k, float* out,
                     Index ldo) {
  gemm_f32_into(M, N, K, A, lda, B, bs_i, bs_k, out, ldo);
}
#else
inline constexpr bool kHaveGemmKernel = false;

/// Without AVX-512 callers use Eigen's products (they test kHaveGemmKernel); this plain version
/// only keeps their code compiling, and is correct if called.
inline void gemm_f32(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index bs_i, Index bs_k, float* out,
                     Index ldo) {
  for (Index i = 0; i < M; ++i)
    for (Index j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (Index k = 0; k < K; ++k) sum += B[i * bs_i + k * bs_k] * A[k * lda + j];
      out[i * ldo + j] = sum;
    }
}

/// out += B * A into double; the same caveat.
inline void gemm_f32_into(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index bs_i, Index bs_k,
                          double* out, Index ldo) {
  for (Index i = 0; i < M; ++i)
    for (Index j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (Index k = 0; k < K; ++k) sum += B[i * bs_i + k * bs_k] * A[k * lda + j];
      out[i * ldo + j] += sum;
    }
}
#endif

}  // namespace ivkit::detail
