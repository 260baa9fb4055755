#include "common/models.hpp"

#include "common/cli.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>

#include <ivkit/core/error.hpp>
#include <ivkit/io/kaldi_gmm.hpp>
#include <ivkit/io/kaldi_ivector_extractor.hpp>
#include <ivkit/io/kaldi_plda.hpp>
#include <ivkit/io/kaldi_transform.hpp>
#include <ivkit/io/model_files.hpp>

namespace ivkit_tools {

using ivkit::detail::message;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string printable(const std::string& s) { return ivkit::detail::kaldi_printable(s); }

[[noreturn]] void wrong_kind(const std::string& path, const ModelProbe& p, const char* wanted) {
  throw ivkit::FormatError(message("'", path, "' holds ", p.describe(), ", not ", wanted));
}

}  // namespace

std::string ModelProbe::describe() const {
  switch (format) {
    case FileFormat::Ivkit: return "an ivkit " + type + " model";
    case FileFormat::KaldiBinary: return "a Kaldi binary " + printable(type) + " object";
    case FileFormat::KaldiText: return "a Kaldi text " + printable(type) + " object";
  }
  return "an unknown object";
}

ModelProbe probe_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ivkit::IoError(message("cannot open '", path, "'"));
  char buf[512];
  in.read(buf, sizeof buf);
  const auto n = static_cast<std::size_t>(in.gcount());
  if (n == 0) throw ivkit::FormatError(message("'", path, "' is empty"));
  ModelProbe p;
  if (n >= 8 && std::memcmp(buf, "IVKITMDL", 8) == 0) {
    // "IVKITMDL" | u32 container version | u64 kind length | kind
    p.format = FileFormat::Ivkit;
    std::uint64_t len = 0;
    if (n >= 20) std::memcpy(&len, buf + 12, 8);
    if (n < 20 || len == 0 || len > 64 || 20 + len > n)
      throw ivkit::FormatError(message("'", path, "' is an ivkit model file with a damaged header"));
    p.type.assign(buf + 20, static_cast<std::size_t>(len));
    return p;
  }
  std::size_t i = 0;
  if (n >= 2 && buf[0] == '\0' && buf[1] == 'B') {
    p.format = FileFormat::KaldiBinary;
    i = 2;
  } else {
    p.format = FileFormat::KaldiText;
    while (i < n && is_space(buf[i])) ++i;
  }
  std::size_t j = i;
  while (j < n && !is_space(buf[j]) && j - i < 64) ++j;
  p.type.assign(buf + i, j - i);
  if (p.type.empty()) throw ivkit::FormatError(message("'", path, "' is neither an ivkit model nor a Kaldi object"));
  return p;
}

// ---- UBM ----------------------------------------------------------------------------------------

Index Ubm::num_components() const { return is_full() ? full().num_components() : diag().num_components(); }
Index Ubm::dim() const { return is_full() ? full().dim() : diag().dim(); }
const ivkit::Matrix<float>& Ubm::means() const { return is_full() ? full().means() : diag().means(); }
const ivkit::Vector<float>& Ubm::weights() const { return is_full() ? full().weights() : diag().weights(); }
DiagUbm Ubm::to_diag() const { return is_full() ? ivkit::to_diag(full()) : diag(); }
std::string Ubm::describe() const {
  return message(is_full() ? "full-covariance" : "diagonal", " UBM, ", num_components(), " components, dimension ", dim());
}

Ubm read_ubm(const std::string& path) {
  const ModelProbe p = probe_model_file(path);
  if (p.format == FileFormat::Ivkit) {
    if (p.type == "DiagGmm") return Ubm(ivkit::load_diag_gmm<float>(path));
    if (p.type == "FullGmm") return Ubm(ivkit::load_full_gmm<float>(path));
  } else {
    ivkit::KaldiGmmReadReport report;
    auto note = [&] {
      if (report.renormalised && std::abs(report.weight_sum - 1.0) > 1e-4)
        warn(message("the weights of '", path, "' sum to ", report.weight_sum, " (as Kaldi's gmm-global-init-from-feats and gmm-global-est ",
                     "write them after raising small weights); divided by their sum: the posteriors are Kaldi's, the log-likelihoods ",
                     "shift by ", -std::log(report.weight_sum), " per frame"));
    };
    if (p.type == "<DiagGMM>" || p.type == "<DiagGMMBegin>") {
      Ubm u(ivkit::read_kaldi_diag_gmm<float>(path, {}, &report));
      note();
      return u;
    }
    if (p.type == "<FullGMM>" || p.type == "<FullGMMBegin>") {
      Ubm u(ivkit::read_kaldi_full_gmm<float>(path, {}, &report));
      note();
      return u;
    }
  }
  wrong_kind(path, p, "a UBM (a diagonal or full-covariance GMM)");
}

void write_ubm(const std::string& path, const Ubm& ubm, const OutputFormat& f) {
  if (ubm.is_full()) {
    if (f.kaldi) ivkit::write_kaldi_full_gmm(path, ubm.full(), f.binary);
    else ivkit::save_full_gmm(path, ubm.full());
  } else {
    if (f.kaldi) ivkit::write_kaldi_diag_gmm(path, ubm.diag(), f.binary);
    else ivkit::save_diag_gmm(path, ubm.diag());
  }
}

// ---- extractor ----------------------------------------------------------------------------------

Extractor read_extractor(const std::string& path, const Ubm& ubm) {
  const ModelProbe p = probe_model_file(path);
  Extractor ex;
  if (p.format == FileFormat::Ivkit && p.type == "IvectorExtractor") {
    ex = ivkit::load_ivector_extractor<float>(path);
    if (ex.num_components() != ubm.num_components() || ex.dim() != ubm.dim())
      throw ivkit::DimensionMismatch(message("the extractor '", path, "' has C = ", ex.num_components(), ", D = ", ex.dim(), " but the ",
                                             ubm.describe()));
    // Statistics are centred on the UBM's means; the extractor must have been trained with them.
    const double scale = 1.0 + ubm.means().cwiseAbs().maxCoeff();
    const double diff = (ex.ubm_means() - ubm.means()).cwiseAbs().maxCoeff();
    if (!(diff <= 1e-4 * scale))
      throw ivkit::InvalidArgument(message("the extractor '", path, "' was trained with another UBM (its UBM means differ from the given ",
                                           "UBM's by up to ", diff, ")"));
  } else if (p.format != FileFormat::Ivkit && p.type == "<IvectorExtractor>") {
    ex = ivkit::read_kaldi_ivector_extractor<float>(path, ubm.means());
  } else {
    wrong_kind(path, p, "an i-vector extractor");
  }
  ex.set_approximation_weights(ubm.weights());
  return ex;
}

void write_extractor(const std::string& path, const Extractor& ex, const Ubm& ubm, const OutputFormat& f) {
  if (f.kaldi) ivkit::write_kaldi_ivector_extractor(path, ex, ubm.weights(), f.binary);
  else ivkit::save_ivector_extractor(path, ex);
}

// ---- PLDA ---------------------------------------------------------------------------------------

Plda read_plda(const std::string& path) {
  const ModelProbe p = probe_model_file(path);
  if (p.format == FileFormat::Ivkit && p.type == Plda::kFileKind) return Plda::load(path);
  if (p.format != FileFormat::Ivkit && p.type == "<Plda>") return ivkit::read_kaldi_plda<float>(path);
  wrong_kind(path, p, "a PLDA model");
}

void write_plda(const std::string& path, const Plda& plda, const OutputFormat& f) {
  if (f.kaldi) ivkit::write_kaldi_plda(path, plda, f.binary);
  else plda.save(path);
}

// ---- transforms ---------------------------------------------------------------------------------

Pipeline read_transform(const std::string& path, Index input_dim) {
  const ModelProbe p = probe_model_file(path);
  if (p.format == FileFormat::Ivkit && p.type == Pipeline::kFileKind) return Pipeline::load(path);
  const bool kaldi_matrix = p.format == FileFormat::KaldiText ? p.type == "[" || p.type.rfind("[", 0) == 0
                                                              : (p.type == "FM" || p.type == "DM" || p.type == "CM" || p.type == "CM2" || p.type == "CM3");
  if (p.format != FileFormat::Ivkit && kaldi_matrix) {
    Pipeline out;
    // Kaldi's recipes follow transform-vec with ivector-normalize-length, which scales to sqrt(dim).
    out.affine(ivkit::read_kaldi_transform<float>(path, input_dim)).length_norm(ivkit::LengthNormOptions{true});
    return out;
  }
  wrong_kind(path, p, "an embedding transform (an ivkit TransformPipeline or a Kaldi matrix)");
}

void write_transform(const std::string& path, const Pipeline& pipeline, const OutputFormat& f) {
  if (!f.kaldi) {
    pipeline.save(path);
    return;
  }
  Index affine_end = 0;
  while (affine_end < pipeline.size() && pipeline.stage(affine_end).is_affine()) ++affine_end;
  const bool tail_ok = affine_end == pipeline.size() ||
                       (affine_end + 1 == pipeline.size() && pipeline.stage(affine_end).kind() == ivkit::TransformKind::LengthNorm);
  if (affine_end == 0 || !tail_ok)
    throw ivkit::InvalidArgument(message("write_transform: Kaldi's format holds one affine matrix (optionally followed by length ",
                                         "normalisation, which ivector-normalize-length applies); this pipeline's stages cannot be written ",
                                         "that way: save it in ivkit's format"));
  ivkit::write_kaldi_transform(path, pipeline.collapse(0, affine_end), f.binary);
}

}  // namespace ivkit_tools
