/// @file
/// Selection of the n largest entries of a row, best first, ties broken by the lower index.
#pragma once

#include <cstdint>
#include <utility>

#include "ivkit/core/types.hpp"

namespace ivkit::detail {

/// Writes the n largest of x[0..len) into out[0..min(n,len)) as (value, index), best first, and
/// returns how many were written. One pass with a threshold test: nearly every entry is rejected
/// by a single comparison, so the cost is about one compare per entry.
template <class Scalar>
Index select_top_n(const Scalar* x, Index len, Index n, std::pair<Scalar, std::int32_t>* out) {
  if (n > len) n = len;
  if (n <= 0) return 0;
  Index filled = 0;
  for (Index c = 0; c < len; ++c) {
    const Scalar v = x[c];
    if (filled == n && !(v > out[n - 1].first)) continue;  // ties keep the earlier (lower) index
    Index pos = filled < n ? filled++ : n - 1;
    while (pos > 0 && v > out[pos - 1].first) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = {v, static_cast<std::int32_t>(c)};
  }
  return filled;
}

}  // namespace ivkit::detail
