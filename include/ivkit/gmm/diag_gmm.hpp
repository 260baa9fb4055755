/// @file
/// Diagonal-covariance Gaussian mixture model with batched, SIMD-tuned evaluation.
#pragma once

#include <cmath>
#include <utility>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/detail/lazy_scoring_weights.hpp"
#include "ivkit/gmm/detail/validation.hpp"
#include "ivkit/gmm/scoring.hpp"

namespace ivkit {

/// Diagonal-covariance GMM: weights (C), means (C x D), variances (C x D), validated on
/// construction. Scores through the batched formulation: log p_c(x) = g_c + [y, y*y] .
/// [mu'_c/var_c, -1/(2 var_c)] with y = x - o and mu'_c = mu_c - o, where o is the weighted mean of
/// the component means (centring keeps the expansion accurate in float when features have large
/// offsets). Stores the parameters and the per-component constants; the scoring matrix W and its
/// transpose are made on first use, and Kaldi's derived `inv_vars` and `means_invvars` are
/// computed when asked for, so that a model that is only made and written (the new model of an EM
/// update) holds two C x D matrices, as Kaldi's does.
///
/// Evaluation members (from detail::GmmScoring): component_log_likelihoods, log_likelihoods,
/// average_log_likelihood, posteriors, top_n_posteriors, gaussian_selection,
/// selected_log_likelihoods, selected_posteriors; each takes a Layout template argument.
/// @tparam ScalarT float or double
template <class ScalarT = double>
class DiagGmm : public detail::GmmScoring<DiagGmm<ScalarT>, ScalarT> {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  DiagGmm() = default;

  /// @param weights (C), positive, summing to one
  /// @param means (C x D)
  /// @param variances (C x D), positive
  /// @throws InvalidArgument, DimensionMismatch
  DiagGmm(Vector<Scalar> weights, Matrix<Scalar> means, Matrix<Scalar> variances)
      : weights_(std::move(weights)), means_(std::move(means)), variances_(std::move(variances)) {
    constexpr const char* cls = "DiagGmm";
    detail::validate_weights(cls, weights_);
    detail::validate_means(cls, means_, weights_.size());
    if (variances_.rows() != means_.rows() || variances_.cols() != means_.cols())
      throw DimensionMismatch(detail::message(cls, ": variances are ", variances_.rows(), " x ", variances_.cols(),
                                              " but means are ", means_.rows(), " x ", means_.cols()));
    for (Index c = 0; c < variances_.rows(); ++c)
      for (Index d = 0; d < variances_.cols(); ++d) {
        const Scalar v = variances_(c, d);
        if (!(std::isfinite(v) && v > 0))
          throw InvalidArgument(detail::message(cls, ": variance of component ", c, ", dimension ", d, " is ", v,
                                                "; variances must be positive and finite"));
      }
    compute_derived();
  }

  Index num_components() const { return weights_.size(); }
  Index dim() const { return means_.cols(); }
  bool empty() const { return weights_.size() == 0; }

  const Vector<Scalar>& weights() const { return weights_; }
  const Matrix<Scalar>& means() const { return means_; }           ///< (C x D)
  const Matrix<Scalar>& variances() const { return variances_; }   ///< (C x D)
  /// 1 / variances (C x D), Kaldi's inv_vars_; computed at each call.
  Matrix<Scalar> inv_variances() const { return variances_.cwiseInverse(); }
  /// means / variances (C x D), Kaldi's means_invvars_; computed at each call.
  Matrix<Scalar> means_inv_variances() const { return means_.cwiseProduct(variances_.cwiseInverse()); }
  /// Kaldi's gconsts: log w_c - 0.5 (D log 2 pi + sum_d log var_cd + sum_d mu_cd^2 / var_cd)  (C)
  const Vector<Scalar>& gconsts() const { return gconsts_; }

  /// Same model in another scalar type.
  template <class Other>
  DiagGmm<Other> cast() const {
    return DiagGmm<Other>(weights_.template cast<Other>(), means_.template cast<Other>(),
                          variances_.template cast<Other>());
  }

  /// Dimension of the expanded frame [y, y*y] the scoring matrix applies to (2 D).
  Index expansion_dim() const { return 2 * dim(); }
  /// The centre o subtracted from frames before expansion (D).
  const Vector<Scalar>& centre() const { return centre_; }
  [[deprecated("British spelling, as the rest of ivkit: use centre()")]] const Vector<Scalar>& center() const { return centre_; }
  /// Scoring matrix W (C x 2D): log p_c(x) = W_c . [y, y*y] + log_constants()(c). Made on first use.
  const Matrix<Scalar>& scoring_weights() const {
    return scoring_weights_.weights([this](Matrix<Scalar>& W) { make_scoring_weights(W); });
  }
  /// W^T (2D x C), the layout ivkit's GEMM kernel reads without repacking (gmm/scoring.hpp). Made on
  /// first use.
  const Matrix<Scalar>& scoring_weights_transposed() const {
    return scoring_weights_.transposed([this](Matrix<Scalar>& W) { make_scoring_weights(W); });
  }
  /// Frees W and W^T (1 MB each at C = 2048, D = 60 in float), made again on next use: an EM update reads only
  /// the parameters of the model it replaces. Copies made before keep what they share.
  void release_scoring_weights() { scoring_weights_.release(); }
  /// Log-constants of the centred formulation (C); equal to gconsts() when the centre is zero.
  const Vector<Scalar>& log_constants() const { return log_constants_; }
  /// phi = [y, y*y] for a block of centred frames y (B x D) -> (B x 2D).
  void expand(const Matrix<Scalar>& y, Matrix<Scalar>& phi) const {
    const Index D = dim();
    phi.leftCols(D) = y;
    phi.rightCols(D) = y.array().square();
  }

 private:
  void compute_derived() {
    const Index C = num_components(), D = dim();
    centre_ = (weights_.transpose() * means_).transpose();
    gconsts_.resize(C);
    log_constants_.resize(C);
    for (Index c = 0; c < C; ++c) {
      // Constants in double: they sum D terms that can cancel.
      double base = std::log(static_cast<double>(weights_(c))) - 0.5 * static_cast<double>(D) * kLog2Pi;
      double quad = 0.0, quad_centred = 0.0;
      for (Index d = 0; d < D; ++d) {
        const double v = variances_(c, d), m = means_(c, d), mc = m - static_cast<double>(centre_(d));
        base -= 0.5 * std::log(v);
        quad += m * m / v;
        quad_centred += mc * mc / v;
      }
      gconsts_(c) = static_cast<Scalar>(base - 0.5 * quad);
      log_constants_(c) = static_cast<Scalar>(base - 0.5 * quad_centred);
    }
  }

  void make_scoring_weights(Matrix<Scalar>& W) const {
    const Index C = num_components(), D = dim();
    W.resize(C, 2 * D);
    for (Index c = 0; c < C; ++c)
      for (Index d = 0; d < D; ++d) {
        const double v = variances_(c, d), mc = static_cast<double>(means_(c, d)) - static_cast<double>(centre_(d));
        W(c, d) = static_cast<Scalar>(mc / v);
        W(c, D + d) = static_cast<Scalar>(-0.5 / v);
      }
  }

  Vector<Scalar> weights_;
  Matrix<Scalar> means_, variances_;
  Vector<Scalar> gconsts_;
  Vector<Scalar> centre_;
  Vector<Scalar> log_constants_;
  detail::LazyScoringWeights<Scalar> scoring_weights_;
};

}  // namespace ivkit
