/// @file
/// The AVX2+FMA path's vector operations (ivkit::detail::avx2), for float (8 lanes) and double
/// (4 lanes); the same names as detail/simd_avx512.hpp, so the kernel bodies serve both. AVX2 has
/// 16 vector registers, hence smaller tiles, and masks that are vectors (maskload/maskstore, which
/// never touch the lanes left out). Compiled with the AVX2 target whatever the flags.
#pragma once

#include "ivkit/core/detail/target_region.hpp"
#include "ivkit/core/types.hpp"

#if defined(IVKIT_HAVE_AVX2_KERNELS)
IVKIT_TARGET_AVX2_BEGIN
namespace ivkit::detail::avx2 {

inline constexpr Isa kIsa = Isa::avx2;
/// Rows of a GEMM tile: 4 x 3 vectors of accumulators, 3 vectors of A and a broadcast: all 16.
inline constexpr Index kGemmRows = 4;
/// Columns one pass of an SPD tile keeps in registers (3 vectors each): 12 accumulators.
inline constexpr Index kSpdTileColumns = 4;

template <class T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m256;
  using Mask = __m256i;
  static constexpr Index W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  ///< c - a b
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  /// Bit i set where !(a_i < b_i): lane i not below b, NaN included.
  static unsigned not_less_bits(V a, V b) { return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_NLT_UQ))); }
  static V round_nearest(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  /// p 2^k (k integral, -126 <= k <= 0 where x >= min_arg), 0 where x < min_arg; NaN stays NaN.
  static V scale_pow2_or_zero(V x, V p, V k, float min_arg) {
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    const V r = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(min_arg), _CMP_LT_OQ), r);
  }
  static Mask mask(Index n) {
    const int k = n >= W ? int(W) : n <= 0 ? 0 : int(n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

template <>
struct Simd<double> {
  using V = __m256d;
  using Mask = __m256i;
  static constexpr Index W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V load(Mask m, const double* p) { return _mm256_maskload_pd(p, m); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  /// W floats from p, widened to double.
  static V load_widened(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static void store(double* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  /// Bit i set where !(a_i < b_i): lane i not below b, NaN included.
  static unsigned not_less_bits(V a, V b) { return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_NLT_UQ))); }
  static V round_nearest(V x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  /// p 2^k (-1022 <= k <= 0 where x >= min_arg), 0 where x < min_arg; NaN stays NaN.
  static V scale_pow2_or_zero(V x, V p, V k, double min_arg) {
    const __m256i k64 = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k));
    const __m256i e = _mm256_slli_epi64(_mm256_add_epi64(k64, _mm256_set1_epi64x(1023)), 52);
    const V r = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    return _mm256_andnot_pd(_mm256_cmp_pd(x, _mm256_set1_pd(min_arg), _CMP_LT_OQ), r);
  }
  static Mask mask(Index n) {
    const long long k = n >= W ? W : n <= 0 ? 0 : n;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

/// The lanes 0-3 and 4-7 of a float mask as two double masks.
inline void split_mask(__m256i m, __m256i& lo, __m256i& hi) {
  lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m));
  hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1));
}

/// o[lanes of mask] += x, the float lanes widened to double.
inline void add_vector(double* o, __m256 x, __m256i mask) {
  __m256i lo, hi;
  split_mask(mask, lo, hi);
  const __m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
  _mm256_maskstore_pd(o, lo, _mm256_add_pd(x0, _mm256_maskload_pd(o, lo)));
  _mm256_maskstore_pd(o + 4, hi, _mm256_add_pd(x1, _mm256_maskload_pd(o + 4, hi)));
}
inline void add_vector(double* o, __m256d x, __m256i mask) {
  _mm256_maskstore_pd(o, mask, _mm256_add_pd(x, _mm256_maskload_pd(o, mask)));
}
inline void add_vector(float* o, __m256 x, __m256i mask) {
  _mm256_maskstore_ps(o, mask, _mm256_add_ps(x, _mm256_maskload_ps(o, mask)));
}

/// y += P w as in avx512::packed_times_add, 8 floats a step.
inline void packed_times_add(const float* p, Index R, const double* w, double* y) {
  for (Index j = 0; j < R; p += R - j, ++j) {
    const Index len = R - j;
    const __m256d wj = _mm256_set1_pd(w[j]);
    __m256d dot0 = _mm256_setzero_pd(), dot1 = _mm256_setzero_pd();
    for (Index i = 0; i < len; i += 8) {
      __m256i m0, m1;
      split_mask(Simd<float>::mask(len - i), m0, m1);
      const __m256 x = _mm256_maskload_ps(p + i, Simd<float>::mask(len - i));
      const __m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
      double* yi = y + j + i;
      const double* wi = w + j + i;
      _mm256_maskstore_pd(yi, m0, _mm256_fmadd_pd(x0, wj, _mm256_maskload_pd(yi, m0)));
      _mm256_maskstore_pd(yi + 4, m1, _mm256_fmadd_pd(x1, wj, _mm256_maskload_pd(yi + 4, m1)));
      // Lane 0 of the first block (the diagonal) is in the axpy already; lanes left out keep dot.
      const __m256i d0 = i == 0 ? _mm256_blend_epi32(m0, _mm256_setzero_si256(), 0x3) : m0;
      dot0 = _mm256_blendv_pd(dot0, _mm256_fmadd_pd(x0, _mm256_maskload_pd(wi, d0), dot0), _mm256_castsi256_pd(d0));
      dot1 = _mm256_blendv_pd(dot1, _mm256_fmadd_pd(x1, _mm256_maskload_pd(wi + 4, m1), dot1), _mm256_castsi256_pd(m1));
    }
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, _mm256_add_pd(dot0, dot1));
    y[j] += (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  }
}

}  // namespace ivkit::detail::avx2
IVKIT_TARGET_END
#endif
