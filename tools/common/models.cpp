#include "common/models.hpp"

#include "common/cli.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <ivkit/core/error.hpp>
#include <ivkit/core/file_io.hpp>
#include <ivkit/io/detail/command_pipe.hpp>
#include <ivkit/io/kaldi_gmm.hpp>
#include <ivkit/io/kaldi_ivector_extractor.hpp>
#include <ivkit/io/kaldi_plda.hpp>
#include <ivkit/io/kaldi_transform.hpp>
#include <ivkit/io/model_files.hpp>

namespace ivkit_tools {

using ivkit::detail::message;

namespace {

[[noreturn]] void wrong_kind(const std::string& path, const ModelProbe& p, const char* wanted) {
  throw ivkit::FormatError(message("'", path, "' holds ", p.describe(), ", not ", wanted));
}

}  // namespace

ModelPath::ModelPath(const std::string& spec) : path_(spec) {
  if (!ivkit::detail::kaldi_is_input_pipe(spec)) return;
  const std::string bytes = ivkit::detail::run_command_output("ivkit", ivkit::detail::kaldi_pipe_command(spec));
  namespace fs = std::filesystem;
  static int counter = 0;
  temporary_ = (fs::temp_directory_path() / ("ivkit_model_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))).string();
  ivkit::write_file_atomically("ivkit", temporary_, bytes);
  path_ = temporary_;
}

ModelPath::~ModelPath() {
  if (temporary_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(temporary_, ec);
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

Ubm read_ubm(const std::string& spec) {
  const ModelPath file(spec);
  ivkit::KaldiGmmReadReport report;
  ivkit::AnyGmm<float> gmm = ivkit::read_any_gmm<float>(file.path(), &report);
  if (report.renormalised && std::abs(report.weight_sum - 1.0) > 1e-4)
    warn(message("the weights of '", spec, "' sum to ", report.weight_sum, " (as Kaldi's gmm-global-init-from-feats and gmm-global-est ",
                 "write them after raising small weights); divided by their sum: the posteriors are Kaldi's, the log-likelihoods shift by ",
                 -std::log(report.weight_sum), " per frame"));
  if (auto* d = std::get_if<DiagUbm>(&gmm)) return Ubm(std::move(*d));
  return Ubm(std::move(std::get<FullUbm>(gmm)));
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

Extractor read_extractor(const std::string& spec, const Ubm& ubm) {
  const ModelPath file(spec);
  const std::string& path = file.path();
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

Plda read_plda(const std::string& spec) {
  const ModelPath file(spec);
  const std::string& path = file.path();
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

Pipeline read_transform(const std::string& spec, Index input_dim) {
  const ModelPath file(spec);
  const std::string& path = file.path();
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
