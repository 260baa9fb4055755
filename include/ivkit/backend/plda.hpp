/// @file
/// The two-covariance PLDA model in Kaldi's diagonalised form (Ioffe 2006; Kaldi's `Plda`).
///
/// An embedding x of a speaker whose class mean is y is modelled as x = y + e with
/// y ~ N(mu, B) (between-class) and e ~ N(0, W) (within-class). The model is stored as the affine
/// map u = A (x - mu) that makes W the identity and B the diagonal diag(psi), psi sorted in
/// decreasing order. In that space the log-likelihood ratio of a test u_t against an enrolment
/// whose n embeddings average to u_e is (Ioffe's equation between (4) and (5)):
///
///   LLR = log N(u_t; n psi/(n psi + 1) u_e, I + psi/(n psi + 1)) - log N(u_t; 0, I + psi)
///
/// with all operations element-wise (diagonal covariances). Kaldi's length normalisation scales u
/// so that u^T (psi + 1/n)^-1 u equals the dimension. See docs/plda.md.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

// The deprecated member below would warn wherever the struct is copied, not only where it is named.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
/// How embeddings are mapped into the PLDA space before scoring (Kaldi's `PldaConfig`).
struct PldaOptions {
  /// Scale each transformed embedding to the length the model expects (Kaldi's default: true).
  bool normalise_length = true;
  /// With normalise_length: scale to norm sqrt(dim) instead of Kaldi's count-aware
  /// u^T (psi + 1/n)^-1 u = dim (Kaldi's `--simple-length-normalization`, default false).
  bool simple_length_norm = false;
  /// The American spelling of normalise_length, kept for one release: setting either to false turns
  /// length normalisation off.
  [[deprecated("British spelling, as the rest of ivkit: use normalise_length")]] bool normalize_length = true;
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace detail {

// Reads the deprecated spelling too, for one release.
inline bool length_normalisation_on(const PldaOptions& o) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  return o.normalise_length && o.normalize_length;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}

/// Rows of `x` must be finite; names the row. `what` says which set (e.g. "test embedding").
template <class Derived>
void check_finite_rows(const char* fn, const char* what, const Eigen::MatrixBase<Derived>& x) {
  for (Index i = 0; i < x.rows(); ++i)
    if (!x.row(i).allFinite()) throw NonFiniteInput(detail::message(fn, ": ", what, " ", i, " holds NaN or Inf"));
}

/// The transform that makes `within` the identity and `between` diagonal (decreasing), and that diagonal:
/// A = Q^T C^-1 with within = C C^T and C^-1 between C^-T = Q diag(psi) Q^T. Negative eigenvalues
/// (rounding) are floored at zero, as Kaldi does.
inline void simultaneous_diagonalisation(const char* fn, const ColMatrix<double>& within, const ColMatrix<double>& between,
                                         ColMatrix<double>& transform, Vector<double>& psi) {
  const Index d = within.rows();
  Eigen::LLT<ColMatrix<double>> llt(within);
  if (llt.info() != Eigen::Success)
    throw NumericalError(detail::message(fn, ": the within-class covariance (", d, " x ", d, ") is not positive definite"));
  const ColMatrix<double> c_inv = llt.matrixL().solve(ColMatrix<double>::Identity(d, d));
  ColMatrix<double> b_proj = c_inv * between * c_inv.transpose();
  b_proj = 0.5 * (b_proj + b_proj.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(b_proj);
  if (eig.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": eigendecomposition of the between-class covariance failed"));
  // Eigen sorts increasing; reverse to decreasing as Kaldi's SortSvd does.
  psi = eig.eigenvalues().reverse().cwiseMax(0.0);
  const ColMatrix<double> q = eig.eigenvectors().rowwise().reverse();
  transform = q.transpose() * c_inv;
}

}  // namespace detail

/// Two-covariance PLDA in diagonalised form. `Scalar` is float or double.
template <class Scalar>
class Plda {
  IVKIT_CHECK_SCALAR(Scalar);

 public:
  using S = Scalar;
  static constexpr const char* kFileKind = "Plda";
  static constexpr std::uint32_t kFileVersion = 1;

  /// From its parts: the mean mu (dim), the transform A (dim x dim, invertible) and psi (dim, >= 0).
  /// @throws DimensionMismatch, InvalidArgument (negative or non-finite psi), NonFiniteInput, NumericalError (singular A)
  Plda(Vector<S> mean, ColMatrix<S> transform, Vector<S> psi)
      : mean_(std::move(mean)), transform_(std::move(transform)), psi_(std::move(psi)) {
    constexpr const char* fn = "Plda";
    const Index d = mean_.size();
    if (d == 0) throw InvalidArgument(detail::message(fn, ": the model has dimension 0"));
    if (transform_.rows() != d || transform_.cols() != d || psi_.size() != d)
      throw DimensionMismatch(detail::message(fn, ": mean has ", d, " entries, transform is ", transform_.rows(), " x ",
                                              transform_.cols(), ", psi has ", psi_.size(), " entries"));
    if (!mean_.allFinite() || !transform_.allFinite() || !psi_.allFinite())
      throw NonFiniteInput(detail::message(fn, ": the parameters hold NaN or Inf"));
    for (Index i = 0; i < d; ++i)
      if (psi_(i) < 0) throw InvalidArgument(detail::message(fn, ": psi(", i, ") = ", psi_(i), " is negative"));
    if (Eigen::FullPivLU<ColMatrix<double>>(transform_.template cast<double>()).rank() < d)
      throw NumericalError(detail::message(fn, ": the transform (", d, " x ", d, ") is singular"));
    offset_ = -(transform_ * mean_);
  }

  /// The model with mean `mean`, between-class covariance `between` (positive semi-definite) and
  /// within-class covariance `within` (positive definite), diagonalised as Kaldi's PldaEstimator::GetOutput.
  /// @throws DimensionMismatch, NonFiniteInput, NumericalError (within not positive definite)
  template <class DM, class DB, class DW>
  static Plda from_covariances(const Eigen::MatrixBase<DM>& mean, const Eigen::MatrixBase<DB>& between,
                               const Eigen::MatrixBase<DW>& within) {
    constexpr const char* fn = "Plda::from_covariances";
    const Index d = mean.size();
    if (between.rows() != d || between.cols() != d || within.rows() != d || within.cols() != d)
      throw DimensionMismatch(detail::message(fn, ": mean has ", d, " entries, between is ", between.rows(), " x ", between.cols(),
                                              ", within is ", within.rows(), " x ", within.cols()));
    if (!mean.allFinite() || !between.allFinite() || !within.allFinite())
      throw NonFiniteInput(detail::message(fn, ": the covariances or the mean hold NaN or Inf"));
    ColMatrix<double> w = within.template cast<double>();
    ColMatrix<double> b = between.template cast<double>();
    w = 0.5 * (w + w.transpose()).eval();
    b = 0.5 * (b + b.transpose()).eval();
    ColMatrix<double> a;
    Vector<double> psi;
    detail::simultaneous_diagonalisation(fn, w, b, a, psi);
    return Plda(mean.template cast<S>(), a.cast<S>(), psi.cast<S>());
  }

  Index dim() const { return mean_.size(); }
  const Vector<S>& mean() const { return mean_; }
  /// A: u = A (x - mu) = A x + offset
  const ColMatrix<S>& transform() const { return transform_; }
  /// The between-class covariance in the transformed space (decreasing); the within-class one is I.
  const Vector<S>& psi() const { return psi_; }
  /// -A mu
  const Vector<S>& offset() const { return offset_; }

  /// The within-class covariance in the embedding space: A^-1 A^-T.
  ColMatrix<double> within_covariance() const {
    const ColMatrix<double> a_inv = transform_.template cast<double>().inverse();
    return a_inv * a_inv.transpose();
  }
  /// The between-class covariance in the embedding space: A^-1 diag(psi) A^-T.
  ColMatrix<double> between_covariance() const {
    const ColMatrix<double> a_inv = transform_.template cast<double>().inverse();
    return a_inv * psi_.template cast<double>().asDiagonal() * a_inv.transpose();
  }

  /// Kaldi's Plda::SmoothWithinClassCovariance: adds `factor` times the between-class covariance
  /// to the within-class one (in the diagonalised space), then re-normalises. factor in [0, 1].
  /// @throws InvalidArgument when factor is outside [0, 1]
  void smooth_within_class_covariance(double factor) {
    if (!(factor >= 0.0 && factor <= 1.0))
      throw InvalidArgument(detail::message("Plda::smooth_within_class_covariance: factor ", factor, " is outside [0, 1]"));
    for (Index i = 0; i < dim(); ++i) {
      const double within = 1.0 + factor * static_cast<double>(psi_(i));
      psi_(i) = static_cast<S>(static_cast<double>(psi_(i)) / within);
      transform_.row(i) *= static_cast<S>(1.0 / std::sqrt(within));
    }
    offset_ = -(transform_ * mean_);
  }

  /// The model of embeddings mapped by x' = M x (M is k x dim, k <= dim, full row rank), as
  /// Kaldi's Plda::ApplyTransform: both covariances and the mean are mapped, then re-diagonalised.
  /// Use it to put a dimension-reducing transform (LDA) fitted after PLDA in front of the model.
  /// @throws DimensionMismatch, NumericalError (M loses rank)
  template <class DerivedM>
  Plda apply_transform(const Eigen::MatrixBase<DerivedM>& m) const {
    constexpr const char* fn = "Plda::apply_transform";
    if (m.cols() != dim() || m.rows() > dim() || m.rows() == 0)
      throw DimensionMismatch(detail::message(fn, ": the transform is ", m.rows(), " x ", m.cols(), "; it must have ", dim(),
                                              " columns and 1 to ", dim(), " rows"));
    const ColMatrix<double> md = m.template cast<double>();
    const ColMatrix<double> w = md * within_covariance() * md.transpose();
    const ColMatrix<double> b = md * between_covariance() * md.transpose();
    const Vector<double> mu = md * mean_.template cast<double>();
    return from_covariances(mu, b, w);
  }

  /// The same model in another scalar type.
  template <class Other>
  Plda<Other> cast() const {
    return Plda<Other>(mean_.template cast<Other>(), transform_.template cast<Other>(), psi_.template cast<Other>());
  }

  /// Saves atomically in ivkit's model container (kind "Plda"). @throws IoError
  void save(const std::string& path) const { to_writer().save(path); }
  /// The bytes save() writes.
  std::string to_bytes() const { return to_writer().bytes(); }
  /// Loads a model saved by save() (float or double file). @throws IoError, FormatError
  static Plda load(const std::string& path) { return from_reader(ModelReader(path, kFileKind, kFileVersion)); }
  static Plda from_bytes(std::string bytes, const std::string& source = "<memory>") {
    return from_reader(ModelReader(std::move(bytes), source, kFileKind, kFileVersion));
  }

 private:
  ModelWriter to_writer() const {
    ModelWriter w(kFileKind, kFileVersion);
    w.integer("dim", dim()).matrix("mean", mean_).matrix("transform", transform_).matrix("psi", psi_);
    return w;
  }
  static Plda from_reader(const ModelReader& r) {
    const Index d = r.integer("dim");
    if (d <= 0) r.fail(0, detail::message("has dimension ", d));
    try {
      return Plda(r.vector<S>("mean", d), r.matrix<S>("transform", d, d), r.vector<S>("psi", d));
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(detail::message("ModelReader: '", r.source(), "' holds an invalid PLDA model: ", e.what()));
    }
  }

  Vector<S> mean_;
  ColMatrix<S> transform_;
  Vector<S> psi_;
  Vector<S> offset_;
};

/// Maps embeddings (one per row) into the PLDA space, u = A (x - mu), and length-normalises them as
/// Kaldi's Plda::TransformIvector: row i stands for the average of counts[i] embeddings (empty
/// `counts`: 1 for every row). Computed in double per row after one matrix product.
/// @throws DimensionMismatch, NonFiniteInput (names the row), InvalidArgument (count < 1, or a row
/// that maps to the zero vector when normalising)
template <class S, class Derived>
Matrix<S> plda_transform(const Plda<S>& plda, const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& counts = {},
                         const PldaOptions& options = {}) {
  constexpr const char* fn = "plda_transform";
  const Index d = plda.dim();
  if (x.cols() != d)
    throw DimensionMismatch(detail::message(fn, ": embeddings have dimension ", x.cols(), " but the PLDA model has dimension ", d));
  if (!counts.empty() && static_cast<Index>(counts.size()) != x.rows())
    throw DimensionMismatch(detail::message(fn, ": ", counts.size(), " counts for ", x.rows(), " embeddings"));
  detail::check_finite_rows(fn, "embedding", x);
  Matrix<S> u = x.template cast<S>() * plda.transform().transpose();
  u.rowwise() += plda.offset().transpose();
  if (!detail::length_normalisation_on(options)) return u;
  const Vector<double> psi = plda.psi().template cast<double>();
  for (Index i = 0; i < u.rows(); ++i) {
    const Index n = counts.empty() ? 1 : counts[static_cast<std::size_t>(i)];
    if (n < 1) throw InvalidArgument(detail::message(fn, ": count ", n, " of embedding ", i, " is below 1"));
    double denom = 0;
    if (options.simple_length_norm) {
      for (Index k = 0; k < d; ++k) denom += static_cast<double>(u(i, k)) * u(i, k);
    } else {
      const double inv_n = 1.0 / static_cast<double>(n);
      for (Index k = 0; k < d; ++k) denom += static_cast<double>(u(i, k)) * u(i, k) / (psi(k) + inv_n);
    }
    if (!(denom > 0)) throw InvalidArgument(detail::message(fn, ": embedding ", i, " is the PLDA mean; it cannot be length-normalised"));
    u.row(i) *= static_cast<S>(std::sqrt(static_cast<double>(d) / denom));
  }
  return u;
}

/// The log-likelihood ratio of one trial, directly from the formula above, in double: `enrol` is the
/// transformed average of `n` enrolment embeddings, `test` one transformed test embedding (both from
/// plda_transform). The reference that PldaScorer's batched scoring is tested against.
template <class S, class DE, class DT>
double plda_llr(const Plda<S>& plda, const Eigen::MatrixBase<DE>& enrol, Index n, const Eigen::MatrixBase<DT>& test) {
  const Index d = plda.dim();
  if (enrol.size() != d || test.size() != d)
    throw DimensionMismatch(detail::message("plda_llr: vectors have ", enrol.size(), " and ", test.size(),
                                            " entries but the PLDA model has dimension ", d));
  if (n < 1) throw InvalidArgument(detail::message("plda_llr: enrolment count ", n, " is below 1"));
  double given = 0, without = 0;
  for (Index i = 0; i < d; ++i) {
    const double psi = plda.psi()(i), t = test(i), e = enrol(i);
    const double mean = n * psi / (n * psi + 1.0) * e;
    const double var = 1.0 + psi / (n * psi + 1.0);
    given += std::log(var) + (t - mean) * (t - mean) / var;
    without += std::log(1.0 + psi) + t * t / (1.0 + psi);
  }
  return -0.5 * given + 0.5 * without;
}

}  // namespace ivkit
