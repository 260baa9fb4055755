// The per-utterance solves of i-vector extraction and training (ivkit/core/spd_kernel.hpp):
// Cholesky factorisation, triangular inverse Z = K^-T and Gram product Z Z^T of one R x R SPD
// matrix, against Eigen 3.4's blocked LLT, triangular solve against the identity and product of
// the same shape, in one binary. Counter GFLOPS counts R^3 / 3 flops for each of the three.
// Also the float solver's double residual (I + P) w from the packed float P: ivkit's kernel pass
// (spd_packed_times_add) against the portable Eigen loop (packed_symmetric_times_add), 2 R^2 flops.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <vector>

#include "ivkit/core/packed.hpp"
#include "ivkit/core/spd_kernel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/ivector/extractor.hpp"  // detail::lower_triangular_inverse, lower_gram (the fallback)

namespace {

using ivkit::Index;

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

/// A well-conditioned SPD matrix, as an i-vector precision: G G^T / R + I.
template <class T>
Mat<T> spd(Index R) {
  const Eigen::MatrixXd G = Eigen::MatrixXd::Random(R, 2 * R);
  return (G * G.transpose() / static_cast<double>(R) + Eigen::MatrixXd::Identity(R, R)).cast<T>();
}

/// The ivkit rows need a kernel path (AVX-512 or AVX2, chosen at run time; IVKIT_ISA=avx2 times
/// the AVX2 kernels).
bool skip_without_kernel(benchmark::State& state) {
  if (ivkit::detail::have_spd_kernel()) return false;
  state.SkipWithError("baseline path: the library uses Eigen's rows");
  return true;
}

void flops(benchmark::State& state, Index R) {
  state.counters["GFLOPS"] = benchmark::Counter(static_cast<double>(R * R * R) / 3.0 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_cholesky_ivkit(benchmark::State& state) {
  if (skip_without_kernel(state)) return;
  const Index R = state.range(0);
  const Mat<T> A = spd<T>(R);
  Mat<T> K(R, R);
  for (auto _ : state) {
    K = A;  // the copy is in the Eigen row too
    benchmark::DoNotOptimize(ivkit::detail::spd_cholesky_lower(K.data(), R, R));
  }
  flops(state, R);
}

template <class T>
void BM_cholesky_eigen(benchmark::State& state) {
  const Index R = state.range(0);
  const Mat<T> A = spd<T>(R);
  Mat<T> K(R, R);
  for (auto _ : state) {
    K = A;
    benchmark::DoNotOptimize(Eigen::internal::llt_inplace<T, Eigen::Lower>::blocked(K));
  }
  flops(state, R);
}

template <class T>
void BM_inverse_ivkit(benchmark::State& state) {
  if (skip_without_kernel(state)) return;
  const Index R = state.range(0);
  const Mat<T> K = spd<T>(R).llt().matrixL();
  Mat<T> Z(R, R);
  for (auto _ : state) {
    ivkit::detail::spd_inverse_transpose_lower(K.data(), R, R, Z.data(), R);
    benchmark::DoNotOptimize(Z.data());
  }
  flops(state, R);
}

/// Eigen's inverse of a triangular factor, by column blocks so that it also does R^3 / 3 flops
/// (the library's fallback on the baseline path, detail::lower_triangular_inverse).
template <class T>
void BM_inverse_eigen(benchmark::State& state) {
  const Index R = state.range(0);
  const Mat<T> K = spd<T>(R).llt().matrixL();
  Mat<T> X(R, R);
  for (auto _ : state) {
    ivkit::detail::lower_triangular_inverse(K, X);
    benchmark::DoNotOptimize(X.data());
  }
  flops(state, R);
}

template <class T>
void BM_gram_ivkit(benchmark::State& state) {
  if (skip_without_kernel(state)) return;
  const Index R = state.range(0);
  const Mat<T> Z = Mat<T>(spd<T>(R).template triangularView<Eigen::Upper>());
  Mat<T> S(R, R);
  for (auto _ : state) {
    ivkit::detail::spd_gram_upper(Z.data(), R, R, S.data(), R);
    benchmark::DoNotOptimize(S.data());
  }
  flops(state, R);
}

template <class T>
void BM_gram_eigen(benchmark::State& state) {
  const Index R = state.range(0);
  const Mat<T> X = Mat<T>(spd<T>(R).template triangularView<Eigen::Lower>());
  Mat<T> S(R, R);
  for (auto _ : state) {
    ivkit::detail::lower_gram(X, S);
    benchmark::DoNotOptimize(S.data());
  }
  flops(state, R);
}

/// The packed float precision and a double vector of the residual's shape.
struct PackedCase {
  std::vector<float> packed;
  Eigen::VectorXd w, y;
  explicit PackedCase(Index R) : packed(static_cast<std::size_t>(ivkit::packed_size(R))), w(Eigen::VectorXd::Random(R)), y(R) {
    Eigen::Map<Eigen::VectorXf> p(packed.data(), ivkit::packed_size(R));
    ivkit::pack_symmetric(spd<float>(R), p);
  }
};

void residual_flops(benchmark::State& state, Index R) {
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(R * R) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_packed_times_ivkit(benchmark::State& state) {
  if (skip_without_kernel(state)) return;
  const Index R = state.range(0);
  PackedCase c(R);
  for (auto _ : state) {
    c.y = c.w;
    ivkit::detail::spd_packed_times_add(c.packed.data(), R, c.w.data(), c.y.data());
    benchmark::DoNotOptimize(c.y.data());
  }
  residual_flops(state, R);
}

void BM_packed_times_eigen(benchmark::State& state) {
  const Index R = state.range(0);
  PackedCase c(R);
  for (auto _ : state) {
    c.y = c.w;
    ivkit::packed_symmetric_times_add(c.packed.data(), R, c.w, c.y);
    benchmark::DoNotOptimize(c.y.data());
  }
  residual_flops(state, R);
}

void args(benchmark::internal::Benchmark* b) { b->ArgName("R")->Arg(200)->Arg(400)->Unit(benchmark::kMicrosecond); }

}  // namespace

BENCHMARK_TEMPLATE(BM_cholesky_ivkit, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_cholesky_eigen, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_inverse_ivkit, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_inverse_eigen, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_gram_ivkit, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_gram_eigen, float)->Apply(args);
BENCHMARK_TEMPLATE(BM_cholesky_ivkit, double)->Apply(args);
BENCHMARK_TEMPLATE(BM_cholesky_eigen, double)->Apply(args);
BENCHMARK_TEMPLATE(BM_inverse_ivkit, double)->Apply(args);
BENCHMARK_TEMPLATE(BM_inverse_eigen, double)->Apply(args);
BENCHMARK_TEMPLATE(BM_gram_ivkit, double)->Apply(args);
BENCHMARK_TEMPLATE(BM_gram_eigen, double)->Apply(args);
BENCHMARK(BM_packed_times_ivkit)->Apply(args);
BENCHMARK(BM_packed_times_eigen)->Apply(args);
BENCHMARK_MAIN();
