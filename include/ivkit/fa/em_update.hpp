/// @file
/// M-step of factor analysis: the model that maximises the expected log-likelihood of statistics
/// accumulated under the previous model, with the noise variances floored.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/fa/model.hpp"
#include "ivkit/fa/statistics.hpp"

namespace ivkit {

/// Options of the M-step.
struct FaUpdateOptions {
  /// Psi_d >= variance_floor * (variance of the data in dimension d, from the statistics).
  double variance_floor = 1e-3;
};

struct FaUpdateReport {
  Index floored = 0;  ///< noise variances raised to the floor
};

/// M-step (Bishop, PRML 12.2.4; docs/factor_analysis.md), from statistics accumulated under `model`:
///   m' = mean of x = m + sum_y / N,  with d = m' - m:
///   S_yz = sum_i (x_i - m') <z_i>^T = sum_yz - d sum_z^T
///   V' = S_yz [sum_i <z_i z_i^T>]^-1   (a Cholesky solve with sum_zz)
///   Psi'_d = (1/N) sum_i [(x_id - m'_d)^2 - (V' <z_i>)_d (x_id - m'_d)]
///          = (sum_yy_d / N - d_d^2) - (1/N) sum_r V'_dr (S_yz)_dr,
/// floored at variance_floor times the data variance of dimension d. When m is the data mean (as
/// train_factor_analysis ensures) sum_z = 0 and this is the exact EM update, so the likelihood
/// never decreases (with the floor too: the update is the constrained maximiser).
/// @throws DimensionMismatch (statistics of another model), InvalidArgument (no samples, bad
///         option, non-finite statistics), NumericalError (zero data variance, singular sum_zz)
template <class Scalar>
FactorAnalysis<Scalar> fa_em_update(const FactorAnalysis<Scalar>& model, const FactorAnalysisStats& stats,
                                    const FaUpdateOptions& opts = {}, FaUpdateReport* report = nullptr) {
  constexpr const char* fn = "fa_em_update";
  if (!(opts.variance_floor >= 0.0 && opts.variance_floor < 1.0))
    throw InvalidArgument(detail::message(fn, ": variance_floor must be in [0, 1), got ", opts.variance_floor));
  const Index D = model.dim(), R = model.rank();
  if (stats.dim() != D || stats.rank() != R || stats.sum_y.size() != D || stats.sum_yz.rows() != D ||
      stats.sum_yz.cols() != R || stats.sum_zz.rows() != R || stats.sum_zz.cols() != R || stats.sum_yy.size() != D)
    throw DimensionMismatch(detail::message(fn, ": the statistics (D = ", stats.dim(), ", R = ", stats.rank(),
                                            ") do not match the model (D = ", D, ", R = ", R, ")"));
  if (stats.centre != model.mean().template cast<double>())
    throw DimensionMismatch(detail::message(fn, ": the statistics were accumulated under another model"));
  if (!(stats.count > 0.0) || !std::isfinite(stats.count))
    throw InvalidArgument(detail::message(fn, ": no samples accumulated (count is ", stats.count, ")"));
  if (!stats.sum_y.allFinite() || !stats.sum_yz.allFinite() || !stats.sum_z.allFinite() || !stats.sum_zz.allFinite() ||
      !stats.sum_yy.allFinite())
    throw InvalidArgument(detail::message(fn, ": the statistics hold NaN or Inf"));
  const double N = stats.count;
  const Eigen::VectorXd d = stats.sum_y / N;
  const Eigen::VectorXd new_mean = stats.centre + d;
  const Eigen::MatrixXd Syz = stats.sum_yz - d * stats.sum_z.transpose();
  const Eigen::MatrixXd Szz = 0.5 * (stats.sum_zz + stats.sum_zz.transpose());
  const Eigen::LLT<Eigen::MatrixXd> llt(Szz);
  if (llt.info() != Eigen::Success)
    throw NumericalError(detail::message(fn, ": sum of <z z^T> is not positive definite (R = ", R, ")"));
  const Eigen::MatrixXd V = llt.solve(Syz.transpose()).transpose();  // Syz Szz^-1 (Szz symmetric)
  Eigen::VectorXd psi(D);
  FaUpdateReport rep;
  for (Index k = 0; k < D; ++k) {
    const double var = stats.sum_yy(k) / N - d(k) * d(k);
    if (!(var > 0.0))
      throw NumericalError(detail::message(fn, ": the data have zero variance in dimension ", k,
                                           "; factor analysis cannot be fitted"));
    double p = var - V.row(k).dot(Syz.row(k)) / N;
    const double floor = opts.variance_floor * var;
    if (!(p >= floor)) {
      p = floor;
      ++rep.floored;
    }
    if (!(p > 0.0))
      throw NumericalError(detail::message(fn, ": the noise variance of dimension ", k, " became ", p,
                                           "; use a positive variance_floor"));
    psi(k) = p;
  }
  if (!V.allFinite()) throw NumericalError(detail::message(fn, ": the new loading matrix is not finite"));
  if (report) *report = rep;
  return FactorAnalysis<Scalar>(new_mean.template cast<Scalar>(), V.template cast<Scalar>(), psi.template cast<Scalar>());
}

}  // namespace ivkit
