/// @file
/// Factor analysis: x = m + V z + e with z ~ N(0, I_R), e ~ N(0, Psi), Psi diagonal, so that
/// x ~ N(m, V V^T + Psi). Batched posteriors and log-likelihoods, EM statistics accumulated in double
/// with a deterministic block reduction, the M-step, and training from a PCA or a random start.
///
/// Notation: N samples of dimension D, R factors (the rank), y = x - m.
///   L = I + V^T Psi^-1 V (R x R, the same for every sample)
///   <z_i> = L^-1 V^T Psi^-1 y_i = P^T y_i with P = Psi^-1 V L^-1 (D x R),  Cov[z_i | x_i] = L^-1
/// so the posterior means of a block of samples are one matrix product Y P (B x D by D x R).
/// EM as in the seed document (`shared/seeds/002_2f3c784f544dff9a.txt`, "FA 参数估计") and Bishop,
/// PRML 12.2.4; the stable log-likelihood and the API are described in docs/factor_analysis.md.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/random.hpp"
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

/// EM sufficient statistics of factor analysis, in double, centred on the mean m of the model
/// that produced them (y_i = x_i - m, <z_i> the posterior mean under that model):
///   count = N,  sum_y = sum_i y_i (D),  sum_yz = sum_i y_i <z_i>^T (D x R),
///   sum_z = sum_i <z_i> (R),  sum_zz = sum_i <z_i z_i^T> = N L^-1 + sum_i <z_i><z_i>^T (R x R),
///   sum_yy = sum_i y_i * y_i per dimension (D),  log_likelihood = sum_i log p(x_i) (when accumulated).
/// A plain value: statistics of the same model add with += (threads, processes, MPI).
struct FactorAnalysisStats {
  Eigen::VectorXd center;  ///< (D) the model mean the statistics are centred on
  double count = 0.0;
  Eigen::VectorXd sum_y;
  Eigen::MatrixXd sum_yz;
  Eigen::VectorXd sum_z;
  Eigen::MatrixXd sum_zz;
  Eigen::VectorXd sum_yy;
  double log_likelihood = 0.0;

  FactorAnalysisStats() = default;

  /// Zeroed statistics for `model`.
  template <class Scalar>
  explicit FactorAnalysisStats(const FactorAnalysis<Scalar>& model) {
    resize(model.mean().template cast<double>(), model.rank());
  }

  void resize(const Eigen::VectorXd& centre, Index R) {
    const Index D = centre.size();
    center = centre;
    sum_y = Eigen::VectorXd::Zero(D);
    sum_yz = Eigen::MatrixXd::Zero(D, R);
    sum_z = Eigen::VectorXd::Zero(R);
    sum_zz = Eigen::MatrixXd::Zero(R, R);
    sum_yy = Eigen::VectorXd::Zero(D);
    count = 0.0;
    log_likelihood = 0.0;
  }

  void set_zero() { resize(center, rank()); }

  Index dim() const { return center.size(); }
  Index rank() const { return sum_z.size(); }

  /// Adds statistics of the same model.
  /// @throws DimensionMismatch when the shapes or the centre differ (the statistics are unchanged)
  FactorAnalysisStats& operator+=(const FactorAnalysisStats& other) {
    if (other.dim() != dim() || other.rank() != rank())
      throw DimensionMismatch(detail::message("FactorAnalysisStats::operator+=: statistics differ (D = ", dim(), " vs ",
                                              other.dim(), ", R = ", rank(), " vs ", other.rank(), ")"));
    if (other.center != center)
      throw DimensionMismatch("FactorAnalysisStats::operator+=: statistics are centred differently (different models)");
    count += other.count;
    sum_y += other.sum_y;
    sum_yz += other.sum_yz;
    sum_z += other.sum_z;
    sum_zz += other.sum_zz;
    sum_yy += other.sum_yy;
    log_likelihood += other.log_likelihood;
    return *this;
  }

  /// Average log-likelihood per sample (0 without samples).
  double average_log_likelihood() const { return count > 0 ? log_likelihood / count : 0.0; }
};

/// E-step: adds the statistics of `data` under `model` to `stats` (made by FactorAnalysisStats(model)).
/// Per block of B samples: Z = Y P (B x D by D x R), then one product [Y Z 1]^T [Z 1] gives
/// sum y <z>^T, sum <z><z>^T, sum y and sum <z>; the statistics are reduced in Scalar per block and
/// added in double strictly in block order (identical for any thread count); N L^-1 is added to
/// sum_zz once per call.
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws DimensionMismatch (data or statistics of another shape or model), NonFiniteInput, NumericalError
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_fa_stats(const FactorAnalysis<Scalar>& model, const Eigen::MatrixBase<Derived>& data,
                         FactorAnalysisStats& stats, const FaOptions& opts = {}) {
  constexpr const char* fn = "accumulate_fa_stats";
  if (model.empty()) throw InvalidArgument(detail::message(fn, ": the model is empty"));
  detail::fa_check_dim<Layout>(model.dim(), data, fn);
  const Index D = model.dim(), R = model.rank();
  if (stats.dim() != D || stats.rank() != R || stats.center != model.mean().template cast<double>())
    throw DimensionMismatch(detail::message(fn, ": the statistics (D = ", stats.dim(), ", R = ", stats.rank(),
                                            ") were not made for this model (D = ", D, ", R = ", R, ")"));
  const Index n = num_frames<Layout>(data), B = detail::fa_block_samples<Scalar>(D, opts, fn);
  const bool with_ll = opts.accumulate_log_likelihood;
  const double c0 = model.log_constant();
  double quad = 0.0;
  struct Partial {
    detail::FaWork<Scalar> w;
    ColMatrix<Scalar> sums;  // [Y Z 1]^T [Z 1] ((D + R + 1) x (R + 1))
    Vector<Scalar> syy;      // (D)
    double quad = 0.0;
    Index count = 0;
  };
  ordered_block_reduce(
      num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        model.template block_quadratic<Layout>(data, begin, count, p.w, fn, with_ll);
        p.count = count;
        p.sums.resize(D + R + 1, R + 1);
        p.sums.noalias() = p.w.buf.transpose() * p.w.buf.rightCols(R + 1);
        p.syy = p.w.buf.leftCols(D).cwiseAbs2().colwise().sum().transpose();
        p.quad = with_ll ? p.w.quad.template cast<double>().sum() : 0.0;
      },
      [&](Partial& p) {
        stats.count += static_cast<double>(p.count);
        stats.sum_yz += p.sums.topLeftCorner(D, R).template cast<double>();
        stats.sum_zz += p.sums.block(D, 0, R, R).template cast<double>();
        stats.sum_y += p.sums.block(0, R, D, 1).template cast<double>();
        stats.sum_z += p.sums.block(D, R, R, 1).template cast<double>();
        stats.sum_yy += p.syy.template cast<double>();
        quad += p.quad;
      });
  stats.sum_zz += static_cast<double>(n) * model.posterior_covariance().template cast<double>();
  // Summed as FactorAnalysis::log_likelihood sums it: the two give the same number.
  if (with_ll) stats.log_likelihood += -0.5 * (static_cast<double>(n) * c0 + quad);
}

/// Options of the M-step.
struct FaUpdateOptions {
  /// Psi_d >= variance_floor * (variance of the data in dimension d, from the statistics).
  double variance_floor = 1e-3;
};

struct FaUpdateReport {
  Index floored = 0;  ///< noise variances raised to the floor
};

/// M-step of the seed document (Bishop PRML 12.2.4), from statistics accumulated under `model`:
///   m' = mean of x = m + sum_y / N,  with d = m' - m:
///   S_yz = sum_i (x_i - m') <z_i>^T = sum_yz - d sum_z^T
///   V' = S_yz [sum_i <z_i z_i^T>]^-1   (a Cholesky solve with sum_zz)
///   Psi'_d = (1/N) sum_i [(x_id - m'_d)^2 - (V' <z_i>)_d (x_id - m'_d)]
///          = (sum_yy_d / N - d_d^2) - (1/N) sum_r V'_dr (S_yz)_dr,
/// floored at variance_floor times the data variance of dimension d. When m is the data mean (as
/// train_factor_analysis ensures) sum_z = 0 and this is the exact EM update, so the likelihood
/// never decreases (with the floor too: the update is the constrained maximiser).
/// @throws DimensionMismatch (statistics of another model), InvalidArgument (no samples, bad
///         option, non-finite statistics), NumericalError (zero data variance, singular sum_zz)
template <class Scalar>
FactorAnalysis<Scalar> fa_em_update(const FactorAnalysis<Scalar>& model, const FactorAnalysisStats& stats,
                                    const FaUpdateOptions& opts = {}, FaUpdateReport* report = nullptr) {
  constexpr const char* fn = "fa_em_update";
  if (!(opts.variance_floor >= 0.0 && opts.variance_floor < 1.0))
    throw InvalidArgument(detail::message(fn, ": variance_floor must be in [0, 1), got ", opts.variance_floor));
  const Index D = model.dim(), R = model.rank();
  if (stats.dim() != D || stats.rank() != R || stats.sum_y.size() != D || stats.sum_yz.rows() != D ||
      stats.sum_yz.cols() != R || stats.sum_zz.rows() != R || stats.sum_zz.cols() != R || stats.sum_yy.size() != D)
    throw DimensionMismatch(detail::message(fn, ": the statistics (D = ", stats.dim(), ", R = ", stats.rank(),
                                            ") do not match the model (D = ", D, ", R = ", R, ")"));
  if (stats.center != model.mean().template cast<double>())
    throw DimensionMismatch(detail::message(fn, ": the statistics were accumulated under another model"));
  if (!(stats.count > 0.0) || !std::isfinite(stats.count))
    throw InvalidArgument(detail::message(fn, ": no samples accumulated (count is ", stats.count, ")"));
  if (!stats.sum_y.allFinite() || !stats.sum_yz.allFinite() || !stats.sum_z.allFinite() || !stats.sum_zz.allFinite() ||
      !stats.sum_yy.allFinite())
    throw InvalidArgument(detail::message(fn, ": the statistics hold NaN or Inf"));
  const double N = stats.count;
  const Eigen::VectorXd d = stats.sum_y / N;
  const Eigen::VectorXd new_mean = stats.center + d;
  const Eigen::MatrixXd Syz = stats.sum_yz - d * stats.sum_z.transpose();
  const Eigen::MatrixXd Szz = 0.5 * (stats.sum_zz + stats.sum_zz.transpose());
  const Eigen::LLT<Eigen::MatrixXd> llt(Szz);
  if (llt.info() != Eigen::Success)
    throw NumericalError(detail::message(fn, ": sum of <z z^T> is not positive definite (R = ", R, ")"));
  const Eigen::MatrixXd V = llt.solve(Syz.transpose()).transpose();  // Syz Szz^-1 (Szz symmetric)
  Eigen::VectorXd psi(D);
  FaUpdateReport rep;
  for (Index k = 0; k < D; ++k) {
    const double var = stats.sum_yy(k) / N - d(k) * d(k);
    if (!(var > 0.0))
      throw NumericalError(detail::message(fn, ": the data have zero variance in dimension ", k,
                                           "; factor analysis cannot be fitted"));
    double p = var - V.row(k).dot(Syz.row(k)) / N;
    const double floor = opts.variance_floor * var;
    if (!(p >= floor)) {
      p = floor;
      ++rep.floored;
    }
    if (!(p > 0.0))
      throw NumericalError(detail::message(fn, ": the noise variance of dimension ", k, " became ", p,
                                           "; use a positive variance_floor"));
    psi(k) = p;
  }
  if (!V.allFinite()) throw NumericalError(detail::message(fn, ": the new loading matrix is not finite"));
  if (report) *report = rep;
  return FactorAnalysis<Scalar>(new_mean.template cast<Scalar>(), V.template cast<Scalar>(), psi.template cast<Scalar>());
}

/// How train_factor_analysis starts.
enum class FaInit {
  Pca,     ///< top-R eigenvectors of the sample covariance (probabilistic PCA), Psi from the residual
  Random,  ///< loadings drawn from N(0, var_d / (2 R)), Psi = var_d / 2 (seeded ivkit::Random)
};

/// One EM iteration as reported to the caller.
struct FaIteration {
  int iteration = 0;                    ///< 0-based
  double log_likelihood = 0.0;          ///< sum over samples, of the model before this iteration's update
  double average_log_likelihood = 0.0;  ///< log_likelihood / N
  Index floored = 0;                    ///< noise variances this iteration's update raised to the floor
};

using FaProgress = std::function<void(const FaIteration&)>;

struct FaTrainOptions {
  Index rank = 0;              ///< R, required: 1 <= R < D
  int num_iterations = 20;     ///< EM iterations
  std::uint64_t seed = 777;    ///< FaInit::Random only
  FaInit init = FaInit::Pca;
  /// Psi_d >= variance_floor * (data variance of dimension d), at initialisation and in every
  /// M-step; keeps a noise variance from collapsing to zero (a Heywood case), in [0, 1).
  double variance_floor = 1e-3;
  int num_threads = 1;         ///< 0 = all hardware threads; results are identical for any value
  Index block_samples = 0;     ///< 0 = chosen from D (see FaOptions)
  FaProgress progress;         ///< called after every iteration
  bool evaluate_final = true;  ///< compute the returned model's log-likelihood for the report
};

/// The training history. Within it the log-likelihood never decreases (EM; tested).
struct FaTrainReport {
  std::vector<FaIteration> iterations;
  Index initial_floored = 0;                  ///< noise variances the initialisation raised to the floor
  double final_log_likelihood = 0.0;          ///< of the returned model (one extra pass; evaluate_final)
  double final_average_log_likelihood = 0.0;
};

namespace detail {

/// Mean and (diagonal or full) maximum-likelihood covariance of the data, in double, in two passes
/// over blocks (deterministic for any thread count). Throws NonFiniteInput naming the first bad sample.
template <class Layout, class Derived>
void fa_data_moments(const Eigen::MatrixBase<Derived>& data, bool full, int num_threads, Index B, const char* fn,
                     Eigen::VectorXd& mean, Eigen::MatrixXd& cov) {
  const Index n = num_frames<Layout>(data), D = feature_dim<Layout>(data);
  struct Partial {
    ColMatrix<double> y;
    Eigen::VectorXd sum;
    Eigen::MatrixXd scatter;
  };
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(D);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(D);
  ordered_block_reduce(
      num_blocks(n, B), num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        p.y.resize(count, D);
        fa_load_block<Layout, double>(data, begin, count, zero, p.y, fn);
        p.sum = p.y.colwise().sum().transpose();
      },
      [&](Partial& p) { sum += p.sum; });
  mean = sum / static_cast<double>(n);
  cov = full ? Eigen::MatrixXd::Zero(D, D) : Eigen::MatrixXd::Zero(D, 1);
  ordered_block_reduce(
      num_blocks(n, B), num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        p.y.resize(count, D);
        fa_load_block<Layout, double>(data, begin, count, mean, p.y, fn);
        if (full) {
          p.scatter.resize(D, D);
          p.scatter.noalias() = p.y.transpose() * p.y;
        } else {
          p.scatter = p.y.cwiseAbs2().colwise().sum().transpose();
        }
      },
      [&](Partial& p) { cov += p.scatter; });
  cov /= static_cast<double>(n);
  if (full) cov = (0.5 * (cov + cov.transpose())).eval();
  for (Index k = 0; k < D; ++k) {
    const double v = full ? cov(k, k) : cov(k, 0);
    if (!(v > 0.0))
      throw NumericalError(message(fn, ": the data have zero variance in dimension ", k,
                                   "; factor analysis cannot be fitted"));
  }
}

/// Psi_d = max(residual_d, variance_floor * var_d), and never below 1e-6 var_d (Psi must be positive).
inline Eigen::VectorXd fa_floor_noise(const Eigen::VectorXd& residual, const Eigen::VectorXd& var, double variance_floor,
                                      Index& floored) {
  Eigen::VectorXd psi(residual.size());
  for (Index k = 0; k < residual.size(); ++k) {
    const double floor = std::max(variance_floor, 1e-6) * var(k);
    psi(k) = residual(k);
    if (!(psi(k) >= floor)) {
      psi(k) = floor;
      ++floored;
    }
  }
  return psi;
}

}  // namespace detail

/// Trains a factor analysis model of rank R by EM on in-memory samples; the model's scalar is the
/// data's (pass `data.template cast<float>()`, evaluated block by block, for another). Deterministic
/// for `seed` and independent of num_threads.
///
/// Initialisation sets m to the sample mean (then every M-step is exact EM), and
///  - FaInit::Pca: with Sigma = U diag(lambda) U^T the sample covariance (eigenvalues descending) and
///    sigma^2 the mean of the D - R smallest eigenvalues, V = U_R diag(sqrt(lambda_r - sigma^2))
///    (Tipping and Bishop's probabilistic PCA; lambda_r - sigma^2 is kept at least 1e-6 lambda_1 so
///    that no column starts at zero, which EM could never move), Psi = diag(Sigma - V V^T);
///  - FaInit::Random: V_dr ~ N(0, var_d / (2 R)), Psi_d = var_d / 2;
/// Psi then floored as in the M-step.
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws InvalidArgument (fewer than 2 samples, D < 2, rank outside [1, D - 1], bad options),
///         NonFiniteInput (names the sample), NumericalError (data with zero variance)
template <class Layout = FramesAsRows, class Derived>
FactorAnalysis<typename Derived::Scalar> train_factor_analysis(const Eigen::MatrixBase<Derived>& data,
                                                               const FaTrainOptions& opts,
                                                               FaTrainReport* report = nullptr) {
  using Scalar = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(Scalar);
  IVKIT_CHECK_LAYOUT(Layout);
  constexpr const char* fn = "train_factor_analysis";
  const Index n = num_frames<Layout>(data), D = feature_dim<Layout>(data), R = opts.rank;
  if (D < 2)
    throw InvalidArgument(detail::message(fn, ": the samples have dimension ", D, "; factor analysis needs at least 2"));
  if (R < 1 || R >= D)
    throw InvalidArgument(detail::message(fn, ": rank must be in [1, ", D - 1, "] for dimension ", D, ", got ", R));
  if (n < 2) throw InvalidArgument(detail::message(fn, ": at least 2 samples are needed, got ", n));
  if (opts.num_iterations < 0)
    throw InvalidArgument(detail::message(fn, ": num_iterations must be >= 0, got ", opts.num_iterations));
  if (!(opts.variance_floor >= 0.0 && opts.variance_floor < 1.0))
    throw InvalidArgument(detail::message(fn, ": variance_floor must be in [0, 1), got ", opts.variance_floor));
  FaOptions eval;
  eval.num_threads = opts.num_threads;
  eval.block_samples = opts.block_samples;
  resolve_num_threads(opts.num_threads);
  const Index B = detail::fa_block_samples<Scalar>(D, eval, fn);

  FaTrainReport rep;
  const bool pca = opts.init == FaInit::Pca;
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
  detail::fa_data_moments<Layout>(data, pca, opts.num_threads, B, fn, mean, cov);
  const Eigen::VectorXd var = pca ? Eigen::VectorXd(cov.diagonal()) : Eigen::VectorXd(cov.col(0));
  ColMatrix<double> V(D, R);
  Eigen::VectorXd residual;
  if (pca) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    if (eig.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": eigendecomposition of the covariance failed"));
    const Eigen::VectorXd& lambda = eig.eigenvalues();  // ascending
    const double sigma2 = lambda.head(D - R).mean();
    const double lambda_max = lambda(D - 1);
    for (Index r = 0; r < R; ++r) {
      const Index k = D - 1 - r;
      const double scale = std::sqrt(std::max(lambda(k) - sigma2, 1e-6 * lambda_max));
      Eigen::VectorXd u = eig.eigenvectors().col(k);
      Index big = 0;
      u.cwiseAbs().maxCoeff(&big);
      if (u(big) < 0) u = -u;  // a fixed sign, whatever the eigensolver returns
      V.col(r) = scale * u;
    }
    residual = var - V.rowwise().squaredNorm();
  } else {
    Random rng(opts.seed);
    for (Index r = 0; r < R; ++r)
      for (Index k = 0; k < D; ++k) V(k, r) = rng.normal() * std::sqrt(var(k) / (2.0 * static_cast<double>(R)));
    residual = 0.5 * var;
  }
  const Eigen::VectorXd psi = detail::fa_floor_noise(residual, var, opts.variance_floor, rep.initial_floored);
  FactorAnalysis<Scalar> model(mean.template cast<Scalar>(), V.template cast<Scalar>(), psi.template cast<Scalar>());

  FaUpdateOptions uopts;
  uopts.variance_floor = opts.variance_floor;
  for (int it = 0; it < opts.num_iterations; ++it) {
    FactorAnalysisStats stats(model);
    accumulate_fa_stats<Layout>(model, data, stats, eval);
    FaIteration info;
    info.iteration = it;
    info.log_likelihood = stats.log_likelihood;
    info.average_log_likelihood = stats.average_log_likelihood();
    FaUpdateReport urep;
    model = fa_em_update(model, stats, uopts, &urep);
    info.floored = urep.floored;
    rep.iterations.push_back(info);
    if (opts.progress) opts.progress(rep.iterations.back());
  }
  if (opts.evaluate_final) {
    rep.final_log_likelihood = model.template log_likelihood<Layout>(data, eval);
    rep.final_average_log_likelihood = rep.final_log_likelihood / static_cast<double>(n);
  }
  if (report) *report = std::move(rep);
  return model;
}

}  // namespace ivkit
