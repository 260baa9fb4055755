/// @file
/// Kaldi's transform matrices (`transform.mat` of ivector-compute-lda, est-lda, est-pca, the
/// matrices ivector-transform and transform-vec apply) as ivkit AffineTransforms, binary and text.
///
/// A Kaldi transform file holds one matrix (`FM`/`DM`, or text), in one of two layouts:
///   linear  [A]      (out x in):       y = A x
///   affine  [A | b]  (out x (in + 1)): y = A x + b  (ivector-compute-lda writes this, with b = -A mean)
/// The file does not say which; ivector-transform and transform-vec decide by comparing the column
/// count with the dimension of the vectors: equal means linear, one more means affine.
/// read_kaldi_transform takes either the layout or that input dimension.
///
/// Writing uses the transform's scalar type (`FM` for float, Kaldi's BaseFloat; `DM` for double,
/// which Kaldi's readers convert), atomically.
#pragma once

#include <string>

#include "ivkit/backend/affine_transform.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/detail/kaldi_models.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"

namespace ivkit {

/// The layout of a Kaldi transform matrix.
enum class KaldiTransformLayout {
  Affine,  ///< [A | b] (out x (in + 1)), ivector-compute-lda's output
  Linear,  ///< [A] (out x in)
};

namespace detail {

template <class S>
AffineTransform<S> kaldi_matrix_to_transform(KaldiInput& in, std::uint64_t at, const Matrix<double>& m, KaldiTransformLayout layout) {
  if (m.rows() == 0 || (layout == KaldiTransformLayout::Affine && m.cols() < 2))
    in.fail_at(at, message("a ", m.rows(), " x ", m.cols(), " matrix is not ",
                           layout == KaldiTransformLayout::Affine ? "an affine transform [A | b]" : "a linear transform [A]"));
  kaldi_check_finite(in, at, "the transform", m);
  if (layout == KaldiTransformLayout::Affine) return AffineTransform<S>(m.leftCols(m.cols() - 1), m.col(m.cols() - 1));
  return AffineTransform<S>(m);
}

}  // namespace detail

/// Reads a transform matrix from `in` (its mode already set) in the given layout.
/// @throws FormatError naming the source and offset (not a matrix, an empty matrix, an affine
///         matrix with fewer than 2 columns, NaN or Inf, truncation)
template <class S>
AffineTransform<S> read_kaldi_transform(KaldiInput& in, KaldiTransformLayout layout = KaldiTransformLayout::Affine) {
  IVKIT_CHECK_SCALAR(S);
  const std::uint64_t at = detail::kaldi_field_offset(in);
  return detail::kaldi_matrix_to_transform<S>(in, at, read_kaldi_matrix<double>(in), layout);
}

/// Reads a Kaldi transform file (`path`, `path:offset`, or `-`; binary, text or compressed) in the
/// given layout (default [A | b], as ivector-compute-lda writes it).
/// @throws IoError, FormatError (the message names the file and offset)
template <class S>
AffineTransform<S> read_kaldi_transform(const std::string& rxfilename, KaldiTransformLayout layout = KaldiTransformLayout::Affine) {
  return read_kaldi_object("read_kaldi_transform", rxfilename, [&](KaldiInput& in) { return read_kaldi_transform<S>(in, layout); });
}

/// Reads a Kaldi transform file for vectors of dimension `input_dim`, deciding the layout as
/// ivector-transform does: `input_dim` columns is [A], `input_dim + 1` columns is [A | b].
/// @throws IoError, FormatError, DimensionMismatch (any other column count; names the file)
template <class S>
AffineTransform<S> read_kaldi_transform(const std::string& rxfilename, Index input_dim) {
  return read_kaldi_object("read_kaldi_transform", rxfilename, [&](KaldiInput& in) {
    const std::uint64_t at = detail::kaldi_field_offset(in);
    const Matrix<double> m = read_kaldi_matrix<double>(in);
    if (m.cols() != input_dim && m.cols() != input_dim + 1)
      throw DimensionMismatch(detail::message(in.where(at), ": a ", m.rows(), " x ", m.cols(), " transform matrix applies to vectors of dimension ",
                                              m.cols(), " ([A]) or ", m.cols() - 1, " ([A | b]), not ", input_dim));
    return detail::kaldi_matrix_to_transform<S>(in, at, m, m.cols() == input_dim ? KaldiTransformLayout::Linear : KaldiTransformLayout::Affine);
  });
}

/// Writes `t` as a Kaldi matrix in the mode of `out`: [A | b] (Affine) or [A] (Linear, which
/// needs b = 0).
/// @throws InvalidArgument (an empty transform, Linear with a non-zero offset), IoError
template <class S>
void write_kaldi_transform(KaldiOutput& out, const AffineTransform<S>& t, KaldiTransformLayout layout = KaldiTransformLayout::Affine) {
  detail::kaldi_require_nonempty(out.function(), t.empty(), "transform");
  if (layout == KaldiTransformLayout::Linear) {
    if (!t.offset().isZero(0))
      throw InvalidArgument(detail::message(out.function(), ": the transform has a non-zero offset, which the linear layout [A] cannot hold"));
    write_kaldi_matrix(out, t.linear());
  } else {
    write_kaldi_matrix(out, t.kaldi_matrix());
  }
}

/// Writes a Kaldi transform file (atomically) or stdout (`-`), [A | b] by default.
/// @throws InvalidArgument (as above, a pipe; checked before the file is created), IoError
template <class S>
void write_kaldi_transform(const std::string& wxfilename, const AffineTransform<S>& t, bool binary = true,
                           KaldiTransformLayout layout = KaldiTransformLayout::Affine) {
  detail::kaldi_require_nonempty("write_kaldi_transform", t.empty(), "transform");
  if (layout == KaldiTransformLayout::Linear && !t.offset().isZero(0))
    throw InvalidArgument("write_kaldi_transform: the transform has a non-zero offset, which the linear layout [A] cannot hold");
  write_kaldi_object("write_kaldi_transform", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_transform(out, t, layout); });
}

}  // namespace ivkit
