/// @file
/// EM throughput of diagonal and full-covariance GMMs: statistics accumulation (all components and
/// top-N), one whole EM iteration (accumulate + M-step) on one thread and on all threads, and the
/// references it is judged by, timed in the same binary so that ratios come from one run:
///   - BM_Gemm_em_shapes: the two bare Eigen products the batched accumulation is made of,
///     (N x F) * (F x C) -> log-likelihoods and (C x N) * (N x F) -> statistics, F = 2D (diagonal);
///   - BM_Gemm_em_shapes_full: the same two products with F = D + D(D+1)/2 (full covariance).
/// Single-threaded benchmarks are timed in CPU time of their thread (other processes on the machine
/// disturb it less); the EM iteration, run on one thread and on all, in wall-clock time.
#include <benchmark/benchmark.h>

#include "../common/bench_data.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/gmm/full_gmm.hpp"

namespace {

using ivkit::Index;
using ivkit_bench::diag_data;
using ivkit_bench::set_rates;

constexpr Index kFrames = 20000;           // accumulation benchmarks
constexpr Index kIterationFrames = 200000; // one full EM iteration

/// Flops of dense accumulation: scoring (2 N F C) plus statistics (2 N F C).
double dense_em_flops(Index N, Index F, Index C) { return 4.0 * double(N) * double(F) * double(C); }
/// Top-N accumulation: the scoring product, then n scaled rows of F per frame.
double top_n_em_flops(Index N, Index F, Index C, Index n) {
  return 2.0 * double(N) * double(F) * double(C) + 2.0 * double(N) * double(n) * double(F);
}

template <class Scalar>
void BM_DiagGmm_accumulate(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1), top_n = state.range(2);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  ivkit::AccumulateOptions opts;
  opts.top_n = top_n;
  ivkit::EmAccumulator acc(data.gmm);
  for (auto _ : state) {
    acc.set_zero();
    ivkit::accumulate_em_stats(data.gmm, data.frames, acc, opts);
    benchmark::DoNotOptimize(acc.occupancy.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames),
            top_n == 0 ? dense_em_flops(kFrames, 2 * D, C) : top_n_em_flops(kFrames, 2 * D, C, top_n));
}

/// Reference: the two products of dense accumulation over all N frames in one call each, into
/// preallocated results (the arithmetic floor of BM_DiagGmm_accumulate with top_n = 0).
template <class Scalar>
void gemm_em_pair(benchmark::State& state, Index N, Index F, Index C) {
  const auto phi = ivkit_bench::random_matrix<ivkit::Matrix<Scalar>>(N, F, 11);   // row-major
  const auto w = ivkit_bench::random_matrix<ivkit::Matrix<Scalar>>(C, F, 12);     // as scoring_weights()
  ivkit::Matrix<Scalar> post(N, C), stats(C, F);
  for (auto _ : state) {
    post.noalias() = phi * w.transpose();
    stats.noalias() = post.transpose() * phi;
    benchmark::DoNotOptimize(stats.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(N), dense_em_flops(N, F, C));
}

template <class Scalar>
void BM_Gemm_em_shapes(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1), N = state.range(2);
  gemm_em_pair<Scalar>(state, N, 2 * D, C);
}

template <class Scalar>
void BM_Gemm_em_shapes_full(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1), N = state.range(2);
  gemm_em_pair<Scalar>(state, N, D + D * (D + 1) / 2, C);
}

/// One EM iteration as train_em runs it: a fresh accumulator, accumulate, M-step.
template <class Scalar>
void BM_DiagGmm_em_iteration(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kIterationFrames);
  ivkit::AccumulateOptions opts;
  opts.num_threads = static_cast<int>(state.range(2));
  for (auto _ : state) {
    ivkit::EmAccumulator acc(data.gmm);
    ivkit::accumulate_em_stats(data.gmm, data.frames, acc, opts);
    auto next = ivkit::em_update(data.gmm, acc);
    benchmark::DoNotOptimize(next.weights().data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kIterationFrames), dense_em_flops(kIterationFrames, 2 * D, C));
  state.counters["num_threads"] = double(ivkit::resolve_num_threads(opts.num_threads));
}

template <class Scalar>
void BM_FullGmm_accumulate(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& gmm = ivkit_bench::full_gmm<Scalar>(C, D, kFrames);
  const auto& frames = diag_data<Scalar>(C, D, kFrames).frames;
  ivkit::EmAccumulator acc(gmm);
  for (auto _ : state) {
    acc.set_zero();
    ivkit::accumulate_em_stats(gmm, frames, acc);
    benchmark::DoNotOptimize(acc.occupancy.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), dense_em_flops(kFrames, gmm.expansion_dim(), C));
}

void accumulate_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "D", "top_n"});
  for (Index C : {512, 2048})
    for (Index top_n : {0, 20}) b->Args({C, 60, top_n});
  b->Unit(benchmark::kMillisecond);
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "D", "N"});
  for (Index C : {512, 2048}) b->Args({C, 60, kFrames});
  b->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_DiagGmm_accumulate, float)->Apply(accumulate_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_accumulate, double)->Apply(accumulate_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_em_shapes, float)->Apply(gemm_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_em_shapes, double)->Apply(gemm_shapes);

// 200k frames: a few iterations are enough (each takes the better part of a second).
BENCHMARK_TEMPLATE(BM_DiagGmm_em_iteration, float)
    ->ArgNames({"C", "D", "threads"})
    ->Args({512, 60, 1})
    ->Args({512, 60, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);
BENCHMARK_TEMPLATE(BM_Gemm_em_shapes, float)
    ->ArgNames({"C", "D", "N"})
    ->Args({512, 60, kIterationFrames})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

BENCHMARK_TEMPLATE(BM_FullGmm_accumulate, float)
    ->ArgNames({"C", "D"})
    ->Args({256, 60})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Gemm_em_shapes_full, float)
    ->ArgNames({"C", "D", "N"})
    ->Args({256, 60, kFrames})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
