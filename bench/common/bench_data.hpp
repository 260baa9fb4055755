/// @file
/// Synthetic models and frames for the benchmarks: fixed seeds, ivkit::Random only, so every run
/// and every machine scores the same numbers. Data sets are built once per shape and cached, so the
/// repeated calls Google Benchmark makes while choosing an iteration count cost nothing.
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"

namespace ivkit_bench {

using ivkit::Index;

inline constexpr std::uint64_t kModelSeed = 20240611;
inline constexpr std::uint64_t kFrameSeed = 977;

/// A diagonal GMM shaped like an MFCC UBM and frames drawn from it. Means are spread 0.4 standard
/// deviations around a non-zero offset (dimension 0 sits at 10, like c0), variances lie in
/// [0.5, 1.5]: frames then spread their mass like real UBM posteriors (at C = 2048 the best
/// component takes 0.48 on average and about 10 components exceed 0.01), not one-hot.
template <class Scalar>
struct DiagData {
  ivkit::DiagGmm<Scalar> gmm;
  ivkit::Matrix<Scalar> frames;  ///< (N x D), one frame per row
};

template <class Scalar>
ivkit::DiagGmm<Scalar> make_diag_gmm(Index C, Index D, std::uint64_t seed = kModelSeed) {
  ivkit::Random rng(seed);
  ivkit::Vector<Scalar> w(C);
  ivkit::Matrix<Scalar> mu(C, D), var(C, D);
  double wsum = 0.0;
  for (Index c = 0; c < C; ++c) {
    const double v = 0.5 + rng.uniform();
    w(c) = static_cast<Scalar>(v);
    wsum += v;
  }
  w /= static_cast<Scalar>(wsum);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = static_cast<Scalar>((d == 0 ? 10.0 : 0.0) + 0.4 * rng.normal());
      var(c, d) = static_cast<Scalar>(0.5 + rng.uniform());
    }
  return ivkit::DiagGmm<Scalar>(std::move(w), std::move(mu), std::move(var));
}

/// N frames drawn from `gmm` (component uniformly at random, then its Gaussian).
template <class Scalar>
ivkit::Matrix<Scalar> sample_frames(const ivkit::DiagGmm<Scalar>& gmm, Index N, std::uint64_t seed = kFrameSeed) {
  ivkit::Random rng(seed);
  const Index C = gmm.num_components(), D = gmm.dim();
  ivkit::Matrix<Scalar> x(N, D);
  for (Index t = 0; t < N; ++t) {
    const auto c = static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(C)));
    for (Index d = 0; d < D; ++d)
      x(t, d) = static_cast<Scalar>(gmm.means()(c, d) + std::sqrt(gmm.variances()(c, d)) * rng.normal());
  }
  return x;
}

/// Cached (model, frames) for a shape.
template <class Scalar>
const DiagData<Scalar>& diag_data(Index C, Index D, Index N) {
  static std::map<std::tuple<Index, Index, Index>, std::unique_ptr<DiagData<Scalar>>> cache;
  auto& slot = cache[{C, D, N}];
  if (!slot) {
    auto gmm = make_diag_gmm<Scalar>(C, D);
    auto frames = sample_frames(gmm, N);
    slot.reset(new DiagData<Scalar>{std::move(gmm), std::move(frames)});
  }
  return *slot;
}

/// Cached full-covariance copy (ivkit::to_full) of diag_data's model.
template <class Scalar>
const ivkit::FullGmm<Scalar>& full_gmm(Index C, Index D, Index N) {
  static std::map<std::tuple<Index, Index, Index>, std::unique_ptr<ivkit::FullGmm<Scalar>>> cache;
  auto& slot = cache[{C, D, N}];
  if (!slot) slot.reset(new ivkit::FullGmm<Scalar>(ivkit::to_full(diag_data<Scalar>(C, D, N).gmm)));
  return *slot;
}

/// A matrix of standard normal deviates (stand-in operand for the bare GEMM references).
template <class M>
M random_matrix(Index rows, Index cols, std::uint64_t seed) {
  ivkit::Random rng(seed);
  M m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = static_cast<typename M::Scalar>(rng.normal());
  return m;
}

/// frames/s and GFLOP/s, both per iteration, divided by the iteration's time.
inline void set_rates(benchmark::State& state, double frames, double flops) {
  state.counters["frames/s"] = benchmark::Counter(frames, benchmark::Counter::kIsIterationInvariantRate);
  if (flops > 0)
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace ivkit_bench
