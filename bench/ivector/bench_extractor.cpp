// i-vector extraction and one EM training step, batched (DESIGN.md formulations 4 and 5) against
// the per-utterance formulation Kaldi uses (build each utterance's precision from the stored
// U_c with a matrix-vector product, rank-one accumulator updates), in one binary.
//
// Shapes: C = 2048, D = 60, R = 400 (the issue's target sizes); a smaller C = 512, R = 200 too.
// 256 utterances of about 300 frames for extraction (one batch); 1000 for a training iteration, in batches.
// The machine's own limits in the same binary: the core's FMA peak, the precision product through
// Eigen and through ivkit's kernel, and the memory bandwidth of the per-utterance precision step.
#include <benchmark/benchmark.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <memory>
#include <tuple>

#include "ivkit/core/random.hpp"
#include "ivkit/ivector/trainer.hpp"

namespace {

using ivkit::Index;

template <class Scalar>
struct Setup {
  std::unique_ptr<ivkit::IvectorExtractor<Scalar>> extractor;
  ivkit::StatsSet<Scalar> stats;
};

/// A random extractor and U utterances of plausible statistics (about 300 frames each, posteriors
/// spread over the components like a UBM's).
template <class Scalar>
Setup<Scalar>& setup(Index C, Index D, Index R, Index U) {
  static std::map<std::tuple<Index, Index, Index, Index>, std::unique_ptr<Setup<Scalar>>> cache;
  auto& slot = cache[{C, D, R, U}];
  if (slot) return *slot;
  ivkit::Random rng(42);
  ivkit::Vector<Scalar> w = ivkit::Vector<Scalar>::Constant(C, Scalar(1) / static_cast<Scalar>(C));
  ivkit::Matrix<Scalar> mu(C, D), var(C, D);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = static_cast<Scalar>(rng.normal());
      var(c, d) = static_cast<Scalar>(0.5 + rng.uniform());
    }
  const ivkit::DiagGmm<Scalar> ubm(w, mu, var);
  slot = std::make_unique<Setup<Scalar>>();
  slot->extractor = std::make_unique<ivkit::IvectorExtractor<Scalar>>(ivkit::init_extractor_random(ubm, R, 7, 0.1));
  slot->stats = ivkit::StatsSet<Scalar>(C, D);
  for (Index u = 0; u < U; ++u) {
    Eigen::VectorXd n(C);
    ivkit::Matrix<double> f(C, D);
    for (Index c = 0; c < C; ++c) {
      n(c) = 300.0 / static_cast<double>(C) * 2.0 * rng.uniform();
      for (Index d = 0; d < D; ++d) f(c, d) = std::sqrt(n(c) + 1e-9) * rng.normal();
    }
    slot->stats.add("u" + std::to_string(u), n, f);
  }
  return *slot;
}

/// Kaldi's per-utterance posterior: quadratic = I + U^T n (a matrix-vector product over the
/// C x R(R+1)/2 table), linear = (Sigma^-1 T)^T f, then the Cholesky factorisation of L.
template <class Scalar>
Eigen::VectorXd per_utterance_posterior(const ivkit::IvectorExtractor<Scalar>& e, const ivkit::StatsSet<Scalar>& stats, Index u,
                                        Eigen::LLT<ivkit::ColMatrix<double>>& llt) {
  const ivkit::Vector<Scalar> q = e.U_packed().transpose() * stats.zeroth().row(u).transpose();
  const ivkit::Vector<Scalar> lin = e.sigma_inv_T().transpose() * stats.first().row(u).transpose();
  ivkit::ColMatrix<double> L = ivkit::unpack_symmetric<double>(q, e.ivector_dim());
  L.diagonal().array() += 1.0;
  llt.compute(L);
  return llt.solve(lin.template cast<double>());
}

template <class Scalar>
void BM_extract_batched(benchmark::State& state) {
  // One batch of 256 utterances (the default batch size): the C x R(R+1)/2 table is read once per batch.
  const Index C = state.range(0), D = 60, R = state.range(1), U = 256;
  auto& s = setup<Scalar>(C, D, R, U);
  ivkit::ExtractOptions o;
  o.num_threads = static_cast<int>(state.range(2));
  o.batch_size = 256;
  // One untimed call first: the batch buffers are kept per thread and reused (steady state, as when
  // a corpus is extracted batch after batch); the first call pays their page faults once.
  ivkit::Ivectors<Scalar> iv = s.extractor->extract(s.stats, o);
  for (auto _ : state) {
    iv = s.extractor->extract(s.stats, o);
    benchmark::DoNotOptimize(iv.means.data());
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
  // Accuracy against the per-utterance formulation (double Cholesky) on the first 8 utterances:
  // the largest ||w - w_ref|| / ||w_ref||.
  double worst = 0.0;
  for (Index u = 0; u < 8; ++u) {
    Eigen::LLT<ivkit::ColMatrix<double>> llt;
    const Eigen::VectorXd ref = per_utterance_posterior(*s.extractor, s.stats, u, llt);
    worst = std::max(worst, (iv.means.row(u).transpose().template cast<double>() - ref).norm() / ref.norm());
  }
  state.counters["rel_err"] = worst;
}

/// The bare product of the precision step's shape, (256 x C) * (C x R(R+1)/2), one Eigen product
/// into a preallocated result: what Eigen's kernel gives on it.
template <class Scalar>
void BM_gemm_precision_shape(benchmark::State& state) {
  const Index C = state.range(0), R = state.range(1), U = 256, P = ivkit::packed_size(R);
  const ivkit::Matrix<Scalar> n = ivkit::Matrix<Scalar>::Random(U, C).cwiseAbs(), Up = ivkit::Matrix<Scalar>::Random(C, P);
  ivkit::Matrix<Scalar> out = ivkit::Matrix<Scalar>::Zero(U, P);
  for (auto _ : state) {
    out.noalias() = n * Up;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(U * C * P) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
}

/// The same product through ivkit's GEMM kernel on the path in use (what the batched extraction uses), in its
/// column chunks of 4096: against the core's FMA peak below, how far the batched step is from the
/// hardware's bound.
template <class Scalar>
void BM_kernel_precision_shape(benchmark::State& state) {
  const Index C = state.range(0), R = state.range(1), U = 256, P = ivkit::packed_size(R);
  const ivkit::Matrix<Scalar> n = ivkit::Matrix<Scalar>::Random(U, C).cwiseAbs(), Up = ivkit::Matrix<Scalar>::Random(C, P);
  ivkit::detail::LargeBuffer<Scalar> buffer;
  ivkit::detail::packed_precisions<Scalar>(n, Up, buffer, 1);
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::detail::packed_precisions<Scalar>(n, Up, buffer, 1).data());
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(U * C * P) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
}

/// The per-utterance precision step alone, U^T n over the C x R(R+1)/2 table (one utterance per
/// iteration): it reads the whole table, so its speed is the memory bandwidth (counter GB/s).
/// Time of this step over time per utterance of the batched product above bounds what batching can
/// gain on the precision, whatever the code.
template <class Scalar>
void BM_per_utterance_precision(benchmark::State& state) {
  const Index C = state.range(0), R = state.range(1), P = ivkit::packed_size(R);
  const ivkit::Matrix<Scalar> Up = ivkit::Matrix<Scalar>::Random(C, P);
  const ivkit::Vector<Scalar> n = ivkit::Vector<Scalar>::Random(C).cwiseAbs();
  ivkit::Vector<Scalar> q(P);
  for (auto _ : state) {
    q.noalias() = Up.transpose() * n;
    benchmark::DoNotOptimize(q.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(C * P * static_cast<Index>(sizeof(Scalar))) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

#if defined(__AVX512F__)
/// The core's FMA peak: 12 independent chains of 512-bit fused multiply-adds.
template <class Scalar>
void BM_fma_peak(benchmark::State& state) {
  using S = ivkit::detail::avx512::Simd<Scalar>;
  typename S::V acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = S::set1(static_cast<Scalar>(1 + i));
  const typename S::V m = S::set1(Scalar(0.999999)), c = S::set1(Scalar(1e-7));
  constexpr long steps = 1 << 20;
  for (auto _ : state) {
    for (long k = 0; k < steps; ++k) {
#pragma GCC unroll 12
      for (int i = 0; i < 12; ++i) acc[i] = S::fmadd(acc[i], m, c);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * 12 * S::W * static_cast<double>(steps) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
#endif

template <class Scalar>
void BM_extract_approximate(benchmark::State& state) {
  const Index C = state.range(0), D = 60, R = state.range(1), U = 256;
  auto& s = setup<Scalar>(C, D, R, U);
  ivkit::ExtractOptions o;
  o.method = ivkit::ExtractionMethod::Approximate;
  for (auto _ : state) benchmark::DoNotOptimize(s.extractor->extract(s.stats, o).means.data());
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
}

/// Kaldi's formulation: per utterance, quadratic = I + U^T n (matrix-vector over the C x R(R+1)/2
/// table), linear = (Sigma^-1 T)^T f, Cholesky solve, diagonal of the inverse for the uncertainty.
template <class Scalar>
void BM_extract_per_utterance(benchmark::State& state) {
  const Index C = state.range(0), D = 60, R = state.range(1), U = 8;
  auto& s = setup<Scalar>(C, D, R, 256);
  const auto& e = *s.extractor;
  for (auto _ : state) {
    for (Index u = 0; u < U; ++u) {
      Eigen::LLT<ivkit::ColMatrix<double>> llt;
      Eigen::VectorXd w = per_utterance_posterior(e, s.stats, u, llt);
      ivkit::ColMatrix<double> cov = llt.solve(ivkit::ColMatrix<double>::Identity(R, R));
      benchmark::DoNotOptimize(w.data());
      benchmark::DoNotOptimize(cov.data());
    }
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
}

/// Resident and peak resident memory of this process in MB (Linux; 0 elsewhere).
double proc_status_mb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::string(field).size())) / 1024.0;
  return 0.0;
}

template <class Scalar>
void BM_train_iteration_batched(benchmark::State& state) {
  // The E-step of one EM iteration over 1000 utterances (the issue's unit), in batches of
  // `batch` utterances: the accumulators (about 1.7 GB at C = 2048, R = 400) are read and written
  // once per batch, so larger batches amortise them. They are allocated once, outside the timed
  // loop, as the per-utterance benchmark's are (a training run allocates them once too).
  const Index C = state.range(0), D = 60, R = state.range(1), U = 1000;
  auto& s = setup<Scalar>(C, D, R, U);
  ivkit::IvectorAccumulateOptions o;
  o.num_threads = static_cast<int>(state.range(2));
  o.batch_size = state.range(3);
  ivkit::IvectorTrainerStats acc(C, D, R);
  // Peak memory of the iteration: the peak resident size is reset (Linux clear_refs) and read
  // after the first, untimed call, which also allocates the reused per-thread batch buffers.
  const double before = proc_status_mb("VmRSS:");
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  ivkit::accumulate_ivector_stats(*s.extractor, s.stats, acc, o);
  const double peak = proc_status_mb("VmHWM:");
  for (auto _ : state) {
    ivkit::accumulate_ivector_stats(*s.extractor, s.stats, acc, o);
    benchmark::DoNotOptimize(acc.Y.data());
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
  // Resident before the call (model, statistics of 1000 utterances, accumulators) and the peak
  // during it: the difference is what the E-step itself adds.
  state.counters["rss_before_MB"] = before;
  state.counters["peak_MB"] = peak;
}

/// Kaldi's accumulation: per utterance, the posterior as above, then Y_c += F_c w^T and
/// R_c += N_c vech(L^-1 + w w^T) for every component (rank-one and axpy updates).
template <class Scalar>
void BM_train_iteration_per_utterance(benchmark::State& state) {
  const Index C = state.range(0), D = 60, R = state.range(1), U = 4;
  auto& s = setup<Scalar>(C, D, R, 256);
  const auto& e = *s.extractor;
  const Index P = ivkit::packed_size(R);
  ivkit::IvectorTrainerStats acc(C, D, R);
  for (auto _ : state) {
    for (Index u = 0; u < U; ++u) {
      Eigen::LLT<ivkit::ColMatrix<double>> llt;
      const Eigen::VectorXd w = per_utterance_posterior(e, s.stats, u, llt);
      ivkit::ColMatrix<double> second = llt.solve(ivkit::ColMatrix<double>::Identity(R, R));
      second += w * w.transpose();
      Eigen::VectorXd phi(P);
      ivkit::pack_symmetric(second, phi);
      for (Index c = 0; c < C; ++c) {
        acc.Y.middleRows(c * D, D).noalias() +=
            s.stats.first().row(u).segment(c * D, D).transpose().template cast<double>() * w.transpose();
        acc.R_packed.row(c) += static_cast<double>(s.stats.zeroth()(u, c)) * phi.transpose();
      }
    }
    benchmark::DoNotOptimize(acc.Y.data());
  }
  state.counters["utt/s"] = benchmark::Counter(static_cast<double>(U), benchmark::Counter::kIsIterationInvariantRate);
}

void extract_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "R", "threads"})->Args({512, 200, 1})->Args({2048, 400, 1})->Args({2048, 400, 0});
  b->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}
void train_args(benchmark::internal::Benchmark* b) {
  // Batches of 512 are the default; 256 shows what halving the batch memory costs.
  b->ArgNames({"C", "R", "threads", "batch"})->Args({512, 200, 1, 512})->Args({2048, 400, 1, 512})->Args({2048, 400, 1, 256});
  b->Args({2048, 400, 0, 512})->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}
void single_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "R"})->Args({512, 200})->Args({2048, 400});
  b->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}

}  // namespace

BENCHMARK_TEMPLATE(BM_extract_batched, float)->Apply(extract_args);
BENCHMARK_TEMPLATE(BM_extract_batched, double)->Apply(extract_args);
BENCHMARK_TEMPLATE(BM_extract_approximate, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_extract_per_utterance, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_extract_per_utterance, double)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_train_iteration_batched, float)->Apply(train_args);
BENCHMARK_TEMPLATE(BM_train_iteration_per_utterance, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_train_iteration_batched, double)->Apply(train_args);
BENCHMARK_TEMPLATE(BM_train_iteration_per_utterance, double)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_gemm_precision_shape, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_gemm_precision_shape, double)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_kernel_precision_shape, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_kernel_precision_shape, double)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_per_utterance_precision, float)->Apply(single_args);
BENCHMARK_TEMPLATE(BM_per_utterance_precision, double)->Apply(single_args);
#if defined(__AVX512F__)
BENCHMARK_TEMPLATE(BM_fma_peak, float)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK_TEMPLATE(BM_fma_peak, double)->Unit(benchmark::kMillisecond)->MinTime(0.5);
#endif
BENCHMARK_MAIN();
