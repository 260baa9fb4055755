/// @file
/// Kaldi's PLDA file (`plda`, written by ivector-compute-plda, read by ivector-plda-scoring),
/// binary and text, read into and written from ivkit's Plda.
///
/// Layout (Kaldi `src/ivector/plda.cc`, Plda::Write and Read; the members are double):
///
///   <Plda> vector mean (d) matrix transform (d x d) vector psi (d) </Plda>
///
/// The same representation as ivkit's Plda: u = transform (x - mean) makes the within-class
/// covariance the identity and the between-class covariance diag(psi). Kaldi derives
/// offset = -transform mean on reading; so does ivkit's constructor. Writing always uses double
/// (`DV`, `DM`), as Kaldi does, so a float model is written exactly.
#pragma once

#include <string>

#include "ivkit/backend/plda.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/detail/kaldi_models.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"

namespace ivkit {

/// Reads a Kaldi Plda from `in` (its mode already set by the binary marker).
/// @throws FormatError naming the source and offset: another kind of object, wrong tokens, sizes
///         that disagree, a negative psi, a singular transform, NaN or Inf, truncation
template <class S>
Plda<S> read_kaldi_plda(KaldiInput& in) {
  IVKIT_CHECK_SCALAR(S);
  detail::kaldi_expect_model_start(in, {"<Plda>"}, "a PLDA model");
  const std::uint64_t mean_at = detail::kaldi_field_offset(in);
  Vector<double> mean = read_kaldi_vector<double>(in);
  const std::uint64_t transform_at = detail::kaldi_field_offset(in);
  Matrix<double> transform = read_kaldi_matrix<double>(in);
  const std::uint64_t psi_at = detail::kaldi_field_offset(in);
  Vector<double> psi = read_kaldi_vector<double>(in);
  in.expect_token("</Plda>");
  const Index d = mean.size();
  if (d == 0) in.fail_at(mean_at, "the PLDA model has dimension 0");
  if (transform.rows() != d || transform.cols() != d)
    in.fail_at(transform_at, detail::message("the transform is ", transform.rows(), " x ", transform.cols(), " but the mean has ", d, " entries"));
  if (psi.size() != d) in.fail_at(psi_at, detail::message("psi has ", psi.size(), " entries but the mean has ", d));
  detail::kaldi_check_finite(in, mean_at, "the mean", mean);
  detail::kaldi_check_finite(in, transform_at, "the transform", transform);
  detail::kaldi_check_finite(in, psi_at, "psi", psi);
  for (Index i = 0; i < d; ++i)
    if (psi(i) < 0) in.fail_at(psi_at, detail::message("psi(", i, ") = ", psi(i), " is negative"));
  return detail::kaldi_build_model(in, transform_at, "PLDA model", [&] {
    return Plda<S>(mean.template cast<S>(), ColMatrix<S>(transform.template cast<S>()), psi.template cast<S>());
  });
}

/// Reads a Kaldi PLDA file (`path`, `path:offset`, or `-`; binary or text).
/// @throws IoError, FormatError (the message names the file and offset)
template <class S>
Plda<S> read_kaldi_plda(const std::string& rxfilename) {
  return read_kaldi_object("read_kaldi_plda", rxfilename, [](KaldiInput& in) { return read_kaldi_plda<S>(in); });
}

/// Writes `plda` in Kaldi's layout (double values) in the mode of `out`.
/// @throws InvalidArgument for an empty model, IoError
template <class S>
void write_kaldi_plda(KaldiOutput& out, const Plda<S>& plda) {
  detail::kaldi_require_nonempty(out.function(), plda.dim() == 0, "PLDA model");
  out.write_token("<Plda>");
  write_kaldi_vector(out, plda.mean().template cast<double>());
  write_kaldi_matrix(out, plda.transform().template cast<double>());
  write_kaldi_vector(out, plda.psi().template cast<double>());
  out.write_token("</Plda>");
}

/// Writes a Kaldi PLDA file (atomically) or stdout (`-`); Kaldi's ivector-plda-scoring reads it.
/// @throws InvalidArgument (empty model, a pipe), IoError
template <class S>
void write_kaldi_plda(const std::string& wxfilename, const Plda<S>& plda, bool binary = true) {
  detail::kaldi_require_nonempty("write_kaldi_plda", plda.dim() == 0, "PLDA model");
  write_kaldi_object("write_kaldi_plda", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_plda(out, plda); });
}

}  // namespace ivkit
