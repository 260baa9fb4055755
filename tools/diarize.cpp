// ivkit-diarize: who spoke when, from embeddings of overlapping windows (ivkit-extract-ivectors
// --window, or x-vectors a user brings): for each recording, the scores of all its window pairs
// (PLDA log-likelihood ratios, or cosine), agglomerative clustering stopped at a threshold or at a
// known number of speakers, and the turns as RTTM (Kaldi's egs/callhome_diarization: ivector-
// plda-scoring-dense, agglomerative-cluster, make_rttm.py). See docs/tools/diarize.md.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/diar/clustering.hpp>
#include <ivkit/diar/dense_scoring.hpp>
#include <ivkit/diar/rttm.hpp>
#include <ivkit/io/kaldi_matrix.hpp>

#include "common/cli.hpp"
#include "common/ivectors.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;
using ivkit::detail::message;

namespace {

struct Window {
  std::string key;
  double start, end;
  Index row;  // in the embeddings table
};

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-diarize",
            "Diarises recordings from embeddings of their windows: for each recording (from the segments file, 'window recording "
            "start end' as ivkit-extract-ivectors --write-segments or Kaldi's subsegments write it) the scores of every pair of its "
            "windows (PLDA log-likelihood ratios with --plda, after --mean, --transform and a PCA of the recording's embeddings as "
            "Kaldi's ivector-plda-scoring-dense; cosine without), average-linkage "
            "agglomerative clustering stopped where the best merge scores --threshold or less, or at the number of speakers "
            "--reco2num-spk gives, and the speaker turns written as RTTM (overlapping windows cut at the middle of the overlap).",
            "  ivkit-diarize --plda exp/backend/plda.ivk --transform exp/backend/transform.ivk --threshold 0 \\\n"
            "      exp/ivectors_dev/segments scp:exp/ivectors_dev/ivector.scp exp/dev.rttm\n"
            "  ivkit-diarize --reco2num-spk data/dev/reco2num_spk exp/xvectors/segments ark:exp/xvectors/xvector.ark exp/dev.rttm");
  std::string segments_path, embeddings, output, plda_path, transform, mean, reco2num, linkage = "average";
  double threshold = 0.0, target_energy = 0.5;
  Index min_speakers = 1, max_speakers = 0;
  auto& app = tool.app();
  app.add_option("segments", segments_path, "the windows: 'window recording start end' per line (seconds)")->required();
  app.add_option("embeddings-rspecifier", embeddings, "one embedding per window, keyed as in the segments file")->required();
  app.add_option("rttm-out", output, "the speaker turns of every recording (RTTM)")->required();
  app.add_option("--plda", plda_path, "score with this PLDA model (ivkit file or Kaldi's plda); without it: cosine scores");
  app.add_option("--transform", transform, "embedding transform applied first (ivkit TransformPipeline file or a Kaldi matrix)");
  app.add_option("--mean", mean, "a vector subtracted first (Kaldi's mean.vec)");
  app.add_option("--target-energy", target_energy,
                 "PLDA: project each recording's embeddings on the principal components that keep this share of their energy, and the "
                 "model with them (Kaldi's ivector-plda-scoring-dense --target-energy, default 0.5; 1 = none)")
      ->check(CLI::Range(0.001, 1.0));
  app.add_option("--threshold", threshold, "merge clusters while their linkage score is above this (default 0: even odds for PLDA)");
  app.add_option("--reco2num-spk", reco2num, "'recording number-of-speakers' per line: cluster each listed recording to that many (oracle)");
  app.add_option("--min-speakers", min_speakers, "with --threshold: at least this many speakers per recording")->check(CLI::PositiveNumber);
  app.add_option("--max-speakers", max_speakers, "with --threshold: at most this many (0 = no limit)")->check(CLI::NonNegativeNumber);
  app.add_option("--linkage", linkage, "average (Kaldi's), complete, single, or centroid (for cosine scores: the clusters' mean embeddings)")
      ->check(CLI::IsMember({"average", "complete", "single", "centroid"}));
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    if (max_speakers > 0 && max_speakers < min_speakers) throw UsageError("--max-speakers is below --min-speakers");
    // Windows by recording, in order of start.
    const std::vector<ivkit::KaldiSegment> segments = ivkit::read_kaldi_segments(segments_path);
    if (segments.empty()) throw ivkit::FormatError(message("'", segments_path, "' lists no windows"));
    const IvectorTable table = read_ivectors(embeddings);
    std::map<std::string, std::vector<Window>> recordings;
    for (const auto& s : segments) {
      const Index row = table.find(s.utterance);
      if (row < 0)
        throw ivkit::FormatError(message("'", embeddings, "' has no embedding for the window '", s.utterance, "' ('", segments_path, "' line ",
                                         s.line, ")"));
      if (s.end < 0) throw ivkit::FormatError(message("'", segments_path, "' line ", s.line, ": a window needs its end time"));
      recordings[s.recording].push_back({s.utterance, s.start, s.end, row});
    }
    for (auto& [r, w] : recordings)
      std::stable_sort(w.begin(), w.end(), [](const Window& a, const Window& b) { return a.start < b.start; });
    std::unordered_map<std::string, long long> num_speakers;
    if (!reco2num.empty()) {
      num_speakers = ivkit::read_int_table(reco2num);
      for (const auto& [r, n] : num_speakers)
        if (n < 1) throw ivkit::FormatError(message("'", reco2num, "': recording '", r, "' has ", n, " speakers"));
    }

    // The embeddings as scored: mean, transform; PLDA prepared once.
    Matrix<float> x = table.vectors;
    if (!mean.empty()) {
      const ivkit::Vector<float> m = ivkit::read_kaldi_vector<float>(mean);
      if (m.size() != x.cols())
        throw ivkit::DimensionMismatch(message("the mean '", mean, "' has dimension ", m.size(), " but the embeddings ", x.cols()));
      x.rowwise() -= m.transpose();
    }
    if (!transform.empty()) x = read_transform(transform, x.cols()).apply(x);
    std::unique_ptr<Plda> plda;
    if (!plda_path.empty()) {
      plda = std::make_unique<Plda>(read_plda(plda_path));
      if (plda->dim() != x.cols())
        throw ivkit::DimensionMismatch(message("the PLDA model '", plda_path, "' has dimension ", plda->dim(), " but the embeddings",
                                               transform.empty() ? "" : " after the transform", " have dimension ", x.cols()));
    } else if (app.count("--target-energy")) {
      throw UsageError("--target-energy applies to PLDA scoring (--plda) only");
    }
    ivkit::DenseScoringOptions dense;
    dense.target_energy = target_energy;
    dense.num_threads = tool.threads();
    ivkit::ClusteringOptions copts;
    copts.linkage = linkage == "complete"   ? ivkit::Linkage::Complete
                    : linkage == "single"   ? ivkit::Linkage::Single
                    : linkage == "centroid" ? ivkit::Linkage::Centroid
                                            : ivkit::Linkage::Average;
    copts.threshold = threshold;
    copts.min_clusters = min_speakers;
    copts.max_clusters = max_speakers;

    std::vector<ivkit::SpeakerTurn> turns;
    Index total_speakers = 0;
    Progress progress(tool.name(), "diarising", static_cast<double>(recordings.size()), "recordings", !tool.quiet());
    for (const auto& [rec, windows] : recordings) {
      Matrix<float> xr(static_cast<Index>(windows.size()), x.cols());
      for (std::size_t i = 0; i < windows.size(); ++i) xr.row(static_cast<Index>(i)) = x.row(windows[i].row);
      // All pairs of the recording's windows in one product.
      Matrix<double> s = plda ? ivkit::dense_plda_scores(*plda, xr, dense) : ivkit::dense_cosine_scores(xr, ivkit::ThreadOptions{tool.threads()});
      ivkit::ClusteringOptions o = copts;
      if (!num_speakers.empty()) {
        const auto it = num_speakers.find(rec);
        if (it == num_speakers.end()) throw ivkit::FormatError(message("'", reco2num, "' gives no number of speakers for the recording '", rec, "'"));
        o.num_clusters = static_cast<Index>(it->second);
      }
      const ivkit::ClusteringResult c = ivkit::cluster(std::move(s), o);
      std::vector<ivkit::TimeWindow> tw;
      for (const auto& w : windows) tw.push_back({w.start, w.end});
      for (auto& t : ivkit::turns_from_windows(rec, tw, c.labels, rec + "_spk")) turns.push_back(std::move(t));
      total_speakers += c.num_clusters;
      progress.add(1);
    }
    progress.finish(message(recordings.size(), " recordings, ", segments.size(), " windows, ", total_speakers, " speakers"));
    ivkit::write_rttm(output, turns);
    tool.info("wrote ", turns.size(), " speaker turns to '", output, "'");
  });
}
