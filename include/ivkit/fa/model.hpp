/// @file
/// The factor analysis model x = m + V z + e with z ~ N(0, I_R), e ~ N(0, Psi), Psi diagonal, so
/// that x ~ N(m, V V^T + Psi): its derived quantities, batched posteriors and log-likelihoods, and the
/// block options shared by the statistics and training. Derivations in docs/factor_analysis.md.
///
/// Notation: N samples of dimension D, R factors (the rank), y = x - m.
///   L = I + V^T Psi^-1 V (R x R, the same for every sample)
///   <z_i> = L^-1 V^T Psi^-1 y_i = P^T y_i with P = Psi^-1 V L^-1 (D x R),  Cov[z_i | x_i] = L^-1
/// so the posterior means of a block of samples are one matrix product Y P (B x D by D x R).
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

namespace ivkit {

/// How samples are processed: block boundaries depend only on `block_samples` (or, when it is 0, on
/// D and the scalar type), never on the thread count, so every result is identical for any
/// `num_threads`.
struct FaOptions {
  int num_threads = 1;       ///< 0 = all hardware threads
  Index block_samples = 0;   ///< samples per block; 0 = about 128 KiB of samples (64 to 2048)
  bool accumulate_log_likelihood = true;  ///< accumulate_fa_stats only: also sum log p(x_i)
                                          ///< (one more B x R x D product per block)
};

/// Posterior of the factors: means (N x R, row i is <z_i>) and the covariance L^-1 (R x R) that
/// every sample shares.
template <class Scalar>
struct FaPosterior {
  Matrix<Scalar> means;
  ColMatrix<Scalar> covariance;
};

namespace detail {

template <class Scalar>
Index fa_block_samples(Index D, const FaOptions& opts, const char* fn) {
  if (opts.block_samples < 0)
    throw InvalidArgument(message(fn, ": block_samples must be >= 0, got ", opts.block_samples));
  if (opts.block_samples > 0) return opts.block_samples;
  // About 128 KiB of samples: at D = 60, R = 10 an EM iteration is fastest with 256 to 512 samples
  // per block (bench/fa); 2048 is 10-20% slower, 128 a little slower (per-block overheads).
  const Index bytes = std::max<Index>(D, 1) * static_cast<Index>(sizeof(Scalar));
  return std::clamp<Index>((Index{128} * 1024 / bytes) / 16 * 16, 64, 2048);
}

template <class Layout, class Derived>
void fa_check_dim(Index model_dim, const Eigen::MatrixBase<Derived>& data, const char* fn) {
  IVKIT_CHECK_LAYOUT(Layout);
  const Index d = feature_dim<Layout>(data);
  if (d != model_dim)
    throw DimensionMismatch(message(fn, ": samples have dimension ", d, " (", LayoutTraits<Layout>::name, ", matrix ",
                                    data.rows(), " x ", data.cols(), ") but the model has dimension ", model_dim));
}

/// Writes samples [begin, begin + count) minus `center`, converted to Scalar, into the first D
/// columns of `buf` (already count x (>= D), column-major); throws NonFiniteInput naming the first
/// bad sample (or the first whose centred value overflows Scalar).
template <class Layout, class Scalar, class Derived, class Center>
void fa_load_block(const Eigen::MatrixBase<Derived>& data, Index begin, Index count, const Center& center,
                   ColMatrix<Scalar>& buf, const char* fn) {
  const Index D = center.size();
  auto y = buf.leftCols(D);
  y = LayoutTraits<Layout>::frames(data, begin, count).template cast<Scalar>().rowwise() - center.transpose();
  // y * 0 sums to exactly 0 when every entry is finite and to NaN otherwise: one vectorised pass
  // (Eigen's allFinite() costs as much as a matrix product here).
  if (!((y.array() * Scalar(0)).sum() == Scalar(0))) {
    for (Index i = 0; i < count; ++i) {
      if (!LayoutTraits<Layout>::frames(data, begin + i, 1).allFinite())
        throw NonFiniteInput(message(fn, ": sample ", begin + i, " holds NaN or Inf"));
      if (!y.row(i).allFinite())
        throw NonFiniteInput(message(fn, ": sample ", begin + i, " overflows the model's scalar type"));
    }
  }
}

/// Scratch space of one block. Column-major: at these thin shapes (B x D by D x R) the product Y P
/// runs 1.7-1.9 times faster with a column-major Y than with a row-major one (measured at D = 60,
/// R = 10), more than paying for the transposing copy of row-major data.
template <class Scalar>
struct FaWork {
  /// [Y | Z | 1] (B x (D + R + 1)): centred samples, posterior means and a column of ones, so that
  /// one product [Y Z 1]^T [Z 1] gives sum y z^T, sum z z^T, sum y and sum z of the block.
  ColMatrix<Scalar> buf;
  ColMatrix<Scalar> r;  ///< residuals y - V <z> (B x D)
  Vector<Scalar> quad;  ///< y^T C^-1 y per sample (B)
};

}  // namespace detail

/// Factor analysis model x = m + V z + e: mean m (D), loading matrix V (D x R), diagonal noise
/// variances Psi (D); validated on construction. Keeps, computed in double, L = I + V^T Psi^-1 V
/// through its Cholesky factor: the posterior covariance L^-1, the projection P = Psi^-1 V L^-1
/// (<z> = P^T (x - m)) and log|V V^T + Psi| = log|L| + sum_d log Psi_d (matrix determinant lemma).
/// @tparam ScalarT float or double
template <class ScalarT = double>
class FactorAnalysis {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  /// An empty model (dimension 0); evaluation throws.
  FactorAnalysis() = default;

  /// @param mean (D), finite
  /// @param loading V (D x R), R >= 1, finite
  /// @param noise_variances Psi (D), positive and finite
  /// @throws InvalidArgument, DimensionMismatch; NumericalError if I + V^T Psi^-1 V overflows
  FactorAnalysis(Vector<Scalar> mean, ColMatrix<Scalar> loading, Vector<Scalar> noise_variances)
      : mean_(std::move(mean)), loading_(std::move(loading)), noise_(std::move(noise_variances)) {
    constexpr const char* cls = "FactorAnalysis";
    const Index D = mean_.size();
    if (D == 0) throw InvalidArgument(detail::message(cls, ": dimension must be at least 1"));
    if (loading_.rows() != D)
      throw DimensionMismatch(detail::message(cls, ": the loading matrix is ", loading_.rows(), " x ",
                                              loading_.cols(), " but the mean has dimension ", D));
    if (loading_.cols() == 0)
      throw InvalidArgument(detail::message(cls, ": the loading matrix needs at least one column"));
    if (noise_.size() != D)
      throw DimensionMismatch(detail::message(cls, ": there are ", noise_.size(),
                                              " noise variances but the mean has dimension ", D));
    if (!mean_.allFinite()) throw InvalidArgument(detail::message(cls, ": the mean holds NaN or Inf"));
    for (Index d = 0; d < D; ++d)
      if (!loading_.row(d).allFinite())
        throw InvalidArgument(detail::message(cls, ": row ", d, " of the loading matrix holds NaN or Inf"));
    for (Index d = 0; d < D; ++d) {
      const Scalar v = noise_(d);
      if (!(std::isfinite(v) && v > 0))
        throw InvalidArgument(detail::message(cls, ": noise variance of dimension ", d, " is ", v,
                                      "; noise variances must be positive and finite"));
    }
    compute_derived();
  }

  Index dim() const { return mean_.size(); }
  Index rank() const { return loading_.cols(); }
  bool empty() const { return mean_.size() == 0; }

  const Vector<Scalar>& mean() const { return mean_; }                       ///< m (D)
  const ColMatrix<Scalar>& loading() const { return loading_; }              ///< V (D x R)
  const Vector<Scalar>& noise_variances() const { return noise_; }           ///< Psi (D)
  const Vector<Scalar>& inv_noise_variances() const { return inv_noise_; }   ///< Psi^-1 (D)
  /// Cov[z | x] = L^-1 = (I + V^T Psi^-1 V)^-1 (R x R), the same for every sample.
  const ColMatrix<Scalar>& posterior_covariance() const { return post_cov_; }
  /// P = Psi^-1 V L^-1 (D x R): <z> = P^T (x - m).
  const ColMatrix<Scalar>& projection() const { return projection_; }
  /// log|V V^T + Psi| = 2 sum_r log G_rr + sum_d log Psi_d with L = G G^T.
  double log_det_covariance() const { return log_det_; }
  /// The marginal covariance V V^T + Psi (D x D), built on demand.
  ColMatrix<Scalar> covariance() const {
    const ColMatrix<double> V = loading_.template cast<double>();
    ColMatrix<double> C = V * V.transpose();
    C.diagonal() += noise_.template cast<double>();
    return C.template cast<Scalar>();
  }

  /// Same model in another scalar type.
  template <class Other>
  FactorAnalysis<Other> cast() const {
    return FactorAnalysis<Other>(mean_.template cast<Other>(), loading_.template cast<Other>(),
                                 noise_.template cast<Other>());
  }

  /// Posterior means <z_i> (N x R) and the shared covariance L^-1 (R x R).
  /// @tparam Layout FramesAsRows (data is N x D) or FramesAsCols (D x N); either storage order
  /// @throws DimensionMismatch, NonFiniteInput
  template <class Layout = FramesAsRows, class Derived>
  FaPosterior<Scalar> posterior(const Eigen::MatrixBase<Derived>& data, const FaOptions& opts = {}) const {
    constexpr const char* fn = "FactorAnalysis::posterior";
    check_data<Layout>(data, fn);
    const Index n = num_frames<Layout>(data), B = detail::fa_block_samples<Scalar>(dim(), opts, fn);
    FaPosterior<Scalar> out;
    out.means.resize(n, rank());
    out.covariance = post_cov_;
    parallel_for_blocks(num_blocks(n, B), opts.num_threads, [&](Index b) {
      const Index begin = b * B, count = std::min(B, n - begin);
      ColMatrix<Scalar> y(count, dim());
      detail::fa_load_block<Layout, Scalar>(data, begin, count, mean_, y, fn);
      out.means.middleRows(begin, count).noalias() = y * projection_;
    });
    return out;
  }

  /// log N(x_i; m, V V^T + Psi) for every sample (N).
  /// @throws DimensionMismatch, NonFiniteInput, NumericalError (a log-likelihood overflows Scalar)
  template <class Layout = FramesAsRows, class Derived>
  Vector<Scalar> log_likelihoods(const Eigen::MatrixBase<Derived>& data, const FaOptions& opts = {}) const {
    constexpr const char* fn = "FactorAnalysis::log_likelihoods";
    check_data<Layout>(data, fn);
    const Index n = num_frames<Layout>(data), B = detail::fa_block_samples<Scalar>(dim(), opts, fn);
    Vector<Scalar> out(n);
    const double c0 = log_constant();
    parallel_for_blocks(num_blocks(n, B), opts.num_threads, [&](Index b) {
      const Index begin = b * B, count = std::min(B, n - begin);
      detail::FaWork<Scalar> w;
      block_quadratic<Layout>(data, begin, count, w, fn);
      for (Index i = 0; i < count; ++i)
        out(begin + i) = static_cast<Scalar>(-0.5 * (c0 + static_cast<double>(w.quad(i))));
    });
    return out;
  }

  /// sum_i log N(x_i; m, V V^T + Psi), accumulated in double in block order.
  /// @throws DimensionMismatch, NonFiniteInput, NumericalError
  template <class Layout = FramesAsRows, class Derived>
  double log_likelihood(const Eigen::MatrixBase<Derived>& data, const FaOptions& opts = {}) const {
    return total_log_likelihood<Layout>(data, opts, "FactorAnalysis::log_likelihood");
  }

  /// log_likelihood / N.
  /// @throws InvalidArgument for zero samples, and as log_likelihood
  template <class Layout = FramesAsRows, class Derived>
  double average_log_likelihood(const Eigen::MatrixBase<Derived>& data, const FaOptions& opts = {}) const {
    constexpr const char* fn = "FactorAnalysis::average_log_likelihood";
    const Index n = num_frames<Layout>(data);
    if (n == 0) throw InvalidArgument(detail::message(fn, ": no samples"));
    return total_log_likelihood<Layout>(data, opts, fn) / static_cast<double>(n);
  }

  /// D log(2 pi) + log|V V^T + Psi|: log p(x) = -0.5 (log_constant() + y^T C^-1 y).
  double log_constant() const { return static_cast<double>(dim()) * kLog2Pi + log_det_; }

  /// Internal kernel, shared with accumulate_fa_stats: fills w.buf = [Y | Z | 1] for a block, with
  /// the posterior means Z = Y P, and, with `quadratic`, w.quad(i) = y_i^T C^-1 y_i in the residual
  /// form r^T Psi^-1 r + |<z>|^2 with r = y - V <z>, a sum of non-negative terms.
  template <class Layout, class Derived>
  void block_quadratic(const Eigen::MatrixBase<Derived>& data, Index begin, Index count, detail::FaWork<Scalar>& w,
                       const char* fn, bool quadratic = true) const {
    const Index D = dim(), R = rank();
    w.buf.resize(count, D + R + 1);
    detail::fa_load_block<Layout, Scalar>(data, begin, count, mean_, w.buf, fn);
    const auto Y = w.buf.leftCols(D);
    auto Z = w.buf.middleCols(D, R);
    Z.noalias() = Y * projection_;
    w.buf.col(D + R).setOnes();
    if (!quadratic) return;
    w.r.resize(count, D);
    w.r = Y;
    w.r.noalias() -= Z * loading_.transpose();
    w.quad.resize(count);
    w.quad.noalias() = w.r.cwiseAbs2() * inv_noise_;
    w.quad.noalias() += Z.cwiseAbs2() * Vector<Scalar>::Ones(R);
    if (!w.quad.allFinite())
      for (Index i = 0; i < count; ++i)
        if (!std::isfinite(w.quad(i)))
          throw NumericalError(detail::message(
              fn, ": sample ", begin + i,
              " has a non-finite log-likelihood (values too large for the model's scalar type)"));
  }

 private:
  template <class Layout, class Derived>
  void check_data(const Eigen::MatrixBase<Derived>& data, const char* fn) const {
    if (empty()) throw InvalidArgument(detail::message(fn, ": the model is empty"));
    detail::fa_check_dim<Layout>(dim(), data, fn);
  }

  template <class Layout, class Derived>
  double total_log_likelihood(const Eigen::MatrixBase<Derived>& data, const FaOptions& opts, const char* fn) const {
    check_data<Layout>(data, fn);
    const Index n = num_frames<Layout>(data), B = detail::fa_block_samples<Scalar>(dim(), opts, fn);
    struct Partial {
      detail::FaWork<Scalar> w;
      double quad = 0.0;
    };
    double quad = 0.0;
    ordered_block_reduce(
        num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
        [&](Index b, Partial& p) {
          const Index begin = b * B, count = std::min(B, n - begin);
          block_quadratic<Layout>(data, begin, count, p.w, fn);
          p.quad = p.w.quad.template cast<double>().sum();
        },
        [&](Partial& p) { quad += p.quad; });
    return -0.5 * (static_cast<double>(n) * log_constant() + quad);
  }

  void compute_derived() {
    const Index D = dim(), R = rank();
    const ColMatrix<double> V = loading_.template cast<double>();
    const Eigen::VectorXd psi = noise_.template cast<double>();
    const Eigen::VectorXd inv_psi = psi.cwiseInverse();
    const ColMatrix<double> W = inv_psi.asDiagonal() * V;  // Psi^-1 V (D x R)
    ColMatrix<double> L = ColMatrix<double>::Identity(R, R);
    L.noalias() += V.transpose() * W;
    if (!L.allFinite())
      throw NumericalError(detail::message("FactorAnalysis: I + V^T Psi^-1 V is not finite (D = ", D, ", R = ", R,
                                           "); the noise variances are too small for the loadings"));
    const Eigen::LLT<ColMatrix<double>> llt(L);
    if (llt.info() != Eigen::Success)
      throw NumericalError(detail::message("FactorAnalysis: I + V^T Psi^-1 V is not positive definite (D = ", D,
                                           ", R = ", R, ")"));
    ColMatrix<double> Linv = llt.solve(ColMatrix<double>::Identity(R, R));
    Linv = (0.5 * (Linv + Linv.transpose())).eval();
    const ColMatrix<double> P = W * Linv;
    double log_det = psi.array().log().sum();
    for (Index r = 0; r < R; ++r) log_det += 2.0 * std::log(llt.matrixLLT()(r, r));
    log_det_ = log_det;
    inv_noise_ = inv_psi.template cast<Scalar>();
    post_cov_ = Linv.template cast<Scalar>();
    projection_ = P.template cast<Scalar>();
    if (!inv_noise_.allFinite() || !projection_.allFinite())
      throw NumericalError(detail::message("FactorAnalysis: 1 / Psi or Psi^-1 V L^-1 overflows the scalar type (D = ",
                                           D, ", R = ", R, "); the noise variances are too small"));
  }

  Vector<Scalar> mean_;
  ColMatrix<Scalar> loading_;
  Vector<Scalar> noise_;
  Vector<Scalar> inv_noise_;
  ColMatrix<Scalar> post_cov_;
  ColMatrix<Scalar> projection_;
  double log_det_ = 0.0;
};

}  // namespace ivkit
