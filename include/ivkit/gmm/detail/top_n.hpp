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

/// Writes the n largest of x[0..len) into out[0..min(n,len)) as (value, index), best first, and
/// returns how many were written.
///
/// Threshold first: the maxima of the row's 32-entry chunks are n or more entries of the row, so the
/// n-th largest maximum is a lower bound of the n-th largest entry, and no entry below it can be
/// selected. One vectorised pass finds the maxima, a selection among them (64 at C = 2048) the
/// bound, and only the entries at or above it (about n + n ln(C / n) / 32 in a row in random order)
/// go through the insertion, in index order, so the result (ties included) is that of inserting
/// every entry. An insertion costs about 80 cycles (its branches mispredict); this cuts their number
/// from about n (1 + ln(C / n)) to little more than n (docs/benchmarks.md).
template <class Scalar>
Index select_top_n(const Scalar* x, Index len, Index n, std::pair<Scalar, std::int32_t>* out) {
  if (n > len) n = len;
  if (n <= 0) return 0;
  constexpr Index kChunk = 32, kMaxChunks = 256;
  const Index chunks = std::min(len / kChunk, kMaxChunks);
  Index filled = 0;
  if (chunks < n) {  // too few chunks to bound the n-th entry: insert everything
    for (Index c = 0; c < len; ++c) top_n_insert(x[c], c, n, filled, out);
    return filled;
  }
  // Maxima ignore NaN (it never compares greater), so the selection below sees an ordered set; a
  // bound of -inf skips nothing, any larger bound is met by n real entries.
  Scalar maxima[kMaxChunks];
  for (Index k = 0; k < chunks; ++k) {
    const Scalar* p = x + k * kChunk;
    Scalar m = -std::numeric_limits<Scalar>::infinity();
    for (Index i = 0; i < kChunk; ++i) m = p[i] > m ? p[i] : m;
    maxima[k] = m;
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
