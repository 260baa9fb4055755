/// @file
/// GMM-UBM verification score: the average per-frame log-likelihood ratio of a speaker's adapted
/// model against the UBM (Reynolds et al. 2000), with fast top-N scoring.
#pragma once

#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/scoring.hpp"

namespace ivkit {

/// (1/T) sum_t [log p(x_t | adapted) - log p(x_t | ubm)].
/// @param top_n 0: both models over all components; n > 0: the UBM's n best components per frame
///        (Gaussian selection) and both models evaluated on those only, Reynolds' fast scoring
///        (valid because MAP-adapted components stay near their UBM counterparts)
/// @throws InvalidArgument (no frames, models of different shape), DimensionMismatch, NonFiniteInput
template <class Layout = FramesAsRows, class Scalar, class Derived>
double gmm_ubm_score(const DiagGmm<Scalar>& adapted, const DiagGmm<Scalar>& ubm, const Eigen::MatrixBase<Derived>& frames,
                     Index top_n = 5, const ScoringOptions& opts = {}) {
  constexpr const char* fn = "gmm_ubm_score";
  if (adapted.num_components() != ubm.num_components() || adapted.dim() != ubm.dim())
    throw InvalidArgument(detail::message(fn, ": the adapted model (C = ", adapted.num_components(), ", D = ", adapted.dim(),
                                          ") and the UBM (C = ", ubm.num_components(), ", D = ", ubm.dim(), ") differ"));
  const Index n = num_frames<Layout>(frames);
  if (n == 0) throw InvalidArgument(detail::message(fn, ": no frames"));
  if (top_n < 0) throw InvalidArgument(detail::message(fn, ": top_n must be >= 0, got ", top_n));
  double total = 0.0;
  if (top_n == 0 || top_n >= ubm.num_components()) {
    const Vector<Scalar> a = adapted.template log_likelihoods<Layout>(frames, opts);
    const Vector<Scalar> b = ubm.template log_likelihoods<Layout>(frames, opts);
    total = (a.template cast<double>() - b.template cast<double>()).sum();
  } else {
    const GaussianSelection sel = ubm.template gaussian_selection<Layout>(frames, top_n, opts);
    Matrix<Scalar> a = adapted.template selected_log_likelihoods<Layout>(frames, sel, opts);
    for (Index t = 0; t < n; ++t)
      total += static_cast<double>(simd::log_sum_exp(&a(t, 0), a.cols())) - sel.frame_log_likelihoods(t);
  }
  return total / static_cast<double>(n);
}

}  // namespace ivkit
