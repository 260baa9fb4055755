/// @file
/// The AVX-512 path's vector operations (ivkit::detail::avx512), for float (16 lanes) and double
/// (8 lanes), so that one kernel body (gemm_kernel_body.inc, spd_kernel_body.inc,
/// simd/detail/softmax_body.inc) serves both scalar types and every path. Compiled with the AVX-512
/// target whatever the flags (detail/target_region.hpp); run only when core/isa.hpp chose it.
#pragma once

#include "ivkit/core/detail/target_region.hpp"
#include "ivkit/core/types.hpp"

#if defined(IVKIT_HAVE_AVX512_KERNELS)
IVKIT_TARGET_AVX512_BEGIN
namespace ivkit::detail::avx512 {

inline constexpr Isa kIsa = Isa::avx512;
/// Rows of a GEMM tile: 8 x 3 vectors of accumulators, 24 of the 32 vector registers.
inline constexpr Index kGemmRows = 8;
/// Columns one pass of an SPD tile keeps in registers (3 vectors each): 24 accumulators.
inline constexpr Index kSpdTileColumns = 8;

template <class T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr Index W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  ///< c - a b
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  /// Bit i set where !(a_i < b_i): lane i not below b, NaN included.
  static unsigned not_less_bits(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLT_UQ); }
  static V round_nearest(V x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  /// p 2^k where x >= min_arg (NaN included), 0 below: one masked scalef.
  static V scale_pow2_or_zero(V x, V p, V k, float min_arg) {
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(min_arg), _CMP_NLT_UQ), p, k);
  }
  static Mask mask(Index n) { return n >= W ? Mask(0xFFFF) : n <= 0 ? Mask(0) : Mask((1u << n) - 1u); }
};

template <>
struct Simd<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr Index W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  /// W floats from p, widened to double.
  static V load_widened(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  /// Bit i set where !(a_i < b_i): lane i not below b, NaN included.
  static unsigned not_less_bits(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_NLT_UQ); }
  static V round_nearest(V x) { return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale_pow2_or_zero(V x, V p, V k, double min_arg) {
    return _mm512_maskz_scalef_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(min_arg), _CMP_NLT_UQ), p, k);
  }
  static Mask mask(Index n) { return n >= W ? Mask(0xFF) : n <= 0 ? Mask(0) : Mask((1u << n) - 1u); }
};

/// The 16 floats of x as two vectors of 8 doubles (lanes 0-7, 8-15).
inline void widen_to_double(__m512 x, __m512d& lo, __m512d& hi) {
  lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
  hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

/// o[lanes of mask] += x (in double: EM accumulators, no copy in the input type).
inline void add_vector(double* o, __m512 x, __mmask16 mask) {
  const __mmask8 lo = static_cast<__mmask8>(mask & 0xFF), hi = static_cast<__mmask8>(mask >> 8);
  __m512d x0, x1;
  widen_to_double(x, x0, x1);
  _mm512_mask_storeu_pd(o, lo, _mm512_add_pd(x0, _mm512_maskz_loadu_pd(lo, o)));
  _mm512_mask_storeu_pd(o + 8, hi, _mm512_add_pd(x1, _mm512_maskz_loadu_pd(hi, o + 8)));
}
inline void add_vector(double* o, __m512d x, __mmask8 mask) {
  _mm512_mask_storeu_pd(o, mask, _mm512_add_pd(x, _mm512_maskz_loadu_pd(mask, o)));
}
inline void add_vector(float* o, __m512 x, __mmask16 mask) {
  _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, o)));
}

/// y += P w in double, P symmetric with its lower triangle packed column by column in float
/// (column j: P[j..R-1, j]): each float column is converted once and used twice, as an axpy into
/// y[j..] and a dot with w[j+1..] into y[j]. The summation order depends only on R.
inline void packed_times_add(const float* p, Index R, const double* w, double* y) {
  for (Index j = 0; j < R; p += R - j, ++j) {
    const Index len = R - j;
    const __m512d wj = _mm512_set1_pd(w[j]);
    __m512d dot0 = _mm512_setzero_pd(), dot1 = _mm512_setzero_pd();
    for (Index i = 0; i < len; i += 16) {
      const __mmask16 m = Simd<float>::mask(len - i);
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

}  // namespace ivkit::detail::avx512
IVKIT_TARGET_END
#endif
