/// @file
/// ivkit's own files for GMMs and i-vector extractors, in the checked model container of
/// core/serialise.hpp: saved atomically (a crash leaves the old file or the new one), loaded with
/// every size checked and every model validated (a corrupt file is a FormatError naming the file,
/// and the record or offset). A model saved in float loads as double and back. Kaldi's own model
/// files are io/kaldi_gmm.hpp, io/kaldi_ivector_extractor.hpp and io/kaldi_plda.hpp.
#pragma once

#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/ivector/extractor.hpp"

namespace ivkit {

namespace detail {

inline constexpr std::uint32_t kGmmFileVersion = 1;
inline constexpr std::uint32_t kExtractorFileVersion = 1;

/// Runs `make` (a model constructor); a model the constructor refuses becomes a FormatError that says
/// which file held it.
template <class Make>
auto build_loaded_model(const ModelReader& r, const char* what, Make&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(detail::message("ModelReader: '", r.source(), "' holds an invalid ", what, ": ", e.what()));
  }
}

/// Full covariances stacked into one (C*D x D) matrix, and back.
template <class S>
ColMatrix<S> stack_covariances(const std::vector<ColMatrix<S>>& covs, Index d) {
  ColMatrix<S> out(static_cast<Index>(covs.size()) * d, d);
  for (std::size_t c = 0; c < covs.size(); ++c) out.middleRows(static_cast<Index>(c) * d, d) = covs[c];
  return out;
}
template <class S>
std::vector<ColMatrix<S>> unstack_covariances(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& stacked, Index c, Index d) {
  std::vector<ColMatrix<S>> out(static_cast<std::size_t>(c));
  for (Index k = 0; k < c; ++k) out[static_cast<std::size_t>(k)] = stacked.middleRows(k * d, d);
  return out;
}

inline Index positive_size(const ModelReader& r, const char* name) {
  const std::int64_t v = r.integer(name);
  if (v <= 0 || v > (std::int64_t{1} << 31)) r.fail(r.offset_of(name), detail::message("record '", name, "' = ", v, " is not a valid size"));
  return static_cast<Index>(v);
}

}  // namespace detail

// Each format has four entry points: write_* / read_* on the container (ModelWriter, ModelReader:
// a file or bytes in memory, as the fuzz harness and the golden-file test use them), and save_* /
// load_* on a path.

/// Writes a diagonal GMM (kind "DiagGmm": weights, means, variances).
template <class S>
ModelWriter write_diag_gmm(const DiagGmm<S>& gmm) {
  ModelWriter w("DiagGmm", detail::kGmmFileVersion);
  w.integer("num_components", gmm.num_components()).integer("dim", gmm.dim());
  w.matrix("weights", gmm.weights()).matrix("means", gmm.means()).matrix("variances", gmm.variances());
  return w;
}

/// Reads a diagonal GMM from a container of kind "DiagGmm". @throws FormatError
template <class S>
DiagGmm<S> read_diag_gmm(const ModelReader& r) {
  const Index c = detail::positive_size(r, "num_components"), d = detail::positive_size(r, "dim");
  return detail::build_loaded_model(r, "diagonal GMM", [&] {
    return DiagGmm<S>(r.vector<S>("weights", c), r.matrix<S>("means", c, d), r.matrix<S>("variances", c, d));
  });
}

/// Saves a diagonal GMM. @throws IoError
template <class S>
void save_diag_gmm(const std::string& path, const DiagGmm<S>& gmm) {
  write_diag_gmm(gmm).save(path);
}

/// Loads a diagonal GMM saved by save_diag_gmm. @throws IoError, FormatError
template <class S>
DiagGmm<S> load_diag_gmm(const std::string& path) {
  return read_diag_gmm<S>(ModelReader(path, "DiagGmm", detail::kGmmFileVersion));
}

/// Writes a full-covariance GMM (kind "FullGmm": weights, means, covariances stacked C*D x D).
template <class S>
ModelWriter write_full_gmm(const FullGmm<S>& gmm) {
  ModelWriter w("FullGmm", detail::kGmmFileVersion);
  w.integer("num_components", gmm.num_components()).integer("dim", gmm.dim());
  w.matrix("weights", gmm.weights()).matrix("means", gmm.means());
  w.matrix("covariances", detail::stack_covariances(gmm.covariances(), gmm.dim()));
  return w;
}

/// Reads a full-covariance GMM from a container of kind "FullGmm". @throws FormatError
template <class S>
FullGmm<S> read_full_gmm(const ModelReader& r) {
  const Index c = detail::positive_size(r, "num_components"), d = detail::positive_size(r, "dim");
  return detail::build_loaded_model(r, "full-covariance GMM", [&] {
    return FullGmm<S>(r.vector<S>("weights", c), r.matrix<S>("means", c, d),
                      detail::unstack_covariances<S>(r.matrix<S>("covariances", c * d, d), c, d));
  });
}

/// Saves a full-covariance GMM. @throws IoError
template <class S>
void save_full_gmm(const std::string& path, const FullGmm<S>& gmm) {
  write_full_gmm(gmm).save(path);
}

/// Loads a full-covariance GMM saved by save_full_gmm. @throws IoError, FormatError
template <class S>
FullGmm<S> load_full_gmm(const std::string& path) {
  return read_full_gmm<S>(ModelReader(path, "FullGmm", detail::kGmmFileVersion));
}

/// Writes an i-vector extractor (kind "IvectorExtractor": UBM means, m, T, the prior mean, and
/// diagonal variances or stacked full covariances). Derived quantities are recomputed on reading.
template <class S>
ModelWriter write_ivector_extractor(const IvectorExtractor<S>& e) {
  ModelWriter w("IvectorExtractor", detail::kExtractorFileVersion);
  w.integer("num_components", e.num_components()).integer("dim", e.dim()).integer("ivector_dim", e.ivector_dim());
  w.integer("full_covariance", e.full_covariance() ? 1 : 0);
  w.matrix("ubm_means", e.ubm_means()).matrix("m", e.m()).matrix("T", e.T()).matrix("prior_mean", e.prior_mean());
  if (e.full_covariance())
    w.matrix("covariances", detail::stack_covariances(e.covariances(), e.dim()));
  else
    w.matrix("variances", e.variances());
  return w;
}

/// Reads an i-vector extractor from a container of kind "IvectorExtractor". @throws FormatError
template <class S>
IvectorExtractor<S> read_ivector_extractor(const ModelReader& r) {
  const Index c = detail::positive_size(r, "num_components"), d = detail::positive_size(r, "dim"),
              k = detail::positive_size(r, "ivector_dim");
  const bool full = r.integer("full_covariance") != 0;
  return detail::build_loaded_model(r, "i-vector extractor", [&] {
    Matrix<S> ubm = r.matrix<S>("ubm_means", c, d), m = r.matrix<S>("m", c, d), t = r.matrix<S>("T", c * d, k);
    Vector<S> prior = r.vector<S>("prior_mean", k);
    if (full)
      return IvectorExtractor<S>(std::move(ubm), std::move(m), std::move(t),
                                 detail::unstack_covariances<S>(r.matrix<S>("covariances", c * d, d), c, d), std::move(prior));
    return IvectorExtractor<S>(std::move(ubm), std::move(m), std::move(t), Matrix<S>(r.matrix<S>("variances", c, d)), std::move(prior));
  });
}

/// Saves an i-vector extractor. @throws IoError
template <class S>
void save_ivector_extractor(const std::string& path, const IvectorExtractor<S>& e) {
  write_ivector_extractor(e).save(path);
}

/// Loads an i-vector extractor saved by save_ivector_extractor. @throws IoError, FormatError
template <class S>
IvectorExtractor<S> load_ivector_extractor(const std::string& path) {
  return read_ivector_extractor<S>(ModelReader(path, "IvectorExtractor", detail::kExtractorFileVersion));
}

}  // namespace ivkit
