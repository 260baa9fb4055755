/// @file
/// SIMD (xsimd) row kernels: log-sum-exp and in-place softmax of one row of log-likelihoods.
///
/// The kernels use xsimd's default architecture, i.e. the best instruction set the including
/// translation unit is compiled for (SSE2 on plain x86-64, AVX2 or AVX-512 with the matching
/// -m flags); ivkit never forces -march on its users.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "ivkit/core/types.hpp"

namespace ivkit::simd {

/// Name of the instruction set the kernels in this translation unit were compiled for.
inline const char* instruction_set() { return xsimd::default_arch::name(); }

namespace detail {
template <class Scalar>
using Batch = xsimd::batch<Scalar, xsimd::default_arch>;

template <class Scalar>
Scalar max_of(const Scalar* x, Index n) {
  using B = Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  Scalar m = -std::numeric_limits<Scalar>::infinity();
  Index i = 0;
  if (n >= W) {
    B acc = B::load_unaligned(x);
    for (i = W; i + W <= n; i += W) acc = xsimd::max(acc, B::load_unaligned(x + i));
    alignas(64) Scalar lanes[W];
    acc.store_aligned(lanes);
    for (Index k = 0; k < W; ++k) m = std::max(m, lanes[k]);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}
}  // namespace detail

/// log(sum_i exp(x[i])), the row maximum subtracted first.
template <class Scalar>
Scalar log_sum_exp(const Scalar* x, Index n) {
  using B = detail::Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  if (n == 0) return -std::numeric_limits<Scalar>::infinity();
  const Scalar m = detail::max_of(x, n);
  if (!std::isfinite(m)) return m;
  const B mb(m);
  B acc(Scalar(0));
  Index i = 0;
  for (; i + W <= n; i += W) acc += xsimd::exp(B::load_unaligned(x + i) - mb);
  Scalar sum = xsimd::hadd(acc);
  for (; i < n; ++i) sum += std::exp(x[i] - m);
  return m + std::log(sum);
}

/// In place: x[i] += offset[i].
template <class Scalar>
void add_inplace(Scalar* x, const Scalar* offset, Index n) {
  using B = detail::Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  Index i = 0;
  for (; i + W <= n; i += W) (B::load_unaligned(x + i) + B::load_unaligned(offset + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] += offset[i];
}

/// `offset` may be null.
/// In place: x[i] <- exp(x[i] + offset[i] - lse), where lse = log sum_i exp(x[i] + offset[i]).
/// Returns lse. The row maximum is subtracted before exponentiating, so rows of very negative
/// log-likelihoods (frames far from every component) still give posteriors that sum to one.
/// A non-finite maximum is returned unchanged and the row is left untouched; callers report it.
template <class Scalar>
Scalar softmax_inplace(Scalar* x, const Scalar* offset, Index n) {
  using B = detail::Batch<Scalar>;
  constexpr Index W = static_cast<Index>(B::size);
  if (n == 0) return -std::numeric_limits<Scalar>::infinity();
  if (offset != nullptr) add_inplace(x, offset, n);
  const Scalar m = detail::max_of(x, n);
  if (!std::isfinite(m)) return m;
  const B mb(m);
  B acc(Scalar(0));
  Index i = 0;
  for (; i + W <= n; i += W) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - mb);
    e.store_unaligned(x + i);
    acc += e;
  }
  Scalar sum = xsimd::hadd(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const Scalar inv = Scalar(1) / sum;
  const B invb(inv);
  for (i = 0; i + W <= n; i += W) (B::load_unaligned(x + i) * invb).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= inv;
  return m + std::log(sum);
}

}  // namespace ivkit::simd
