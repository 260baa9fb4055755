/// @file
/// Selection of the n largest entries of a row, best first, ties broken by the lower index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "ivkit/core/detail/simd_avx2.hpp"
#include "ivkit/core/detail/simd_avx512.hpp"
#include "ivkit/core/isa.hpp"
#include "ivkit/core/types.hpp"

#if defined(IVKIT_HAVE_AVX512_KERNELS)
IVKIT_TARGET_AVX512_BEGIN
namespace ivkit::detail::avx512 {
#include "ivkit/gmm/detail/top_n_body.inc"
}  // namespace ivkit::detail::avx512
IVKIT_TARGET_END
#endif

#if defined(IVKIT_HAVE_AVX2_KERNELS)
IVKIT_TARGET_AVX2_BEGIN
namespace ivkit::detail::avx2 {
#include "ivkit/gmm/detail/top_n_body.inc"
}  // namespace ivkit::detail::avx2
IVKIT_TARGET_END
#endif

namespace ivkit::detail {

/// Insertion of x[c] (c in index order) into the sorted list out[0..filled) of at most n entries.
template <class Scalar>
inline void top_n_insert(Scalar v, Index c, Index n, Index& filled, std::pair<Scalar, std::int32_t>* out) {
  if (filled == n && !(v > out[n - 1].first)) return;  // ties keep the earlier (lower) index
  Index pos = filled < n ? filled++ : n - 1;
  while (pos > 0 && v > out[pos - 1].first) {
    out[pos] = out[pos - 1];
    --pos;
  }
  out[pos] = {v, static_cast<std::int32_t>(c)};
}

/// Maxima of the `chunks` consecutive chunks of kChunk entries of x (a constant chunk, so that the
/// loop vectorises). Maxima ignore NaN (it never compares greater).
template <Index kChunk, class Scalar>
inline void chunk_maxima(const Scalar* x, Index chunks, Scalar* maxima) {
  for (Index k = 0; k < chunks; ++k) {
    const Scalar* p = x + k * kChunk;
    Scalar m = -std::numeric_limits<Scalar>::infinity();
    for (Index i = 0; i < kChunk; ++i) m = p[i] > m ? p[i] : m;
    maxima[k] = m;
  }
}

/// Group maxima for the bound of select_top_n on the vector paths (top_n_body.inc), at least n of
/// them with groups of up to 32 entries; 0 on the baseline path or when the row is too short.
/// (Parameters only the kernel paths read are [[maybe_unused]]: builds without them, aarch64.)
template <class Scalar>
inline Index top_n_vector_maxima([[maybe_unused]] const Scalar* x, Index len, Index n, [[maybe_unused]] Scalar* maxima,
                                 Index max_groups) {
  const Isa isa = active_isa();
  if (isa == Isa::baseline) return 0;
  const Index W = (isa == Isa::avx512 ? Index(64) : Index(32)) / static_cast<Index>(sizeof(Scalar));
  Index per_group = 32;
  while (per_group > 1 && std::min(len / (per_group * W) * W, max_groups / W * W) < n) per_group /= 2;
  switch (isa) {
#if defined(IVKIT_HAVE_AVX512_KERNELS)
    case Isa::avx512: return avx512::top_n_group_maxima(x, len, per_group, maxima, max_groups);
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
    case Isa::avx2: return avx2::top_n_group_maxima(x, len, per_group, maxima, max_groups);
#endif
    default: return 0;
  }
}

/// The n-th largest of the k maxima top_n_vector_maxima wrote (k a multiple of the path's width).
template <class Scalar>
inline Scalar top_n_vector_nth_largest([[maybe_unused]] const Scalar* maxima, [[maybe_unused]] Index k, [[maybe_unused]] Index n) {
  switch (active_isa()) {
#if defined(IVKIT_HAVE_AVX512_KERNELS)
    case Isa::avx512: return avx512::top_n_nth_largest(maxima, k, n);
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
    case Isa::avx2: return avx2::top_n_nth_largest(maxima, k, n);
#endif
    default: return -std::numeric_limits<Scalar>::infinity();  // not reached: no vector maxima there
  }
}

/// The offsets of x[0..len) not below `bound` (NaN included), ascending; see top_n_not_below.
template <class Scalar>
inline Index top_n_offsets_not_below(const Scalar* x, Index len, Scalar bound, std::int32_t* offsets) {
  switch (active_isa()) {
#if defined(IVKIT_HAVE_AVX512_KERNELS)
    case Isa::avx512: return avx512::top_n_not_below(x, len, bound, offsets);
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
    case Isa::avx2: return avx2::top_n_not_below(x, len, bound, offsets);
#endif
    default: {
      Index count = 0;
      for (Index i = 0; i < len; ++i)
        if (!(x[i] < bound)) offsets[count++] = static_cast<std::int32_t>(i);
      return count;
    }
  }
}

/// Writes the n largest of x[0..len) into out[0..min(n,len)) as (value, index), best first, and
/// returns how many were written.
///
/// Threshold first: the maxima of disjoint groups of the row's entries (n or more groups) are n or
/// more entries of the row, so the n-th largest maximum is a lower bound of the n-th largest entry,
/// and no entry below it can be selected. One pass finds the maxima, a selection among them (64 at
/// C = 2048) the bound, and only the entries at or above it (about n + n ln(C / n) / 32 in a row in
/// random order) go through the insertion, in index order, so the result (ties included) is that of
/// inserting every entry, whatever the groups. An insertion costs about 80 cycles (its branches
/// mispredict); this cuts their number from about n (1 + ln(C / n)) to little more than n
/// (docs/benchmarks.md). On the AVX-512 and AVX2 paths the groups are lanes of consecutive vectors
/// (vertical maxima, no horizontal reduction), the bound is found by counting with vector
/// comparisons and the entries at or above it by vector comparisons (top_n_body.inc): as scalar
/// loops and std::nth_element these were 70% of the selection, and the selection as much time as
/// the scoring GEMM in ivkit-gselect.
template <class Scalar>
Index select_top_n(const Scalar* x, Index len, Index n, std::pair<Scalar, std::int32_t>* out) {
  if (n > len) n = len;
  if (n <= 0) return 0;
  constexpr Index kMaxChunks = 256;
  Scalar maxima[kMaxChunks];
  Index filled = 0;
  Index chunks = top_n_vector_maxima(x, len, n, maxima, kMaxChunks);
  Scalar bound;
  if (chunks >= n) {
    bound = top_n_vector_nth_largest(maxima, chunks, n);
  } else {
    // Consecutive chunks of 32 entries, or fewer where that leaves fewer than n chunks (C = 512,
    // n = 20: 32 chunks of 16); at least 4 entries a chunk.
    Index chunk = 32;
    while (chunk > 4 && len / chunk < n) chunk /= 2;
    chunks = std::min(len / chunk, kMaxChunks);
    if (chunks < n) {  // too few chunks to bound the n-th entry: insert everything
      for (Index c = 0; c < len; ++c) top_n_insert(x[c], c, n, filled, out);
      return filled;
    }
    switch (chunk) {
      case 32: chunk_maxima<32>(x, chunks, maxima); break;
      case 16: chunk_maxima<16>(x, chunks, maxima); break;
      case 8: chunk_maxima<8>(x, chunks, maxima); break;
      default: chunk_maxima<4>(x, chunks, maxima); break;
    }
    // The selection below then sees an ordered set; a bound of -inf skips nothing, any larger
    // bound is met by n real entries.
    std::nth_element(maxima, maxima + (n - 1), maxima + chunks, std::greater<Scalar>());
    bound = maxima[n - 1];
  }
  // `v < bound` is false for NaN, which therefore takes the plain insertion as before. The entries
  // at or above the bound are found a piece at a time, then inserted in index order.
  constexpr Index kPiece = 256;
  std::int32_t offsets[kPiece];
  for (Index p0 = 0; p0 < len; p0 += kPiece) {
    const Index count = top_n_offsets_not_below(x + p0, std::min(kPiece, len - p0), bound, offsets);
    for (Index k = 0; k < count; ++k) {
      const Index c = p0 + offsets[k];
      top_n_insert(x[c], c, n, filled, out);
    }
  }
  return filled;
}

}  // namespace ivkit::detail
