/// @file
/// How closely one diagonal GMM recovers another: components matched by minimum-cost assignment,
/// distances in the reference model's standard deviations.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ivkit/core/assignment.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/gmm/diag_gmm.hpp"

namespace ivkit {

struct ComponentMatch {
  std::vector<Index> reference_of;   ///< reference component matched to each estimated component
  Eigen::VectorXd mean_distance;     ///< per estimated component: RMS over dimensions of |mu_est - mu_ref| / sd_ref
  double mean_of_distances = 0.0;
  double max_distance = 0.0;
  double max_weight_error = 0.0;     ///< max |w_est - w_ref|
  double max_log_variance_error = 0.0;  ///< max |log var_est - log var_ref|
};

/// Matches the components of `estimate` to those of `reference` (same C and D) minimising the
/// total squared mean distance measured in the reference's standard deviations.
/// @throws DimensionMismatch when C or D differ
template <class S1, class S2>
ComponentMatch match_components(const DiagGmm<S1>& estimate, const DiagGmm<S2>& reference) {
  const Index C = reference.num_components(), D = reference.dim();
  if (estimate.num_components() != C || estimate.dim() != D)
    throw DimensionMismatch(detail::message("match_components: estimate has C = ", estimate.num_components(), ", D = ",
                                            estimate.dim(), " but reference has C = ", C, ", D = ", D));
  const Eigen::MatrixXd me = estimate.means().template cast<double>(), mr = reference.means().template cast<double>();
  const Eigen::MatrixXd sd = reference.variances().template cast<double>().cwiseSqrt();
  Eigen::MatrixXd cost(C, C);
  for (Index i = 0; i < C; ++i)
    for (Index j = 0; j < C; ++j) cost(i, j) = ((me.row(i) - mr.row(j)).array() / sd.row(j).array()).square().sum() / static_cast<double>(D);
  ComponentMatch out;
  out.reference_of = min_cost_assignment(cost);
  out.mean_distance.resize(C);
  for (Index i = 0; i < C; ++i) {
    const Index j = out.reference_of[static_cast<std::size_t>(i)];
    out.mean_distance(i) = std::sqrt(cost(i, j));
    out.max_weight_error = std::max(out.max_weight_error, std::abs(static_cast<double>(estimate.weights()(i)) -
                                                                   static_cast<double>(reference.weights()(j))));
    for (Index d = 0; d < D; ++d)
      out.max_log_variance_error =
          std::max(out.max_log_variance_error, std::abs(std::log(static_cast<double>(estimate.variances()(i, d))) -
                                                        std::log(static_cast<double>(reference.variances()(j, d)))));
  }
  out.mean_of_distances = C > 0 ? out.mean_distance.mean() : 0.0;
  out.max_distance = C > 0 ? out.mean_distance.maxCoeff() : 0.0;
  return out;
}

}  // namespace ivkit
