/// @file
/// SIMD row kernels: log-sum-exp and in-place softmax of one row of log-likelihoods, and the dot
/// product of two rows (the selected log-likelihoods of a full-covariance GMM).
///
/// On the AVX-512 and AVX2 paths (chosen at run time, core/isa.hpp) the kernels are ivkit's own
/// (simd/detail/softmax_body.inc, compiled for each path whatever the flags); on the baseline path
/// they use xsimd's default architecture, i.e. the best instruction set the including translation
/// unit is compiled for (SSE2 on plain x86-64, NEON on aarch64). ivkit never forces -march on its
/// users.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>
#include <xsimd/xsimd.hpp>

#include <Eigen/Core>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "ivkit/core/detail/simd_avx2.hpp"
#include "ivkit/core/detail/simd_avx512.hpp"
#include "ivkit/core/isa.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::simd {

namespace detail {
template <class Scalar>
using Batch = xsimd::batch<Scalar, xsimd::default_arch>;

template <class Scalar>
Scalar hmax(const Batch<Scalar>& v) {
  constexpr Index W = static_cast<Index>(Batch<Scalar>::size);
  alignas(64) Scalar lanes[W];
  v.store_aligned(lanes);
  Scalar m = lanes[0];
  for (Index k = 1; k < W; ++k) m = std::max(m, lanes[k]);
  return m;
}

/// Sum of the lanes (xsimd::hadd trips GCC 12's -Wuninitialized on AVX-512 doubles once inlined).
template <class Scalar>
Scalar hsum(const Batch<Scalar>& v) {
  constexpr Index W = static_cast<Index>(Batch<Scalar>::size);
  alignas(64) Scalar lanes[W];
  v.store_aligned(lanes);
  Scalar s = lanes[0];
  for (Index k = 1; k < W; ++k) s += lanes[k];
  return s;
}

template <class Scalar>
Scalar max_of(const Scalar* x, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  Scalar m = -std::numeric_limits<Scalar>::infinity();
  Index i = 0;
  if (n >= W) {
    B acc = B::load_unaligned(x);
    for (i = W; i + W <= n; i += W) acc = xsimd::max(acc, B::load_unaligned(x + i));
    m = hmax<Scalar>(acc);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

/// x[i] += offset[i] and the maximum of the result, in one pass.
template <class Scalar>
Scalar add_and_max(Scalar* x, const Scalar* offset, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  Scalar m = -std::numeric_limits<Scalar>::infinity();
  Index i = 0;
  if (n >= W) {
    B acc(m);
    for (; i + W <= n; i += W) {
      const B v = B::load_unaligned(x + i) + B::load_unaligned(offset + i);
      v.store_unaligned(x + i);
      acc = xsimd::max(acc, v);
    }
    m = hmax<Scalar>(acc);
  }
  for (; i < n; ++i) {
    x[i] += offset[i];
    m = std::max(m, x[i]);
  }
  return m;
}

template <class Scalar>
struct ExpConstants;
template <>
struct ExpConstants<float> {
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693359375f;  // Cody-Waite split of log 2 (Cephes)
  static constexpr float ln2_lo = -2.12194440e-4f;
  static constexpr float min_arg = -87.3365478515625f;  // below: the result is not a normal float
};
template <>
struct ExpConstants<double> {
  static constexpr double log2e = 1.4426950408889634073599;
  static constexpr double ln2_hi = 6.93145751953125e-1;
  static constexpr double ln2_lo = 1.42860682030941723212e-6;
  static constexpr double min_arg = -708.3964185322641;
};

/// exp(r) for |r| <= log(2)/2.
inline Batch<float> exp_reduced(const Batch<float>& r) {
  using B = Batch<float>;
  // Cephes' expf polynomial (the one xsimd uses): relative error about 1e-7.
  B p = xsimd::fma(B(1.3997796e-03f), r, B(8.3955629e-03f));
  p = xsimd::fma(p, r, B(4.1665401e-02f));
  p = xsimd::fma(p, r, B(1.6666277e-01f));
  p = xsimd::fma(p, r, B(5.0e-01f));
  return xsimd::fma(p, r * r, r) + B(1.0f);
}
inline Batch<double> exp_reduced(const Batch<double>& r) {
  using B = Batch<double>;
  // Taylor series to degree 12: truncation error below 2e-16 relative on |r| <= log(2)/2; FMAs
  // only, where xsimd's double exp divides.
  B p(1.0 / 479001600.0);
  p = xsimd::fma(p, r, B(1.0 / 39916800.0));
  p = xsimd::fma(p, r, B(1.0 / 3628800.0));
  p = xsimd::fma(p, r, B(1.0 / 362880.0));
  p = xsimd::fma(p, r, B(1.0 / 40320.0));
  p = xsimd::fma(p, r, B(1.0 / 5040.0));
  p = xsimd::fma(p, r, B(1.0 / 720.0));
  p = xsimd::fma(p, r, B(1.0 / 120.0));
  p = xsimd::fma(p, r, B(1.0 / 24.0));
  p = xsimd::fma(p, r, B(1.0 / 6.0));
  p = xsimd::fma(p, r, B(0.5));
  return xsimd::fma(p, r * r, r) + B(1.0);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 reports the _mm512_undefined_* placeholders of AVX-512 intrinsics (xsimd::nearbyint)
// as uninitialised when inlined (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
/// exp(x) for x <= 0, as the softmax needs it after subtracting the row maximum: exactly 0 below
/// the smallest normal result (and for -inf), never a subnormal; NaN stays NaN, so callers still
/// see a non-finite log-sum-exp. x = k log 2 + r, exp(x) = 2^k exp(r). As accurate as xsimd::exp
/// (float: same polynomial; double: within 1.5 ulp) without its general range checks and, for
/// double, its division: softmax rows run about 1.5x (float) and 2x (double) faster on AVX-512
/// (docs/benchmarks.md).
template <class Scalar>
Batch<Scalar> exp_nonpositive(const Batch<Scalar>& x) {
  using B = Batch<Scalar>;
  using K = ExpConstants<Scalar>;
  const B k = xsimd::nearbyint(x * B(K::log2e));
  B r = xsimd::fnma(k, B(K::ln2_hi), x);
  r = xsimd::fnma(k, B(K::ln2_lo), r);
  const B p = exp_reduced(r);
#if defined(__AVX512F__)
  // One masked scalef does the 2^k scaling and the zeroing (mask: not below min_arg, NaN included).
  if constexpr (std::is_base_of_v<xsimd::avx512f, typename B::arch_type>) {
    if constexpr (std::is_same_v<Scalar, float>)
      return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(K::min_arg), _CMP_NLT_UQ), p, k);
    else
      return _mm512_maskz_scalef_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(K::min_arg), _CMP_NLT_UQ), p, k);
  }
#endif
  return xsimd::select(x < B(K::min_arg), B(Scalar(0)), xsimd::ldexp(p, xsimd::to_int(k)));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// x[i] <- exp(x[i] - m) for a row whose maximum is m; returns the sum of the results.
template <class Scalar>
Scalar exp_shifted_inplace(Scalar* x, Scalar m, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  const B mb(m);
  B acc(Scalar(0));
  Index i = 0;
  for (; i + W <= n; i += W) {
    const B e = exp_nonpositive<Scalar>(B::load_unaligned(x + i) - mb);
    e.store_unaligned(x + i);
    acc += e;
  }
  Scalar sum = hsum<Scalar>(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  return sum;
}

/// The baseline path of log_sum_exp.
template <class Scalar>
Scalar log_sum_exp_portable(const Scalar* x, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  if (n == 0) return -std::numeric_limits<Scalar>::infinity();
  const Scalar m = max_of(x, n);
  if (!std::isfinite(m)) return m;
  const B mb(m);
  B acc(Scalar(0));
  Index i = 0;
  for (; i + W <= n; i += W) acc += exp_nonpositive<Scalar>(B::load_unaligned(x + i) - mb);
  Scalar sum = hsum<Scalar>(acc);
  for (; i < n; ++i) sum += std::exp(x[i] - m);
  return m + std::log(sum);
}

/// The baseline path of add_inplace.
template <class Scalar>
void add_portable(Scalar* x, const Scalar* offset, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  Index i = 0;
  for (; i + W <= n; i += W) (B::load_unaligned(x + i) + B::load_unaligned(offset + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] += offset[i];
}

/// The baseline path of add_widened.
inline void add_widened_portable(double* acc, const float* x, Index n) {
  for (Index i = 0; i < n; ++i) acc[i] += static_cast<double>(x[i]);
}

/// The baseline path of softmax_inplace.
template <class Scalar>
Scalar softmax_portable(Scalar* x, const Scalar* offset, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  if (n == 0) return -std::numeric_limits<Scalar>::infinity();
  // Three passes over a row that stays in L1: offset and maximum, exp and sum, scale.
  const Scalar m = offset != nullptr ? add_and_max(x, offset, n) : max_of(x, n);
  if (!std::isfinite(m)) return m;
  const Scalar sum = exp_shifted_inplace(x, m, n);
  const Scalar inv = Scalar(1) / sum;
  const B invb(inv);
  Index i = 0;
  for (; i + W <= n; i += W) (B::load_unaligned(x + i) * invb).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= inv;
  return m + std::log(sum);
}


/// Squared norms ||K d_f||^2 (simd::whitened_norms), in the same packed layout.
template <class Scalar>
void whitened_norms_portable(const Scalar* K, const Scalar* d, Index D, Index count, Scalar* out) {
  thread_local std::vector<Scalar> z;
  const Index rows = (D + 15) / 16 * 16;
  z.resize(static_cast<std::size_t>(rows));
  for (Index f = 0; f < count; ++f) {
    std::fill(z.begin(), z.end(), Scalar(0));
    const Scalar* block = K;
    for (Index q = 0; q * 16 < D; ++q) {
      const Index jend = std::min((q + 1) * 16, D);
      Scalar* zq = z.data() + q * 16;
      for (Index j = 0; j < jend; ++j) {
        const Scalar dj = d[f * D + j];
        for (Index l = 0; l < 16; ++l) zq[l] += block[j * 16 + l] * dj;
      }
      block += 16 * jend;
    }
    Scalar total = 0;
    for (Index i = 0; i < D; ++i) total += z[static_cast<std::size_t>(i)] * z[static_cast<std::size_t>(i)];
    out[f] = total;
  }
}

}  // namespace detail
}  // namespace ivkit::simd

#if defined(IVKIT_HAVE_AVX512_KERNELS)
IVKIT_TARGET_AVX512_BEGIN
namespace ivkit::detail::avx512 {
#include "ivkit/simd/detail/softmax_body.inc"
}  // namespace ivkit::detail::avx512
IVKIT_TARGET_END
#endif

#if defined(IVKIT_HAVE_AVX2_KERNELS)
IVKIT_TARGET_AVX2_BEGIN
namespace ivkit::detail::avx2 {
#include "ivkit/simd/detail/softmax_body.inc"
}  // namespace ivkit::detail::avx2
IVKIT_TARGET_END
#endif

namespace ivkit::simd {

#if defined(IVKIT_HAVE_AVX512_KERNELS)
#define IVKIT_ROW_KERNEL_AVX512(call) \
  case Isa::avx512: return ::ivkit::detail::avx512::call;
#else
#define IVKIT_ROW_KERNEL_AVX512(call)
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
#define IVKIT_ROW_KERNEL_AVX2(call) \
  case Isa::avx2: return ::ivkit::detail::avx2::call;
#else
#define IVKIT_ROW_KERNEL_AVX2(call)
#endif
#define IVKIT_ROW_KERNEL(call, portable) \
  switch (active_isa()) {               \
    IVKIT_ROW_KERNEL_AVX512(call)       \
    IVKIT_ROW_KERNEL_AVX2(call)         \
    default: return portable;           \
  }

/// The row kernels' path: "avx512", "avx2", or on the baseline path the name of the instruction
/// set xsimd was compiled for ("sse2", "avx512bw", "neon64", ...).
inline const char* instruction_set() {
  return active_isa() == Isa::baseline ? xsimd::default_arch::name() : isa_name(active_isa());
}

/// log(sum_i exp(x[i])), the row maximum subtracted first.
template <class Scalar>
Scalar log_sum_exp(const Scalar* x, Index n) {
  IVKIT_ROW_KERNEL(row_log_sum_exp(x, n), detail::log_sum_exp_portable(x, n))
}

/// In place: x[i] += offset[i].
template <class Scalar>
void add_inplace(Scalar* x, const Scalar* offset, Index n) {
  IVKIT_ROW_KERNEL(row_add(x, offset, n), detail::add_portable(x, offset, n))
}

/// In place: x[i] <- exp(x[i] + offset[i] - lse), where lse = log sum_i exp(x[i] + offset[i]);
/// `offset` may be null. Returns lse. The row maximum is subtracted before exponentiating, so rows
/// of very negative log-likelihoods (frames far from every component) still give posteriors that
/// sum to one. A non-finite maximum is returned unchanged and the row is left untouched; callers
/// report it.
template <class Scalar>
Scalar softmax_inplace(Scalar* x, const Scalar* offset, Index n) {
  IVKIT_ROW_KERNEL(row_softmax(x, offset, n), detail::softmax_portable(x, offset, n))
}

/// In place: acc[i] += x[i], in double (float partial sums added to double totals).
inline void add_widened(double* acc, const float* x, Index n) {
  IVKIT_ROW_KERNEL(row_add_widened(acc, x, n), detail::add_widened_portable(acc, x, n))
}

/// sum_i a[i] b[i]; on the baseline path Eigen's dot product.
template <class Scalar>
Scalar dot(const Scalar* a, const Scalar* b, Index n) {
  IVKIT_ROW_KERNEL(row_dot(a, b, n), (Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(a, n)
                                          .dot(Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(b, n))))
}

/// Values of the packed lower-triangular layout of simd::whitened_norms for dimension D.
inline Index whitened_packed_size(Index D) {
  Index size = 0;
  for (Index q = 0; q * 16 < D; ++q) size += 16 * std::min((q + 1) * 16, D);
  return size;
}

/// out[f] = ||K d_f||^2 for count (1 to 4) vectors d_f (D each, D apart) and a lower-triangular
/// K (D x D) packed by row blocks: block q (rows 16 q .. 16 q + 15, zero past row D) holds
/// columns 0 .. min(16 (q + 1), D) - 1, 16 values each, the blocks one after another
/// (whitened_packed_size(D) values). With K the inverse Cholesky factor of a covariance it is the
/// Mahalanobis distance of each d_f, computed from K read once, in order, for the group (the
/// selected log-likelihoods of a full-covariance GMM, gmm/scoring.hpp). A vector's result does not
/// depend on the group it is in.
template <class Scalar>
void whitened_norms(const Scalar* K, const Scalar* d, Index D, Index count, Scalar* out) {
  IVKIT_ROW_KERNEL(row_whitened_norms(K, d, D, count, out), detail::whitened_norms_portable(K, d, D, count, out))
}

#undef IVKIT_ROW_KERNEL
#undef IVKIT_ROW_KERNEL_AVX2
#undef IVKIT_ROW_KERNEL_AVX512

}  // namespace ivkit::simd
