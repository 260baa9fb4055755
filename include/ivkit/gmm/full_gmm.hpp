/// @file
/// Full-covariance Gaussian mixture model, batched evaluation, conversion to and from diagonal.
#pragma once

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/detail/lazy_scoring_weights.hpp"
#include "ivkit/gmm/detail/validation.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/scoring.hpp"
#include "ivkit/simd/softmax.hpp"

namespace ivkit {

/// Full-covariance GMM: weights (C), means (C x D), covariances (C matrices D x D, symmetric
/// positive definite), validated by Cholesky factorisation on construction.
///
/// Batched evaluation expands each centred frame y = x - o into phi(y) = [y, vech(y y^T)]
/// (vech: upper triangle, row by row) so that log p_c(x) = g_c + phi(y) . W_c with
/// W_c = [P_c mu'_c, -P_c,ii / 2 on the diagonal, -P_c,ij off it] (P_c the precision): one
/// matrix product of N x F by F x C, F = D + D(D+1)/2, the form Kaldi's `FullGmm` uses per frame.
/// @tparam ScalarT float or double
template <class ScalarT = double>
class FullGmm : public detail::GmmScoring<FullGmm<ScalarT>, ScalarT> {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  FullGmm() = default;

  /// @param weights (C), positive, summing to one
  /// @param means (C x D)
  /// @param covariances C symmetric positive-definite (D x D) matrices
  /// @throws InvalidArgument, DimensionMismatch, NumericalError (a covariance is not positive definite)
  FullGmm(Vector<Scalar> weights, Matrix<Scalar> means, std::vector<ColMatrix<Scalar>> covariances)
      : weights_(std::move(weights)), means_(std::move(means)), covariances_(std::move(covariances)) {
    constexpr const char* cls = "FullGmm";
    detail::validate_weights(cls, weights_);
    detail::validate_means(cls, means_, weights_.size());
    const Index C = weights_.size(), D = means_.cols();
    if (static_cast<Index>(covariances_.size()) != C)
      throw DimensionMismatch(detail::message(cls, ": ", covariances_.size(), " covariances for ", C, " components"));
    for (Index c = 0; c < C; ++c) {
      auto& S = covariances_[static_cast<std::size_t>(c)];
      if (S.rows() != D || S.cols() != D)
        throw DimensionMismatch(detail::message(cls, ": covariance of component ", c, " is ", S.rows(), " x ", S.cols(),
                                                " but the feature dimension is ", D));
      if (!S.allFinite())
        throw InvalidArgument(detail::message(cls, ": covariance of component ", c, " holds NaN or Inf"));
      const double asym = (S - S.transpose()).cwiseAbs().maxCoeff();
      const double scale = S.cwiseAbs().maxCoeff();
      if (asym > 1e-4 * scale)
        throw InvalidArgument(detail::message(cls, ": covariance of component ", c, " is not symmetric (max |S - S^T| = ",
                                              asym, ")"));
      S = (0.5 * (S + S.transpose())).eval();
    }
    compute_derived();
  }

  Index num_components() const { return weights_.size(); }
  Index dim() const { return means_.cols(); }
  bool empty() const { return weights_.size() == 0; }

  const Vector<Scalar>& weights() const { return weights_; }
  const Matrix<Scalar>& means() const { return means_; }  ///< (C x D)
  const std::vector<ColMatrix<Scalar>>& covariances() const { return covariances_; }
  const std::vector<ColMatrix<Scalar>>& precisions() const { return precisions_; }
  /// Lower Cholesky factors L_c of the covariances, S_c = L_c L_c^T.
  const std::vector<ColMatrix<Scalar>>& cholesky_factors() const { return cholesky_; }
  /// log w_c - 0.5 (D log 2 pi + log |S_c| + mu_c^T P_c mu_c)  (C), Kaldi's gconsts
  const Vector<Scalar>& gconsts() const { return gconsts_; }

  template <class Other>
  FullGmm<Other> cast() const {
    std::vector<ColMatrix<Other>> covs;
    covs.reserve(covariances_.size());
    for (const auto& S : covariances_) covs.push_back(S.template cast<Other>());
    return FullGmm<Other>(weights_.template cast<Other>(), means_.template cast<Other>(), std::move(covs));
  }

  /// F = D + D (D + 1) / 2
  Index expansion_dim() const { return dim() + packed_size(dim()); }
  const Vector<Scalar>& centre() const { return centre_; }
  [[deprecated("British spelling, as the rest of ivkit: use centre()")]] const Vector<Scalar>& center() const { return centre_; }
  /// (C x F), made on first use: the selected log-likelihoods read the inverse Cholesky factors
  /// instead, so extraction and training never need W (15.5 MB at C = 2048, D = 60 in float).
  const Matrix<Scalar>& scoring_weights() const {
    return scoring_weights_.weights([this](Matrix<Scalar>& W) { make_scoring_weights(W); });
  }
  /// W^T (F x C), the layout ivkit's GEMM kernel reads without repacking (gmm/scoring.hpp). Made on
  /// first use.
  const Matrix<Scalar>& scoring_weights_transposed() const {
    return scoring_weights_.transposed([this](Matrix<Scalar>& W) { make_scoring_weights(W); });
  }
  /// Frees W and W^T (15.5 MB each at C = 2048, D = 60 in float), made again on next use: an EM update reads only
  /// the parameters of the model it replaces. Copies made before keep what they share.
  void release_scoring_weights() { scoring_weights_.release(); }
  const Vector<Scalar>& log_constants() const { return log_constants_; }
  /// K_c = L_c^-1, the inverse of the covariance's Cholesky factor (P_c = K_c^T K_c), packed by
  /// row blocks as simd::whitened_norms reads it: row c of this (C x simd::whitened_packed_size(D))
  /// matrix. The selected log-likelihoods read it (gmm/scoring.hpp).
  const Matrix<Scalar>& inverse_cholesky_packed() const { return inverse_cholesky_packed_; }
  /// mu_c - centre() (C x D).
  const Matrix<Scalar>& centred_means() const { return centred_means_; }
  /// log w_c - 0.5 (D log 2 pi + log |S_c|) (C): log p_c(x) = this - 0.5 ||K_c (x - mu_c)||^2.
  const Vector<Scalar>& log_normalisers() const { return log_normalisers_; }
  /// phi = [y, vech(y y^T)] for centred frames y (B x D) -> (B x F).
  void expand(const Matrix<Scalar>& y, Matrix<Scalar>& phi) const {
    const Index D = dim(), B = y.rows();
    // Frame by frame: each row of phi is written once, contiguously (phi is row-major; writing
    // it a column block at a time touched every row D times).
    for (Index t = 0; t < B; ++t) {
      const Scalar* yt = &y(t, 0);
      Scalar* p = &phi(t, 0);
      for (Index i = 0; i < D; ++i) p[i] = yt[i];
      p += D;
      for (Index i = 0; i < D; ++i) {
        const Scalar yi = yt[i];
        for (Index j = i; j < D; ++j) p[j - i] = yi * yt[j];
        p += D - i;
      }
    }
  }

 private:
  void compute_derived() {
    const Index C = num_components(), D = dim();
    centre_ = (weights_.transpose() * means_).transpose();
    precisions_.resize(static_cast<std::size_t>(C));
    cholesky_.resize(static_cast<std::size_t>(C));
    gconsts_.resize(C);
    log_constants_.resize(C);
    inverse_cholesky_packed_.setZero(C, simd::whitened_packed_size(D));
    centred_means_.resize(C, D);
    log_normalisers_.resize(C);
    for (Index c = 0; c < C; ++c) {
      const ColMatrix<double> S = covariances_[static_cast<std::size_t>(c)].template cast<double>();
      Eigen::LLT<ColMatrix<double>> llt(S);
      if (llt.info() != Eigen::Success)
        throw NumericalError(detail::message("FullGmm: covariance of component ", c, " is not positive definite"));
      const ColMatrix<double> L = llt.matrixL();
      const double log_det = 2.0 * L.diagonal().array().log().sum();
      if (!std::isfinite(log_det) || L.diagonal().minCoeff() <= 0.0)
        throw NumericalError(detail::message("FullGmm: covariance of component ", c, " is singular"));
      const ColMatrix<double> P = llt.solve(ColMatrix<double>::Identity(D, D));
      const Eigen::VectorXd mu = means_.row(c).transpose().template cast<double>();
      const Eigen::VectorXd mu_c = mu - centre_.template cast<double>();
      const double base = std::log(static_cast<double>(weights_(c))) - 0.5 * (static_cast<double>(D) * kLog2Pi + log_det);
      gconsts_(c) = static_cast<Scalar>(base - 0.5 * mu.dot(P * mu));
      log_constants_(c) = static_cast<Scalar>(base - 0.5 * mu_c.dot(P * mu_c));
      const ColMatrix<double> K = L.template triangularView<Eigen::Lower>().solve(ColMatrix<double>::Identity(D, D));
      Scalar* packed = &inverse_cholesky_packed_(c, 0);
      for (Index q = 0; q * 16 < D; ++q) {
        const Index jend = std::min((q + 1) * 16, D);
        for (Index j = 0; j < jend; ++j)
          for (Index i = std::max(q * 16, j); i < std::min((q + 1) * 16, D); ++i) packed[j * 16 + (i - q * 16)] = static_cast<Scalar>(K(i, j));
        packed += 16 * jend;
      }
      centred_means_.row(c) = mu_c.transpose().template cast<Scalar>();
      log_normalisers_(c) = static_cast<Scalar>(base);
      precisions_[static_cast<std::size_t>(c)] = P.template cast<Scalar>();
      cholesky_[static_cast<std::size_t>(c)] = L.template cast<Scalar>();
    }
  }

  /// W from the covariances in double, as construction did before W was made on first use (the
  /// stored precisions are rounded to Scalar).
  void make_scoring_weights(Matrix<Scalar>& W) const {
    const Index C = num_components(), D = dim();
    W.resize(C, expansion_dim());
    for (Index c = 0; c < C; ++c) {
      const Eigen::LLT<ColMatrix<double>> llt(covariances_[static_cast<std::size_t>(c)].template cast<double>());
      const ColMatrix<double> P = llt.solve(ColMatrix<double>::Identity(D, D));
      const Eigen::VectorXd mu_c = means_.row(c).transpose().template cast<double>() - centre_.template cast<double>();
      W.row(c).head(D) = (P * mu_c).transpose().template cast<Scalar>();
      Index off = D;
      for (Index i = 0; i < D; ++i) {
        W(c, off++) = static_cast<Scalar>(-0.5 * P(i, i));
        for (Index j = i + 1; j < D; ++j) W(c, off++) = static_cast<Scalar>(-P(i, j));
      }
    }
  }

  Vector<Scalar> weights_;
  Matrix<Scalar> means_;
  std::vector<ColMatrix<Scalar>> covariances_;
  std::vector<ColMatrix<Scalar>> precisions_, cholesky_;
  Vector<Scalar> gconsts_;
  Vector<Scalar> centre_;
  Vector<Scalar> log_constants_;
  detail::LazyScoringWeights<Scalar> scoring_weights_;
  Matrix<Scalar> inverse_cholesky_packed_, centred_means_;
  Vector<Scalar> log_normalisers_;
};

/// Kaldi's `gmm-global-to-fgmm`: the same mixture with diagonal covariance matrices.
template <class Scalar>
FullGmm<Scalar> to_full(const DiagGmm<Scalar>& gmm) {
  std::vector<ColMatrix<Scalar>> covs;
  covs.reserve(static_cast<std::size_t>(gmm.num_components()));
  for (Index c = 0; c < gmm.num_components(); ++c)
    covs.push_back(gmm.variances().row(c).transpose().asDiagonal().toDenseMatrix());
  return FullGmm<Scalar>(gmm.weights(), gmm.means(), std::move(covs));
}

/// Kaldi's `fgmm-global-to-gmm`: keeps the diagonal of each covariance.
template <class Scalar>
DiagGmm<Scalar> to_diag(const FullGmm<Scalar>& gmm) {
  Matrix<Scalar> vars(gmm.num_components(), gmm.dim());
  for (Index c = 0; c < gmm.num_components(); ++c)
    vars.row(c) = gmm.covariances()[static_cast<std::size_t>(c)].diagonal().transpose();
  return DiagGmm<Scalar>(gmm.weights(), gmm.means(), std::move(vars));
}

}  // namespace ivkit
