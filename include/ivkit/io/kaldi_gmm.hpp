/// @file
/// Kaldi's GMM files, binary and text: `DiagGmm` (`final.dubm`, written by gmm-global-*) and
/// `FullGmm` (`final.ubm`, written by fgmm-global-*), read into and written from ivkit's DiagGmm
/// and FullGmm.
///
/// Layout (Kaldi `src/gmm/diag-gmm.cc` and `full-gmm.cc`, Write and Read):
///
///   <DiagGMM> [\n in text] <GCONSTS> vector(C) <WEIGHTS> vector(C)
///     <MEANS_INVVARS> matrix(C x D) <INV_VARS> matrix(C x D) </DiagGMM> [\n in text]
///   <FullGMM> [\n in text] <GCONSTS> vector(C) <WEIGHTS> vector(C)
///     <MEANS_INVCOVARS> matrix(C x D) <INV_COVARS> C packed symmetric matrices (D x D) </FullGMM> [\n]
///
/// Kaldi keeps means times inverse (co)variances and inverse (co)variances; the gconsts are
/// log w_c - 0.5 (D log 2 pi + log|Sigma_c| + mu_c^T Sigma_c^-1 mu_c). `<GCONSTS>` is optional on
/// reading, and `<DiagGMMBegin>`/`<DiagGMMEnd>` (`<FullGMMBegin>`/`<FullGMMEnd>`) are accepted for
/// `<DiagGMM>`/`</DiagGMM>`, as Kaldi's readers do.
///
/// Reading: Sigma_c = inverse of the stored inverse, mu_c = Sigma_c (stored product), in double;
/// then ivkit's model is built (and recomputes its own constants). Kaldi recomputes the gconsts
/// and ignores the stored ones; ivkit also compares them with the recomputed ones (see
/// KaldiGmmReadOptions) to catch files whose parts disagree. Kaldi does not require the weights to
/// sum to one, and its programs write models whose weights do not: a text file has 7 significant
/// digits, and gmm-global-init-from-feats or gmm-global-est with --min-gaussian-weight raise small
/// weights without lowering the others (sums of 1.0155 are seen on little data). Such weights are
/// divided by their sum (KaldiGmmReadOptions::renormalise_weights; KaldiGmmReadReport says it
/// happened): the posteriors and Gaussian selections are Kaldi's, the log-likelihoods shift by
/// -log(sum) per frame. Zero weights, which Kaldi allows (gconst -inf), are rejected: ivkit's GMMs
/// need positive weights.
///
/// Writing: the values of the model's scalar type (`FV`/`FM`/`FP` for float, as Kaldi writes its
/// BaseFloat models; `DV`/`DM`/`DP` for double, which Kaldi's readers convert), atomically.
#pragma once

#include <Eigen/Cholesky>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/detail/validation.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/io/detail/kaldi_models.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"

namespace ivkit {

/// Options of the GMM readers.
struct KaldiGmmReadOptions {
  /// Compare the stored `<GCONSTS>` with the constants recomputed from the parameters (in double)
  /// and reject the file when they disagree. Kaldi itself ignores the stored values.
  bool check_gconsts = true;
  /// Allowed |stored - recomputed| relative to 1 + the sum of the magnitudes of the terms of the
  /// constant (|log w|, D log(2 pi) / 2, |log det| / 2, the quadratic term). The default covers
  /// Kaldi's float arithmetic and 7-digit text output with room to spare; a corrupt or hand-edited
  /// file is off by orders of magnitude more.
  double gconst_tolerance = 1e-3;
  /// Divide weights that do not sum to one by their sum (see the file comment); when false, a sum
  /// that misses one by more than 1e-4 is a FormatError.
  bool renormalise_weights = true;
};

/// What a GMM reader found (optional output of the readers).
struct KaldiGmmReadReport {
  double weight_sum = 1.0;     ///< the sum of the weights as stored
  bool renormalised = false;   ///< the weights were divided by their sum
};

namespace detail {

/// Weights as ivkit's GMMs need them: divided by their sum when it misses one by more than the
/// model's tolerance (by at most 1e-4 unless `opts.renormalise_weights`); otherwise unchanged (the
/// model's constructor judges them).
template <class S>
Vector<double> kaldi_gmm_weights(const Vector<double>& w, const KaldiGmmReadOptions& opts, KaldiGmmReadReport* report) {
  const double sum = w.sum();
  const double miss = std::abs(sum - 1.0);
  if (report) report->weight_sum = sum;
  if (std::isfinite(sum) && miss > weight_sum_tolerance<S>() && (miss <= 1e-4 || opts.renormalise_weights) && (w.array() > 0).all() &&
      w.allFinite()) {
    if (report) report->renormalised = true;
    return w / sum;
  }
  return w;
}

/// Reads `<GCONSTS> vector` if present, then `<WEIGHTS>`; returns the gconsts (if any) and their offset.
inline std::optional<Vector<double>> kaldi_read_gconsts(KaldiInput& in, std::uint64_t& gconsts_at) {
  std::optional<Vector<double>> gconsts;
  const std::uint64_t at = kaldi_field_offset(in);
  const std::string tok = in.read_token();
  if (tok == "<GCONSTS>") {
    gconsts_at = kaldi_field_offset(in);
    gconsts = read_kaldi_vector<double>(in);
    in.expect_token("<WEIGHTS>");
  } else if (tok != "<WEIGHTS>") {
    in.fail_at(at, message("expected token <GCONSTS> or <WEIGHTS>, found '", kaldi_printable(tok), "'"));
  }
  return gconsts;
}

}  // namespace detail

// ---- DiagGmm ----------------------------------------------------------------------------------

/// Reads a Kaldi DiagGmm from `in` (its mode already set by the binary marker).
/// @throws FormatError naming the source and offset: another kind of object, missing or wrong
///         tokens, sizes that disagree, inverse variances that are not positive and finite, invalid
///         weights, gconsts that disagree with the parameters (see KaldiGmmReadOptions), truncation
template <class S>
DiagGmm<S> read_kaldi_diag_gmm(KaldiInput& in, const KaldiGmmReadOptions& opts = {}, KaldiGmmReadReport* report = nullptr) {
  IVKIT_CHECK_SCALAR(S);
  detail::kaldi_expect_model_start(in, {"<DiagGMM>", "<DiagGMMBegin>"}, "a diagonal-covariance GMM");
  std::uint64_t gconsts_at = 0;
  const std::optional<Vector<double>> gconsts = detail::kaldi_read_gconsts(in, gconsts_at);
  const std::uint64_t weights_at = detail::kaldi_field_offset(in);
  const Vector<double> weights = read_kaldi_vector<double>(in);
  in.expect_token("<MEANS_INVVARS>");
  const std::uint64_t miv_at = detail::kaldi_field_offset(in);
  Matrix<double> miv = read_kaldi_matrix<double>(in);
  in.expect_token("<INV_VARS>");
  const std::uint64_t iv_at = detail::kaldi_field_offset(in);
  Matrix<double> iv = read_kaldi_matrix<double>(in);
  detail::kaldi_expect_one_of(in, {"</DiagGMM>", "<DiagGMMEnd>"});

  const Index C = weights.size(), D = miv.cols();
  if (C == 0) in.fail_at(weights_at, "the GMM has no components (<WEIGHTS> is empty)");
  if (miv.rows() != C || D == 0)
    in.fail_at(miv_at, detail::message("<MEANS_INVVARS> is ", miv.rows(), " x ", miv.cols(), " but there are ", C, " weights"));
  if (iv.rows() != C || iv.cols() != D)
    in.fail_at(iv_at, detail::message("<INV_VARS> is ", iv.rows(), " x ", iv.cols(), " but <MEANS_INVVARS> is ", C, " x ", D));
  if (gconsts && gconsts->size() != C)
    in.fail_at(gconsts_at, detail::message("<GCONSTS> has ", gconsts->size(), " entries but there are ", C, " weights"));
  detail::kaldi_check_finite(in, miv_at, "<MEANS_INVVARS>", miv);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d)
      if (!(std::isfinite(iv(c, d)) && iv(c, d) > 0))
        in.fail_at(iv_at, detail::message("the inverse variance of component ", c, ", dimension ", d, " is ", iv(c, d),
                                          "; it must be positive and finite"));

  // Kaldi's ComputeGconsts, in double, from the file's own values; compared once the model is
  // built (its own checks come first), while the two matrices become the variances and the
  // means in place (a 2,048 x 60 model held four double copies at once: 4 MB).
  Eigen::VectorXd recomputed, scales;
  if (gconsts && opts.check_gconsts) {
    const double half_log_2pi = 0.5 * static_cast<double>(D) * kLog2Pi;
    recomputed.resize(C);
    scales.resize(C);
    for (Index c = 0; c < C; ++c) {
      const double log_w = std::log(weights(c));
      double g = log_w - half_log_2pi, scale = std::abs(log_w) + half_log_2pi;
      for (Index d = 0; d < D; ++d) {
        const double half_log_iv = 0.5 * std::log(iv(c, d)), quad = 0.5 * miv(c, d) * miv(c, d) / iv(c, d);
        g += half_log_iv - quad;
        scale += std::abs(half_log_iv) + quad;
      }
      recomputed(c) = g;
      scales(c) = scale;
    }
  }
  Matrix<double>& variances = iv;
  Matrix<double>& means = miv;
  variances = variances.cwiseInverse();
  means = means.cwiseProduct(variances);
  DiagGmm<S> gmm = detail::kaldi_build_model(in, weights_at, "diagonal-covariance GMM", [&] {
    return DiagGmm<S>(detail::kaldi_gmm_weights<S>(weights, opts, report).template cast<S>(), means.template cast<S>(), variances.template cast<S>());
  });
  if (gconsts && opts.check_gconsts)
    for (Index c = 0; c < C; ++c) detail::kaldi_check_gconst(in, gconsts_at, c, (*gconsts)(c), recomputed(c), scales(c), opts.gconst_tolerance);
  return gmm;
}

/// Reads a Kaldi DiagGmm file (`final.dubm`): `path`, `path:offset`, or `-` for stdin; binary or text.
/// @throws IoError (cannot open), FormatError (see above; the message names the file and offset)
template <class S>
DiagGmm<S> read_kaldi_diag_gmm(const std::string& rxfilename, const KaldiGmmReadOptions& opts = {}, KaldiGmmReadReport* report = nullptr) {
  return read_kaldi_object("read_kaldi_diag_gmm", rxfilename, [&](KaldiInput& in) { return read_kaldi_diag_gmm<S>(in, opts, report); });
}

/// Writes `gmm` as a Kaldi DiagGmm in the mode of `out` (after the binary marker).
/// @throws InvalidArgument for an empty model, IoError when the stream fails
template <class S>
void write_kaldi_diag_gmm(KaldiOutput& out, const DiagGmm<S>& gmm) {
  detail::kaldi_require_nonempty(out.function(), gmm.empty(), "GMM");
  out.write_token("<DiagGMM>");
  if (!out.binary()) out.write_char('\n');
  out.write_token("<GCONSTS>");
  write_kaldi_vector(out, gmm.gconsts());
  out.write_token("<WEIGHTS>");
  write_kaldi_vector(out, gmm.weights());
  out.write_token("<MEANS_INVVARS>");
  write_kaldi_matrix(out, gmm.means_inv_variances());
  out.write_token("<INV_VARS>");
  write_kaldi_matrix(out, gmm.inv_variances());
  out.write_token("</DiagGMM>");
  if (!out.binary()) out.write_char('\n');
}

/// Writes a Kaldi DiagGmm file (atomically: temporary file, then rename) or stdout (`-`); Kaldi's
/// gmm-global-* tools read it.
/// @throws InvalidArgument (empty model, a pipe), IoError
template <class S>
void write_kaldi_diag_gmm(const std::string& wxfilename, const DiagGmm<S>& gmm, bool binary = true) {
  detail::kaldi_require_nonempty("write_kaldi_diag_gmm", gmm.empty(), "GMM");
  write_kaldi_object("write_kaldi_diag_gmm", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_diag_gmm(out, gmm); });
}

// ---- FullGmm ----------------------------------------------------------------------------------

/// Reads a Kaldi FullGmm from `in` (its mode already set by the binary marker).
/// @throws FormatError naming the source and offset (as read_kaldi_diag_gmm; also an inverse
///         covariance that is not positive definite)
template <class S>
FullGmm<S> read_kaldi_full_gmm(KaldiInput& in, const KaldiGmmReadOptions& opts = {}, KaldiGmmReadReport* report = nullptr) {
  IVKIT_CHECK_SCALAR(S);
  detail::kaldi_expect_model_start(in, {"<FullGMM>", "<FullGMMBegin>"}, "a full-covariance GMM");
  std::uint64_t gconsts_at = 0;
  const std::optional<Vector<double>> gconsts = detail::kaldi_read_gconsts(in, gconsts_at);
  const std::uint64_t weights_at = detail::kaldi_field_offset(in);
  const Vector<double> weights = read_kaldi_vector<double>(in);
  in.expect_token("<MEANS_INVCOVARS>");
  const std::uint64_t miv_at = detail::kaldi_field_offset(in);
  const Matrix<double> miv = read_kaldi_matrix<double>(in);
  const Index C = weights.size(), D = miv.cols();
  if (C == 0) in.fail_at(weights_at, "the GMM has no components (<WEIGHTS> is empty)");
  if (miv.rows() != C || D == 0)
    in.fail_at(miv_at, detail::message("<MEANS_INVCOVARS> is ", miv.rows(), " x ", miv.cols(), " but there are ", C, " weights"));
  if (gconsts && gconsts->size() != C)
    in.fail_at(gconsts_at, detail::message("<GCONSTS> has ", gconsts->size(), " entries but there are ", C, " weights"));
  detail::kaldi_check_finite(in, miv_at, "<MEANS_INVCOVARS>", miv);
  in.expect_token("<INV_COVARS>");

  Matrix<double> means(C, D);
  std::vector<ColMatrix<S>> covariances;
  covariances.reserve(static_cast<std::size_t>(C));
  Vector<double> recomputed(C), scales(C);
  const double half_log_2pi = 0.5 * static_cast<double>(D) * kLog2Pi;
  for (Index c = 0; c < C; ++c) {
    const std::uint64_t at = detail::kaldi_field_offset(in);
    const ColMatrix<double> P = read_kaldi_sp_matrix<double>(in);
    if (P.rows() != D)
      in.fail_at(at, detail::message("the inverse covariance of component ", c, " is ", P.rows(), " x ", P.cols(),
                                     " but the feature dimension is ", D));
    detail::kaldi_check_finite(in, at, "an inverse covariance", P);
    Eigen::LLT<ColMatrix<double>> llt(P);
    if (llt.info() != Eigen::Success || !(llt.matrixL().toDenseMatrix().diagonal().array() > 0).all())
      in.fail_at(at, detail::message("the inverse covariance of component ", c, " is not positive definite"));
    ColMatrix<double> cov = llt.solve(ColMatrix<double>::Identity(D, D));
    cov = (0.5 * (cov + cov.transpose())).eval();
    const Eigen::VectorXd m = miv.row(c).transpose();
    const Eigen::VectorXd mu = cov * m;
    means.row(c) = mu.transpose();
    // Kaldi's FullGmm::ComputeGconsts in double: log w - D log(2 pi)/2 + log|P|/2 - m^T P^-1 m / 2.
    const Eigen::ArrayXd log_diag = llt.matrixL().toDenseMatrix().diagonal().array().log();
    const double log_w = std::log(weights(c)), quad = 0.5 * m.dot(mu);
    recomputed(c) = log_w - half_log_2pi + log_diag.sum() - quad;
    scales(c) = std::abs(log_w) + half_log_2pi + log_diag.abs().sum() + std::abs(quad);
    covariances.push_back(cov.template cast<S>());
  }
  detail::kaldi_expect_one_of(in, {"</FullGMM>", "<FullGMMEnd>"});

  FullGmm<S> gmm = detail::kaldi_build_model(in, weights_at, "full-covariance GMM", [&] {
    return FullGmm<S>(detail::kaldi_gmm_weights<S>(weights, opts, report).template cast<S>(), means.template cast<S>(), std::move(covariances));
  });
  if (gconsts && opts.check_gconsts)
    for (Index c = 0; c < C; ++c) detail::kaldi_check_gconst(in, gconsts_at, c, (*gconsts)(c), recomputed(c), scales(c), opts.gconst_tolerance);
  return gmm;
}

/// Reads a Kaldi FullGmm file (`final.ubm`): `path`, `path:offset`, or `-`; binary or text.
/// @throws IoError, FormatError (the message names the file and offset)
template <class S>
FullGmm<S> read_kaldi_full_gmm(const std::string& rxfilename, const KaldiGmmReadOptions& opts = {}, KaldiGmmReadReport* report = nullptr) {
  return read_kaldi_object("read_kaldi_full_gmm", rxfilename, [&](KaldiInput& in) { return read_kaldi_full_gmm<S>(in, opts, report); });
}

/// Writes `gmm` as a Kaldi FullGmm in the mode of `out`: gconsts, weights, P_c mu_c and the packed
/// precisions P_c (lower triangle, row by row).
/// @throws InvalidArgument for an empty model, IoError
template <class S>
void write_kaldi_full_gmm(KaldiOutput& out, const FullGmm<S>& gmm) {
  detail::kaldi_require_nonempty(out.function(), gmm.empty(), "GMM");
  const Index C = gmm.num_components(), D = gmm.dim();
  Matrix<S> miv(C, D);
  for (Index c = 0; c < C; ++c)
    miv.row(c) = (gmm.precisions()[static_cast<std::size_t>(c)].template cast<double>() * gmm.means().row(c).transpose().template cast<double>())
                     .transpose()
                     .template cast<S>();
  out.write_token("<FullGMM>");
  if (!out.binary()) out.write_char('\n');
  out.write_token("<GCONSTS>");
  write_kaldi_vector(out, gmm.gconsts());
  out.write_token("<WEIGHTS>");
  write_kaldi_vector(out, gmm.weights());
  out.write_token("<MEANS_INVCOVARS>");
  write_kaldi_matrix(out, miv);
  out.write_token("<INV_COVARS>");
  for (const auto& P : gmm.precisions()) write_kaldi_sp_matrix(out, P);
  out.write_token("</FullGMM>");
  if (!out.binary()) out.write_char('\n');
}

/// Writes a Kaldi FullGmm file (atomically) or stdout (`-`); Kaldi's fgmm-global-* tools and
/// ivector-extractor-init read it.
/// @throws InvalidArgument (empty model, a pipe), IoError
template <class S>
void write_kaldi_full_gmm(const std::string& wxfilename, const FullGmm<S>& gmm, bool binary = true) {
  detail::kaldi_require_nonempty("write_kaldi_full_gmm", gmm.empty(), "GMM");
  write_kaldi_object("write_kaldi_full_gmm", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_full_gmm(out, gmm); });
}

}  // namespace ivkit
