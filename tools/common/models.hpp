// Model files of the tools: ivkit's own format by default, Kaldi's with --kaldi-format, and on
// reading the format is detected from the first bytes (ivkit/io/model_probe.hpp). A model path may
// be a command ending in `|` (ModelPath). The tools compute in float (Kaldi's BaseFloat); double
// files are converted on reading.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include <ivkit/backend/plda.hpp>
#include <ivkit/backend/transform_pipeline.hpp>
#include <ivkit/gmm/diag_gmm.hpp>
#include <ivkit/gmm/full_gmm.hpp>
#include <ivkit/ivector/extractor.hpp>
#include <ivkit/io/model_probe.hpp>

namespace ivkit_tools {

using ivkit::Index;
using DiagUbm = ivkit::DiagGmm<float>;
using FullUbm = ivkit::FullGmm<float>;
using Extractor = ivkit::IvectorExtractor<float>;
using Plda = ivkit::Plda<float>;
using Pipeline = ivkit::TransformPipeline<float>;

using FileFormat = ivkit::ModelFileFormat;
using ModelProbe = ivkit::ModelFileInfo;
using ivkit::probe_model_file;

/// A model path as the tools take it: a file, or a command ending in `|` whose output is the model
/// (Kaldi's `"fgmm-global-to-gmm final.ubm - |"`), which is run once into a temporary file that this
/// object removes. @throws ivkit::IoError naming the command when it fails
class ModelPath {
 public:
  explicit ModelPath(const std::string& spec);
  ~ModelPath();
  ModelPath(const ModelPath&) = delete;
  ModelPath& operator=(const ModelPath&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_, temporary_;
};

/// The seed of EM iteration k (0-based; -1 for the initialisation) of a UBM trained with `seed`:
/// re-splits of low-occupancy Gaussians draw from it, so one process, MPI ranks and the jobs of a
/// queue (ivkit-sum-accs --iteration k) make the same model.
inline std::uint64_t iteration_seed(std::uint64_t seed, int k) { return seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(k + 1); }

/// How the tools write models: ivkit's format, or Kaldi's (binary or text).
struct OutputFormat {
  bool kaldi = false;
  bool binary = true;  ///< Kaldi format only
};

/// A UBM, diagonal or full covariance.
class Ubm {
 public:
  Ubm() = default;
  Ubm(DiagUbm m) : model_(std::move(m)) {}
  Ubm(FullUbm m) : model_(std::move(m)) {}
  bool is_full() const { return std::holds_alternative<FullUbm>(model_); }
  const DiagUbm& diag() const { return std::get<DiagUbm>(model_); }
  const FullUbm& full() const { return std::get<FullUbm>(model_); }
  Index num_components() const;
  Index dim() const;
  const ivkit::Matrix<float>& means() const;
  const ivkit::Vector<float>& weights() const;
  /// The diagonal model (the full model's diagonal for a full one, as Kaldi's fgmm-global-to-gmm).
  DiagUbm to_diag() const;
  std::string describe() const;  ///< "diagonal UBM, 512 components, dimension 60"
  /// Frees the model's scoring matrices (made again on next use), before an update replaces it.
  void release_scoring_weights() {
    std::visit([](auto& m) { m.release_scoring_weights(); }, model_);
  }

 private:
  std::variant<DiagUbm, FullUbm> model_;
};

/// Reads a DiagGmm or FullGmm (ivkit file, or Kaldi's final.dubm / final.ubm, binary or text).
/// @throws ivkit::IoError, ivkit::FormatError (also a file holding another kind of model)
Ubm read_ubm(const std::string& path);
void write_ubm(const std::string& path, const Ubm& ubm, const OutputFormat& format);

/// Reads an i-vector extractor (ivkit file, or Kaldi's final.ie) for statistics computed with
/// `ubm`. An ivkit extractor records the UBM means its statistics are centred on: they must match.
/// @throws ivkit::IoError, ivkit::FormatError, ivkit::DimensionMismatch, ivkit::InvalidArgument
Extractor read_extractor(const std::string& path, const Ubm& ubm);
/// Kaldi format needs the KaldiOffset prior convention; the UBM gives Kaldi's w_vec (its weights).
void write_extractor(const std::string& path, const Extractor& extractor, const Ubm& ubm, const OutputFormat& format);

/// Reads a PLDA model (ivkit file or Kaldi's `plda`).
Plda read_plda(const std::string& path);
void write_plda(const std::string& path, const Plda& plda, const OutputFormat& format);

/// Reads an embedding transform: an ivkit TransformPipeline file, or a Kaldi transform matrix
/// ([A | b] or [A], told apart by `input_dim` as ivector-transform does) which becomes the
/// pipeline "affine, length-norm to sqrt(dim)": Kaldi's recipes run ivector-normalize-length after
/// transform-vec, whose default (--scaleup=true) scales to sqrt(dim), and PLDA scores depend on it.
Pipeline read_transform(const std::string& path, Index input_dim);
/// Kaldi format: the pipeline must be affine stages, optionally followed by one length
/// normalisation (which a Kaldi matrix cannot hold: apply ivector-normalize-length after it); the
/// affine stages are collapsed into one [A | b]. @throws ivkit::InvalidArgument otherwise
void write_transform(const std::string& path, const Pipeline& pipeline, const OutputFormat& format);

}  // namespace ivkit_tools
