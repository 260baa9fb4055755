// ivkit-gselect: Gaussian selection (Kaldi's gmm-gselect): the n components of a UBM with the highest
// likelihood for each frame, written as a Kaldi table of int32 vectors of vectors (binary by
// default, text with ark,t:), which ivkit-train-ivector-extractor, ivkit-extract-ivectors and Kaldi's
// own programs (fgmm-global-gselect-to-post, gmm-global-acc-stats --gselect) read.
#include <string>

#include <ivkit/core/parallel.hpp>
#include <ivkit/gmm/scoring.hpp>
#include <ivkit/io/kaldi_writer.hpp>

#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/gselect_table.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"

using namespace ivkit_tools;
using ivkit::Index;

int main(int argc, char** argv) {
  Tool tool("ivkit-gselect",
            "Gaussian selection, as Kaldi's gmm-gselect: for every frame the indices of the --n components of the UBM with the highest "
            "log-likelihood, best first, written as a Kaldi table of int32 vectors of vectors (binary; text with ark,t:). A full-covariance "
            "UBM is used through its diagonal (as Kaldi's recipes use fgmm-global-to-gmm) unless --use-full.",
            "  ivkit-gselect --n 20 exp/ubm/final.dubm scp:data/train/feats.scp ark:exp/extractor/gselect.ark\n"
            "  ivkit-gselect --n 20 exp/ubm/final.ubm scp:data/test/feats.scp ark,scp:gselect.ark,gselect.scp");
  std::string ubm_path, feats, wspec;
  Index n = 20;
  bool use_full = false;
  auto& app = tool.app();
  app.add_option("ubm", ubm_path, "the UBM (ivkit or Kaldi file, diagonal or full)")->required();
  app.add_option("feats-rspecifier", feats, "features")->required();
  app.add_option("gselect-wspecifier", wspec, "output table, e.g. ark:gselect.ark")->required();
  app.add_option("--n", n, "Gaussians selected per frame")->check(CLI::PositiveNumber);
  app.add_flag("--use-full", use_full, "select with the full-covariance model itself (slower; Kaldi's recipes use the diagonal one)");
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    processing.finish_options(app, tool);
    const Ubm ubm = read_ubm(ubm_path);
    if (use_full && !ubm.is_full()) throw UsageError("--use-full needs a full-covariance UBM; '" + ubm_path + "' is diagonal");
    const Ubm selector = ubm.is_full() && !use_full ? Ubm(ubm.to_diag()) : ubm;
    if (n > ubm.num_components()) tool.warn("--n ", n, " is above the ", ubm.num_components(), " components of the UBM: selecting all");
    tool.info("selecting ", std::min(n, ubm.num_components()), " of ", ubm.describe());
    ivkit::KaldiWriter<Int32VectorVector> out(wspec);
    Progress progress(tool.name(), "Gaussian selection", static_cast<double>(count_script_entries(feats)), "utterances", !tool.quiet());
    double frames = 0, loglik = 0;
    // Each utterance is selected on its own, so a batch only has to keep the threads busy: four
    // utterances per thread. (A fixed 64 kept up to four batches of frames in memory at once, the
    // reader's two queued ones among them: 67 MiB at 2,000 utterances against gmm-gselect's 27.)
    const std::size_t batch_size = 4 * static_cast<std::size_t>(ivkit::resolve_num_threads(tool.threads()));
    for_each_utterance_batch(feats, batch_size, ubm.dim(), [&](std::vector<Utterance>& batch) {
      std::vector<ivkit::GaussianSelection> sel(batch.size());
      ivkit::parallel_for_blocks(static_cast<Index>(batch.size()), tool.threads(), [&](Index b) {
        const auto& u = batch[static_cast<std::size_t>(b)];
        if (u.frames.rows() == 0) return;
        sel[static_cast<std::size_t>(b)] = selector.is_full() ? ivkit::gaussian_selection(selector.full(), u.frames, n)
                                                              : ivkit::gaussian_selection(selector.diag(), u.frames, n);
      });
      for (std::size_t i = 0; i < batch.size(); ++i) {
        out.write(batch[i].key, gselect_to_table(sel[i]));
        frames += static_cast<double>(sel[i].num_frames());
        loglik += sel[i].frame_log_likelihoods.sum();
      }
      progress.add(static_cast<double>(batch.size()));
    }, &processing);
    out.close();
    progress.finish(ivkit::detail::message(frames, " frames; average log-likelihood over the selected Gaussians ",
                                           frames > 0 ? loglik / frames : 0.0, " per frame"));
  });
}
