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
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/finite.hpp"
#include "ivkit/core/gemm_kernel.hpp"
#include "ivkit/core/large_buffer.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/spd_kernel.hpp"
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

namespace detail {

/// All packed precisions of a batch, prec = n (count x C) * U_packed (C x R(R+1)/2), in fixed chunks
/// of columns (one product per chunk, so the result does not depend on the thread count; chunks of
/// this width also run Eigen's product about twice as fast as one product over all 80,200 columns
/// at R = 400). On the AVX-512 and AVX2 paths it is ivkit's kernel (core/gemm_kernel.hpp).
template <class Scalar>
Eigen::Map<Matrix<Scalar>> packed_precisions(const Eigen::Ref<const Matrix<Scalar>>& n, const Matrix<Scalar>& U_packed,
                                             LargeBuffer<Scalar>& buffer, int num_threads) {
  constexpr Index chunk = 4096;
  const Index P = U_packed.cols();
  Eigen::Map<Matrix<Scalar>> prec(buffer.reserve(static_cast<std::size_t>(n.rows() * P)), n.rows(), P);
  parallel_for_blocks(num_blocks(P, chunk), num_threads, [&](Index b) {
    const Index p0 = b * chunk, pn = std::min(chunk, P - p0);
    if (have_gemm_kernel())
      gemm(n.rows(), pn, n.cols(), U_packed.data() + p0, P, n.data(), n.outerStride(), 1, prec.data() + p0, P);
    else
      prec.middleCols(p0, pn).noalias() = n * U_packed.middleCols(p0, pn);
  });
  return prec;
}

/// X = K^-1 for lower-triangular K (R x R), by blocks of columns: block j solves only the trailing
/// (R - j0) rows, R^3 / 3 flops in all instead of the R^3 of a solve against the identity.
template <class T>
void lower_triangular_inverse(const ColMatrix<T>& K, ColMatrix<T>& X) {
  constexpr Index bs = 64;
  const Index R = K.rows();
  X.setZero(R, R);
  for (Index j0 = 0; j0 < R; j0 += bs) {
    const Index jn = std::min(bs, R - j0);
    auto block = X.block(j0, j0, R - j0, jn);
    block.topRows(jn).setIdentity();
    K.block(j0, j0, R - j0, R - j0).template triangularView<Eigen::Lower>().solveInPlace(block);
  }
}

/// The lower triangle (and diagonal) of S = X^T X for lower-triangular X, by blocks of rows: rows
/// above a block's first row are zero in its columns, R^3 / 3 flops in all.
template <class T>
void lower_gram(const ColMatrix<T>& X, ColMatrix<T>& S) {
  constexpr Index bs = 64;
  const Index R = X.rows();
  S.resize(R, R);
  for (Index i0 = 0; i0 < R; i0 += bs) {
    const Index in = std::min(bs, R - i0);
    S.block(i0, 0, in, i0 + in).noalias() = X.block(i0, i0, R - i0, in).transpose() * X.block(i0, 0, R - i0, i0 + in);
  }
}

/// The posterior of one utterance from its packed precision P (L = I + P) and linear term b.
///
/// The factorisation, the triangular inverse and the covariance are computed in the model's scalar
/// type. L's eigenvalues are >= 1, so in float the Cholesky factor is accurate to about
/// cond(L) * 6e-8; the mean is then refined in double (residual b - L w with L's float entries,
/// exact in double) until the correction is below 1e-7 of the mean, which gives the mean the
/// accuracy of a double solve of the same float precision. A precision whose float factorisation
/// fails or whose conditioning looks poor (squared ratio of the factor's largest to smallest
/// diagonal entry above 1e4, a lower bound on cond(L)) is handled in double throughout.
template <class Scalar>
class PosteriorSolver {
 public:
  /// Factorises I + unpack(packed); false if it is not positive definite.
  bool factor(const Scalar* packed, Index R) {
    packed_ = packed;
    R_ = R;
    in_double_ = false;
    if constexpr (!std::is_same_v<Scalar, double>) {
      if (factor_into(K_)) {
        const auto d = K_.diagonal();
        const Scalar lo = d.minCoeff(), hi = d.maxCoeff();
        if (hi * hi <= Scalar(1e4) * lo * lo) return true;
      }
      in_double_ = true;
    }
    return factor_into(Kd_);
  }

  /// Posterior mean L^-1 b, in double.
  template <class DB>
  Eigen::VectorXd mean(const Eigen::MatrixBase<DB>& b) {
    if (in_double() ) {
      Eigen::VectorXd w = b.template cast<double>();
      solve_in_place(Kd_, w);
      return w;
    }
    Vector<Scalar> ws = b;
    solve_in_place(K_, ws);
    Eigen::VectorXd w = ws.template cast<double>();
    if constexpr (!std::is_same_v<Scalar, double>) {
      const Eigen::VectorXd bd = b.template cast<double>();
      for (int step = 0; step < 4; ++step) {
        const Eigen::VectorXd r = bd - times_precision(w);
        Vector<Scalar> dw = r.template cast<Scalar>();
        solve_in_place(K_, dw);
        w += dw.template cast<double>();
        if (dw.template cast<double>().norm() <= 1e-7 * w.norm()) break;
      }
    }
    return w;
  }

  /// The diagonal of L^-1: squared column norms of K^-1 (L = K K^T).
  /// With the SPD kernels (spd_kernel.hpp): Z = K^-T and the squared norms of its rows.
  const Vector<Scalar>& variances() {
    var_.resize(R_);
    if (have_spd_kernel()) {
      if (in_double()) {
        Eigen::VectorXd v(R_);
        inverse_transpose(Kd_, Xd_);
        spd_row_squared_norms(Xd_.data(), R_, R_, v.data());
        var_ = v.template cast<Scalar>();
      } else {
        inverse_transpose(K_, X_);
        spd_row_squared_norms(X_.data(), R_, R_, var_.data());
      }
    } else if (in_double()) {
      lower_triangular_inverse(Kd_, Xd_);
      for (Index i = 0; i < R_; ++i) var_(i) = static_cast<Scalar>(Xd_.col(i).tail(R_ - i).squaredNorm());
    } else {
      lower_triangular_inverse(K_, X_);
      for (Index i = 0; i < R_; ++i) var_(i) = X_.col(i).tail(R_ - i).squaredNorm();
    }
    return var_;
  }

  /// L^-1 = K^-T K^-1; only the lower triangle (and the diagonal) is set. With the SPD kernels it is
  /// Z Z^T for Z = K^-T, otherwise X^T X for X = K^-1 (the same matrix).
  const ColMatrix<Scalar>& covariance() {
    if (have_spd_kernel()) {
      if (in_double()) {
        inverse_transpose(Kd_, Xd_);
        Sd_.resize(R_, R_);
        spd_gram_upper(Xd_.data(), R_, R_, Sd_.data(), R_);
        S_ = Sd_.template cast<Scalar>();
      } else {
        inverse_transpose(K_, X_);
        S_.resize(R_, R_);
        spd_gram_upper(X_.data(), R_, R_, S_.data(), R_);
      }
    } else if (in_double()) {
      lower_triangular_inverse(Kd_, Xd_);
      lower_gram(Xd_, Sd_);
      S_ = Sd_.template cast<Scalar>();
    } else {
      lower_triangular_inverse(K_, X_);
      lower_gram(X_, S_);
    }
    return S_;
  }

  /// log det L.
  double log_det() const {
    return in_double() ? 2.0 * Kd_.diagonal().array().log().sum()
                       : 2.0 * K_.diagonal().template cast<double>().array().log().sum();
  }

  bool in_double() const { return std::is_same_v<Scalar, double> || in_double_; }

 private:
  template <class T>
  bool factor_into(ColMatrix<T>& K) const {
    K.resize(R_, R_);
    // The packed upper triangle row by row is the lower triangle column by column.
    const Scalar* p = packed_;
    for (Index j = 0; j < R_; p += R_ - j, ++j)
      K.col(j).tail(R_ - j) = Eigen::Map<const Vector<Scalar>>(p, R_ - j).template cast<T>();
    K.diagonal().array() += T(1);
    if (have_spd_kernel()) return spd_cholesky_lower(K.data(), R_, R_);
    else return Eigen::internal::llt_inplace<T, Eigen::Lower>::blocked(K) == -1;
  }

  /// Z = K^-T (upper triangular); used only with the SPD kernels.
  template <class T>
  void inverse_transpose(const ColMatrix<T>& K, ColMatrix<T>& Z) const {
    Z.resize(R_, R_);
    spd_inverse_transpose_lower(K.data(), R_, R_, Z.data(), R_);
  }

  template <class T, class V>
  static void solve_in_place(const ColMatrix<T>& K, V& x) {
    K.template triangularView<Eigen::Lower>().solveInPlace(x);
    K.template triangularView<Eigen::Lower>().transpose().solveInPlace(x);
  }

  /// (I + P) w in double from the packed float precision.
  Eigen::VectorXd times_precision(const Eigen::VectorXd& w) const {
    Eigen::VectorXd y = w;
    if constexpr (std::is_same_v<Scalar, float>) {
      if (have_spd_kernel()) {
        spd_packed_times_add(packed_, R_, w.data(), y.data());
        return y;
      }
    }
    packed_symmetric_times_add(packed_, R_, w, y);
    return y;
  }

  const Scalar* packed_ = nullptr;
  Index R_ = 0;
  bool in_double_ = false;
  ColMatrix<Scalar> K_, X_, S_;
  ColMatrix<double> Kd_, Xd_, Sd_;
  Vector<Scalar> var_;
};

}  // namespace detail

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
    check_and_reset_tables();
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
    check_and_reset_tables();
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
  const Matrix<Scalar>& sigma_inv_T() const { return tables().sigma_inv_T; }
  /// vech(U_c) as rows (C x R(R+1)/2).
  const Matrix<Scalar>& U_packed() const { return tables().U_packed; }

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
    if (approx_weights_.size() == num_components()) out.approx_weights_ = approx_weights_;
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
    // Batches run one after another; the work inside a batch (the products in fixed column chunks,
    // the factorisations one utterance per task) is what runs in parallel.
    // The precisions of a batch (82 MB at 256 x 400 in float) live in a buffer kept per calling thread
    // and reused by later calls: a fresh one costs about 30% more time in the product that fills it.
    thread_local detail::LargeBuffer<Scalar> prec_buffer;
    for (Index begin = 0; begin < U; begin += B) {
      const Index count = std::min(B, U - begin);
      // No copy when the statistics already are in the model's scalar type.
      const Eigen::Ref<const Matrix<Scalar>> n = zeroth.middleRows(begin, count).template cast<Scalar>();
      const Eigen::Ref<const Matrix<Scalar>> f = first.middleRows(begin, count).template cast<Scalar>();
      for (Index i = 0; i < count; ++i) {
        if (!detail::all_finite(n.data() + i * n.outerStride(), static_cast<std::size_t>(C)) || (n.row(i).array() < Scalar(0)).any())
          throw InvalidArgument(detail::message(fn, ": utterance ", begin + i, " has negative or non-finite counts"));
        if (!detail::all_finite(f.data() + i * f.outerStride(), static_cast<std::size_t>(C * D)))
          throw InvalidArgument(detail::message(fn, ": utterance ", begin + i, " has NaN or Inf first-order statistics"));
      }
      const Matrix<Scalar> linear = linear_terms(n, f, opts.num_threads);  // (count x R)
      if (opts.method == ExtractionMethod::Exact) {
        const auto prec = detail::packed_precisions(n, U_packed(), prec_buffer, opts.num_threads);  // (count x R(R+1)/2)
        parallel_for_blocks(count, opts.num_threads, [&](Index i) {
          thread_local detail::PosteriorSolver<Scalar> solver;
          if (!solver.factor(prec.row(i).data(), R))
            throw NumericalError(detail::message(fn, ": the precision of utterance ", begin + i, " is not positive definite"));
          out.means.row(begin + i) = solver.mean(linear.row(i).transpose()).transpose().template cast<Scalar>();
          if (opts.covariances) {
            const ColMatrix<Scalar>& cov = solver.covariance();
            ColMatrix<Scalar>& dst = out.covariances[static_cast<std::size_t>(begin + i)];
            dst = cov.template selfadjointView<Eigen::Lower>();
            if (opts.variances) out.variances.row(begin + i) = cov.diagonal().transpose();
          } else if (opts.variances) {
            out.variances.row(begin + i) = solver.variances().transpose();
          }
        });
      } else {
        // L_u = Q (I + n_u Lambda) Q^T with W = sum_c w_c U_c = Q Lambda Q^T computed once.
        const Approximation& approx = approximation();
        const Eigen::VectorXd total = n.template cast<double>().rowwise().sum();
        for (Index i = 0; i < count; ++i) {
          const Eigen::ArrayXd inv = (1.0 + total(i) * approx.eigenvalues.array()).inverse();
          const Eigen::VectorXd proj = approx.eigenvectors.transpose() * linear.row(i).transpose().template cast<double>();
          const Eigen::VectorXd w = approx.eigenvectors * (inv * proj.array()).matrix();
          out.means.row(begin + i) = w.transpose().template cast<Scalar>();
          if (opts.variances || opts.covariances) {
            const ColMatrix<double> cov = approx.eigenvectors * inv.matrix().asDiagonal() * approx.eigenvectors.transpose();
            if (opts.variances) out.variances.row(begin + i) = cov.diagonal().transpose().template cast<Scalar>();
            if (opts.covariances) out.covariances[static_cast<std::size_t>(begin + i)] = cov.template cast<Scalar>();
          }
        }
      }
    }
    return out;
  }

  /// The linear terms mu_w + sum_c T_c^T Sigma_c^-1 (F_uc - N_uc (m_c - mu_c)) of a batch (count x R):
  /// F (count x C*D) times Sigma^-1 T. The kernel's per-element summation order does not
  /// depend on how the utterances are split, so they are split into one chunk per thread: each
  /// chunk reads all of Sigma^-1 T (200 MB at C = 2048, R = 400), and one chunk of 256 runs the
  /// product 1.2x faster than four of 64. Eigen's product is split in fixed chunks of R columns.
  Matrix<Scalar> linear_terms(const Eigen::Ref<const Matrix<Scalar>>& n, const Eigen::Ref<const Matrix<Scalar>>& f,
                              int num_threads) const {
    const Index R = ivector_dim(), count = n.rows(), K = f.cols();
    const Tables& t = tables();
    Matrix<Scalar> linear(count, R);
    if (detail::have_gemm_kernel()) {
      const Index threads = std::min<Index>(resolve_num_threads(num_threads), std::max<Index>(count, 1));
      const Index chunk = std::max<Index>(1, num_blocks(count, threads));
      parallel_for_blocks(num_blocks(count, chunk), num_threads, [&](Index b) {
        const Index u0 = b * chunk, un = std::min(chunk, count - u0);
        detail::gemm(un, R, K, t.sigma_inv_T.data(), R, f.data() + u0 * f.outerStride(), f.outerStride(), 1,
                     linear.data() + u0 * R, R);
        // m - ubm means, as a per-component constant; also through the kernel, whose results do not
        // depend on the chunk (Eigen's may: a one-row chunk is a matrix-vector product).
        thread_local Matrix<Scalar> offset;
        offset.resize(un, R);
        detail::gemm(un, R, n.cols(), t.offset_linear.data(), R, n.data() + u0 * n.outerStride(), n.outerStride(), 1,
                     offset.data(), R);
        auto part = linear.middleRows(u0, un);
        part -= offset;
        part.rowwise() += prior_mean_.transpose();
      });
      return linear;
    }
    constexpr Index chunk = 64;
    parallel_for_blocks(num_blocks(R, chunk), num_threads, [&](Index b) {
      const Index r0 = b * chunk, rn = std::min(chunk, R - r0);
      auto part = linear.middleCols(r0, rn);
      part.noalias() = f * t.sigma_inv_T.middleCols(r0, rn);
      part.noalias() -= n * t.offset_linear.middleCols(r0, rn);  // m - ubm means, as a per-component constant
      part.rowwise() += prior_mean_.segment(r0, rn).transpose();
    });
    return linear;
  }

  /// Sets the UBM weights used by ExtractionMethod::Approximate (default: uniform).
  void set_approximation_weights(const Vector<Scalar>& weights) {
    if (weights.size() != num_components())
      throw DimensionMismatch(detail::message("IvectorExtractor::set_approximation_weights: ", weights.size(), " weights for ",
                                              num_components(), " components"));
    approx_weights_ = weights.template cast<double>() / weights.template cast<double>().sum();
    approximation_ = std::make_shared<Approximation>();
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
    if (!detail::all_finite(ubm_means_) || !detail::all_finite(m_) || !detail::all_finite(T_) || !detail::all_finite(prior_mean_))
      throw InvalidArgument(detail::message(cls, ": parameters hold NaN or Inf"));
  }

  /// What construction checks and resets; the tables themselves are made on first use (tables()).
  void check_and_reset_tables() {
    const Index C = num_components();
    if (full_covariance())
      for (Index c = 0; c < C; ++c)
        if (Eigen::LLT<ColMatrix<double>>(covariances_[static_cast<std::size_t>(c)].template cast<double>()).info() != Eigen::Success)
          throw NumericalError(detail::message("IvectorExtractor: covariance of component ", c, " is not positive definite"));
    if (approx_weights_.size() != C) approx_weights_ = Eigen::VectorXd::Constant(C, 1.0 / static_cast<double>(C));
    tables_ = std::make_shared<Tables>();
    approximation_ = std::make_shared<Approximation>();
  }

  /// The derived tables extraction and training read: 1 GB at C = 2048, R = 400, D = 60 in float,
  /// about 1 s to make. Made on first use, not at construction: a model that is only written (the
  /// last M-step of training, a conversion) never needs them, and copies of the extractor share
  /// them (the parameters they come from never change after construction).
  struct Tables {
    std::mutex mutex;
    bool ready = false;
    Matrix<Scalar> sigma_inv_T, U_packed, offset_linear;
  };

  const Tables& tables() const {
    std::lock_guard<std::mutex> lock(tables_->mutex);
    if (!tables_->ready) {
      make_tables(*tables_);
      tables_->ready = true;
    }
    return *tables_;
  }

  void make_tables(Tables& t) const {
    const Index C = num_components(), D = dim(), R = ivector_dim();
    t.sigma_inv_T.resize(C * D, R);
    t.U_packed.resize(C, packed_size(R));
    t.offset_linear.resize(C, R);
    detail::prepare_large_table(t.sigma_inv_T.data(), sizeof(Scalar) * static_cast<std::size_t>(t.sigma_inv_T.size()));
    detail::prepare_large_table(t.U_packed.data(), sizeof(Scalar) * static_cast<std::size_t>(t.U_packed.size()));
    const bool kernel = detail::have_gemm_kernel();
    // Row-major working copies, reused for every component; all in double.
    Matrix<double> Tc(D, R), SiT(D, R), Uc(R, R);
    ColMatrix<double> Sinv(D, D);
    for (Index c = 0; c < C; ++c) {
      Tc = T_block(c).template cast<double>();
      if (full_covariance()) {
        // Sigma_c^-1 explicitly (D^3, small), then one product: a triangular solve with R = 400
        // right-hand sides would be Eigen's code at the compile flags' width.
        Eigen::LLT<ColMatrix<double>> llt(covariances_[static_cast<std::size_t>(c)].template cast<double>());
        Sinv = llt.solve(ColMatrix<double>::Identity(D, D));
        if (kernel)
          detail::gemm(D, R, D, Tc.data(), R, Sinv.data(), Index{1}, D, SiT.data(), R);
        else
          SiT.noalias() = Sinv * Tc;
      } else {
        SiT = variances_.row(c).transpose().template cast<double>().cwiseInverse().asDiagonal() * Tc;
      }
      t.sigma_inv_T.middleRows(c * D, D) = SiT.template cast<Scalar>();
      // U_c = T_c^T Sigma_c^-1 T_c in double (R^2 D flops a component: 2 x 10^10 at C = 2048,
      // R = 400, D = 60); through ivkit's GEMM kernel where the path has it, so that its speed does
      // not depend on the compile flags. Packed from the row-major result as stored (the upper
      // triangle row by row reads it in order; a column-major copy read across its columns took a
      // third of loading a model).
      if (kernel)
        detail::gemm(R, R, D, SiT.data(), R, Tc.data(), Index{1}, R, Uc.data(), R);
      else
        Uc.noalias() = Tc.transpose() * SiT;
      auto row = t.U_packed.row(c);
      pack_symmetric(Uc.template cast<Scalar>(), row);
      // T_c^T Sigma_c^-1 (m_c - mu_c): the statistics are centred on the UBM means, the model on m.
      const Eigen::VectorXd delta = (m_.row(c) - ubm_means_.row(c)).transpose().template cast<double>();
      t.offset_linear.row(c) = (SiT.transpose() * delta).transpose().template cast<Scalar>();
    }
  }

  /// Approximate extraction's eigendecomposition of W = sum_c w_c U_c: made on the first
  /// approximate extraction (0.3 s at R = 400, which exact extraction does not need), once per
  /// table and weights; shared by copies like the tables.
  struct Approximation {
    std::mutex mutex;
    bool ready = false;
    Eigen::VectorXd eigenvalues;
    ColMatrix<double> eigenvectors;
  };

  const Approximation& approximation() const {
    const Matrix<Scalar>& U = U_packed();
    std::lock_guard<std::mutex> lock(approximation_->mutex);
    if (!approximation_->ready) {
      const Index R = ivector_dim();
      // Row by row: a cast of the whole table would be a temporary of C R^2 / 2 doubles (1.3 GB at
      // C = 2048, R = 400).
      Eigen::RowVectorXd wsum = Eigen::RowVectorXd::Zero(U.cols());
      for (Index c = 0; c < U.rows(); ++c) wsum += approx_weights_(c) * U.row(c).template cast<double>();
      const ColMatrix<double> W = unpack_symmetric<double>(wsum, R);
      Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(W);
      approximation_->eigenvalues = eig.eigenvalues().cwiseMax(0.0);
      approximation_->eigenvectors = eig.eigenvectors();
      approximation_->ready = true;
    }
    return *approximation_;
  }

  Matrix<Scalar> ubm_means_, m_, T_, variances_;
  std::vector<ColMatrix<Scalar>> covariances_;
  Vector<Scalar> prior_mean_;
  Eigen::VectorXd approx_weights_;
  std::shared_ptr<Tables> tables_ = std::make_shared<Tables>();
  std::shared_ptr<Approximation> approximation_ = std::make_shared<Approximation>();
};

}  // namespace ivkit
