/// @file
/// Accumulator files: the E-step statistics of one job, written to a file so that jobs on a queue
/// (Kaldi's `queue.pl` on Slurm or SGE) accumulate on their share of the data and one process sums
/// them and runs the M-step, as Kaldi's `gmm-global-acc-stats` / `gmm-global-sum-accs` /
/// `gmm-global-est` and `ivector-extractor-acc-stats` / `-sum-accs` / `-est` do. In ivkit's checked
/// model container (core/serialise.hpp): written atomically, every size checked on reading.
///
///     save_em_accumulator("exp/ubm/acc.3.7", acc);                  // job 7 of iteration 3
///     EmAccumulator total = load_em_accumulators({"exp/ubm/acc.3.1", ..., "exp/ubm/acc.3.40"});
///     auto next = em_update(model, total, update_options);
#pragma once

#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/ivector/trainer.hpp"

namespace ivkit {

namespace detail {
inline constexpr std::uint32_t kAccumulatorFileVersion = 1;
}  // namespace detail

// Each format has write_* / read_* on the container (a file or bytes in memory) and save_* / load_*
// on a path. The record "center" keeps the name it was first written with.

/// Writes a GMM EM accumulator (kind "EmAccumulator").
inline ModelWriter write_em_accumulator(const EmAccumulator& acc) {
  ModelWriter w("EmAccumulator", detail::kAccumulatorFileVersion);
  w.integer("full_covariance", acc.full_covariance ? 1 : 0)
      .matrix("center", acc.centre)
      .matrix("occupancy", acc.occupancy)
      .matrix("first", acc.first)
      .matrix("second", acc.second)
      .real("log_likelihood", acc.log_likelihood)
      .real("num_frames", acc.num_frames);
  return w;
}

/// Reads a GMM EM accumulator from a container of kind "EmAccumulator". @throws FormatError (sizes
/// that disagree, non-finite or negative counts), naming the source
inline EmAccumulator read_em_accumulator(const ModelReader& r) {
  EmAccumulator a;
  a.full_covariance = r.integer("full_covariance") != 0;
  a.centre = r.vector<double>("center");
  const Index D = a.centre.size();
  a.occupancy = r.vector<double>("occupancy");
  const Index C = a.occupancy.size();
  a.first = r.matrix<double>("first", C, D);
  a.second = r.matrix<double>("second", C, a.full_covariance ? packed_size(D) : D);
  a.log_likelihood = r.real("log_likelihood");
  a.num_frames = r.real("num_frames");
  if (C < 1 || D < 1 || !(a.num_frames >= 0) || !a.occupancy.allFinite() || (a.occupancy.array() < 0).any() || !a.first.allFinite() ||
      !a.second.allFinite())
    throw FormatError(detail::message("read_em_accumulator: '", r.source(), "' holds an invalid accumulator (C = ", C, ", D = ", D,
                                      ", counts that are negative or not finite)"));
  return a;
}

/// Writes a GMM EM accumulator. @throws IoError
inline void save_em_accumulator(const std::string& path, const EmAccumulator& acc) { write_em_accumulator(acc).save(path); }

/// Reads a GMM EM accumulator. @throws IoError, FormatError (another kind of file, and as
/// read_em_accumulator), naming the file
inline EmAccumulator load_em_accumulator(const std::string& path) {
  return read_em_accumulator(ModelReader(path, "EmAccumulator", detail::kAccumulatorFileVersion));
}

/// Sums the accumulators of several files (Kaldi's gmm-global-sum-accs).
/// @throws InvalidArgument (no file), DimensionMismatch naming the file that differs, and as load_em_accumulator
inline EmAccumulator load_em_accumulators(const std::vector<std::string>& paths) {
  if (paths.empty()) throw InvalidArgument("load_em_accumulators: no file");
  EmAccumulator total = load_em_accumulator(paths.front());
  for (std::size_t i = 1; i < paths.size(); ++i) {
    const EmAccumulator a = load_em_accumulator(paths[i]);
    if (a.full_covariance != total.full_covariance || a.first.rows() != total.first.rows() || a.first.cols() != total.first.cols() ||
        a.centre != total.centre)
      throw DimensionMismatch(detail::message("load_em_accumulators: '", paths[i], "' holds statistics of another model than '",
                                              paths.front(), "' (", a.first.rows(), " x ", a.first.cols(), a.full_covariance ? " full" : " diagonal",
                                              " against ", total.first.rows(), " x ", total.first.cols(),
                                              total.full_covariance ? " full" : " diagonal", ", or another centre)"));
    total.occupancy += a.occupancy;
    total.first += a.first;
    total.second += a.second;
    total.log_likelihood += a.log_likelihood;
    total.num_frames += a.num_frames;
  }
  return total;
}

/// Writes i-vector extractor accumulators (kind "IvectorTrainerStats").
inline ModelWriter write_ivector_trainer_stats(const IvectorTrainerStats& acc) {
  ModelWriter w("IvectorTrainerStats", detail::kAccumulatorFileVersion);
  w.matrix("Y", acc.Y)
      .matrix("R_packed", acc.R_packed)
      .matrix("gamma", acc.gamma)
      .matrix("f_sum", acc.f_sum)
      .matrix("w_sum", acc.w_sum)
      .matrix("ww_sum", acc.ww_sum)
      .real("num_utterances", acc.num_utterances)
      .real("objective", acc.objective);
  return w;
}

/// Reads i-vector extractor accumulators from a container of kind "IvectorTrainerStats".
/// @throws FormatError naming the source
inline IvectorTrainerStats read_ivector_trainer_stats(const ModelReader& r) {
  IvectorTrainerStats a;
  a.gamma = r.vector<double>("gamma");
  a.w_sum = r.vector<double>("w_sum");
  const Index C = a.gamma.size(), R = a.w_sum.size();
  a.f_sum = r.vector<double>("f_sum");
  const Index D = C > 0 ? a.f_sum.size() / C : 0;
  if (C < 1 || R < 1 || D < 1 || a.f_sum.size() != C * D)
    throw FormatError(detail::message("read_ivector_trainer_stats: '", r.source(), "' holds accumulators of inconsistent sizes (C = ", C, ", R = ", R,
                                      ", f_sum ", a.f_sum.size(), ")"));
  a.Y = r.matrix<double>("Y", C * D, R);
  a.R_packed = r.matrix<double>("R_packed", C, packed_size(R));
  a.ww_sum = r.vector<double>("ww_sum", packed_size(R));
  a.num_utterances = r.real("num_utterances");
  a.objective = r.real("objective");
  if (!(a.num_utterances >= 0) || !a.gamma.allFinite() || (a.gamma.array() < 0).any() || !a.Y.allFinite() || !a.R_packed.allFinite())
    throw FormatError(detail::message("read_ivector_trainer_stats: '", r.source(), "' holds counts that are negative or not finite"));
  return a;
}

/// Writes i-vector extractor accumulators. @throws IoError
inline void save_ivector_trainer_stats(const std::string& path, const IvectorTrainerStats& acc) {
  write_ivector_trainer_stats(acc).save(path);
}

/// Reads i-vector extractor accumulators. @throws IoError, FormatError naming the file
inline IvectorTrainerStats load_ivector_trainer_stats(const std::string& path) {
  return read_ivector_trainer_stats(ModelReader(path, "IvectorTrainerStats", detail::kAccumulatorFileVersion));
}

/// Sums the accumulators of several files (Kaldi's ivector-extractor-sum-accs).
/// @throws InvalidArgument (no file), DimensionMismatch naming the file that differs, and as load_ivector_trainer_stats
inline IvectorTrainerStats load_ivector_trainer_stats(const std::vector<std::string>& paths) {
  if (paths.empty()) throw InvalidArgument("load_ivector_trainer_stats: no file");
  IvectorTrainerStats total = load_ivector_trainer_stats(paths.front());
  for (std::size_t i = 1; i < paths.size(); ++i) {
    try {
      total += load_ivector_trainer_stats(paths[i]);
    } catch (const DimensionMismatch& e) {
      throw DimensionMismatch(detail::message("load_ivector_trainer_stats: '", paths[i], "' and '", paths.front(), "': ", e.what()));
    }
  }
  return total;
}

}  // namespace ivkit
