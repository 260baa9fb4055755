// ivkit-extract-ivectors: i-vectors (posterior means) of every utterance of a features table, as
// Kaldi's sid/extract_ivectors.sh (gmm-gselect, fgmm-global-gselect-to-post, ivector-extract),
// written as a Kaldi table of vectors; optionally the posterior variances too.
#include <string>
#include <vector>

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include <ivkit/core/file_io.hpp>
#include <ivkit/io/kaldi_writer.hpp>
#include <ivkit/stats/sliding_window.hpp>

#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/stats.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::FrameWindow;
using ivkit::Index;
using ivkit::Matrix;

namespace {

/// Kaldi's uniform subsegments (utils/data/get_uniform_subsegments.py with --constant-duration, as
/// the diarisation recipe calls it), in frames: windows of `window` every `step` while more than a
/// window remains; then one last window, moved back to end with the utterance when less than
/// `min_remaining` remains, else over what remains. An utterance shorter than a window is one window.
std::vector<FrameWindow> kaldi_uniform_windows(Index n, Index window, Index step, Index min_remaining) {
  std::vector<FrameWindow> out;
  if (n == 0) return out;
  Index start = 0, left = n;
  while (left > window) {
    out.push_back({start, start + window});
    start += step;
    left -= step;
  }
  if (left < min_remaining) start = std::max<Index>(n - window, 0);
  out.push_back({start, std::min(start + window, n)});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-extract-ivectors",
            "Extracts i-vectors (Kaldi's ivector-extract after gmm-gselect and fgmm-global-gselect-to-post; sid/extract_ivectors.sh): the "
            "posterior mean of the i-vector of every utterance given its Baum-Welch statistics under the UBM, written as a Kaldi table of "
            "vectors. As Kaldi's ivector-extract, the prior mean is subtracted (Kaldi's convention: the offset of the first dimension), "
            "unless --keep-prior-mean. --uncertainty-wspecifier writes the diagonal of the posterior covariance of each i-vector. "
            "--window extracts one i-vector per window of each utterance instead (Kaldi's diarisation recipe: windows of --window "
            "seconds every --period, the last one moved back to end with the utterance, or shorter when at least --min-segment "
            "remains), keyed utt-SSSSSSSS-EEEEEEEE (centiseconds from the utterance's start), with --write-segments listing them.",
            "  ivkit-extract-ivectors --gselect ark:gselect.ark exp/ubm/final.ubm exp/extractor/final.ie scp:data/test/feats.scp \\\n"
            "      ark,scp:exp/ivectors_test/ivector.ark,exp/ivectors_test/ivector.scp\n"
            "  ivkit-extract-ivectors --uncertainty-wspecifier ark:var.ark final.dubm final.ie scp:feats.scp ark,t:ivectors.txt\n"
            "  ivkit-extract-ivectors --window 1.5 --period 0.75 --min-segment 0.5 --write-segments exp/ivectors_dev/segments \\\n"
            "      --utt-segments data/dev/segments final.ubm final.ie scp:data/dev/feats.scp ark,scp:exp/ivectors_dev/ivector.ark,exp/ivectors_dev/ivector.scp");
  std::string ubm_path, extractor_path, feats, wspec, uncertainty, gselect, method = "exact";
  PosteriorOptions post;
  bool keep_prior = false;
  auto& app = tool.app();
  app.add_option("ubm", ubm_path, "the UBM the extractor was trained with (ivkit or Kaldi file)")->required();
  app.add_option("extractor", extractor_path, "the i-vector extractor (ivkit file or Kaldi's final.ie)")->required();
  app.add_option("feats-rspecifier", feats, "features")->required();
  app.add_option("ivectors-wspecifier", wspec, "output table of i-vectors, e.g. ark,scp:ivector.ark,ivector.scp")->required();
  app.add_option("--uncertainty-wspecifier", uncertainty, "also write the posterior variances (diagonal of the covariance), e.g. ark:var.ark");
  app.add_option("--gselect", gselect, "Gaussian selection table (rspecifier) for the posteriors");
  app.add_option("--num-gselect", post.num_gselect, "without --gselect: Gaussians selected per frame (Kaldi's gmm-gselect --n)")->check(CLI::PositiveNumber);
  app.add_flag("--select-with-full", post.select_with_full,
               "without --gselect and with a full-covariance UBM: select the --num-gselect best components of the full model (default: of "
               "its diagonal, as Kaldi's sid scripts do with gmm-gselect on fgmm-global-to-gmm, then full-covariance posteriors)");
  app.add_option("--min-post", post.min_post, "prune posteriors below this and renormalise")->check(CLI::Range(0.0, 0.999999));
  app.add_option("--posterior-scale", post.posterior_scale, "scale the posteriors (Kaldi's scale-post)")->check(CLI::PositiveNumber);
  app.add_option("--max-count", post.max_count, "cap the total count of an utterance (0 = no cap; Kaldi's --max-count)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--method", method, "exact posterior, or approximate (Glembek et al. 2011: shared eigendecomposition, faster)")
      ->check(CLI::IsMember({"exact", "approximate"}));
  app.add_flag("--keep-prior-mean", keep_prior, "write the posterior means as they are, without subtracting the prior mean");
  double window = 0, period = 0, min_segment = 0.5, frame_shift = 0.01;
  std::string segments_out, utt_segments;
  app.add_option("--window", window, "one i-vector per window of this many seconds (0 = one per utterance)")->check(CLI::NonNegativeNumber);
  app.add_option("--period", period, "with --window: seconds between window starts (default: the window)")->check(CLI::NonNegativeNumber);
  app.add_option("--min-segment", min_segment,
                 "with --window: a remainder shorter than this is covered by moving the last window back (Kaldi's --max-remaining-duration)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--frame-shift", frame_shift, "with --window: seconds per frame of the features")->check(CLI::PositiveNumber);
  app.add_option("--write-segments", segments_out, "with --window: write a segments file 'window utterance start end' (seconds)");
  app.add_option("--utt-segments", utt_segments,
                 "with --write-segments: the utterances' own segments file; the windows are then written as 'window recording start end' "
                 "in the recording's time");
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    if (!gselect.empty() && app.count("--num-gselect")) throw UsageError("--num-gselect applies only without --gselect");
    const bool windowed = window > 0;
    if (!windowed && (app.count("--period") || app.count("--min-segment") || app.count("--frame-shift") || !segments_out.empty()))
      throw UsageError("--period, --min-segment, --frame-shift and --write-segments apply with --window only");
    if (!utt_segments.empty() && segments_out.empty()) throw UsageError("--utt-segments applies with --write-segments only");
    if (windowed && !gselect.empty()) throw UsageError("--window cannot use a --gselect table (its frames are the utterances'); leave it out");
    const Index win_frames = static_cast<Index>(std::lround(window / frame_shift));
    const Index step_frames = static_cast<Index>(std::lround((period > 0 ? period : window) / frame_shift));
    const Index min_frames = static_cast<Index>(std::lround(min_segment / frame_shift));
    if (windowed && (win_frames < 1 || step_frames < 1 || step_frames > win_frames))
      throw UsageError("--window and --period must be at least one frame, with --period <= --window");
    std::unordered_map<std::string, Segment> utt_seg;
    if (!utt_segments.empty())
      for (Segment& sg : read_segments(utt_segments)) utt_seg.emplace(sg.utterance, sg);
    std::string segments_text;
    processing.finish_options(app, tool);
    const Ubm ubm = read_ubm(ubm_path);
    const Extractor ex = read_extractor(extractor_path, ubm);
    const Index C = ubm.num_components(), D = ubm.dim(), R = ex.ivector_dim();
    tool.info("UBM: ", ubm.describe(), "; extractor: R = ", R, ex.full_covariance() ? ", full covariances" : ", diagonal covariances");
    StatsComputer computer(ubm, post, gselect);
    ivkit::ExtractOptions eo;
    eo.method = method == "exact" ? ivkit::ExtractionMethod::Exact : ivkit::ExtractionMethod::Approximate;
    eo.variances = !uncertainty.empty();
    eo.batch_size = 256;
    eo.num_threads = tool.threads();
    const ivkit::Vector<float> prior = keep_prior ? ivkit::Vector<float>::Zero(R) : ex.prior_mean();
    ivkit::KaldiWriter<ivkit::Vector<float>> out(wspec);
    std::unique_ptr<ivkit::KaldiWriter<ivkit::Vector<float>>> var_out;
    if (!uncertainty.empty()) var_out = std::make_unique<ivkit::KaldiWriter<ivkit::Vector<float>>>(uncertainty);
    Progress progress(tool.name(), "extracting i-vectors", static_cast<double>(count_script_entries(feats)), "utterances", !tool.quiet());
    double count = 0, frames = 0, norm = 0;
    Matrix<float> zeroth, first;
    for_each_utterance_batch(feats, windowed ? 16 : 256, D, [&](std::vector<Utterance>& read) {
      std::vector<Utterance> windows;
      if (windowed) {
        for (const Utterance& u : read)
          for (const FrameWindow& w : kaldi_uniform_windows(u.frames.rows(), win_frames, step_frames, min_frames)) {
            char key[64];
            std::snprintf(key, sizeof key, "-%08ld-%08ld", std::lround(100.0 * static_cast<double>(w.begin) * frame_shift),
                          std::lround(100.0 * static_cast<double>(w.end) * frame_shift));
            windows.push_back(Utterance{u.key + key, u.frames.middleRows(w.begin, w.end - w.begin)});
            if (!segments_out.empty()) {
              double offset = 0;
              std::string owner = u.key;
              if (!utt_segments.empty()) {
                const auto it = utt_seg.find(u.key);
                if (it == utt_seg.end())
                  throw ivkit::FormatError(ivkit::detail::message("utterance '", u.key, "' is not in --utt-segments '", utt_segments, "'"));
                offset = it->second.start;
                owner = it->second.recording;
              }
              char times[64];
              std::snprintf(times, sizeof times, " %.2f %.2f\n", offset + static_cast<double>(w.begin) * frame_shift,
                            offset + static_cast<double>(w.end) * frame_shift);
              segments_text += windows.back().key + ' ' + owner + times;
            }
          }
      }
      std::vector<Utterance>& batch = windowed ? windows : read;
      const Index n = static_cast<Index>(batch.size());
      // In the extractor's float, as extract_matrices would convert them, each utterance's as it
      // comes (no batch of statistics in double: 250 MB at 256 utterances, C = 2048, D = 60). The
      // matrices are kept from batch to batch (same shape: no new pages to fault in).
      zeroth.resize(n, C);
      first.resize(n, C * D);
      std::vector<Index> num_frames(batch.size());
      computer.compute(batch, tool.threads(), [&](std::size_t i, ivkit::UtteranceStats&& s) {
        zeroth.row(static_cast<Index>(i)) = s.zeroth.transpose().cast<float>();
        Eigen::Map<const Matrix<double>> f(s.first.data(), 1, C * D);  // row-major C x D as one row
        first.row(static_cast<Index>(i)) = f.cast<float>();
        num_frames[i] = s.num_frames;
      });
      for (const Index f : num_frames) frames += static_cast<double>(f);
      ivkit::Ivectors<float> iv = ex.extract_matrices(zeroth, first, eo);
      iv.means.rowwise() -= prior.transpose();
      for (Index i = 0; i < n; ++i) {
        const std::string& key = batch[static_cast<std::size_t>(i)].key;
        out.write(key, iv.means.row(i).transpose());
        if (var_out) var_out->write(key, iv.variances.row(i).transpose());
        norm += static_cast<double>(iv.means.row(i).norm());
      }
      count += static_cast<double>(n);
      progress.add(static_cast<double>(read.size()));
    }, &processing);
    if (count == 0) throw ivkit::FormatError(ivkit::detail::message("'", feats, "' holds no utterances"));
    out.close();
    if (var_out) var_out->close();
    if (!segments_out.empty()) ivkit::write_file_atomically("ivkit-extract-ivectors", segments_out, segments_text);
    progress.finish(ivkit::detail::message(frames, " frames; average i-vector norm ", count > 0 ? norm / count : 0.0));
  });
}
