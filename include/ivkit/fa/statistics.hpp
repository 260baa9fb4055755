/// @file
/// E-step of factor analysis: the sufficient statistics of data under a model (FactorAnalysisStats),
/// accumulated block by block in one product per block, added in double in block order.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/fa/model.hpp"

namespace ivkit {

/// EM sufficient statistics of factor analysis, in double, centred on the mean m of the model
/// that produced them (y_i = x_i - m, <z_i> the posterior mean under that model):
///   count = N,  sum_y = sum_i y_i (D),  sum_yz = sum_i y_i <z_i>^T (D x R),
///   sum_z = sum_i <z_i> (R),  sum_zz = sum_i <z_i z_i^T> = N L^-1 + sum_i <z_i><z_i>^T (R x R),
///   sum_yy = sum_i y_i * y_i per dimension (D),  log_likelihood = sum_i log p(x_i) (when accumulated).
/// A plain value: statistics of the same model add with += (threads, processes, MPI).
struct FactorAnalysisStats {
  Eigen::VectorXd centre;  ///< (D) the model mean the statistics are centred on
  double count = 0.0;
  Eigen::VectorXd sum_y;
  Eigen::MatrixXd sum_yz;
  Eigen::VectorXd sum_z;
  Eigen::MatrixXd sum_zz;
  Eigen::VectorXd sum_yy;
  double log_likelihood = 0.0;

  FactorAnalysisStats() = default;

  /// Zeroed statistics for `model`.
  template <class Scalar>
  explicit FactorAnalysisStats(const FactorAnalysis<Scalar>& model) {
    resize(model.mean().template cast<double>(), model.rank());
  }

  void resize(const Eigen::VectorXd& mean, Index R) {
    const Index D = mean.size();
    centre = mean;
    sum_y = Eigen::VectorXd::Zero(D);
    sum_yz = Eigen::MatrixXd::Zero(D, R);
    sum_z = Eigen::VectorXd::Zero(R);
    sum_zz = Eigen::MatrixXd::Zero(R, R);
    sum_yy = Eigen::VectorXd::Zero(D);
    count = 0.0;
    log_likelihood = 0.0;
  }

  void set_zero() { resize(centre, rank()); }

  Index dim() const { return centre.size(); }
  Index rank() const { return sum_z.size(); }

  /// Adds statistics of the same model.
  /// @throws DimensionMismatch when the shapes or the centre differ (the statistics are unchanged)
  FactorAnalysisStats& operator+=(const FactorAnalysisStats& other) {
    if (other.dim() != dim() || other.rank() != rank())
      throw DimensionMismatch(detail::message("FactorAnalysisStats::operator+=: statistics differ (D = ", dim(), " vs ",
                                              other.dim(), ", R = ", rank(), " vs ", other.rank(), ")"));
    if (other.centre != centre)
      throw DimensionMismatch("FactorAnalysisStats::operator+=: statistics are centred differently (different models)");
    count += other.count;
    sum_y += other.sum_y;
    sum_yz += other.sum_yz;
    sum_z += other.sum_z;
    sum_zz += other.sum_zz;
    sum_yy += other.sum_yy;
    log_likelihood += other.log_likelihood;
    return *this;
  }

  /// Average log-likelihood per sample (0 without samples).
  double average_log_likelihood() const { return count > 0 ? log_likelihood / count : 0.0; }
};

/// E-step: adds the statistics of `data` under `model` to `stats` (made by FactorAnalysisStats(model)).
/// Per block of B samples: Z = Y P (B x D by D x R), then one product [Y Z 1]^T [Z 1] gives
/// sum y <z>^T, sum <z><z>^T, sum y and sum <z>; the statistics are reduced in Scalar per block and
/// added in double strictly in block order (identical for any thread count); N L^-1 is added to
/// sum_zz once per call.
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws DimensionMismatch (data or statistics of another shape or model), NonFiniteInput, NumericalError
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_fa_stats(const FactorAnalysis<Scalar>& model, const Eigen::MatrixBase<Derived>& data,
                         FactorAnalysisStats& stats, const FaOptions& opts = {}) {
  constexpr const char* fn = "accumulate_fa_stats";
  if (model.empty()) throw InvalidArgument(detail::message(fn, ": the model is empty"));
  detail::fa_check_dim<Layout>(model.dim(), data, fn);
  const Index D = model.dim(), R = model.rank();
  if (stats.dim() != D || stats.rank() != R || stats.centre != model.mean().template cast<double>())
    throw DimensionMismatch(detail::message(fn, ": the statistics (D = ", stats.dim(), ", R = ", stats.rank(),
                                            ") were not made for this model (D = ", D, ", R = ", R, ")"));
  const Index n = num_frames<Layout>(data), B = detail::fa_block_samples<Scalar>(D, opts, fn);
  const bool with_ll = opts.accumulate_log_likelihood;
  const double c0 = model.log_constant();
  double quad = 0.0;
  struct Partial {
    detail::FaWork<Scalar> w;
    ColMatrix<Scalar> sums;  // [Y Z 1]^T [Z 1] ((D + R + 1) x (R + 1))
    Vector<Scalar> syy;      // (D)
    double quad = 0.0;
    Index count = 0;
  };
  ordered_block_reduce(
      num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        model.template block_quadratic<Layout>(data, begin, count, p.w, fn, with_ll);
        p.count = count;
        p.sums.resize(D + R + 1, R + 1);
        p.sums.noalias() = p.w.buf.transpose() * p.w.buf.rightCols(R + 1);
        p.syy = p.w.buf.leftCols(D).cwiseAbs2().colwise().sum().transpose();
        p.quad = with_ll ? p.w.quad.template cast<double>().sum() : 0.0;
      },
      [&](Partial& p) {
        stats.count += static_cast<double>(p.count);
        stats.sum_yz += p.sums.topLeftCorner(D, R).template cast<double>();
        stats.sum_zz += p.sums.block(D, 0, R, R).template cast<double>();
        stats.sum_y += p.sums.block(0, R, D, 1).template cast<double>();
        stats.sum_z += p.sums.block(D, R, R, 1).template cast<double>();
        stats.sum_yy += p.syy.template cast<double>();
        quad += p.quad;
      });
  stats.sum_zz += static_cast<double>(n) * model.posterior_covariance().template cast<double>();
  // Summed as FactorAnalysis::log_likelihood sums it: the two give the same number.
  if (with_ll) stats.log_likelihood += -0.5 * (static_cast<double>(n) * c0 + quad);
}

}  // namespace ivkit
