/// @file
/// Which model a file holds, told from its first bytes, so that one call reads a model whatever
/// wrote it: "IVKITMDL" is an ivkit model file (io/model_files.hpp; its kind is in the header),
/// "\0B" a Kaldi binary object, anything else Kaldi text (the first token then names the object:
/// `<DiagGMM>`, `<FullGMM>`, `<IvectorExtractor>`, `<Plda>`, `FM`/`DM`/`CM`... or `[` for a matrix).
///
///     auto ubm = ivkit::read_any_gmm<float>("exp/ubm/final.ubm");   // Kaldi's or ivkit's, diagonal or full
///     if (auto* full = std::get_if<ivkit::FullGmm<float>>(&ubm)) ...
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <variant>

#include "ivkit/core/error.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/model_files.hpp"

namespace ivkit {

/// The format of a model file.
enum class ModelFileFormat { Ivkit, KaldiBinary, KaldiText };

/// What a model file holds, from its first bytes.
struct ModelFileInfo {
  ModelFileFormat format = ModelFileFormat::Ivkit;
  /// ivkit: the model kind ("DiagGmm", "FullGmm", "IvectorExtractor", "Plda", "TransformPipeline",
  /// ...). Kaldi: the first token ("<DiagGMM>", "<FullGMM>", "<IvectorExtractor>", "<Plda>", "FM",
  /// "DM", "CM", "CM2", "CM3", or "[" for a text matrix).
  std::string type;

  /// "an ivkit DiagGmm model", "a Kaldi binary <Plda> object", ...
  std::string describe() const {
    switch (format) {
      case ModelFileFormat::Ivkit: return "an ivkit " + type + " model";
      case ModelFileFormat::KaldiBinary: return "a Kaldi binary " + detail::kaldi_printable(type) + " object";
      case ModelFileFormat::KaldiText: return "a Kaldi text " + detail::kaldi_printable(type) + " object";
    }
    return "an unknown object";
  }
};

/// Looks at the first bytes of `path`. @throws IoError (cannot open), FormatError (empty, a damaged
/// ivkit header, or nothing that names an object)
inline ModelFileInfo probe_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::message("probe_model_file: cannot open '", path, "'"));
  char buf[512];
  in.read(buf, sizeof buf);
  const auto n = static_cast<std::size_t>(in.gcount());
  if (n == 0) throw FormatError(detail::message("probe_model_file: '", path, "' is empty"));
  ModelFileInfo p;
  if (n >= 8 && std::memcmp(buf, "IVKITMDL", 8) == 0) {
    // "IVKITMDL" | u32 container version | u64 kind length | kind
    p.format = ModelFileFormat::Ivkit;
    std::uint64_t len = 0;
    if (n >= 20) std::memcpy(&len, buf + 12, 8);
    if (n < 20 || len == 0 || len > 64 || 20 + len > n)
      throw FormatError(detail::message("probe_model_file: '", path, "' is an ivkit model file with a damaged header"));
    p.type.assign(buf + 20, static_cast<std::size_t>(len));
    return p;
  }
  std::size_t i = 0;
  if (n >= 2 && buf[0] == '\0' && buf[1] == 'B') {
    p.format = ModelFileFormat::KaldiBinary;
    i = 2;
  } else {
    p.format = ModelFileFormat::KaldiText;
    while (i < n && detail::kaldi_is_space(static_cast<unsigned char>(buf[i]))) ++i;
  }
  std::size_t j = i;
  while (j < n && !detail::kaldi_is_space(static_cast<unsigned char>(buf[j])) && j - i < 64) ++j;
  p.type.assign(buf + i, j - i);
  if (p.type.empty()) throw FormatError(detail::message("probe_model_file: '", path, "' is neither an ivkit model nor a Kaldi object"));
  return p;
}

/// A GMM of either covariance type.
template <class S>
using AnyGmm = std::variant<DiagGmm<S>, FullGmm<S>>;

/// Reads a diagonal or full-covariance GMM from an ivkit model file or a Kaldi `final.dubm` /
/// `final.ubm` (binary or text), whichever the file holds. `report` (Kaldi files) says whether the
/// weights were renormalised (io/kaldi_gmm.hpp).
/// @throws IoError, FormatError (also a file holding another kind of model, naming what it holds)
template <class S>
AnyGmm<S> read_any_gmm(const std::string& path, KaldiGmmReadReport* report = nullptr) {
  const ModelFileInfo p = probe_model_file(path);
  if (p.format == ModelFileFormat::Ivkit) {
    if (p.type == "DiagGmm") return load_diag_gmm<S>(path);
    if (p.type == "FullGmm") return load_full_gmm<S>(path);
  } else {
    if (p.type == "<DiagGMM>" || p.type == "<DiagGMMBegin>") return read_kaldi_diag_gmm<S>(path, {}, report);
    if (p.type == "<FullGMM>" || p.type == "<FullGMMBegin>") return read_kaldi_full_gmm<S>(path, {}, report);
  }
  throw FormatError(detail::message("read_any_gmm: '", path, "' holds ", p.describe(), ", not a GMM (diagonal or full covariance)"));
}

}  // namespace ivkit
