/// @file
/// Baum-Welch statistics with the packed full scatter (StatsOptions::full_second_order), which
/// the i-vector extractor's full-covariance update needs: one utterance of N = 1000 frames, D = 60,
/// C = 512, one thread.
///   - BM_full_scatter_sparse: stats_from_posteriors from sparse posteriors, 20 per frame (Kaldi's
///     gselect --n=20), i.e. 20,000 packed rank-one updates of D(D+1)/2 = 1830 entries;
///   - BM_full_scatter_sparse_naive: the reference, the same sums formed naively as full D x D outer
///     products per entry (Eigen, double) and packed per component at the end;
///   - BM_full_scatter_dense: stats_from_posteriors from dense N x C posteriors;
///   - BM_Gemm_dense_shape: the product that dominates the dense path, (C x N) * (N x D(D+1)/2),
///     into a preallocated result: its floor.
/// Counters: frames/s.
#include <benchmark/benchmark.h>

#include <vector>

#include "ivkit/core/packed.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/stats/baum_welch.hpp"

namespace {

using ivkit::Index;
constexpr Index kFrames = 1000, kDim = 60, kComponents = 512, kTop = 20;

struct Data {
  ivkit::Matrix<float> frames, means;
  ivkit::SparsePosteriors<float> sparse;
  ivkit::Matrix<float> dense;
};

const Data& data() {
  static const Data d = [] {
    ivkit::Random rng(7);
    Data out;
    out.frames.resize(kFrames, kDim);
    out.means.resize(kComponents, kDim);
    for (Index i = 0; i < kFrames; ++i)
      for (Index j = 0; j < kDim; ++j) out.frames(i, j) = static_cast<float>(rng.normal());
    for (Index i = 0; i < kComponents; ++i)
      for (Index j = 0; j < kDim; ++j) out.means(i, j) = static_cast<float>(rng.normal());
    out.dense = ivkit::Matrix<float>::Zero(kFrames, kComponents);
    for (Index t = 0; t < kFrames; ++t) {
      for (Index k = 0; k < kTop; ++k) {
        const auto c = static_cast<std::int32_t>((t * 37 + k * 101) % kComponents);  // distinct within a frame
        out.sparse.components.push_back(c);
        out.sparse.values.push_back(1.0f / kTop);
        out.dense(t, c) = 1.0f / kTop;
      }
      out.sparse.offsets.push_back(static_cast<Index>(out.sparse.values.size()));
    }
    return out;
  }();
  return d;
}

ivkit::StatsOptions full_scatter() {
  ivkit::StatsOptions o;
  o.second_order = true;
  o.full_second_order = true;
  return o;
}

void set_rate(benchmark::State& state) {
  state.counters["frames/s"] = benchmark::Counter(double(kFrames), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_full_scatter_sparse(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    auto st = ivkit::stats_from_posteriors(d.sparse, d.frames, d.means, full_scatter());
    benchmark::DoNotOptimize(st.second.data());
  }
  set_rate(state);
}

void BM_full_scatter_sparse_naive(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    std::vector<Eigen::MatrixXd> scatter(kComponents, Eigen::MatrixXd::Zero(kDim, kDim));
    for (Index t = 0; t < kFrames; ++t)
      for (Index k = d.sparse.begin(t); k < d.sparse.end(t); ++k) {
        const auto c = d.sparse.components[static_cast<std::size_t>(k)];
        const Eigen::VectorXd y = (d.frames.row(t) - d.means.row(c)).transpose().cast<double>();
        scatter[static_cast<std::size_t>(c)] += static_cast<double>(d.sparse.values[static_cast<std::size_t>(k)]) * y * y.transpose();
      }
    ivkit::Matrix<double> packed(kComponents, ivkit::packed_size(kDim));
    for (Index c = 0; c < kComponents; ++c) {
      auto row = packed.row(c);
      ivkit::pack_symmetric(scatter[static_cast<std::size_t>(c)], row);
    }
    benchmark::DoNotOptimize(packed.data());
  }
  set_rate(state);
}

void BM_full_scatter_dense(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    auto st = ivkit::stats_from_posteriors(d.dense, d.frames, d.means, full_scatter());
    benchmark::DoNotOptimize(st.second.data());
  }
  set_rate(state);
}

void BM_Gemm_dense_shape(benchmark::State& state) {
  const Data& d = data();
  const Eigen::MatrixXd p = d.dense.cast<double>();
  const Eigen::MatrixXd q = Eigen::MatrixXd::Random(kFrames, ivkit::packed_size(kDim));
  Eigen::MatrixXd out(kComponents, ivkit::packed_size(kDim));
  for (auto _ : state) {
    out.noalias() = p.transpose() * q;
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state);
}

}  // namespace

BENCHMARK(BM_full_scatter_sparse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_full_scatter_sparse_naive)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_full_scatter_dense)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_dense_shape)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
