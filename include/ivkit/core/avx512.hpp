/// @file
/// The few AVX-512 operations the kernels use, for float (16 lanes) and double (8 lanes), so that
/// one kernel body serves both scalar types. Only defined when the build enables AVX-512F.
#pragma once

#include "ivkit/core/types.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace ivkit::detail {

template <class T>
struct Simd512;

template <>
struct Simd512<float> {
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
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static Mask mask(Index n) { return n >= W ? Mask(0xFFFF) : n <= 0 ? Mask(0) : Mask((1u << n) - 1u); }
};

template <>
struct Simd512<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr Index W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static Mask mask(Index n) { return n >= W ? Mask(0xFF) : n <= 0 ? Mask(0) : Mask((1u << n) - 1u); }
};

/// The 16 floats of x as two vectors of 8 doubles (lanes 0-7, 8-15).
inline void widen_to_double(__m512 x, __m512d& lo, __m512d& hi) {
  lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
  hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

}  // namespace ivkit::detail
#endif
