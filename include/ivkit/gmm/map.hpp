/// @file
/// MAP adaptation of a diagonal UBM from an utterance's (or speaker's) Baum-Welch statistics
/// (Reynolds, Quatieri and Dunn 2000; Kaldi's MapDiagGmmUpdate), and mean supervectors.
#pragma once

#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/stats/baum_welch.hpp"

namespace ivkit {

/// Relevance factors (Kaldi's MapDiagGmmOptions defaults). An update with factor tau moves a
/// component by N_c / (N_c + tau) of the way from the prior to the data.
struct MapOptions {
  double mean_tau = 10.0;
  double variance_tau = 50.0;
  double weight_tau = 10.0;
  bool update_means = true;
  bool update_variances = true;
  bool update_weights = true;

  /// SIDEKIT's and Reynolds' classic means-only adaptation with relevance factor r (16).
  static MapOptions means_only(double r = 16.0) {
    MapOptions o;
    o.mean_tau = r;
    o.update_variances = false;
    o.update_weights = false;
    return o;
  }
};

/// MAP-adapted model:
///   mu'_c  = (tau_m mu_c + sum gamma x) / (tau_m + N_c) = mu_c + F_c / (tau_m + N_c)
///   var'_c = (tau_v (var_c + mu_c^2) + sum gamma x^2) / (tau_v + N_c) - mu'_c^2
///   w'_c   = (N_c + tau_w w_c) / (sum N + tau_w)
/// @param stats from compute_stats(ubm, ...); second-order statistics are needed for variances
/// @throws DimensionMismatch, InvalidArgument (negative taus, missing second order, bad counts)
template <class Scalar>
DiagGmm<Scalar> map_adapt(const DiagGmm<Scalar>& ubm, const UtteranceStats& stats, const MapOptions& opts = {}) {
  constexpr const char* fn = "map_adapt";
  const Index C = ubm.num_components(), D = ubm.dim();
  if (stats.zeroth.size() != C || stats.first.rows() != C || stats.first.cols() != D)
    throw DimensionMismatch(detail::message(fn, ": statistics are for C = ", stats.zeroth.size(), ", D = ", stats.first.cols(),
                                            " but the UBM has C = ", C, ", D = ", D));
  if (!(opts.mean_tau >= 0.0 && opts.variance_tau >= 0.0 && opts.weight_tau >= 0.0))
    throw InvalidArgument(detail::message(fn, ": relevance factors must be >= 0"));
  if (opts.update_variances && (stats.second.rows() != C || stats.second.cols() != D))
    throw InvalidArgument(detail::message(fn, ": variance adaptation needs diagonal second-order statistics "
                                              "(StatsOptions::second_order)"));
  if (!stats.zeroth.allFinite() || (stats.zeroth.array() < 0.0).any() || !stats.first.allFinite() ||
      (opts.update_variances && !stats.second.allFinite()))
    throw InvalidArgument(detail::message(fn, ": statistics hold negative counts, NaN or Inf"));
  const double total = stats.zeroth.sum();
  Vector<Scalar> w = ubm.weights();
  Matrix<Scalar> mu = ubm.means(), var = ubm.variances();
  for (Index c = 0; c < C; ++c) {
    const double n = stats.zeroth(c);
    const Eigen::RowVectorXd m0 = ubm.means().row(c).template cast<double>();
    const Eigen::RowVectorXd v0 = ubm.variances().row(c).template cast<double>();
    Eigen::RowVectorXd m1 = m0;
    if (opts.update_means && n + opts.mean_tau > 0.0) m1 = m0 + stats.first.row(c) / (n + opts.mean_tau);
    mu.row(c) = m1.template cast<Scalar>();
    if (opts.update_variances && n + opts.variance_tau > 0.0) {
      // sum gamma x^2 from statistics centred on mu: S + 2 mu F + N mu^2.
      const Eigen::RowVectorXd x2 = stats.second.row(c) + 2.0 * m0.cwiseProduct(stats.first.row(c)) + n * m0.cwiseAbs2();
      Eigen::RowVectorXd v1 = (opts.variance_tau * (v0 + m0.cwiseAbs2()) + x2) / (opts.variance_tau + n) - m1.cwiseAbs2();
      // Floor: rounding must not drive a variance to zero when a component saw one repeated frame.
      v1 = v1.cwiseMax(1e-3 * v0);
      var.row(c) = v1.template cast<Scalar>();
    }
    if (opts.update_weights && total + opts.weight_tau > 0.0)
      w(c) = static_cast<Scalar>((n + opts.weight_tau * static_cast<double>(ubm.weights()(c))) / (total + opts.weight_tau));
  }
  if (opts.update_weights) w /= w.sum();
  return DiagGmm<Scalar>(std::move(w), std::move(mu), std::move(var));
}

/// Stacked means (C*D): the GMM supervector, component c in [c D, (c+1) D).
template <class Scalar>
Vector<Scalar> mean_supervector(const DiagGmm<Scalar>& gmm) {
  return Eigen::Map<const Vector<Scalar>>(gmm.means().data(), gmm.means().size());
}

/// The KL-divergence kernel supervector (Campbell et al. 2006): sqrt(w_c) (mu_c - mu_ubm_c) / sigma_ubm_c,
/// for which the inner product approximates the KL divergence between adapted models.
template <class Scalar>
Vector<Scalar> kl_supervector(const DiagGmm<Scalar>& adapted, const DiagGmm<Scalar>& ubm) {
  if (adapted.num_components() != ubm.num_components() || adapted.dim() != ubm.dim())
    throw DimensionMismatch("kl_supervector: the adapted model and the UBM differ in size");
  const Index C = ubm.num_components(), D = ubm.dim();
  Vector<Scalar> out(C * D);
  for (Index c = 0; c < C; ++c)
    out.segment(c * D, D) = (std::sqrt(ubm.weights()(c)) * (adapted.means().row(c) - ubm.means().row(c)).array() /
                             ubm.variances().row(c).array().sqrt())
                                .transpose();
  return out;
}

}  // namespace ivkit
