/// @file
/// An affine map of embeddings y = A x + b, applied to a whole set of embeddings (one per row) as one
/// matrix product Y = X A^T + 1 b^T. Every linear back-end transform (centring, whitening, PCA, LDA,
/// WCCN) is fitted into one of these; consecutive ones compose into one (`then`), and the result
/// converts to and from Kaldi's affine matrix [A | b] (ivector-compute-lda's output, read by
/// ivector-transform / transform-vec).
#pragma once

#include <Eigen/Core>
#include <utility>

#include "ivkit/backend/detail/transform_math.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// y = A x + b with A (out x in, row-major) and b (out). A pure translation (A the identity, e.g. a
/// centring) is recognised and applied without the matrix product.
/// @tparam ScalarT float or double
template <class ScalarT = double>
class AffineTransform {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  /// An empty transform (dimension 0); apply throws.
  AffineTransform() = default;

  /// y = linear x + offset. @throws DimensionMismatch (offset size != linear rows, or an empty
  /// matrix), NonFiniteInput (NaN or Inf in either)
  template <class DA, class DB>
  AffineTransform(const Eigen::MatrixBase<DA>& linear, const Eigen::MatrixBase<DB>& offset)
      : linear_(linear.template cast<Scalar>()), offset_(offset.template cast<Scalar>()) {
    validate("AffineTransform");
  }

  /// y = linear x (zero offset). @throws as above
  template <class DA>
  explicit AffineTransform(const Eigen::MatrixBase<DA>& linear)
      : linear_(linear.template cast<Scalar>()), offset_(Vector<Scalar>::Zero(linear.rows())) {
    validate("AffineTransform");
  }

  /// y = x + offset.
  template <class DB>
  static AffineTransform translation(const Eigen::MatrixBase<DB>& offset) {
    return AffineTransform(Matrix<Scalar>::Identity(offset.size(), offset.size()), offset);
  }

  /// Kaldi's affine matrix [A | b] (out x (in + 1)), as ivector-compute-lda writes it.
  /// @throws InvalidArgument when it has fewer than 2 columns, NonFiniteInput
  template <class Derived>
  static AffineTransform from_kaldi_matrix(const Eigen::MatrixBase<Derived>& m) {
    if (m.cols() < 2 || m.rows() < 1)
      throw InvalidArgument(detail::message("AffineTransform::from_kaldi_matrix: a ", m.rows(), " x ", m.cols(),
                                            " matrix is not an affine transform [A | b]"));
    return AffineTransform(m.leftCols(m.cols() - 1), m.col(m.cols() - 1));
  }

  /// [A | b] (out x (in + 1)), Kaldi's layout of an affine transform.
  Matrix<Scalar> kaldi_matrix() const {
    Matrix<Scalar> m(out_dim(), in_dim() + 1);
    m.leftCols(in_dim()) = linear_;
    m.col(in_dim()) = offset_;
    return m;
  }

  Index in_dim() const { return linear_.cols(); }
  Index out_dim() const { return linear_.rows(); }
  bool empty() const { return linear_.size() == 0; }
  /// A (out x in).
  const Matrix<Scalar>& linear() const { return linear_; }
  /// b (out).
  const Vector<Scalar>& offset() const { return offset_; }
  /// True when A is exactly the identity: apply adds b and does no product.
  bool is_translation() const { return translation_; }

  /// Y = X A^T + 1 b^T for embeddings X (N x in, one per row, any scalar and storage order).
  /// @throws DimensionMismatch, NonFiniteInput (names the row)
  template <class Derived>
  Matrix<Scalar> apply(const Eigen::MatrixBase<Derived>& x) const {
    constexpr const char* fn = "AffineTransform::apply";
    check_input(fn, x);
    detail::transform_check_finite<Scalar>(fn, x);
    Matrix<Scalar> y;
    apply_unchecked(x, y);
    return y;
  }

  /// The composition "this, then next": x -> next(this(x)), computed in double.
  /// @throws DimensionMismatch when next.in_dim() != out_dim()
  AffineTransform then(const AffineTransform& next) const {
    if (next.in_dim() != out_dim())
      throw DimensionMismatch(detail::message("AffineTransform::then: the first transform gives dimension ", out_dim(),
                                              " but the second expects dimension ", next.in_dim()));
    const ColMatrix<double> a2 = next.linear_.template cast<double>();
    return AffineTransform(a2 * linear_.template cast<double>(),
                           a2 * offset_.template cast<double>() + next.offset_.template cast<double>());
  }

  template <class Other>
  AffineTransform<Other> cast() const {
    if (empty()) return AffineTransform<Other>();
    return AffineTransform<Other>(linear_, offset_);
  }

  /// Y = X A^T + 1 b^T without checks (dimension and finiteness already checked by the caller).
  template <class Derived>
  void apply_unchecked(const Eigen::MatrixBase<Derived>& x, Matrix<Scalar>& y) const {
    if (translation_) {
      y = x.template cast<Scalar>();
    } else {
      y.resize(x.rows(), out_dim());
      y.noalias() = x.template cast<Scalar>() * linear_.transpose();
    }
    y.rowwise() += offset_.transpose();
  }

  /// DimensionMismatch "<fn>: embeddings have dimension d (matrix N x d) but the transform expects
  /// dimension in" (or InvalidArgument on an empty transform).
  template <class Derived>
  void check_input(const char* fn, const Eigen::MatrixBase<Derived>& x) const {
    if (empty()) throw InvalidArgument(detail::message(fn, ": the transform is empty"));
    if (x.cols() != in_dim())
      throw DimensionMismatch(detail::message(fn, ": embeddings have dimension ", x.cols(), " (matrix ", x.rows(), " x ",
                                              x.cols(), ") but the transform expects dimension ", in_dim()));
  }

 private:
  void validate(const char* fn) {
    if (linear_.size() == 0)
      throw DimensionMismatch(detail::message(fn, ": the linear part is ", linear_.rows(), " x ", linear_.cols()));
    if (offset_.size() != linear_.rows())
      throw DimensionMismatch(detail::message(fn, ": the linear part is ", linear_.rows(), " x ", linear_.cols(),
                                              " but the offset has ", offset_.size(), " entries"));
    if (!linear_.allFinite() || !offset_.allFinite()) throw NonFiniteInput(detail::message(fn, ": the parameters hold NaN or Inf"));
    translation_ = linear_.rows() == linear_.cols() &&
                   (linear_.array() == Matrix<Scalar>::Identity(linear_.rows(), linear_.cols()).array()).all();
  }

  Matrix<Scalar> linear_;
  Vector<Scalar> offset_;
  bool translation_ = false;
};

}  // namespace ivkit
