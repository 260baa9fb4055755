/// @file
/// Unsupervised adaptation of a PLDA model to unlabelled in-domain embeddings, as Kaldi's
/// `ivector-adapt-plda` (PldaUnsupervisedAdaptor). The model's mean moves to the in-domain mean;
/// in the directions where the in-domain total covariance exceeds the model's (W + B), the excess is
/// shared between the within-class (default 0.3) and between-class (0.7) covariances; in the other
/// directions the model is unchanged.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <cmath>

#include "ivkit/backend/plda.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Kaldi's PldaUnsupervisedAdaptorConfig defaults.
struct PldaAdaptationOptions {
  double mean_diff_scale = 1.0;      ///< weight of the mean shift's outer product added to the in-domain covariance
  double within_covar_scale = 0.3;   ///< share of excess variance given to the within-class covariance
  double between_covar_scale = 0.7;  ///< share given to the between-class covariance
};

/// Accumulates weighted in-domain embeddings (in double), then adapts a model.
class PldaAdaptor {
 public:
  /// Adds every row of `x` with weight `weight` (>= 0).
  /// @throws NonFiniteInput (names the row), DimensionMismatch (dimension differs from earlier rows), InvalidArgument
  template <class Derived>
  void add(const Eigen::MatrixBase<Derived>& x, double weight = 1.0) {
    constexpr const char* fn = "PldaAdaptor::add";
    if (!(weight >= 0.0) || !std::isfinite(weight)) throw InvalidArgument(detail::message(fn, ": weight ", weight, " is not a finite value >= 0"));
    if (sum_.size() == 0) {
      sum_ = Vector<double>::Zero(x.cols());
      scatter_ = ColMatrix<double>::Zero(x.cols(), x.cols());
    } else if (x.cols() != sum_.size()) {
      throw DimensionMismatch(detail::message(fn, ": embeddings have dimension ", x.cols(), " but earlier ones had ", sum_.size()));
    }
    detail::check_finite_rows(fn, "embedding", x);
    const Matrix<double> xd = x.template cast<double>();
    sum_ += weight * xd.colwise().sum().transpose();
    scatter_.noalias() += weight * (xd.transpose() * xd);
    total_weight_ += weight * static_cast<double>(x.rows());
  }

  double total_weight() const { return total_weight_; }

  /// The adapted model (Kaldi's PldaUnsupervisedAdaptor::UpdatePlda).
  /// @throws InvalidArgument (nothing added, negative scales), DimensionMismatch, NumericalError
  template <class S>
  Plda<S> adapt(const Plda<S>& plda, const PldaAdaptationOptions& options = {}) const {
    constexpr const char* fn = "PldaAdaptor::adapt";
    if (!(total_weight_ > 0)) throw InvalidArgument(detail::message(fn, ": no in-domain embeddings were added"));
    if (sum_.size() != plda.dim())
      throw DimensionMismatch(detail::message(fn, ": in-domain embeddings have dimension ", sum_.size(), " but the PLDA model has dimension ",
                                              plda.dim()));
    if (!(options.mean_diff_scale >= 0 && options.within_covar_scale >= 0 && options.between_covar_scale >= 0))
      throw InvalidArgument(detail::message(fn, ": the scales must be >= 0"));
    const Index d = plda.dim();
    const Vector<double> mean = sum_ / total_weight_;
    ColMatrix<double> variance = scatter_ / total_weight_ - mean * mean.transpose();
    const Vector<double> mean_diff = mean - plda.mean().template cast<double>();
    variance += options.mean_diff_scale * mean_diff * mean_diff.transpose();

    // transform_mod maps the model's total covariance W + B to the identity.
    const Vector<double> psi = plda.psi().template cast<double>();
    ColMatrix<double> transform_mod = plda.transform().template cast<double>();
    for (Index i = 0; i < d; ++i) transform_mod.row(i) /= std::sqrt(1.0 + psi(i));
    ColMatrix<double> variance_proj = transform_mod * variance * transform_mod.transpose();
    variance_proj = 0.5 * (variance_proj + variance_proj.transpose()).eval();
    Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(variance_proj);
    if (eig.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": eigendecomposition of the in-domain covariance failed"));
    const Vector<double> s = eig.eigenvalues().reverse();
    const ColMatrix<double> p = eig.eigenvectors().rowwise().reverse();

    // Within and between covariances in the space of transform_mod, rotated by P^T; add the excess.
    const Vector<double> w_diag = (1.0 + psi.array()).inverse();
    const Vector<double> b_diag = psi.array() / (1.0 + psi.array());
    ColMatrix<double> w_proj = p.transpose() * w_diag.asDiagonal() * p;
    ColMatrix<double> b_proj = p.transpose() * b_diag.asDiagonal() * p;
    for (Index i = 0; i < d; ++i) {
      if (s(i) > 1.0) {
        const double excess = s(i) - 1.0;
        w_proj(i, i) += excess * options.within_covar_scale;
        b_proj(i, i) += excess * options.between_covar_scale;
      }
    }
    // Back to the embedding space, then diagonalise again.
    const ColMatrix<double> combined = p.transpose() * transform_mod;
    const ColMatrix<double> combined_inv = combined.inverse();
    const ColMatrix<double> w_new = combined_inv * w_proj * combined_inv.transpose();
    const ColMatrix<double> b_new = combined_inv * b_proj * combined_inv.transpose();
    return Plda<S>::from_covariances(mean, b_new, w_new);
  }

 private:
  Vector<double> sum_;
  ColMatrix<double> scatter_;
  double total_weight_ = 0;
};

}  // namespace ivkit
