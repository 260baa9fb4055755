/// @file
/// Helpers shared by the readers and writers of Kaldi's model files (kaldi_gmm.hpp,
/// kaldi_ivector_extractor.hpp, kaldi_plda.hpp, kaldi_transform.hpp): the opening and closing
/// tokens with a clear message for a file holding another kind of object, fields read together with
/// their offsets, and the translation of a model constructor's complaint into a FormatError that
/// names the file and the offset of the offending field.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"

namespace ivkit::detail {

/// What an object starting with token `tok` is, for messages about a file of the wrong kind
/// (empty when unknown).
inline std::string kaldi_describe_object(const std::string& tok) {
  if (tok == "<DiagGMM>" || tok == "<DiagGMMBegin>") return "a diagonal-covariance GMM: read it with read_kaldi_diag_gmm";
  if (tok == "<FullGMM>" || tok == "<FullGMMBegin>") return "a full-covariance GMM: read it with read_kaldi_full_gmm";
  if (tok == "<IvectorExtractor>") return "an i-vector extractor: read it with read_kaldi_ivector_extractor";
  if (tok == "<Plda>") return "a PLDA model: read it with read_kaldi_plda";
  if (tok == "FM" || tok == "DM" || tok == "CM" || tok == "CM2" || tok == "CM3")
    return "a matrix: read it with read_kaldi_matrix or read_kaldi_transform";
  if (tok == "FV" || tok == "DV") return "a vector: read it with read_kaldi_vector";
  if (tok == "[" || tok == "[]") return "a text matrix or vector";
  if (tok == "<TransitionModel>") return "an acoustic model (final.mdl)";
  return "";
}

/// Reads the token that opens a model and checks it is one of `accepted` (Kaldi's current token
/// first, then its compatibility spellings).
/// @throws FormatError "expected <what> (token <T>), found '<tok>' (<what the file holds>)"
inline void kaldi_expect_model_start(KaldiInput& in, std::initializer_list<const char*> accepted, const char* what) {
  const std::uint64_t at = (in.skip_space(), in.offset());
  if (in.peek() < 0) in.fail(message("expected ", what, " (token ", *accepted.begin(), "), found the end of the data"));
  const std::string tok = in.read_token();
  for (const char* a : accepted)
    if (tok == a) return;
  std::string found = "'" + kaldi_printable(tok) + "'";
  const std::string kind = kaldi_describe_object(tok);
  if (!kind.empty()) found += " (" + kind + ")";
  in.fail_at(at, message("expected ", what, " (token ", *accepted.begin(), "), found ", found));
}

/// Reads a token that must be one of `accepted` (e.g. a closing token and its old spelling).
inline void kaldi_expect_one_of(KaldiInput& in, std::initializer_list<const char*> accepted) {
  const std::uint64_t at = (in.skip_space(), in.offset());
  const std::string tok = in.read_token();
  for (const char* a : accepted)
    if (tok == a) return;
  in.fail_at(at, message("expected token ", *accepted.begin(), ", found '", kaldi_printable(tok), "'"));
}

/// The offset of the next object (after white space): where a field starts, for later messages.
inline std::uint64_t kaldi_field_offset(KaldiInput& in) {
  in.skip_space();
  return in.offset();
}

/// Calls `make()` (a model constructor); an ivkit::Error other than a FormatError becomes a
/// FormatError at offset `at`: "the file holds an invalid <what>: <the constructor's message>".
template <class F>
auto kaldi_build_model(KaldiInput& in, std::uint64_t at, const char* what, F&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    in.fail_at(at, message("the file holds an invalid ", what, ": ", e.what()));
  }
}

/// FormatError at `at` unless every entry of `m` is finite: "<field> holds NaN or Inf (row r, column c)".
template <class Derived>
void kaldi_check_finite(KaldiInput& in, std::uint64_t at, const char* field, const Eigen::MatrixBase<Derived>& m) {
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c)
      if (!std::isfinite(static_cast<double>(m(r, c))))
        in.fail_at(at, m.cols() == 1 ? message(field, " holds NaN or Inf (entry ", r, ")")
                                     : message(field, " holds NaN or Inf (row ", r, ", column ", c, ")"));
}

/// Checks a stored Gaussian constant against the one recomputed from the parameters:
/// |stored - recomputed| <= tolerance * (1 + scale), scale being the sum of the magnitudes of the
/// terms the constant adds up (so that float rounding in Kaldi's own computation passes).
inline void kaldi_check_gconst(KaldiInput& in, std::uint64_t at, Index component, double stored, double recomputed,
                               double scale, double tolerance) {
  // Equal is equal, infinities included: a component of weight 0 has gconst -inf, in Kaldi's files too.
  if (stored == recomputed) return;
  const double diff = std::abs(stored - recomputed);
  if (!(diff <= tolerance * (1.0 + scale)))
    in.fail_at(at, message("the stored gconst of component ", component, " is ", stored, " but the parameters give ", recomputed,
                           " (difference ", diff, ", allowed ", tolerance * (1.0 + scale),
                           "; KaldiGmmReadOptions::check_gconsts = false ignores the stored constants, as Kaldi does)"));
}

/// Rejects an empty model before a writer creates its file.
inline void kaldi_require_nonempty(const char* fn, bool empty, const char* what) {
  if (empty) throw InvalidArgument(message(fn, ": the ", what, " is empty"));
}

}  // namespace ivkit::detail
