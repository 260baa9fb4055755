/// @file
/// Selection of the n largest entries of a row, best first, ties broken by the lower index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "ivkit/core/types.hpp"

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

/// Writes the n largest of x[0..len) into out[0..min(n,len)) as (value, index), best first, and
/// returns how many were written.
///
/// Threshold first: the maxima of the row's 32-entry chunks (16, 8 or 4 entries when the row is
/// short for n) are n or more entries of the row, so the n-th largest maximum is a lower bound of
/// the n-th largest entry, and no entry below it can be selected. One vectorised pass finds the
/// maxima, a selection among them (64 at C = 2048) the bound, and only the entries at or above it
/// (about n + n ln(C / n) / 32 in a row in random order) go through the insertion, in index order,
/// so the result (ties included) is that of inserting every entry. An insertion costs about 80 cycles (its branches mispredict); this cuts their number
/// from about n (1 + ln(C / n)) to little more than n (docs/benchmarks.md).
template <class Scalar>
Index select_top_n(const Scalar* x, Index len, Index n, std::pair<Scalar, std::int32_t>* out) {
  if (n > len) n = len;
  if (n <= 0) return 0;
  constexpr Index kMaxChunks = 256;
  // Chunks of 32 entries, or fewer where that leaves fewer than n chunks (C = 512, n = 20: 32
  // chunks of 16); at least 4 entries a chunk.
  Index chunk = 32;
  while (chunk > 4 && len / chunk < n) chunk /= 2;
  const Index chunks = std::min(len / chunk, kMaxChunks);
  Index filled = 0;
  if (chunks < n) {  // too few chunks to bound the n-th entry: insert everything
    for (Index c = 0; c < len; ++c) top_n_insert(x[c], c, n, filled, out);
    return filled;
  }
  // The selection below then sees an ordered set; a bound of -inf skips nothing, any larger
  // bound is met by n real entries.
  Scalar maxima[kMaxChunks];
  switch (chunk) {
    case 32: chunk_maxima<32>(x, chunks, maxima); break;
    case 16: chunk_maxima<16>(x, chunks, maxima); break;
    case 8: chunk_maxima<8>(x, chunks, maxima); break;
    default: chunk_maxima<4>(x, chunks, maxima); break;
  }
  std::nth_element(maxima, maxima + (n - 1), maxima + chunks, std::greater<Scalar>());
  const Scalar bound = maxima[n - 1];
  // `v < bound` is false for NaN, which therefore takes the plain insertion as before.
  for (Index c = 0; c < len; ++c) {
    const Scalar v = x[c];
    if (v < bound) continue;
    top_n_insert(v, c, n, filled, out);
  }
  return filled;
}

}  // namespace ivkit::detail
