// Kernels added for run-time selection, each against what the library did before, in one binary:
//  - simd::dot (the selected full-covariance log-likelihoods, F = 1,890 at D = 60) against a plain
//    loop and Eigen's dot at the compile flags' width;
//  - simd::add_widened (float block sums into double EM totals) against Eigen's cast-and-add;
//  - the M-step T_c = Y_c R_c^-1 of update_extractor (SPD Cholesky, blocked solves through the GEMM
//    kernel) against the same call on the baseline path, i.e. Eigen's LLT solve
//    (set_active_isa(Isa::baseline));
//  - making an extractor's tables (Sigma_c^-1 T_c and the packed U_c = T_c^T Sigma_c^-1 T_c);
//  - simd::whitened_norms (||K d||^2 with K lower triangular, packed by 16-row blocks: the selected
//    full-covariance log-likelihoods) against Eigen's triangular product and squared norm.
// The ivkit rows run on the path active_isa() picks (IVKIT_ISA=avx2 times the AVX2 kernels).
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <algorithm>
#include <vector>

#include "ivkit/core/isa.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/ivector/trainer.hpp"
#include "ivkit/simd/softmax.hpp"

namespace {

using ivkit::Index;

std::vector<float> random_floats(Index n, std::uint64_t seed) {
  ivkit::Random rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = static_cast<float>(rng.normal());
  return x;
}

void BM_dot_ivkit(benchmark::State& state) {
  const Index n = state.range(0);
  const auto a = random_floats(n, 1), b = random_floats(n, 2);
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::simd::dot(a.data(), b.data(), n));
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(ivkit::simd::instruction_set());
}

void BM_dot_loop(benchmark::State& state) {
  const Index n = state.range(0);
  const auto a = random_floats(n, 1), b = random_floats(n, 2);
  for (auto _ : state) {
    float s = 0;
    for (Index i = 0; i < n; ++i) s += a[static_cast<std::size_t>(i)] * b[static_cast<std::size_t>(i)];
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_dot_eigen(benchmark::State& state) {
  const Index n = state.range(0);
  const auto a = random_floats(n, 1), b = random_floats(n, 2);
  const Eigen::Map<const Eigen::VectorXf> va(a.data(), n), vb(b.data(), n);
  for (auto _ : state) benchmark::DoNotOptimize(va.dot(vb));
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_add_widened_ivkit(benchmark::State& state) {
  const Index n = state.range(0);
  const auto x = random_floats(n, 3);
  std::vector<double> acc(static_cast<std::size_t>(n), 0.0);
  for (auto _ : state) {
    ivkit::simd::add_widened(acc.data(), x.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(ivkit::simd::instruction_set());
}

void BM_add_widened_eigen(benchmark::State& state) {
  const Index n = state.range(0);
  const auto x = random_floats(n, 3);
  Eigen::VectorXd acc = Eigen::VectorXd::Zero(n);
  const Eigen::Map<const Eigen::VectorXf> vx(x.data(), n);
  for (auto _ : state) {
    acc += vx.cast<double>();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

/// An extractor (C components, D = 60, R) and an accumulator whose R_c are SPD, as after an E-step.
struct MStepProblem {
  ivkit::IvectorExtractor<float> model;
  ivkit::IvectorTrainerStats acc;
};

MStepProblem make_mstep_problem(Index C, Index R) {
  constexpr Index D = 60;
  ivkit::Random rng(5);
  ivkit::Matrix<float> means(C, D), T(C * D, R), variances = ivkit::Matrix<float>::Ones(C, D);
  for (Index i = 0; i < means.size(); ++i) means.data()[i] = static_cast<float>(rng.normal());
  for (Index i = 0; i < T.size(); ++i) T.data()[i] = static_cast<float>(0.1 * rng.normal());
  ivkit::IvectorExtractor<float> model(means, means, T, variances, ivkit::Vector<float>::Zero(R));
  ivkit::IvectorTrainerStats acc(C, D, R);
  const Eigen::MatrixXd G = Eigen::MatrixXd::Random(R, 2 * R);
  const Eigen::MatrixXd Rc = G * G.transpose() / static_cast<double>(R) + Eigen::MatrixXd::Identity(R, R);
  for (Index c = 0; c < C; ++c) {
    Index k = 0;
    for (Index i = 0; i < R; ++i)
      for (Index j = i; j < R; ++j) acc.R_packed(c, k++) = Rc(i, j);
  }
  for (Index i = 0; i < acc.Y.size(); ++i) acc.Y.data()[i] = rng.normal();
  acc.gamma.setConstant(100.0);
  acc.num_utterances = 1000;
  return {std::move(model), std::move(acc)};
}

/// update_extractor without minimum divergence: the C solves T_c = Y_c R_c^-1, R^3 / 3 + 2 D R^2 flops
/// each (Cholesky, two blocked triangular solves). Arg 1 = baseline path (Eigen's LLT solve).
void BM_mstep(benchmark::State& state) {
  const Index C = 64, R = state.range(0);
  const bool baseline = state.range(1) != 0;
  const ivkit::Isa before = ivkit::active_isa();
  if (baseline) ivkit::set_active_isa(ivkit::Isa::baseline);
  const MStepProblem p = make_mstep_problem(C, R);
  ivkit::IvectorUpdateOptions opts;
  opts.minimum_divergence = false;
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::update_extractor(p.model, p.acc, opts).T().data());
  state.SetLabel(ivkit::isa_name(ivkit::active_isa()));
  ivkit::set_active_isa(before);
  state.counters["components/s"] = benchmark::Counter(static_cast<double>(C), benchmark::Counter::kIsIterationInvariantRate);
}

/// Making the tables of a fresh diagonal-covariance extractor (first use of U_packed()).
void BM_extractor_tables(benchmark::State& state) {
  const Index C = 256, R = state.range(0);
  const MStepProblem p = make_mstep_problem(C, R);
  for (auto _ : state) {
    const ivkit::IvectorExtractor<float> fresh = p.model.rebuild(p.model.m(), p.model.T(), p.model.prior_mean());
    benchmark::DoNotOptimize(fresh.U_packed().data());
  }
  state.SetLabel(ivkit::isa_name(ivkit::active_isa()));
  state.counters["components/s"] = benchmark::Counter(static_cast<double>(C), benchmark::Counter::kIsIterationInvariantRate);
}

/// A random lower-triangular K (D x D), dense and packed as simd::whitened_norms reads it, and
/// `count` vectors of D values.
struct WhitenedProblem {
  Eigen::MatrixXf K;
  std::vector<float> packed, d;
};

WhitenedProblem make_whitened_problem(Index D, Index count) {
  WhitenedProblem p;
  const auto values = random_floats(D * D, 5);
  p.K = Eigen::Map<const Eigen::MatrixXf>(values.data(), D, D).triangularView<Eigen::Lower>();
  p.packed.assign(static_cast<std::size_t>(ivkit::simd::whitened_packed_size(D)), 0.0f);
  float* block = p.packed.data();
  for (Index q = 0; q * 16 < D; ++q) {
    const Index columns = std::min((q + 1) * 16, D);
    for (Index j = 0; j < columns; ++j)
      for (Index i = std::max(q * 16, j); i < std::min((q + 1) * 16, D); ++i) block[j * 16 + (i - q * 16)] = p.K(i, j);
    block += 16 * columns;
  }
  p.d = random_floats(D * count, 6);
  return p;
}

/// `count` vectors (a group that shares one read of K) per call; items are vectors.
void BM_whitened_norms_ivkit(benchmark::State& state) {
  const Index D = state.range(0), count = state.range(1);
  const WhitenedProblem p = make_whitened_problem(D, count);
  std::vector<float> out(static_cast<std::size_t>(count));
  for (auto _ : state) {
    ivkit::simd::whitened_norms(p.packed.data(), p.d.data(), D, count, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * count);
  state.SetLabel(ivkit::simd::instruction_set());
}

void BM_whitened_norms_eigen(benchmark::State& state) {
  const Index D = state.range(0), count = state.range(1);
  const WhitenedProblem p = make_whitened_problem(D, count);
  const Eigen::Map<const Eigen::MatrixXf> d(p.d.data(), D, count);
  Eigen::MatrixXf y(D, count);
  for (auto _ : state) {
    y.noalias() = p.K.triangularView<Eigen::Lower>() * d;
    benchmark::DoNotOptimize(y.colwise().squaredNorm().eval().data());
  }
  state.SetItemsProcessed(state.iterations() * count);
}

void whitened_sizes(benchmark::internal::Benchmark* b) { b->ArgNames({"D", "count"})->Args({60, 1})->Args({60, 4})->Args({37, 4}); }

void lengths(benchmark::internal::Benchmark* b) { b->ArgName("n")->Arg(120)->Arg(1890)->Arg(80200); }

}  // namespace

BENCHMARK(BM_dot_ivkit)->Apply(lengths);
BENCHMARK(BM_dot_loop)->Apply(lengths);
BENCHMARK(BM_dot_eigen)->Apply(lengths);
BENCHMARK(BM_add_widened_ivkit)->Apply(lengths);
BENCHMARK(BM_add_widened_eigen)->Apply(lengths);
BENCHMARK(BM_whitened_norms_ivkit)->Apply(whitened_sizes);
BENCHMARK(BM_whitened_norms_eigen)->Apply(whitened_sizes);
BENCHMARK(BM_mstep)->ArgNames({"R", "baseline"})->Args({400, 0})->Args({400, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_extractor_tables)->ArgName("R")->Arg(400)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
