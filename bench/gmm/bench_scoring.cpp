/// @file
/// GMM scoring throughput: dense posteriors, top-N posteriors and Gaussian selection of a diagonal
/// GMM, dense posteriors of a full-covariance GMM, each beside the references it is judged by,
/// timed in the same binary so that ratios come from one run:
///   - BM_Gemm_diag_shape: the bare Eigen product of the batched formulation's shape,
///     (N x 2D, row-major) * (2D x C) -> (N x C, row-major), noalias (the arithmetic floor);
///   - BM_DiagGmm_kaldi_loop: Kaldi's DiagGmm::LogLikelihoods per frame (two C x D
///     matrix-vector products) followed by a scalar log-sum-exp and exp, so it gives posteriors too;
///   - BM_Gemm_full_shape: (N x F) * (F x C), F = D + D(D+1)/2, for the full-covariance model;
///   - BM_FullGmm_selected_expanded_dot: the selected full-covariance log-likelihoods as computed
///     before the inverse-Cholesky form (one expanded dot product per pair).
/// Everything runs on one thread (ScoringOptions::num_threads = 1, Eigen without OpenMP) and is
/// timed in CPU time of that thread, so that other processes on the machine disturb it less.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "../common/bench_data.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/gmm/detail/top_n.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/gmm/scoring.hpp"

namespace {

using ivkit::Index;
using ivkit_bench::diag_data;
using ivkit_bench::set_rates;

constexpr Index kFrames = 20000;
constexpr Index kTopN = 20;

/// Flops of the product that dominates scoring: 2 * N * F * C.
double product_flops(Index N, Index F, Index C) { return 2.0 * double(N) * double(F) * double(C); }

// ---------------------------------------------------------------------------------------------
// Diagonal GMM, dense posteriors.

template <class Scalar>
void BM_DiagGmm_posteriors(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  for (auto _ : state) {
    auto post = data.gmm.posteriors(data.frames);
    benchmark::DoNotOptimize(post.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

/// Dense posteriors into a caller-owned result reused across calls (posteriors_into): the same
/// output contract as reference (a).
template <class Scalar>
void BM_DiagGmm_posteriors_into(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  ivkit::Matrix<Scalar> post(kFrames, C);
  for (auto _ : state) {
    data.gmm.posteriors_into(data.frames, post);
    benchmark::DoNotOptimize(post.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

/// Frame log-likelihoods log p(x_t) (N values): the same product, a block at a time, and a
/// log-sum-exp per frame; the block scratch is made once per thread, so against reference (a) this
/// shows what the blocking and the softmax cost (a fresh scratch per block made it 10x slower).
template <class Scalar>
void BM_DiagGmm_log_likelihoods(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  for (auto _ : state) {
    auto ll = data.gmm.log_likelihoods(data.frames);
    benchmark::DoNotOptimize(ll.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

/// Reference (a): the bare matrix product of the batched formulation, one call over all N frames
/// into a preallocated result.
template <class Scalar>
void BM_Gemm_diag_shape(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto phi = ivkit_bench::random_matrix<ivkit::Matrix<Scalar>>(kFrames, 2 * D, 1);  // row-major
  const auto w = ivkit_bench::random_matrix<ivkit::ColMatrix<Scalar>>(2 * D, C, 2);
  ivkit::Matrix<Scalar> out(kFrames, C);  // row-major
  for (auto _ : state) {
    out.noalias() = phi * w;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

/// Reference (a'): the same product into a result allocated by the call, as posteriors() returns
/// one. At N x C = 20000 x 2048 the result is 164 MB (float): every call maps fresh pages and pays a
/// page fault on each first touch, which (a) never does.
template <class Scalar>
void BM_Gemm_diag_shape_alloc(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto phi = ivkit_bench::random_matrix<ivkit::Matrix<Scalar>>(kFrames, 2 * D, 1);
  const auto w = ivkit_bench::random_matrix<ivkit::ColMatrix<Scalar>>(2 * D, C, 2);
  for (auto _ : state) {
    ivkit::Matrix<Scalar> out(kFrames, C);
    out.noalias() = phi * w;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

/// Reference (b): Kaldi's per-frame evaluation (DiagGmm::LogLikelihoods: gconsts + means_invvars x
/// - 0.5 inv_vars x^2, two matrix-vector products) and a plain scalar log-sum-exp and exp into
/// a fresh N x C posterior matrix, as posteriors() returns one.
template <class Scalar>
void BM_DiagGmm_kaldi_loop(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  const auto& gconsts = data.gmm.gconsts();
  const auto& means_invvars = data.gmm.means_inv_variances();
  const auto& inv_vars = data.gmm.inv_variances();
  ivkit::Vector<Scalar> x(D), x2(D), loglik(C);
  for (auto _ : state) {
    ivkit::Matrix<Scalar> post(kFrames, C);
    for (Index t = 0; t < kFrames; ++t) {
      x = data.frames.row(t).transpose();
      x2 = x.array().square();
      loglik = gconsts;
      loglik.noalias() += means_invvars * x;
      loglik.noalias() += Scalar(-0.5) * (inv_vars * x2);
      Scalar m = -std::numeric_limits<Scalar>::infinity();
      for (Index c = 0; c < C; ++c) m = std::max(m, loglik(c));
      Scalar sum = 0;
      Scalar* row = &post(t, 0);
      for (Index c = 0; c < C; ++c) {
        row[c] = std::exp(loglik(c) - m);
        sum += row[c];
      }
      const Scalar inv = Scalar(1) / sum;
      for (Index c = 0; c < C; ++c) row[c] *= inv;
    }
    benchmark::DoNotOptimize(post.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

// ---------------------------------------------------------------------------------------------
// Diagonal GMM, sparse outputs.

template <class Scalar>
void BM_DiagGmm_top_n_posteriors(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  for (auto _ : state) {
    auto post = data.gmm.top_n_posteriors(data.frames, ivkit::TopNOptions{kTopN, 0.0});
    benchmark::DoNotOptimize(post.values.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

template <class Scalar>
void BM_DiagGmm_gaussian_selection(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& data = diag_data<Scalar>(C, D, kFrames);
  for (auto _ : state) {
    auto sel = data.gmm.gaussian_selection(data.frames, kTopN);
    benchmark::DoNotOptimize(sel.indices.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, 2 * D, C));
}

// ---------------------------------------------------------------------------------------------
// Full-covariance GMM.

template <class Scalar>
void BM_FullGmm_posteriors(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& gmm = ivkit_bench::full_gmm<Scalar>(C, D, kFrames);
  const auto& frames = diag_data<Scalar>(C, D, kFrames).frames;
  for (auto _ : state) {
    auto post = gmm.posteriors(frames);
    benchmark::DoNotOptimize(post.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, gmm.expansion_dim(), C));
}

template <class Scalar>
void BM_Gemm_full_shape(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1), F = D + D * (D + 1) / 2;
  const auto phi = ivkit_bench::random_matrix<ivkit::Matrix<Scalar>>(kFrames, F, 3);
  const auto w = ivkit_bench::random_matrix<ivkit::ColMatrix<Scalar>>(F, C, 4);
  ivkit::Matrix<Scalar> out(kFrames, C);
  for (auto _ : state) {
    out.noalias() = phi * w;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), product_flops(kFrames, F, C));
}

/// Selected full-covariance log-likelihoods, 20 components per frame chosen by the model's diagonal
/// (as Kaldi's recipes select them), in calls of `frames` frames: the library's form (the inverse
/// Cholesky factor, pairs grouped by component, simd::whitened_norms) against the form it replaced,
/// one dot product of the expanded frame with the component's F scoring weights per pair. Rates in
/// frames per second.
template <class Scalar>
const ivkit::GaussianSelection& full_selection(const ivkit::FullGmm<Scalar>& gmm, const ivkit::Matrix<Scalar>& frames) {
  static const ivkit::GaussianSelection sel = ivkit::to_diag(gmm).gaussian_selection(frames, kTopN);
  return sel;
}

template <class Scalar>
void BM_FullGmm_selected_log_likelihoods(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1), per_call = state.range(2);
  const auto& gmm = ivkit_bench::full_gmm<Scalar>(C, D, kFrames);
  const auto& frames = diag_data<Scalar>(C, D, kFrames).frames;
  const auto& sel = full_selection(gmm, frames);
  for (auto _ : state) {
    for (Index t0 = 0; t0 < kFrames; t0 += per_call) {
      const Index n = std::min(per_call, kFrames - t0);
      ivkit::GaussianSelection part;
      part.indices = sel.indices.middleRows(t0, n);
      auto ll = gmm.selected_log_likelihoods(frames.middleRows(t0, n), part);
      benchmark::DoNotOptimize(ll.data());
    }
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), 0.0);
}

template <class Scalar>
void BM_FullGmm_selected_expanded_dot(benchmark::State& state) {
  const Index C = state.range(0), D = state.range(1);
  const auto& gmm = ivkit_bench::full_gmm<Scalar>(C, D, kFrames);
  const auto& frames = diag_data<Scalar>(C, D, kFrames).frames;
  const auto& sel = full_selection(gmm, frames);
  const auto& W = gmm.scoring_weights();
  const auto& g = gmm.log_constants();
  constexpr Index kBlock = 64;  // the block the previous code used at C = 2048 (gmm/scoring.hpp)
  ivkit::Matrix<Scalar> y, phi, out(kFrames, kTopN);
  for (auto _ : state) {
    for (Index t0 = 0; t0 < kFrames; t0 += kBlock) {
      const Index n = std::min(kBlock, kFrames - t0);
      y = frames.middleRows(t0, n);
      y.rowwise() -= gmm.centre().transpose();
      phi.resize(n, gmm.expansion_dim());
      gmm.expand(y, phi);
      for (Index i = 0; i < n; ++i)
        for (Index k = 0; k < kTopN; ++k) {
          const auto c = sel.indices(t0 + i, k);
          out(t0 + i, k) = ivkit::simd::dot(&phi(i, 0), &W(c, 0), W.cols()) + g(c);
        }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, double(kFrames), 0.0);
}

void diag_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "D"});
  for (Index C : {256, 1024, 2048})
    for (Index D : {39, 60}) b->Args({C, D});
  b->Unit(benchmark::kMillisecond);
}

void full_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "D"});
  for (Index C : {256, 512}) b->Args({C, 60});
  b->Unit(benchmark::kMillisecond);
}

/// detail::select_top_n alone (threshold first) on rows of C log-likelihood-like values in random
/// order, n = kTopN, against the plain insertion it replaced (every entry through the sorted list),
/// the same rows in the same binary.
std::vector<float> top_n_rows(Index C) {
  ivkit::Random rng(3);
  std::vector<float> x(static_cast<std::size_t>(C * kFrames));
  for (auto& v : x) v = static_cast<float>(30.0 * rng.normal());
  return x;
}

void BM_select_top_n(benchmark::State& state) {
  const Index C = state.range(0);
  const std::vector<float> x = top_n_rows(C);
  std::vector<std::pair<float, std::int32_t>> out(kTopN);
  for (auto _ : state)
    for (Index f = 0; f < kFrames; ++f) benchmark::DoNotOptimize(ivkit::detail::select_top_n(x.data() + f * C, C, kTopN, out.data()));
  set_rates(state, double(kFrames), 0.0);
}

void BM_select_top_n_insertion(benchmark::State& state) {
  const Index C = state.range(0);
  const std::vector<float> x = top_n_rows(C);
  std::vector<std::pair<float, std::int32_t>> out(kTopN);
  for (auto _ : state)
    for (Index f = 0; f < kFrames; ++f) {
      Index filled = 0;
      for (Index c = 0; c < C; ++c) ivkit::detail::top_n_insert(x[static_cast<std::size_t>(f * C + c)], c, kTopN, filled, out.data());
      benchmark::DoNotOptimize(filled);
    }
  set_rates(state, double(kFrames), 0.0);
}

}  // namespace

BENCHMARK(BM_select_top_n)->Arg(256)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_select_top_n_insertion)->Arg(256)->Arg(2048)->Unit(benchmark::kMillisecond);

BENCHMARK_TEMPLATE(BM_DiagGmm_posteriors, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_posteriors_into, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_log_likelihoods, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_diag_shape, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_diag_shape_alloc, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_kaldi_loop, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_posteriors, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_posteriors_into, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_log_likelihoods, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_diag_shape, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_Gemm_diag_shape_alloc, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_kaldi_loop, double)->Apply(diag_shapes);

BENCHMARK_TEMPLATE(BM_DiagGmm_top_n_posteriors, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_gaussian_selection, float)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_top_n_posteriors, double)->Apply(diag_shapes);
BENCHMARK_TEMPLATE(BM_DiagGmm_gaussian_selection, double)->Apply(diag_shapes);

BENCHMARK_TEMPLATE(BM_FullGmm_posteriors, float)->Apply(full_shapes);
BENCHMARK_TEMPLATE(BM_FullGmm_selected_log_likelihoods, float)
    ->ArgNames({"C", "D", "frames_per_call"})->Args({2048, 60, 770})->Args({2048, 60, 20000})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_FullGmm_selected_expanded_dot, float)->ArgNames({"C", "D"})->Args({2048, 60})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Gemm_full_shape, float)->Apply(full_shapes);

BENCHMARK_MAIN();
