/// @file
/// Training factor analysis by EM on in-memory samples, from a probabilistic-PCA or a random start,
/// with a per-iteration report; deterministic for a seed and any thread count.
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/fa/em_update.hpp"
#include "ivkit/fa/model.hpp"
#include "ivkit/fa/statistics.hpp"

namespace ivkit {

/// How train_factor_analysis starts.
enum class FaInit {
  Pca,     ///< top-R eigenvectors of the sample covariance (probabilistic PCA), Psi from the residual
  Random,  ///< loadings drawn from N(0, var_d / (2 R)), Psi = var_d / 2 (seeded ivkit::Random)
};

/// One EM iteration as reported to the caller.
struct FaIteration {
  int iteration = 0;                    ///< 0-based
  double log_likelihood = 0.0;          ///< sum over samples, of the model before this iteration's update
  double average_log_likelihood = 0.0;  ///< log_likelihood / N
  Index floored = 0;                    ///< noise variances this iteration's update raised to the floor
};

using FaProgress = std::function<void(const FaIteration&)>;

struct FaTrainOptions {
  Index rank = 0;              ///< R, required: 1 <= R < D
  int num_iterations = 20;     ///< EM iterations
  std::uint64_t seed = 777;    ///< FaInit::Random only
  FaInit init = FaInit::Pca;
  /// Psi_d >= variance_floor * (data variance of dimension d), at initialisation and in every
  /// M-step; keeps a noise variance from collapsing to zero (a Heywood case), in [0, 1).
  double variance_floor = 1e-3;
  int num_threads = 1;         ///< 0 = all hardware threads; results are identical for any value
  Index block_samples = 0;     ///< 0 = chosen from D (see FaOptions)
  FaProgress progress;         ///< called after every iteration
  bool evaluate_final = true;  ///< compute the returned model's log-likelihood for the report
};

/// The training history. Within it the log-likelihood never decreases (EM; tested).
struct FaTrainReport {
  std::vector<FaIteration> iterations;
  Index initial_floored = 0;                  ///< noise variances the initialisation raised to the floor
  double final_log_likelihood = 0.0;          ///< of the returned model (one extra pass; evaluate_final)
  double final_average_log_likelihood = 0.0;
};

namespace detail {

/// Mean and (diagonal or full) maximum-likelihood covariance of the data, in double, in two passes
/// over blocks (deterministic for any thread count). Throws NonFiniteInput naming the first bad sample.
template <class Layout, class Derived>
void fa_data_moments(const Eigen::MatrixBase<Derived>& data, bool full, int num_threads, Index B, const char* fn,
                     Eigen::VectorXd& mean, Eigen::MatrixXd& cov) {
  const Index n = num_frames<Layout>(data), D = feature_dim<Layout>(data);
  struct Partial {
    ColMatrix<double> y;
    Eigen::VectorXd sum;
    Eigen::MatrixXd scatter;
  };
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(D);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(D);
  ordered_block_reduce(
      num_blocks(n, B), num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        p.y.resize(count, D);
        fa_load_block<Layout, double>(data, begin, count, zero, p.y, fn);
        p.sum = p.y.colwise().sum().transpose();
      },
      [&](Partial& p) { sum += p.sum; });
  mean = sum / static_cast<double>(n);
  cov = full ? Eigen::MatrixXd::Zero(D, D) : Eigen::MatrixXd::Zero(D, 1);
  ordered_block_reduce(
      num_blocks(n, B), num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        p.y.resize(count, D);
        fa_load_block<Layout, double>(data, begin, count, mean, p.y, fn);
        if (full) {
          p.scatter.resize(D, D);
          p.scatter.noalias() = p.y.transpose() * p.y;
        } else {
          p.scatter = p.y.cwiseAbs2().colwise().sum().transpose();
        }
      },
      [&](Partial& p) { cov += p.scatter; });
  cov /= static_cast<double>(n);
  if (full) cov = (0.5 * (cov + cov.transpose())).eval();
  for (Index k = 0; k < D; ++k) {
    const double v = full ? cov(k, k) : cov(k, 0);
    if (!(v > 0.0))
      throw NumericalError(message(fn, ": the data have zero variance in dimension ", k,
                                   "; factor analysis cannot be fitted"));
  }
}

/// Psi_d = max(residual_d, variance_floor * var_d), and never below 1e-6 var_d (Psi must be positive).
inline Eigen::VectorXd fa_floor_noise(const Eigen::VectorXd& residual, const Eigen::VectorXd& var, double variance_floor,
                                      Index& floored) {
  Eigen::VectorXd psi(residual.size());
  for (Index k = 0; k < residual.size(); ++k) {
    const double floor = std::max(variance_floor, 1e-6) * var(k);
    psi(k) = residual(k);
    if (!(psi(k) >= floor)) {
      psi(k) = floor;
      ++floored;
    }
  }
  return psi;
}

}  // namespace detail

/// Trains a factor analysis model of rank R by EM on in-memory samples; the model's scalar is the
/// data's (pass `data.template cast<float>()`, evaluated block by block, for another). Deterministic
/// for `seed` and independent of num_threads.
///
/// Initialisation sets m to the sample mean (then every M-step is exact EM), and
///  - FaInit::Pca: with Sigma = U diag(lambda) U^T the sample covariance (eigenvalues descending) and
///    sigma^2 the mean of the D - R smallest eigenvalues, V = U_R diag(sqrt(lambda_r - sigma^2))
///    (Tipping and Bishop's probabilistic PCA; lambda_r - sigma^2 is kept at least 1e-6 lambda_1 so
///    that no column starts at zero, which EM could never move), Psi = diag(Sigma - V V^T);
///  - FaInit::Random: V_dr ~ N(0, var_d / (2 R)), Psi_d = var_d / 2;
/// Psi then floored as in the M-step.
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws InvalidArgument (fewer than 2 samples, D < 2, rank outside [1, D - 1], bad options),
///         NonFiniteInput (names the sample), NumericalError (data with zero variance)
template <class Layout = FramesAsRows, class Derived>
FactorAnalysis<typename Derived::Scalar> train_factor_analysis(const Eigen::MatrixBase<Derived>& data,
                                                               const FaTrainOptions& opts,
                                                               FaTrainReport* report = nullptr) {
  using Scalar = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(Scalar);
  IVKIT_CHECK_LAYOUT(Layout);
  constexpr const char* fn = "train_factor_analysis";
  const Index n = num_frames<Layout>(data), D = feature_dim<Layout>(data), R = opts.rank;
  if (D < 2)
    throw InvalidArgument(detail::message(fn, ": the samples have dimension ", D, "; factor analysis needs at least 2"));
  if (R < 1 || R >= D)
    throw InvalidArgument(detail::message(fn, ": rank must be in [1, ", D - 1, "] for dimension ", D, ", got ", R));
  if (n < 2) throw InvalidArgument(detail::message(fn, ": at least 2 samples are needed, got ", n));
  if (opts.num_iterations < 0)
    throw InvalidArgument(detail::message(fn, ": num_iterations must be >= 0, got ", opts.num_iterations));
  if (!(opts.variance_floor >= 0.0 && opts.variance_floor < 1.0))
    throw InvalidArgument(detail::message(fn, ": variance_floor must be in [0, 1), got ", opts.variance_floor));
  FaOptions eval;
  eval.num_threads = opts.num_threads;
  eval.block_samples = opts.block_samples;
  resolve_num_threads(opts.num_threads);
  const Index B = detail::fa_block_samples<Scalar>(D, eval, fn);

  FaTrainReport rep;
  const bool pca = opts.init == FaInit::Pca;
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
  detail::fa_data_moments<Layout>(data, pca, opts.num_threads, B, fn, mean, cov);
  const Eigen::VectorXd var = pca ? Eigen::VectorXd(cov.diagonal()) : Eigen::VectorXd(cov.col(0));
  ColMatrix<double> V(D, R);
  Eigen::VectorXd residual;
  if (pca) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    if (eig.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": eigendecomposition of the covariance failed"));
    const Eigen::VectorXd& lambda = eig.eigenvalues();  // ascending
    const double sigma2 = lambda.head(D - R).mean();
    const double lambda_max = lambda(D - 1);
    for (Index r = 0; r < R; ++r) {
      const Index k = D - 1 - r;
      const double scale = std::sqrt(std::max(lambda(k) - sigma2, 1e-6 * lambda_max));
      Eigen::VectorXd u = eig.eigenvectors().col(k);
      Index big = 0;
      u.cwiseAbs().maxCoeff(&big);
      if (u(big) < 0) u = -u;  // a fixed sign, whatever the eigensolver returns
      V.col(r) = scale * u;
    }
    residual = var - V.rowwise().squaredNorm();
  } else {
    Random rng(opts.seed);
    for (Index r = 0; r < R; ++r)
      for (Index k = 0; k < D; ++k) V(k, r) = rng.normal() * std::sqrt(var(k) / (2.0 * static_cast<double>(R)));
    residual = 0.5 * var;
  }
  const Eigen::VectorXd psi = detail::fa_floor_noise(residual, var, opts.variance_floor, rep.initial_floored);
  FactorAnalysis<Scalar> model(mean.template cast<Scalar>(), V.template cast<Scalar>(), psi.template cast<Scalar>());

  FaUpdateOptions uopts;
  uopts.variance_floor = opts.variance_floor;
  for (int it = 0; it < opts.num_iterations; ++it) {
    FactorAnalysisStats stats(model);
    accumulate_fa_stats<Layout>(model, data, stats, eval);
    FaIteration info;
    info.iteration = it;
    info.log_likelihood = stats.log_likelihood;
    info.average_log_likelihood = stats.average_log_likelihood();
    FaUpdateReport urep;
    model = fa_em_update(model, stats, uopts, &urep);
    info.floored = urep.floored;
    rep.iterations.push_back(info);
    if (opts.progress) opts.progress(rep.iterations.back());
  }
  if (opts.evaluate_final) {
    rep.final_log_likelihood = model.template log_likelihood<Layout>(data, eval);
    rep.final_average_log_likelihood = rep.final_log_likelihood / static_cast<double>(n);
  }
  if (report) *report = std::move(rep);
  return model;
}

}  // namespace ivkit
