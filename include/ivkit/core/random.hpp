/// @file
/// A small, portable random source: the same seed gives the same numbers with every compiler and
/// standard library (std::mt19937_64 is fully specified; the distributions here are our own,
/// because std::normal_distribution and friends are implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "ivkit/core/error.hpp"

namespace ivkit {

class Random {
 public:
  explicit Random(std::uint64_t seed = 0) : engine_(seed) {}

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), without modulo bias.
  std::uint64_t uniform_index(std::uint64_t n) {
    if (n == 0) throw InvalidArgument("Random::uniform_index: n must be positive");
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t r;
    do {
      r = engine_();
    } while (r >= limit);
    return r % n;
  }

  /// Standard normal deviate (Marsaglia's polar method; the spare deviate is kept).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace ivkit
