/// @file
/// The i-vector extractor (total-variability model) and batched i-vector extraction.
///
/// Model (Dehak et al. 2011; Kaldi's IvectorExtractor): the supervector of utterance u is
///   mu_uc = m_c + T_c w_u,   w_u ~ N(mu_w, I),   frames of component c ~ N(mu_uc, Sigma_c),
/// T_c (D x R), Sigma_c diagonal or full. Two prior conventions are both expressible:
///   * zero mean (SIDEKIT, Dehak): mu_w = 0 and m = the UBM means;
///   * Kaldi's: m = 0 and mu_w = (prior_offset, 0, ..., 0): the first i-vector dimension carries
///     the mean, T_c's first column times prior_offset is the component mean.
/// to_zero_mean() converts either to the zero-mean form (w' = w - mu_w, m' = m + T mu_w), exactly.
///
/// Posterior of w given the Baum-Welch statistics N_uc, F_uc (centred on the UBM means mu_c):
///   L_u = I + sum_c N_uc U_c,  U_c = T_c^T Sigma_c^-1 T_c,
///   w_u = L_u^-1 (mu_w + sum_c T_c^T Sigma_c^-1 (F_uc - N_uc (m_c - mu_c))),   Cov = L_u^-1.
/// Batched over U utterances (DESIGN.md formulation 4): with the U_c packed as rows of a
/// C x R(R+1)/2 matrix, all precisions are one product N (U x C) * Upacked; all linear terms are
/// F (U x CD) * [Sigma^-1 T] (CD x R); then U small Cholesky solves.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/stats/stats_set.hpp"

namespace ivkit {

enum class PriorConvention {
  ZeroMean,     ///< w ~ N(0, I), m = UBM means (SIDEKIT, Dehak et al.)
  KaldiOffset,  ///< w ~ N(prior_offset e_1, I), m = 0 (Kaldi)
  General,      ///< any m and mu_w (e.g. after conversion)
};

/// How i-vectors are computed.
enum class ExtractionMethod {
  Exact,        ///< the posterior above
  Approximate,  ///< Glembek et al. 2011: N_uc ~ n_u w_c, so L_u = I + n_u sum_c w_c U_c, one
                ///< eigendecomposition shared by all utterances, O(R^2) per utterance
};

struct ExtractOptions {
  ExtractionMethod method = ExtractionMethod::Exact;
  bool variances = true;           ///< the diagonal of L_u^-1 (SIDEKIT's uncertainty)
  bool covariances = false;        ///< the full L_u^-1 for each utterance
  Index batch_size = 256;          ///< utterances per batch (fixed: results do not depend on threads); larger
                                   ///< batches amortise reading the C x R(R+1)/2 table
  int num_threads = 1;             ///< 0 = all hardware threads
};

/// Extracted i-vectors of a set of utterances, in the set's order.
template <class Scalar>
struct Ivectors {
  std::vector<std::string> ids;
  Matrix<Scalar> means;                        ///< (U x R) posterior means
  Matrix<Scalar> variances;                    ///< (U x R) diagonal of the posterior covariance, if requested
  std::vector<ColMatrix<Scalar>> covariances;  ///< U of (R x R), if requested
};

template <class ScalarT = double>
class IvectorExtractor {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  IvectorExtractor() = default;

  /// Diagonal-covariance model.
  /// @param ubm_means (C x D) the means the statistics are centred on
  /// @param offsets_m (C x D) the model's m
  /// @param T (C*D x R), rows [c D, (c+1) D) are T_c
  /// @param variances (C x D) diagonal Sigma_c
  /// @param prior_mean (R) mu_w
  IvectorExtractor(Matrix<Scalar> ubm_means, Matrix<Scalar> m, Matrix<Scalar> T, Matrix<Scalar> variances,
                   Vector<Scalar> prior_mean)
      : ubm_means_(std::move(ubm_means)), m_(std::move(m)), T_(std::move(T)), variances_(std::move(variances)),
        prior_mean_(std::move(prior_mean)) {
    validate();
    if (variances_.rows() != num_components() || variances_.cols() != dim())
      throw DimensionMismatch(detail::message("IvectorExtractor: variances are ", variances_.rows(), " x ", variances_.cols(),
                                              " but C = ", num_components(), ", D = ", dim()));
    for (Index c = 0; c < variances_.rows(); ++c)
      for (Index d = 0; d < variances_.cols(); ++d)
        if (!(std::isfinite(variances_(c, d)) && variances_(c, d) > 0))
          throw InvalidArgument(detail::message("IvectorExtractor: variance of component ", c, ", dimension ", d, " is ",
                                                variances_(c, d), "; variances must be positive and finite"));
    compute_derived();
  }

  /// Full-covariance model (Sigma_c full, as Kaldi's extractor with a full UBM).
  IvectorExtractor(Matrix<Scalar> ubm_means, Matrix<Scalar> m, Matrix<Scalar> T, std::vector<ColMatrix<Scalar>> covariances,
                   Vector<Scalar> prior_mean)
      : ubm_means_(std::move(ubm_means)), m_(std::move(m)), T_(std::move(T)), covariances_(std::move(covariances)),
        prior_mean_(std::move(prior_mean)) {
    validate();
    if (static_cast<Index>(covariances_.size()) != num_components())
      throw DimensionMismatch(detail::message("IvectorExtractor: ", covariances_.size(), " covariances for ", num_components(),
                                              " components"));
    for (Index c = 0; c < num_components(); ++c) {
      const auto& S = covariances_[static_cast<std::size_t>(c)];
      if (S.rows() != dim() || S.cols() != dim())
        throw DimensionMismatch(detail::message("IvectorExtractor: covariance of component ", c, " is ", S.rows(), " x ",
                                                S.cols(), " but D = ", dim()));
    }
    compute_derived();
  }

  Index num_components() const { return ubm_means_.rows(); }
  Index dim() const { return ubm_means_.cols(); }
  Index ivector_dim() const { return T_.cols(); }
  bool full_covariance() const { return !covariances_.empty(); }

  const Matrix<Scalar>& ubm_means() const { return ubm_means_; }
  const Matrix<Scalar>& m() const { return m_; }
  const Matrix<Scalar>& T() const { return T_; }  ///< (C*D x R)
  auto T_block(Index c) const { return T_.middleRows(c * dim(), dim()); }
  const Matrix<Scalar>& variances() const { return variances_; }  ///< diagonal model only
  const std::vector<ColMatrix<Scalar>>& covariances() const { return covariances_; }  ///< full model only
  const Vector<Scalar>& prior_mean() const { return prior_mean_; }
  /// Sigma_c^-1 v for a vector v (D), in double.
  Eigen::VectorXd sigma_inv_times(Index c, const Eigen::VectorXd& v) const {
    if (full_covariance()) return covariances_[static_cast<std::size_t>(c)].template cast<double>().llt().solve(v);
    return v.cwiseQuotient(variances_.row(c).transpose().template cast<double>());
  }

  /// Sigma_c^-1 T_c stacked (C*D x R).
  const Matrix<Scalar>& sigma_inv_T() const { return sigma_inv_T_; }
  /// vech(U_c) as rows (C x R(R+1)/2).
  const Matrix<Scalar>& U_packed() const { return U_packed_; }

  PriorConvention convention() const {
    const bool m_zero = m_.isZero(0), rest_zero = prior_mean_.size() <= 1 || prior_mean_.tail(prior_mean_.size() - 1).isZero(0);
    if (prior_mean_.isZero(0) && m_ == ubm_means_) return PriorConvention::ZeroMean;
    if (m_zero && rest_zero) return PriorConvention::KaldiOffset;
    return PriorConvention::General;
  }

  /// The same model with w ~ N(0, I): m' = m + T mu_w; i-vectors shift by -mu_w. Exact.
  IvectorExtractor to_zero_mean() const {
    Matrix<Scalar> m2 = m_;
    const Vector<Scalar> shift = T_ * prior_mean_;
    for (Index c = 0; c < num_components(); ++c) m2.row(c) += shift.segment(c * dim(), dim()).transpose();
    return rebuild(std::move(m2), T_, Vector<Scalar>::Zero(ivector_dim()));
  }

  /// Model with new m, T and prior mean (and optionally new variances for a diagonal model, or new
  /// covariances for a full one); the rest, including the approximation weights, is kept.
  IvectorExtractor rebuild(Matrix<Scalar> m, Matrix<Scalar> T, Vector<Scalar> prior_mean, const Matrix<Scalar>* new_variances = nullptr,
                           const std::vector<ColMatrix<Scalar>>* new_covariances = nullptr) const {
    IvectorExtractor out = full_covariance()
                               ? IvectorExtractor(ubm_means_, std::move(m), std::move(T), new_covariances ? *new_covariances : covariances_,
                                                  std::move(prior_mean))
                               : IvectorExtractor(ubm_means_, std::move(m), std::move(T),
                                                  new_variances ? *new_variances : variances_, std::move(prior_mean));
    if (approx_weights_.size() == num_components()) {
      out.approx_weights_ = approx_weights_;
      out.compute_approximation();
    }
    return out;
  }

  template <class Other>
  IvectorExtractor<Other> cast() const {
    if (full_covariance()) {
      std::vector<ColMatrix<Other>> covs;
      for (const auto& S : covariances_) covs.push_back(S.template cast<Other>());
      return IvectorExtractor<Other>(ubm_means_.template cast<Other>(), m_.template cast<Other>(), T_.template cast<Other>(),
                                     std::move(covs), prior_mean_.template cast<Other>());
    }
    return IvectorExtractor<Other>(ubm_means_.template cast<Other>(), m_.template cast<Other>(), T_.template cast<Other>(),
                                   variances_.template cast<Other>(), prior_mean_.template cast<Other>());
  }

  /// Extracts the i-vectors of every utterance of `stats` (first order centred on ubm_means()).
  /// An utterance without frames gets the prior (mean mu_w, covariance I).
  /// @throws DimensionMismatch (statistics of another UBM), InvalidArgument (options),
  ///         NumericalError (a precision that is not positive definite)
  template <class S>
  Ivectors<Scalar> extract(const StatsSet<S>& stats, const ExtractOptions& opts = {}) const {
    Ivectors<Scalar> out = extract_matrices(stats.zeroth(), stats.first(), opts);
    out.ids = stats.ids();
    return out;
  }

  /// Same, from raw statistics matrices: zeroth (U x C), first (U x C*D).
  template <class DN, class DF>
  Ivectors<Scalar> extract_matrices(const Eigen::MatrixBase<DN>& zeroth, const Eigen::MatrixBase<DF>& first,
                                    const ExtractOptions& opts = {}) const {
    constexpr const char* fn = "IvectorExtractor::extract";
    const Index U = zeroth.rows(), C = num_components(), D = dim(), R = ivector_dim();
    if (zeroth.cols() != C || first.rows() != U || first.cols() != C * D)
      throw DimensionMismatch(detail::message(fn, ": statistics are ", zeroth.rows(), " x ", zeroth.cols(), " and ", first.rows(),
                                              " x ", first.cols(), " but the extractor has C = ", C, ", D = ", D));
    if (opts.batch_size < 1) throw InvalidArgument(detail::message(fn, ": batch_size must be >= 1, got ", opts.batch_size));
    Ivectors<Scalar> out;
    out.means.resize(U, R);
    if (opts.variances) out.variances.resize(U, R);
    if (opts.covariances) out.covariances.resize(static_cast<std::size_t>(U));
    const Index B = opts.batch_size;
    parallel_for_blocks(num_blocks(U, B), opts.num_threads, [&](Index b) {
      const Index begin = b * B, count = std::min(B, U - begin);
      const Matrix<Scalar> n = zeroth.middleRows(begin, count).template cast<Scalar>();
      const Matrix<Scalar> f = first.middleRows(begin, count).template cast<Scalar>();
      for (Index i = 0; i < count; ++i) {
        if (!n.row(i).allFinite() || (n.row(i).array() < Scalar(0)).any())
          throw InvalidArgument(detail::message(fn, ": utterance ", begin + i, " has negative or non-finite counts"));
        if (!f.row(i).allFinite())
          throw InvalidArgument(detail::message(fn, ": utterance ", begin + i, " has NaN or Inf first-order statistics"));
      }
      Matrix<Scalar> linear = f * sigma_inv_T_;  // (count x R)
      linear -= n * offset_linear_;              // m - ubm means, as a per-component constant
      linear.rowwise() += prior_mean_.transpose();
      if (opts.method == ExtractionMethod::Exact) {
        const Matrix<Scalar> prec = n * U_packed_;  // (count x R(R+1)/2)
        for (Index i = 0; i < count; ++i) {
          ColMatrix<double> L = unpack_symmetric<double>(prec.row(i), R);
          L.diagonal().array() += 1.0;
          Eigen::LLT<ColMatrix<double>> llt(L);
          if (llt.info() != Eigen::Success)
            throw NumericalError(detail::message(fn, ": the precision of utterance ", begin + i, " is not positive definite"));
          const Eigen::VectorXd w = llt.solve(linear.row(i).transpose().template cast<double>());
          out.means.row(begin + i) = w.transpose().template cast<Scalar>();
          if (opts.covariances) {
            const ColMatrix<double> cov = llt.solve(ColMatrix<double>::Identity(R, R));
            out.covariances[static_cast<std::size_t>(begin + i)] = cov.template cast<Scalar>();
            if (opts.variances) out.variances.row(begin + i) = cov.diagonal().transpose().template cast<Scalar>();
          } else if (opts.variances) {
            // diag(L^-1) = squared column norms of K^-1 where L = K K^T: half the work of the inverse.
            ColMatrix<double> Kinv = ColMatrix<double>::Identity(R, R);
            llt.matrixL().solveInPlace(Kinv);
            out.variances.row(begin + i) = Kinv.colwise().squaredNorm().template cast<Scalar>();
          }
        }
      } else {
        // L_u = Q (I + n_u Lambda) Q^T with W = sum_c w_c U_c = Q Lambda Q^T computed once.
        const Eigen::VectorXd total = n.template cast<double>().rowwise().sum();
        for (Index i = 0; i < count; ++i) {
          const Eigen::ArrayXd inv = (1.0 + total(i) * approx_eigenvalues_.array()).inverse();
          const Eigen::VectorXd proj = approx_eigenvectors_.transpose() * linear.row(i).transpose().template cast<double>();
          const Eigen::VectorXd w = approx_eigenvectors_ * (inv * proj.array()).matrix();
          out.means.row(begin + i) = w.transpose().template cast<Scalar>();
          if (opts.variances || opts.covariances) {
            const ColMatrix<double> cov = approx_eigenvectors_ * inv.matrix().asDiagonal() * approx_eigenvectors_.transpose();
            if (opts.variances) out.variances.row(begin + i) = cov.diagonal().transpose().template cast<Scalar>();
            if (opts.covariances) out.covariances[static_cast<std::size_t>(begin + i)] = cov.template cast<Scalar>();
          }
        }
      }
    });
    return out;
  }

  /// Sets the UBM weights used by ExtractionMethod::Approximate (default: uniform).
  void set_approximation_weights(const Vector<Scalar>& weights) {
    if (weights.size() != num_components())
      throw DimensionMismatch(detail::message("IvectorExtractor::set_approximation_weights: ", weights.size(), " weights for ",
                                              num_components(), " components"));
    approx_weights_ = weights.template cast<double>() / weights.template cast<double>().sum();
    compute_approximation();
  }

 private:
  void validate() const {
    constexpr const char* cls = "IvectorExtractor";
    const Index C = ubm_means_.rows(), D = ubm_means_.cols();
    if (C < 1 || D < 1) throw InvalidArgument(detail::message(cls, ": need C >= 1 and D >= 1"));
    if (m_.rows() != C || m_.cols() != D)
      throw DimensionMismatch(detail::message(cls, ": m is ", m_.rows(), " x ", m_.cols(), " but the UBM means are ", C, " x ", D));
    if (T_.rows() != C * D || T_.cols() < 1)
      throw DimensionMismatch(detail::message(cls, ": T is ", T_.rows(), " x ", T_.cols(), " but must be ", C * D, " x R, R >= 1"));
    if (prior_mean_.size() != T_.cols())
      throw DimensionMismatch(detail::message(cls, ": the prior mean has ", prior_mean_.size(), " entries but R = ", T_.cols()));
    if (!ubm_means_.allFinite() || !m_.allFinite() || !T_.allFinite() || !prior_mean_.allFinite())
      throw InvalidArgument(detail::message(cls, ": parameters hold NaN or Inf"));
  }

  void compute_derived() {
    const Index C = num_components(), D = dim(), R = ivector_dim();
    sigma_inv_T_.resize(C * D, R);
    U_packed_.resize(C, packed_size(R));
    offset_linear_.resize(C, R);
    for (Index c = 0; c < C; ++c) {
      const ColMatrix<double> Tc = T_block(c).template cast<double>();
      ColMatrix<double> SiT;
      if (full_covariance()) {
        Eigen::LLT<ColMatrix<double>> llt(covariances_[static_cast<std::size_t>(c)].template cast<double>());
        if (llt.info() != Eigen::Success)
          throw NumericalError(detail::message("IvectorExtractor: covariance of component ", c, " is not positive definite"));
        SiT = llt.solve(Tc);
      } else {
        SiT = variances_.row(c).transpose().template cast<double>().cwiseInverse().asDiagonal() * Tc;
      }
      sigma_inv_T_.middleRows(c * D, D) = SiT.template cast<Scalar>();
      const ColMatrix<double> Uc = Tc.transpose() * SiT;
      auto row = U_packed_.row(c);
      pack_symmetric(Uc.template cast<Scalar>(), row);
      // T_c^T Sigma_c^-1 (m_c - mu_c): the statistics are centred on the UBM means, the model on m.
      const Eigen::VectorXd delta = (m_.row(c) - ubm_means_.row(c)).transpose().template cast<double>();
      offset_linear_.row(c) = (SiT.transpose() * delta).transpose().template cast<Scalar>();
    }
    if (approx_weights_.size() != C) approx_weights_ = Eigen::VectorXd::Constant(C, 1.0 / static_cast<double>(C));
    compute_approximation();
  }

  void compute_approximation() {
    const Index R = ivector_dim();
    const Eigen::RowVectorXd wsum = approx_weights_.transpose() * U_packed_.template cast<double>();
    const ColMatrix<double> W = unpack_symmetric<double>(wsum, R);
    Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(W);
    approx_eigenvalues_ = eig.eigenvalues().cwiseMax(0.0);
    approx_eigenvectors_ = eig.eigenvectors();
  }

  Matrix<Scalar> ubm_means_, m_, T_, variances_;
  std::vector<ColMatrix<Scalar>> covariances_;
  Vector<Scalar> prior_mean_;
  Matrix<Scalar> sigma_inv_T_, U_packed_, offset_linear_;
  Eigen::VectorXd approx_weights_, approx_eigenvalues_;
  ColMatrix<double> approx_eigenvectors_;
};

}  // namespace ivkit
