/// @file
/// Kaldi's i-vector extractor file (`final.ie`, written by ivector-extractor-init and
/// ivector-extractor-est), binary and text, read into and written from ivkit's IvectorExtractor.
///
/// Layout (Kaldi `src/ivector/ivector-extractor.cc`, IvectorExtractor::Write and Read; every
/// member is double, so a binary file holds `DM`, `DV`, `DP` and an 8-byte real):
///
///   <IvectorExtractor> <w> matrix w_ (C x R, or 0 x 0) <w_vec> vector w_vec_ (C, or empty)
///     <M> int32 C, then C matrices M_c (D x R) <SigmaInv> C packed symmetric matrices (D x D)
///     <IvectorOffset> real prior_offset </IvectorExtractor>
///
/// Kaldi's model: the supervector mean of an utterance is M_c w for component c, w ~ N(p e_1, I)
/// (p = prior_offset), frames of component c ~ N(M_c w, Sigma_c), Sigma_c = SigmaInv_c^-1, full.
/// There is no separate mean: M_c's first column times p is the mean at the prior (at
/// initialisation, the UBM mean). Kaldi's statistics are not centred (X_c = sum_t gamma_tc x_t) and
/// the posterior of w is N(L^-1 b, L^-1) with L = I + sum_c N_c M_c^T Sigma_c^-1 M_c,
/// b = p e_1 + sum_c M_c^T Sigma_c^-1 X_c (GetIvectorDistMean and GetIvectorDistPrior).
///
/// ivkit's IvectorExtractor in its KaldiOffset convention is exactly that model: m = 0, T = the
/// M_c stacked (C*D x R), prior mean (p, 0, ..., 0), Sigma_c from SigmaInv. ivkit's statistics are
/// centred on the UBM means mu_c the extractor holds; with m = 0 its linear term
/// sum_c T_c^T Sigma_c^-1 (F_c + N_c mu_c) is Kaldi's b for any mu_c, so the i-vectors are Kaldi's
/// whatever UBM the statistics were centred on, as long as the extractor is built with the same
/// means. final.ie does not hold those means: pass the UBM the statistics come from (Kaldi's
/// extract_ivectors.sh takes its posteriors from final.ubm on the 20 Gaussians its diagonal selects).
///
/// Kaldi's ivector-extract writes w - p e_1 (the offset from the prior mean); ivkit returns w:
/// subtract prior_mean()(0) from the first column, or convert the model with to_zero_mean().
///
/// The weight projection w_ (Kaldi's `--use-weights=true`, i-vector-dependent mixture weights,
/// rarely used): read and kept in KaldiIvectorExtractorData, but ivkit's extractor does not model
/// it: it extracts with the mean and prior terms only (Kaldi's starting point before its
/// weight-term iterations), so its i-vectors differ from Kaldi's for such a model: to_extractor()
/// refuses it unless KaldiExtractorReadOptions::ignore_ivector_dependent_weights. w_vec_ (the UBM weights
/// copied at initialisation; Kaldi uses them only in its objective and prior update) becomes the
/// weights of ivkit's approximate extraction (Glembek et al.).
///
/// Writing an ivkit model needs the KaldiOffset convention (m = 0, prior mean on the first axis):
/// Kaldi's format has no separate mean. w_ is written empty (0 x 0: the weights do not depend on
/// the i-vector), w_vec_ as the UBM weights the caller passes, M_c in double, SigmaInv_c the
/// inverse covariances. to_kaldi_offset() converts a model in another convention.
#pragma once

#include <Eigen/Cholesky>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/large_buffer.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/io/detail/kaldi_models.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/ivector/extractor.hpp"

namespace ivkit {

/// Which covariance form the ivkit extractor built from a Kaldi file gets.
enum class KaldiExtractorCovariance {
  Auto,  ///< diagonal when every stored SigmaInv is exactly diagonal, else full
  Full,  ///< always full (as Kaldi stores them)
};

struct KaldiExtractorReadOptions {
  KaldiExtractorCovariance covariance = KaldiExtractorCovariance::Auto;
  /// A model trained with `--use-weights=true` (w_ is C x R) is refused, since ivkit's extractor has
  /// no weight term and its i-vectors would differ from Kaldi's. Set this to extract with the mean
  /// and prior terms only (Kaldi's starting point before its weight-term iterations).
  bool ignore_ivector_dependent_weights = false;
};

/// The contents of a Kaldi `final.ie`, as stored (converted to S).
template <class S>
struct KaldiIvectorExtractorData {
  IVKIT_CHECK_SCALAR(S);

  Matrix<S> weight_projection;          ///< Kaldi's w_: C x R with i-vector-dependent weights, else 0 x 0
  Vector<S> weights;                    ///< Kaldi's w_vec_: C (the UBM weights at initialisation), or empty
  Matrix<S> M;                          ///< (C*D x R): rows [c D, (c+1) D) are Kaldi's M_c
  std::vector<ColMatrix<S>> sigma_inv;  ///< C inverse covariances (D x D)
  double prior_offset = 0.0;            ///< p: the prior mean is (p, 0, ..., 0)

  Index num_components() const { return static_cast<Index>(sigma_inv.size()); }
  Index dim() const { return sigma_inv.empty() ? 0 : sigma_inv.front().rows(); }
  Index ivector_dim() const { return M.cols(); }
  /// Kaldi's IvectorDependentWeights(): w_ is not empty.
  bool ivector_dependent_weights() const { return weight_projection.rows() != 0; }
  /// True when every SigmaInv_c is exactly diagonal.
  bool diagonal() const {
    for (const auto& P : sigma_inv)
      for (Index j = 0; j < P.cols(); ++j)
        for (Index i = 0; i < P.rows(); ++i)
          if (i != j && P(i, j) != S(0)) return false;
    return true;
  }

  /// ivkit's extractor (KaldiOffset convention) for statistics centred on `ubm_means` (C x D).
  /// Approximate extraction weights: w_vec_ when it holds C positive-sum entries, else uniform.
  /// @throws DimensionMismatch (ubm_means of another shape), NumericalError (a SigmaInv that is not
  ///         positive definite), InvalidArgument (non-finite parameters)
  IvectorExtractor<S> to_extractor(const Matrix<S>& ubm_means, const KaldiExtractorReadOptions& opts = {}) const& {
    Matrix<S> T = M;
    return build(ubm_means, std::move(T), opts);
  }
  /// The same, moving M into the extractor (no copy of the largest part).
  IvectorExtractor<S> to_extractor(const Matrix<S>& ubm_means, const KaldiExtractorReadOptions& opts = {}) && {
    return build(ubm_means, std::move(M), opts);
  }

 private:
  IvectorExtractor<S> build(const Matrix<S>& ubm_means, Matrix<S> T, const KaldiExtractorReadOptions& opts) const {
    constexpr const char* fn = "KaldiIvectorExtractorData::to_extractor";
    const Index C = num_components(), D = dim(), R = T.cols();
    if (C < 1 || D < 1 || R < 1 || T.rows() != C * D)
      throw DimensionMismatch(detail::message(fn, ": M is ", T.rows(), " x ", R, " for ", C, " inverse covariances of dimension ", D));
    if (ubm_means.rows() != C || ubm_means.cols() != D)
      throw DimensionMismatch(detail::message(fn, ": the UBM means are ", ubm_means.rows(), " x ", ubm_means.cols(),
                                              " but the extractor has C = ", C, ", D = ", D));
    if (ivector_dependent_weights() && !opts.ignore_ivector_dependent_weights)
      throw InvalidArgument(detail::message(fn, ": the extractor has i-vector-dependent weights (Kaldi's --use-weights=true, w_ is ",
                                            weight_projection.rows(), " x ", weight_projection.cols(),
                                            "), which ivkit does not model: its i-vectors would differ from Kaldi's. Train it with "
                                            "--use-weights=false (Kaldi's default), or set ignore_ivector_dependent_weights"));
    Vector<S> prior = Vector<S>::Zero(R);
    prior(0) = static_cast<S>(prior_offset);
    Matrix<S> m = Matrix<S>::Zero(C, D);
    IvectorExtractor<S> out;
    if (opts.covariance == KaldiExtractorCovariance::Auto && diagonal()) {
      Matrix<S> variances(C, D);
      for (Index c = 0; c < C; ++c)
        for (Index d = 0; d < D; ++d)
          variances(c, d) = static_cast<S>(1.0 / static_cast<double>(sigma_inv[static_cast<std::size_t>(c)](d, d)));
      out = IvectorExtractor<S>(ubm_means, std::move(m), std::move(T), std::move(variances), std::move(prior));
    } else {
      std::vector<ColMatrix<S>> covs;
      covs.reserve(static_cast<std::size_t>(C));
      for (Index c = 0; c < C; ++c) {
        const ColMatrix<double> P = sigma_inv[static_cast<std::size_t>(c)].template cast<double>();
        Eigen::LLT<ColMatrix<double>> llt(P);
        if (llt.info() != Eigen::Success)
          throw NumericalError(detail::message(fn, ": SigmaInv of component ", c, " is not positive definite"));
        ColMatrix<double> cov = llt.solve(ColMatrix<double>::Identity(D, D));
        covs.push_back((0.5 * (cov + cov.transpose())).template cast<S>());
      }
      out = IvectorExtractor<S>(ubm_means, std::move(m), std::move(T), std::move(covs), std::move(prior));
    }
    if (!ivector_dependent_weights() && weights.size() == C && weights.allFinite() && (weights.array() >= S(0)).all() &&
        weights.template cast<double>().sum() > 0)
      out.set_approximation_weights(weights);
    return out;
  }
};

namespace detail {

/// Writes the parts of an extractor in Kaldi's layout: `block(c)` gives M_c (D x R, any Eigen
/// expression) and `precision(c)` SigmaInv_c; everything is written as double.
template <class W, class WV, class Block, class Precision>
void kaldi_write_extractor_parts(KaldiOutput& out, const Eigen::MatrixBase<W>& w, const Eigen::MatrixBase<WV>& w_vec, Index C,
                                 Block&& block, Precision&& precision, double prior_offset) {
  out.write_token("<IvectorExtractor>");
  out.write_token("<w>");
  write_kaldi_matrix(out, w.template cast<double>());
  out.write_token("<w_vec>");
  write_kaldi_vector(out, w_vec.template cast<double>());
  out.write_token("<M>");
  out.write_int(static_cast<std::int32_t>(C));
  for (Index c = 0; c < C; ++c) write_kaldi_matrix(out, block(c).template cast<double>());
  out.write_token("<SigmaInv>");
  for (Index c = 0; c < C; ++c) write_kaldi_sp_matrix(out, precision(c));
  out.write_token("<IvectorOffset>");
  out.write_real(prior_offset);
  out.write_token("</IvectorExtractor>");
}

}  // namespace detail

/// Reads the contents of a Kaldi IvectorExtractor from `in` (its mode already set).
/// @throws FormatError naming the source and offset: another kind of object, wrong tokens, no
///         components, M_c or SigmaInv_c of inconsistent sizes, a SigmaInv that is not positive
///         definite, non-finite values, w_ or w_vec_ of the wrong size, truncation
template <class S>
KaldiIvectorExtractorData<S> read_kaldi_ivector_extractor_data(KaldiInput& in) {
  IVKIT_CHECK_SCALAR(S);
  KaldiIvectorExtractorData<S> x;
  detail::kaldi_expect_model_start(in, {"<IvectorExtractor>"}, "an i-vector extractor");
  in.expect_token("<w>");
  const std::uint64_t w_at = detail::kaldi_field_offset(in);
  x.weight_projection = read_kaldi_matrix<S>(in);
  detail::kaldi_check_finite(in, w_at, "<w>", x.weight_projection);
  in.expect_token("<w_vec>");
  const std::uint64_t wv_at = detail::kaldi_field_offset(in);
  x.weights = read_kaldi_vector<S>(in);
  detail::kaldi_check_finite(in, wv_at, "<w_vec>", x.weights);
  in.expect_token("<M>");
  const std::uint64_t size_at = detail::kaldi_field_offset(in);
  const std::int32_t C32 = in.read_int<std::int32_t>();
  if (C32 < 1) in.fail_at(size_at, detail::message("the extractor has ", C32, " components; it needs at least one"));
  const Index C = C32;
  Index D = 0, R = 0;
  for (Index c = 0; c < C; ++c) {
    const std::uint64_t at = detail::kaldi_field_offset(in);
    Matrix<S> Mc = read_kaldi_matrix<S>(in);
    if (c == 0) {
      D = Mc.rows();
      R = Mc.cols();
      if (D < 1 || R < 1) in.fail_at(at, detail::message("M of component 0 is ", D, " x ", R, "; it must be D x R with D, R >= 1"));
      // The other C - 1 matrices need at least 4 bytes per value in binary ("FM" data), 2 in text
      // ("0 "): checked before M is allocated, so a corrupt count cannot cause a huge allocation.
      in.require_array(std::uint64_t(C - 1) * std::uint64_t(D), std::uint64_t(R) * (in.binary() ? 4 : 2),
                       detail::message("the ", C - 1, " further matrices of <M>"));
      x.M.resize(C * D, R);
      detail::prepare_large_table(x.M.data(), sizeof(S) * static_cast<std::size_t>(x.M.size()));
    } else if (Mc.rows() != D || Mc.cols() != R) {
      in.fail_at(at, detail::message("M of component ", c, " is ", Mc.rows(), " x ", Mc.cols(), " but M of component 0 is ", D, " x ", R));
    }
    detail::kaldi_check_finite(in, at, detail::message("M of component ", c).c_str(), Mc);
    x.M.middleRows(c * D, D) = Mc;
  }
  in.expect_token("<SigmaInv>");
  x.sigma_inv.reserve(static_cast<std::size_t>(C));
  for (Index c = 0; c < C; ++c) {
    const std::uint64_t at = detail::kaldi_field_offset(in);
    ColMatrix<S> P = read_kaldi_sp_matrix<S>(in);
    if (P.rows() != D)
      in.fail_at(at, detail::message("SigmaInv of component ", c, " is ", P.rows(), " x ", P.cols(), " but the feature dimension is ", D));
    detail::kaldi_check_finite(in, at, detail::message("SigmaInv of component ", c).c_str(), P);
    if (Eigen::LLT<ColMatrix<double>>(P.template cast<double>()).info() != Eigen::Success)
      in.fail_at(at, detail::message("SigmaInv of component ", c, " is not positive definite"));
    x.sigma_inv.push_back(std::move(P));
  }
  in.expect_token("<IvectorOffset>");
  const std::uint64_t offset_at = detail::kaldi_field_offset(in);
  x.prior_offset = in.read_real<double>();
  if (!std::isfinite(x.prior_offset)) in.fail_at(offset_at, detail::message("the prior offset is ", x.prior_offset));
  in.expect_token("</IvectorExtractor>");
  if (x.weight_projection.rows() != 0 && (x.weight_projection.rows() != C || x.weight_projection.cols() != R))
    in.fail_at(w_at, detail::message("<w> is ", x.weight_projection.rows(), " x ", x.weight_projection.cols(), " but the extractor has C = ",
                                     C, ", R = ", R));
  if (x.weights.size() != 0 && x.weights.size() != C)
    in.fail_at(wv_at, detail::message("<w_vec> has ", x.weights.size(), " entries but the extractor has C = ", C));
  return x;
}

/// Reads a Kaldi `final.ie` as stored (`path`, `path:offset`, or `-`; binary or text).
/// @throws IoError, FormatError (the message names the file and offset)
template <class S>
KaldiIvectorExtractorData<S> read_kaldi_ivector_extractor_data(const std::string& rxfilename) {
  return read_kaldi_object("read_kaldi_ivector_extractor", rxfilename,
                           [](KaldiInput& in) { return read_kaldi_ivector_extractor_data<S>(in); });
}

/// Reads a Kaldi `final.ie` into ivkit's extractor (KaldiOffset convention) for statistics centred
/// on `ubm_means` (C x D): the means of the UBM the statistics come from.
/// @throws IoError, FormatError, DimensionMismatch (the UBM has another C or D; names the file)
template <class S>
IvectorExtractor<S> read_kaldi_ivector_extractor(const std::string& rxfilename, const Matrix<S>& ubm_means,
                                                 const KaldiExtractorReadOptions& opts = {}) {
  KaldiIvectorExtractorData<S> x = read_kaldi_ivector_extractor_data<S>(rxfilename);
  if (ubm_means.rows() != x.num_components() || ubm_means.cols() != x.dim())
    throw DimensionMismatch(detail::message("read_kaldi_ivector_extractor: '", rxfilename, "' has C = ", x.num_components(), ", D = ", x.dim(),
                                            " but the UBM has C = ", ubm_means.rows(), ", D = ", ubm_means.cols()));
  try {
    return std::move(x).to_extractor(ubm_means, opts);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(detail::message("read_kaldi_ivector_extractor: '", rxfilename, "': ", e.what()));
  }
}

/// Reads a Kaldi `final.ie` for statistics computed with `ubm` (Kaldi's final.ubm).
template <class S>
IvectorExtractor<S> read_kaldi_ivector_extractor(const std::string& rxfilename, const FullGmm<S>& ubm,
                                                 const KaldiExtractorReadOptions& opts = {}) {
  return read_kaldi_ivector_extractor<S>(rxfilename, ubm.means(), opts);
}

/// Reads a Kaldi `final.ie` for statistics computed with a diagonal `ubm` (Kaldi's final.dubm).
template <class S>
IvectorExtractor<S> read_kaldi_ivector_extractor(const std::string& rxfilename, const DiagGmm<S>& ubm,
                                                 const KaldiExtractorReadOptions& opts = {}) {
  return read_kaldi_ivector_extractor<S>(rxfilename, ubm.means(), opts);
}

/// Writes the contents of a Kaldi extractor as they are (w_ included) in the mode of `out`.
/// @throws InvalidArgument (parts of inconsistent sizes), IoError
template <class S>
void write_kaldi_ivector_extractor(KaldiOutput& out, const KaldiIvectorExtractorData<S>& x) {
  const Index C = x.num_components(), D = x.dim(), R = x.ivector_dim();
  if (C < 1 || D < 1 || R < 1 || x.M.rows() != C * D)
    throw InvalidArgument(detail::message(out.function(), ": M is ", x.M.rows(), " x ", R, " for ", C, " inverse covariances of dimension ", D));
  for (const auto& P : x.sigma_inv)
    if (P.rows() != D || P.cols() != D)
      throw InvalidArgument(detail::message(out.function(), ": an inverse covariance is ", P.rows(), " x ", P.cols(), " but D = ", D));
  if ((x.weight_projection.size() != 0 && (x.weight_projection.rows() != C || x.weight_projection.cols() != R)) ||
      (x.weights.size() != 0 && x.weights.size() != C))
    throw InvalidArgument(detail::message(out.function(), ": w is ", x.weight_projection.rows(), " x ", x.weight_projection.cols(),
                                          " and w_vec has ", x.weights.size(), " entries for C = ", C, ", R = ", R));
  detail::kaldi_write_extractor_parts(
      out, x.weight_projection, x.weights, C, [&](Index c) { return x.M.middleRows(c * D, D); },
      [&](Index c) { return x.sigma_inv[static_cast<std::size_t>(c)].template cast<double>(); }, x.prior_offset);
}

/// Writes the contents of a Kaldi extractor to a file (atomically) or stdout (`-`).
template <class S>
void write_kaldi_ivector_extractor(const std::string& wxfilename, const KaldiIvectorExtractorData<S>& x, bool binary = true) {
  write_kaldi_object("write_kaldi_ivector_extractor", wxfilename, binary,
                     [&](KaldiOutput& out) { write_kaldi_ivector_extractor(out, x); });
}

namespace detail {

template <class S, class DW>
void kaldi_check_writable_extractor(const char* fn, const IvectorExtractor<S>& ex, const Eigen::MatrixBase<DW>& ubm_weights) {
  if (ex.num_components() == 0) throw InvalidArgument(message(fn, ": the extractor is empty"));
  const Index R = ex.ivector_dim();
  if (!ex.m().isZero(0) || (R > 1 && !ex.prior_mean().tail(R - 1).isZero(0)))
    throw InvalidArgument(message(fn, ": Kaldi's extractor has no mean term: the model must be in the KaldiOffset convention "
                                      "(m = 0, prior mean (p, 0, ..., 0)); convert it with to_kaldi_offset()"));
  if (ubm_weights.size() != ex.num_components())
    throw DimensionMismatch(message(fn, ": ", ubm_weights.size(), " UBM weights for ", ex.num_components(), " components"));
  for (Index c = 0; c < ubm_weights.size(); ++c) {
    const double w = ubm_weights.derived().coeff(c);
    if (!(std::isfinite(w) && w > 0)) throw InvalidArgument(message(fn, ": UBM weight ", c, " is ", w, "; weights must be positive and finite"));
  }
}

}  // namespace detail

/// Writes ivkit's extractor in Kaldi's layout in the mode of `out`: w_ empty, w_vec_ =
/// `ubm_weights` (C; the UBM's weights, as ivector-extractor-init stores them), M_c = T_c,
/// SigmaInv_c = Sigma_c^-1, prior offset = prior_mean()(0).
/// @throws InvalidArgument (a model not in the KaldiOffset convention, invalid weights),
///         DimensionMismatch (C weights needed), NumericalError (a covariance that is not positive definite), IoError
template <class S, class DW>
void write_kaldi_ivector_extractor(KaldiOutput& out, const IvectorExtractor<S>& ex, const Eigen::MatrixBase<DW>& ubm_weights) {
  detail::kaldi_check_writable_extractor(out.function(), ex, ubm_weights);
  const Index C = ex.num_components(), D = ex.dim();
  detail::kaldi_write_extractor_parts(
      out, Matrix<double>(0, 0), ubm_weights, C, [&](Index c) { return ex.T_block(c); },
      [&](Index c) -> ColMatrix<double> {
        if (!ex.full_covariance())
          return ex.variances().row(c).transpose().template cast<double>().cwiseInverse().asDiagonal().toDenseMatrix();
        Eigen::LLT<ColMatrix<double>> llt(ex.covariances()[static_cast<std::size_t>(c)].template cast<double>());
        if (llt.info() != Eigen::Success)
          throw NumericalError(detail::message(out.function(), ": the covariance of component ", c, " is not positive definite"));
        ColMatrix<double> P = llt.solve(ColMatrix<double>::Identity(D, D));
        return 0.5 * (P + P.transpose());
      },
      static_cast<double>(ex.prior_mean()(0)));
}

/// Writes ivkit's extractor as a Kaldi `final.ie` (atomically) or to stdout (`-`); Kaldi's
/// ivector-extract and ivector-extractor-est read it.
/// @throws as above, checked before the file is created
template <class S, class DW>
void write_kaldi_ivector_extractor(const std::string& wxfilename, const IvectorExtractor<S>& ex, const Eigen::MatrixBase<DW>& ubm_weights,
                                   bool binary = true) {
  detail::kaldi_check_writable_extractor("write_kaldi_ivector_extractor", ex, ubm_weights);
  write_kaldi_object("write_kaldi_ivector_extractor", wxfilename, binary,
                     [&](KaldiOutput& out) { write_kaldi_ivector_extractor(out, ex, ubm_weights); });
}

/// A model Kaldi's format can hold, from an extractor in any convention. A model already in the
/// KaldiOffset convention is returned unchanged. Otherwise the mean supervector s = m + T mu_w
/// becomes an extra first i-vector dimension, as Kaldi's ivector-extractor-init builds it:
/// T' = [s / p, T] (R + 1 columns), m' = 0, prior mean (p, 0, ..., 0). This is not exactly the same
/// model: the first coordinate has prior N(p, 1), so the mean direction gets prior variance
/// |s_c|^2 / p^2 that the original model does not have; the larger p, the closer the other R
/// coordinates of the i-vectors come to the original ones minus mu_w (Kaldi's own models carry this
/// dimension from initialisation). The UBM means, covariances and approximation weights are kept.
/// @throws InvalidArgument when prior_offset is not positive and finite
template <class S>
IvectorExtractor<S> to_kaldi_offset(const IvectorExtractor<S>& ex, double prior_offset = 100.0) {
  if (!(std::isfinite(prior_offset) && prior_offset > 0))
    throw InvalidArgument(detail::message("to_kaldi_offset: prior_offset must be positive and finite, got ", prior_offset));
  const Index R = ex.ivector_dim();
  if (ex.m().isZero(0) && (R <= 1 || ex.prior_mean().tail(R - 1).isZero(0))) return ex;
  const Index C = ex.num_components(), D = ex.dim();
  Matrix<S> T(C * D, R + 1);
  const Eigen::VectorXd shift = ex.T().template cast<double>() * ex.prior_mean().template cast<double>();
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d)
      T(c * D + d, 0) = static_cast<S>((static_cast<double>(ex.m()(c, d)) + shift(c * D + d)) / prior_offset);
  T.rightCols(R) = ex.T();
  Vector<S> prior = Vector<S>::Zero(R + 1);
  prior(0) = static_cast<S>(prior_offset);
  return ex.rebuild(Matrix<S>::Zero(C, D), std::move(T), std::move(prior));
}

}  // namespace ivkit
