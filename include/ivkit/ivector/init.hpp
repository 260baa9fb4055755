/// @file
/// Initial i-vector extractors: random (scaled by the UBM variances) in either prior convention,
/// and PCA of normalised supervectors.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/ivector/extractor.hpp"
#include "ivkit/stats/stats_set.hpp"

namespace ivkit {

/// Random initial extractor for a diagonal UBM (SIDEKIT-style zero mean): T_c entries drawn
/// N(0, scale^2 var_cd) so every component starts with a subspace of its own variance's size.
template <class Scalar>
IvectorExtractor<Scalar> init_extractor_random(const DiagGmm<Scalar>& ubm, Index ivector_dim, std::uint64_t seed,
                                               double scale = 0.1, PriorConvention convention = PriorConvention::ZeroMean,
                                               double prior_offset = 100.0) {
  if (ivector_dim < 1) throw InvalidArgument(detail::message("init_extractor_random: ivector_dim must be >= 1, got ", ivector_dim));
  const Index C = ubm.num_components(), D = ubm.dim(), R = ivector_dim;
  Random rng(seed);
  Matrix<Scalar> T(C * D, R);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d)
      for (Index r = 0; r < R; ++r) T(c * D + d, r) = static_cast<Scalar>(scale * std::sqrt(static_cast<double>(ubm.variances()(c, d))) * rng.normal());
  if (convention == PriorConvention::KaldiOffset) {
    // Kaldi's ivector-extractor-init: the first column times the prior offset gives the UBM means.
    for (Index c = 0; c < C; ++c) T.block(c * D, 0, D, 1) = ubm.means().row(c).transpose() / static_cast<Scalar>(prior_offset);
    Vector<Scalar> prior = Vector<Scalar>::Zero(R);
    prior(0) = static_cast<Scalar>(prior_offset);
    IvectorExtractor<Scalar> e(ubm.means(), Matrix<Scalar>::Zero(C, D), std::move(T), ubm.variances(), std::move(prior));
    e.set_approximation_weights(ubm.weights());
    return e;
  }
  IvectorExtractor<Scalar> e(ubm.means(), ubm.means(), std::move(T), ubm.variances(), Vector<Scalar>::Zero(R));
  e.set_approximation_weights(ubm.weights());
  return e;
}


/// PCA initialisation (zero-mean convention): the top R principal directions of the whitened
/// per-utterance mean offsets y_uc = Sigma_c^-1/2 F_uc / max(N_uc, 1), computed through the U x U
/// Gram matrix of at most `max_utterances` utterances, scaled by the square roots of their variances
/// above the residual level. A better start than random for large R, as in SIDEKIT's and
/// Kaldi-recipe practice of initialising from the data.
/// @throws InvalidArgument when there are fewer than R + 1 utterances
template <class Scalar, class S>
IvectorExtractor<Scalar> init_extractor_pca(const DiagGmm<Scalar>& ubm, const StatsSet<S>& stats, Index ivector_dim,
                                            Index max_utterances = 2000) {
  constexpr const char* fn = "init_extractor_pca";
  const Index C = ubm.num_components(), D = ubm.dim(), R = ivector_dim;
  if (stats.num_components() != C || stats.dim() != D)
    throw DimensionMismatch(detail::message(fn, ": statistics are for C = ", stats.num_components(), ", D = ", stats.dim(),
                                            " but the UBM has C = ", C, ", D = ", D));
  const Index U = std::min(stats.size(), max_utterances);
  if (R < 1 || U < R + 1)
    throw InvalidArgument(detail::message(fn, ": ", U, " utterances are too few for R = ", R, " (need at least R + 1)"));
  Matrix<double> Y(U, C * D);
  const Eigen::ArrayXXd inv_sd = ubm.variances().template cast<double>().array().rsqrt();
  for (Index u = 0; u < U; ++u)
    for (Index c = 0; c < C; ++c) {
      const double n = std::max(static_cast<double>(stats.zeroth()(u, c)), 1.0);
      Y.row(u).segment(c * D, D) = (stats.first().row(u).segment(c * D, D).template cast<double>().array() *
                                    inv_sd.row(c) / n).matrix();
    }
  Y.rowwise() -= Y.colwise().mean();
  const Eigen::MatrixXd G = Y * Y.transpose() / static_cast<double>(U);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(G);
  const Eigen::VectorXd lambda = eig.eigenvalues().reverse();  // descending
  const Eigen::MatrixXd vecs = eig.eigenvectors().rowwise().reverse();
  // Residual level: mean of the eigenvalues not kept (probabilistic PCA's noise estimate).
  const double residual = U > R ? lambda.tail(U - R).cwiseMax(0.0).mean() : 0.0;
  Matrix<Scalar> T(C * D, R);
  for (Index r = 0; r < R; ++r) {
    const double l = std::max(lambda(r), 1e-12);
    const Eigen::VectorXd dir = Y.transpose() * vecs.col(r) / std::sqrt(l * static_cast<double>(U));  // unit norm
    const double scale = std::sqrt(std::max(l - residual, 1e-3 * l));
    for (Index c = 0; c < C; ++c)
      T.col(r).segment(c * D, D) = (dir.segment(c * D, D).array() / inv_sd.row(c).transpose() * scale).template cast<Scalar>();
  }
  IvectorExtractor<Scalar> e(ubm.means(), ubm.means(), std::move(T), ubm.variances(), Vector<Scalar>::Zero(R));
  e.set_approximation_weights(ubm.weights());
  return e;
}

}  // namespace ivkit
