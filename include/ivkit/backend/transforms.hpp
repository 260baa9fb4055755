/// @file
/// Embedding transforms fitted on training embeddings (one per row, N x D) and applied to any:
/// centring, whitening (PCA or ZCA), PCA, LDA (Kaldi's ivector-compute-lda), WCCN (Hatch et al.
/// 2006), and length normalisation (Garcia-Romero and Espy-Wilson 2011; Kaldi's
/// ivector-normalize-length). Every linear one is fitted into an AffineTransform y = A x + b; the
/// statistics are accumulated in double whatever the scalar of the data or of the result.
///
/// With mu the mean, C = (1/N) sum_i (x_i - mu)(x_i - mu)^T = U diag(s) U^T (s decreasing):
///   centring   y = x - mu
///   PCA        y = U_k^T (x - mu)                    (eigenvectors signed: largest entry positive)
///   whitening  y = diag(s_k)^-1/2 U_k^T (x - mu)     (PCA whitening, top k)
///              y = U diag(s)^-1/2 U^T (x - mu)       (ZCA whitening, symmetric)
///   LDA        y = W (x - mu), W S_w W^T = I, W S_b W^T = diag(l) decreasing (Kaldi's conventions)
///   WCCN       y = B^T x with B B^T = S_w^-1, B lower triangular (Cholesky)
///   length     y = x / |x|   (times sqrt(D) with scale_to_sqrt_dim, as ivector-normalize-length)
/// Formulas, conventions and sources: docs/backend_transforms.md.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cmath>
#include <string>
#include <vector>

#include "ivkit/backend/affine_transform.hpp"
#include "ivkit/backend/detail/transform_math.hpp"
#include "ivkit/backend/labels.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

enum class WhitenMode {
  Pca,  ///< y = diag(s)^-1/2 U^T (x - mu): rotates onto the principal axes, may keep the top k
  Zca   ///< y = U diag(s)^-1/2 U^T (x - mu): symmetric, the whitened data closest to the original
};

/// How WCCN averages the within-class covariances of the classes.
enum class WccnWeighting {
  PerClass,  ///< Hatch et al. 2006: (1/K) sum_k (1/n_k) sum_{i in k} (x_i - m_k)(x_i - m_k)^T, every class
             ///< weighted equally; classes of one embedding carry no within-class information and are left out
  Pooled     ///< (1/N) sum_i (x_i - m_k(i))(x_i - m_k(i))^T: every embedding weighted equally (Kaldi's
             ///< within-class covariance in LDA and PLDA)
};

struct WhitenOptions {
  WhitenMode mode = WhitenMode::Pca;
  /// PCA whitening: keep the dim directions of largest variance (0 = all). ZCA keeps every
  /// dimension (0 or the input dimension).
  Index dim = 0;
  /// 0: a singular covariance (among the kept directions) is a NumericalError. > 0: eigenvalues
  /// below covariance_floor times the largest are raised to it (Kaldi's --covariance-floor).
  double covariance_floor = 0.0;
};

struct PcaOptions {
  Index dim = 0;  ///< directions of largest variance kept (0 = all: a rotation)
};

/// Kaldi's ivector-compute-lda options.
struct LdaOptions {
  /// Output dimension; 0 = as many as the data support, min(classes - 1, rank of the between-class
  /// covariance). Asking for more is an InvalidArgument.
  Index dim = 0;
  /// 0 makes the projected within-class covariance the identity, 1 the total covariance, in between
  /// an interpolation (--total-covariance-factor).
  double total_covariance_factor = 0.0;
  /// Eigenvalues of the normalised covariance below covariance_floor times the largest are raised to
  /// it (--covariance-floor, Kaldi's default 1e-6); 0 makes a singular one a NumericalError.
  double covariance_floor = 1e-6;
};

struct WccnOptions {
  WccnWeighting weighting = WccnWeighting::PerClass;
  /// As WhitenOptions::covariance_floor, for the within-class covariance.
  double covariance_floor = 0.0;
};

struct LengthNormOptions {
  /// Scale to length sqrt(D) instead of 1 (Kaldi's ivector-normalize-length --scaleup=true).
  bool scale_to_sqrt_dim = false;
};

/// What a fit saw and found.
struct TransformFitInfo {
  Index num_embeddings = 0;
  Index num_classes = 0;  ///< LDA, WCCN
  /// All D eigenvalues, decreasing, before any floor: of the covariance (whitening, PCA), of the
  /// between-class covariance after normalisation (LDA: the first `dim` are the between-class
  /// variances of the outputs), of the within-class covariance (WCCN). Empty for centring.
  Vector<double> eigenvalues;
  Index rank = 0;         ///< numerical rank of the matrix whose eigenvalues these are
  Index num_floored = 0;  ///< eigenvalues raised to covariance_floor
};

namespace detail {

inline std::string transform_check_dim_option(const char* fn, Index dim) {
  return dim < 0 ? message(fn, ": dim must be >= 0, got ", dim) : std::string();
}
inline std::string transform_check_floor_option(const char* fn, double floor) {
  return (floor >= 0.0 && std::isfinite(floor)) ? std::string() : message(fn, ": covariance_floor must be >= 0, got ", floor);
}
inline std::string transform_check_factor_option(const char* fn, double f) {
  return (f >= 0.0 && f <= 1.0) ? std::string() : message(fn, ": total_covariance_factor must be in [0, 1], got ", f);
}
inline void transform_throw_if(const std::string& error) {
  if (!error.empty()) throw InvalidArgument(error);
}
inline void transform_check_dim_fits(const char* fn, Index dim, Index D) {
  if (dim > D) throw InvalidArgument(message(fn, ": dim ", dim, " requested but the embeddings have dimension ", D));
}

/// Scales every row of y to length 1 (or sqrt(D)); `where` is appended to errors (the pipeline names
/// its stage). Norms that underflow or overflow the scalar are recomputed with stableNorm.
template <class S>
void transform_normalise_length(const char* fn, Matrix<S>& y, bool scale_to_sqrt_dim, const std::string& where) {
  const double target = scale_to_sqrt_dim ? std::sqrt(static_cast<double>(y.cols())) : 1.0;
  Vector<S> norms = y.rowwise().norm();
  for (Index i = 0; i < y.rows(); ++i) {
    if (!(norms(i) > S(0)) || !std::isfinite(norms(i))) norms(i) = y.row(i).stableNorm();
    if (!(norms(i) > S(0))) throw InvalidArgument(message(fn, ": embedding ", i, " has zero length", where));
  }
  y.array().colwise() *= (S(target) / norms.array());
}

}  // namespace detail

/// Centring: y = x - mu, mu the mean of `x`.
/// @tparam S scalar of the result (default: that of x)
/// @throws InvalidArgument (no embeddings, dimension 0), NonFiniteInput (names the row)
template <class S = void, class Derived>
AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_centre(const Eigen::MatrixBase<Derived>& x,
                                                                                   TransformFitInfo* info = nullptr) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  const Vector<double> mu = detail::transform_mean("fit_centre", x);
  if (info) *info = TransformFitInfo{x.rows(), 0, Vector<double>(), 0, 0};
  return AffineTransform<R>::translation(-mu);
}

/// Whitening: the transformed training embeddings have zero mean and identity covariance (the
/// maximum-likelihood covariance, divided by N). See WhitenOptions for PCA/ZCA, dim and the floor.
/// @throws InvalidArgument (options, no embeddings), NonFiniteInput, NumericalError (a singular or
/// zero covariance without a floor)
template <class S = void, class Derived>
AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_whiten(const Eigen::MatrixBase<Derived>& x,
                                                                                   const WhitenOptions& opts = {},
                                                                                   TransformFitInfo* info = nullptr) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  constexpr const char* fn = "fit_whiten";
  detail::transform_throw_if(detail::transform_check_dim_option(fn, opts.dim));
  detail::transform_throw_if(detail::transform_check_floor_option(fn, opts.covariance_floor));
  const Vector<double> mu = detail::transform_mean(fn, x);
  const Index D = x.cols();
  detail::transform_check_dim_fits(fn, opts.dim, D);
  if (opts.mode == WhitenMode::Zca && opts.dim != 0 && opts.dim != D)
    throw InvalidArgument(detail::message(fn, ": ZCA whitening keeps every dimension (dim ", opts.dim, " requested of ", D,
                                          "); use PCA whitening to reduce the dimension"));
  const Index k = opts.dim == 0 ? D : opts.dim;
  const ColMatrix<double> cov = detail::transform_scatter(x, Matrix<double>(mu.transpose()), nullptr, nullptr) / double(x.rows());
  detail::SortedEigen e = detail::transform_sorted_eigen(fn, cov);
  TransformFitInfo fi{x.rows(), 0, e.values, detail::transform_rank(e.values), 0};
  Vector<double> s = e.values;
  fi.num_floored = detail::transform_floor_eigenvalues(fn, "covariance", "keep fewer dimensions (dim) or set covariance_floor > 0",
                                                       s, k, opts.covariance_floor);
  ColMatrix<double> a = s.head(k).cwiseSqrt().cwiseInverse().asDiagonal() * e.vectors.leftCols(k).transpose();
  if (opts.mode == WhitenMode::Zca) a = (e.vectors * a).eval();  // U diag(s)^-1/2 U^T
  if (info) *info = fi;
  return AffineTransform<R>(a, -(a * mu));
}

/// PCA: y = U_k^T (x - mu), the projection onto the k directions of largest variance (decreasing).
/// @throws InvalidArgument (options, no embeddings), NonFiniteInput
template <class S = void, class Derived>
AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_pca(const Eigen::MatrixBase<Derived>& x,
                                                                                const PcaOptions& opts = {},
                                                                                TransformFitInfo* info = nullptr) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  constexpr const char* fn = "fit_pca";
  detail::transform_throw_if(detail::transform_check_dim_option(fn, opts.dim));
  const Vector<double> mu = detail::transform_mean(fn, x);
  detail::transform_check_dim_fits(fn, opts.dim, x.cols());
  const Index k = opts.dim == 0 ? x.cols() : opts.dim;
  const ColMatrix<double> cov = detail::transform_scatter(x, Matrix<double>(mu.transpose()), nullptr, nullptr) / double(x.rows());
  detail::SortedEigen e = detail::transform_sorted_eigen(fn, cov);
  const ColMatrix<double> a = e.vectors.leftCols(k).transpose();
  if (info) *info = TransformFitInfo{x.rows(), 0, e.values, detail::transform_rank(e.values), 0};
  return AffineTransform<R>(a, -(a * mu));
}

/// LDA as Kaldi's ivector-compute-lda: with mu the global mean, m_k the class means,
///   S_b = (1/N) sum_k n_k (m_k - mu)(m_k - mu)^T,  S_w = (1/N) sum_i (x_i - m_k(i))(x_i - m_k(i))^T,
///   S_t = S_b + S_w,  M = f S_t + (1 - f) S_w  (f = total_covariance_factor),
/// M = U diag(s) U^T with s floored, T = diag(s)^-1/2 U^T, T S_b T^T = V diag(l) V^T (l decreasing),
/// W = V_dim^T T and y = W (x - mu) (Kaldi's affine [W | -W mu]). So W M W^T = I (with no eigenvalue
/// floored), W S_b W^T = diag(l_1..l_dim). Each row of W is signed so that its largest entry is positive.
/// @param labels one class label per row (any integers; see labels.hpp)
/// @throws DimensionMismatch (labels), InvalidArgument (options, no embeddings, fewer than 2 classes,
/// one embedding per class, dim above D, classes - 1 or the rank), NonFiniteInput, NumericalError
/// (zero between-class covariance, singular normalised covariance with covariance_floor 0)
template <class S = void, class Derived>
AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_lda(const Eigen::MatrixBase<Derived>& x,
                                                                                const std::vector<Index>& labels,
                                                                                const LdaOptions& opts = {},
                                                                                TransformFitInfo* info = nullptr) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  constexpr const char* fn = "fit_lda";
  detail::transform_throw_if(detail::transform_check_dim_option(fn, opts.dim));
  detail::transform_throw_if(detail::transform_check_factor_option(fn, opts.total_covariance_factor));
  detail::transform_throw_if(detail::transform_check_floor_option(fn, opts.covariance_floor));
  const ClassIndex classes = index_classes(fn, labels, x.rows());
  const Vector<double> mu = detail::transform_mean(fn, x);
  const Index N = x.rows(), D = x.cols(), K = classes.num_classes();
  detail::transform_check_dim_fits(fn, opts.dim, D);
  if (K < 2)
    throw InvalidArgument(detail::message(fn, ": the embeddings belong to ", K, " class; LDA needs at least 2"));
  if (N == K)
    throw InvalidArgument(detail::message(fn, ": every class has a single embedding (", N, " embeddings, ", K,
                                          " classes); the within-class covariance is zero"));
  if (opts.dim > K - 1)
    throw InvalidArgument(detail::message(fn, ": dim ", opts.dim, " requested but ", K, " classes give at most ", K - 1,
                                          " discriminant directions"));

  const Matrix<double> means = detail::transform_class_means(x, classes.of_row, classes.counts);
  const ColMatrix<double> within = detail::transform_scatter(x, means, &classes.of_row, nullptr) / double(N);
  Matrix<double> dm(K, D);  // rows sqrt(n_k) (m_k - mu)
  for (Index k = 0; k < K; ++k)
    dm.row(k) = std::sqrt(static_cast<double>(classes.counts[static_cast<std::size_t>(k)])) * (means.row(k) - mu.transpose());
  const ColMatrix<double> between = dm.transpose() * dm / double(N);
  const double f = opts.total_covariance_factor;
  const ColMatrix<double> to_normalise = f * (within + between) + (1.0 - f) * within;

  const char* what = f == 0.0 ? "within-class covariance" : f == 1.0 ? "total covariance" : "interpolated total/within-class covariance";
  detail::SortedEigen m = detail::transform_sorted_eigen(fn, to_normalise);
  TransformFitInfo fi{N, K, Vector<double>(), 0, 0};
  fi.num_floored = detail::transform_floor_eigenvalues(fn, what, "set covariance_floor > 0 or reduce the dimension first (PCA)", m.values,
                                                       D, opts.covariance_floor);
  const ColMatrix<double> t = m.values.cwiseSqrt().cwiseInverse().asDiagonal() * m.vectors.transpose();
  const detail::SortedEigen b = detail::transform_sorted_eigen(fn, t * between * t.transpose());
  fi.eigenvalues = b.values;
  fi.rank = detail::transform_rank(b.values);
  if (fi.rank == 0) throw NumericalError(detail::message(fn, ": the between-class covariance is zero (all class means coincide)"));
  if (opts.dim > fi.rank)
    throw InvalidArgument(detail::message(fn, ": dim ", opts.dim, " requested but the between-class covariance has rank ", fi.rank));
  const Index out = opts.dim == 0 ? std::min(K - 1, fi.rank) : opts.dim;
  ColMatrix<double> w = b.vectors.leftCols(out).transpose() * t;
  detail::transform_fix_row_signs(w);
  if (info) *info = fi;
  return AffineTransform<R>(w, -(w * mu));
}

/// WCCN (Hatch, Kajarekar and Stolcke 2006): with S_w the within-class covariance (see
/// WccnWeighting), B the lower Cholesky factor of S_w^-1 (B B^T = S_w^-1) and y = B^T x, so that the
/// within-class covariance of the outputs is the identity. Linear: no offset.
/// @throws DimensionMismatch (labels), InvalidArgument (options, no embeddings, every class of one
/// embedding), NonFiniteInput, NumericalError (singular within-class covariance without a floor)
template <class S = void, class Derived>
AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_wccn(const Eigen::MatrixBase<Derived>& x,
                                                                                 const std::vector<Index>& labels,
                                                                                 const WccnOptions& opts = {},
                                                                                 TransformFitInfo* info = nullptr) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  constexpr const char* fn = "fit_wccn";
  detail::transform_throw_if(detail::transform_check_floor_option(fn, opts.covariance_floor));
  const ClassIndex classes = index_classes(fn, labels, x.rows());
  detail::transform_mean(fn, x);  // checks the data
  const Index N = x.rows(), D = x.cols(), K = classes.num_classes();
  if (N == K)
    throw InvalidArgument(detail::message(fn, ": every class has a single embedding (", N, " embeddings, ", K,
                                          " classes); the within-class covariance is zero"));
  const Matrix<double> means = detail::transform_class_means(x, classes.of_row, classes.counts);
  ColMatrix<double> within;
  if (opts.weighting == WccnWeighting::Pooled) {
    within = detail::transform_scatter(x, means, &classes.of_row, nullptr) / double(N);
  } else {
    std::vector<double> weights(static_cast<std::size_t>(K));
    Index used = 0;
    for (std::size_t k = 0; k < weights.size(); ++k) {
      const Index n = classes.counts[k];
      weights[k] = n >= 2 ? 1.0 / static_cast<double>(n) : 0.0;
      used += n >= 2 ? 1 : 0;
    }
    within = detail::transform_scatter(x, means, &classes.of_row, &weights) / double(used);
  }
  detail::SortedEigen e = detail::transform_sorted_eigen(fn, within);
  TransformFitInfo fi{N, K, e.values, detail::transform_rank(e.values), 0};
  fi.num_floored = detail::transform_floor_eigenvalues(fn, "within-class covariance",
                                                       "set covariance_floor > 0 or reduce the dimension first (PCA or LDA)", e.values, D,
                                                       opts.covariance_floor);
  ColMatrix<double> inverse = e.vectors * e.values.cwiseInverse().asDiagonal() * e.vectors.transpose();
  inverse = 0.5 * (inverse + inverse.transpose()).eval();
  Eigen::LLT<ColMatrix<double>> llt(inverse);
  if (llt.info() != Eigen::Success)
    throw NumericalError(detail::message(fn, ": the inverse within-class covariance is not positive definite"));
  const ColMatrix<double> b = llt.matrixL();
  if (info) *info = fi;
  return AffineTransform<R>(b.transpose(), Vector<double>::Zero(D));
}

/// Length normalisation: every row scaled to unit L2 norm (or to sqrt(D) with scale_to_sqrt_dim).
/// @throws NonFiniteInput (names the row), InvalidArgument (a row of zero length, named)
template <class S = void, class Derived>
Matrix<detail::transform_scalar_t<S, typename Derived::Scalar>> normalise_length(const Eigen::MatrixBase<Derived>& x,
                                                                                const LengthNormOptions& opts = {}) {
  using R = detail::transform_scalar_t<S, typename Derived::Scalar>;
  constexpr const char* fn = "normalise_length";
  detail::transform_check_finite<R>(fn, x);
  Matrix<R> y = x.template cast<R>();
  detail::transform_normalise_length(fn, y, opts.scale_to_sqrt_dim, std::string());
  return y;
}

// American spellings of the above: deprecated, removed in the next release.
template <class S = void, class Derived>
[[deprecated("British spelling, as the rest of ivkit: use fit_centre")]] AffineTransform<detail::transform_scalar_t<S, typename Derived::Scalar>> fit_center(const Eigen::MatrixBase<Derived>& x,
                                                                                        TransformFitInfo* info = nullptr) {
  return fit_centre<S>(x, info);
}
template <class S = void, class Derived>
[[deprecated("British spelling, as the rest of ivkit: use normalise_length")]] Matrix<detail::transform_scalar_t<S, typename Derived::Scalar>> length_normalize(const Eigen::MatrixBase<Derived>& x,
                                                                                     const LengthNormOptions& opts = {}) {
  return normalise_length<S>(x, opts);
}

}  // namespace ivkit
