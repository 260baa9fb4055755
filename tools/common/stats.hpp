// Baum-Welch statistics of utterances for the extractor tools, the way Kaldi's recipes get them:
// posteriors of the UBM restricted to a Gaussian selection (gmm-gselect, then
// fgmm-global-gselect-to-post --min-post), from a selection table or, without one, made here the
// same way (a full UBM selects through its diagonal, as sid/extract_ivectors.sh's gmm-gselect on
// fgmm-global-to-gmm does; select_with_full takes the top-N of the full model instead); scaled
// (scale-post) and optionally capped in total count.
// Utterances of a batch are processed in parallel, one per task, so the statistics do not depend on
// the thread count.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ivkit/io/kaldi_reader.hpp>
#include <ivkit/stats/baum_welch.hpp>

#include "common/features.hpp"
#include "common/gselect_table.hpp"
#include "common/models.hpp"

namespace ivkit_tools {

struct PosteriorOptions {
  Index num_gselect = 20;         ///< components per frame when there is no selection table
  double min_post = 0.025;        ///< prune posteriors below (Kaldi's --min-post)
  double posterior_scale = 1.0;   ///< Kaldi's scale-post
  double max_count = 0.0;         ///< > 0: cap the total count of an utterance (Kaldi's --max-count)
  bool second_order = false;      ///< also second-order statistics (variance update): diagonal, or the packed full scatter for a full UBM
  bool select_with_full = false;  ///< full UBM without a table: top-N of the full model, not of its diagonal
};

class StatsComputer {
 public:
  /// @param gselect_rspecifier a Gaussian-selection table (ivkit-gselect, Kaldi's gmm-gselect), or empty
  StatsComputer(const Ubm& ubm, PosteriorOptions options, const std::string& gselect_rspecifier);
  ~StatsComputer();

  /// The statistics of each utterance of the batch (in order), on `threads` threads.
  /// @throws ivkit::Error naming the utterance (missing selection, frame counts that differ, ...)
  std::vector<ivkit::UtteranceStats> compute(const std::vector<Utterance>& batch, int threads);

  /// Called with (i, statistics of batch[i]) for every utterance, on the worker threads, each i once:
  /// a caller that converts the statistics as they come does not hold a batch of them (1 MB each
  /// in double at C = 2048, D = 60).
  using StatsSink = std::function<void(std::size_t, ivkit::UtteranceStats&&)>;
  /// The same, handing each utterance's statistics to `sink` instead of returning them.
  void compute(const std::vector<Utterance>& batch, int threads, const StatsSink& sink);

 private:
  /// A full UBM's statistics of a whole batch with one call for the posteriors of all its frames
  /// (the selected log-likelihoods group the frames of a block by component, so a batch shares each
  /// component's factor among several times more frames than one utterance does). False, and
  /// nothing computed, when the utterances select different numbers of components or the call
  /// fails (the per-utterance path then gives the message that names the utterance).
  bool full_batch_stats(const std::vector<Utterance>& batch, const std::vector<ivkit::GaussianSelection>& selections,
                        const ivkit::StatsOptions& so, int threads, const StatsSink& sink);

  /// The Gaussian selection of each utterance of the batch: from the table, or made with the full
  /// UBM's diagonal (selector_); none (an empty vector) when the model selects its own top-N.
  /// Both the batch path and the per-utterance path use them, so a batch that falls back to the
  /// per-utterance path does not select again.
  std::vector<ivkit::GaussianSelection> selections_of(const std::vector<Utterance>& batch, int threads);

  /// The statistics of an utterance without frames (all zero; the extractor gives it the prior).
  ivkit::UtteranceStats zero_stats(const ivkit::StatsOptions& so) const;

  const Ubm& ubm_;
  PosteriorOptions options_;
  std::optional<DiagUbm> selector_;  // a full UBM's diagonal, which selects the Gaussians (Kaldi's recipe)
  std::string gselect_rspecifier_;
  std::unique_ptr<GselectLookup> gselect_;
  std::vector<float> batch_frame_values_;     // the batch's frames one after another (row-major)
  ivkit::GaussianSelection batch_selection_;  // and their selections
};

}  // namespace ivkit_tools
