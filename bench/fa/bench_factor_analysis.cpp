/// @file
/// One EM iteration of factor analysis (E-step statistics, then the M-step) on N = 100k samples,
/// D = 60, R = 10, float and double, and the reference it is judged by, in the same binary:
///   - BM_Fa_em_iteration: accumulate_fa_stats + fa_em_update, with the log-likelihood (ll:1, as
///     train_factor_analysis runs it) and without (ll:0, one product fewer per block); one thread
///     (CPU time) and all threads (wall-clock time);
///   - BM_Fa_em_iteration_naive: the textbook per-sample loop: for each sample
///     u = (V^T Psi^-1) (x - m) and <z> = L^-1 u (two matrix-vector products), rank-1 updates of
///     sum y <z>^T and sum <z><z>^T, the log-likelihood y^T Psi^-1 y - u . <z>; partial sums in the
///     model's scalar flushed to double every 1024 samples (the precision policy of ivkit); then the
///     same fa_em_update.
/// Data are drawn from a fixed random FA model with ivkit::Random (fixed seeds).
#include <benchmark/benchmark.h>

#include <Eigen/Cholesky>
#include <cmath>
#include <memory>

#include "ivkit/core/random.hpp"
#include "ivkit/fa/factor_analysis.hpp"

namespace {

using ivkit::Index;

constexpr Index kSamples = 100000;
constexpr Index kDim = 60;
constexpr Index kRank = 10;

template <class Scalar>
struct FaData {
  ivkit::FactorAnalysis<Scalar> model;  ///< the model EM starts from (not the generating one)
  ivkit::Matrix<Scalar> samples;        ///< (N x D), one sample per row
};

/// Samples of x = m + V z + e with loadings N(0, 1), noise variances in [0.3, 1.3], means N(0, 4);
/// the model to iterate is another random model of the same shape with the data mean.
template <class Scalar>
const FaData<Scalar>& fa_data() {
  static std::unique_ptr<FaData<Scalar>> data;
  if (!data) {
    ivkit::Random rng(20240611);
    Eigen::VectorXd m(kDim), psi(kDim);
    Eigen::MatrixXd V(kDim, kRank);
    for (Index d = 0; d < kDim; ++d) {
      m(d) = 2.0 * rng.normal();
      psi(d) = 0.3 + rng.uniform();
      for (Index r = 0; r < kRank; ++r) V(d, r) = rng.normal();
    }
    ivkit::Matrix<Scalar> x(kSamples, kDim);
    Eigen::VectorXd z(kRank);
    for (Index i = 0; i < kSamples; ++i) {
      for (Index r = 0; r < kRank; ++r) z(r) = rng.normal();
      for (Index d = 0; d < kDim; ++d)
        x(i, d) = static_cast<Scalar>(m(d) + V.row(d).dot(z) + std::sqrt(psi(d)) * rng.normal());
    }
    Eigen::MatrixXd V0(kDim, kRank);
    for (Index d = 0; d < kDim; ++d)
      for (Index r = 0; r < kRank; ++r) V0(d, r) = rng.normal();
    const Eigen::VectorXd mean = x.template cast<double>().colwise().mean().transpose();
    data.reset(new FaData<Scalar>{ivkit::FactorAnalysis<Scalar>(mean.cast<Scalar>(), V0.cast<Scalar>(),
                                                                Eigen::VectorXd::Ones(kDim).cast<Scalar>()),
                                  std::move(x)});
  }
  return *data;
}

/// Flops of the batched E-step per sample: Y P, Y^T Z (2 D R each), Z^T Z (2 R^2), and with the
/// log-likelihood Z V^T (2 D R).
double em_flops(bool with_ll) {
  return double(kSamples) * ((with_ll ? 6.0 : 4.0) * double(kDim) * double(kRank) + 2.0 * double(kRank) * double(kRank));
}

void set_counters(benchmark::State& state, double flops) {
  state.counters["samples/s"] =
      benchmark::Counter(double(kSamples), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Scalar>
void BM_Fa_em_iteration(benchmark::State& state) {
  const auto& data = fa_data<Scalar>();
  ivkit::FaOptions opts;
  opts.num_threads = static_cast<int>(state.range(0));
  opts.accumulate_log_likelihood = state.range(1) != 0;
  for (auto _ : state) {
    ivkit::FactorAnalysisStats stats(data.model);
    ivkit::accumulate_fa_stats(data.model, data.samples, stats, opts);
    auto next = ivkit::fa_em_update(data.model, stats);
    benchmark::DoNotOptimize(next.loading().data());
    benchmark::ClobberMemory();
  }
  set_counters(state, em_flops(opts.accumulate_log_likelihood));
  state.counters["threads"] = double(ivkit::resolve_num_threads(opts.num_threads));
}

/// The per-sample loop (see the file comment), statistics as FactorAnalysisStats defines them.
template <class Scalar>
void naive_em_stats(const ivkit::FactorAnalysis<Scalar>& model, const ivkit::Matrix<Scalar>& x,
                    ivkit::FactorAnalysisStats& stats) {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  const Index D = model.dim(), R = model.rank(), N = x.rows();
  // V^T Psi^-1 (R x D) and L^-1 (R x R), computed once in double.
  const Eigen::MatrixXd V = model.loading().template cast<double>();
  const Eigen::VectorXd inv_psi = model.noise_variances().template cast<double>().cwiseInverse();
  const Eigen::MatrixXd Wt = V.transpose() * inv_psi.asDiagonal();
  const Eigen::MatrixXd L = Eigen::MatrixXd::Identity(R, R) + Wt * V;
  const Eigen::MatrixXd Linv_d = L.llt().solve(Eigen::MatrixXd::Identity(R, R));
  const Mat Wt_s = Wt.cast<Scalar>(), Linv = Linv_d.cast<Scalar>();
  const Vec m = model.mean(), ip = inv_psi.cast<Scalar>();
  const double c0 = model.log_constant();
  Mat syz = Mat::Zero(D, R), szz = Mat::Zero(R, R);
  Vec sy = Vec::Zero(D), sz = Vec::Zero(R), syy = Vec::Zero(D), y(D), u(R), z(R);
  double quad = 0.0;
  auto flush = [&] {
    stats.sum_yz += syz.template cast<double>();
    stats.sum_zz += szz.template cast<double>();
    stats.sum_y += sy.template cast<double>();
    stats.sum_z += sz.template cast<double>();
    stats.sum_yy += syy.template cast<double>();
    syz.setZero();
    szz.setZero();
    sy.setZero();
    sz.setZero();
    syy.setZero();
  };
  for (Index i = 0; i < N; ++i) {
    y = x.row(i).transpose() - m;
    u.noalias() = Wt_s * y;
    z.noalias() = Linv * u;
    syz.noalias() += y * z.transpose();
    szz.noalias() += z * z.transpose();
    sy += y;
    sz += z;
    syy += y.cwiseAbs2();
    quad += static_cast<double>(y.cwiseAbs2().dot(ip) - u.dot(z));
    if ((i + 1) % 1024 == 0) flush();
  }
  flush();
  stats.sum_zz += double(N) * Linv_d;
  stats.count += double(N);
  stats.log_likelihood += -0.5 * (double(N) * c0 + quad);
}

template <class Scalar>
void BM_Fa_em_iteration_naive(benchmark::State& state) {
  const auto& data = fa_data<Scalar>();
  for (auto _ : state) {
    ivkit::FactorAnalysisStats stats(data.model);
    naive_em_stats(data.model, data.samples, stats);
    auto next = ivkit::fa_em_update(data.model, stats);
    benchmark::DoNotOptimize(next.loading().data());
    benchmark::ClobberMemory();
  }
  set_counters(state, em_flops(true));
}

}  // namespace

BENCHMARK_TEMPLATE(BM_Fa_em_iteration, float)
    ->ArgNames({"threads", "ll"})
    ->Args({1, 1})
    ->Args({1, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Fa_em_iteration, double)
    ->ArgNames({"threads", "ll"})
    ->Args({1, 1})
    ->Args({1, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Fa_em_iteration, float)->ArgNames({"threads", "ll"})->Args({0, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Fa_em_iteration, double)->ArgNames({"threads", "ll"})->Args({0, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Fa_em_iteration_naive, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Fa_em_iteration_naive, double)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
