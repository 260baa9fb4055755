// ivkit-extract-ivectors: i-vectors (posterior means) of every utterance of a features table, as
// Kaldi's sid/extract_ivectors.sh (gmm-gselect, fgmm-global-gselect-to-post, ivector-extract),
// written as a Kaldi table of vectors; optionally the posterior variances too.
#include <string>
#include <vector>

#include <ivkit/io/kaldi_writer.hpp>

#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/stats.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;

int main(int argc, char** argv) {
  Tool tool("ivkit-extract-ivectors",
            "Extracts i-vectors (Kaldi's ivector-extract after gmm-gselect and fgmm-global-gselect-to-post; sid/extract_ivectors.sh): the "
            "posterior mean of the i-vector of every utterance given its Baum-Welch statistics under the UBM, written as a Kaldi table of "
            "vectors. As Kaldi's ivector-extract, the prior mean is subtracted (Kaldi's convention: the offset of the first dimension), "
            "unless --keep-prior-mean. --uncertainty-wspecifier writes the diagonal of the posterior covariance of each i-vector.",
            "  ivkit-extract-ivectors --gselect ark:gselect.ark exp/ubm/final.ubm exp/extractor/final.ie scp:data/test/feats.scp \\\n"
            "      ark,scp:exp/ivectors_test/ivector.ark,exp/ivectors_test/ivector.scp\n"
            "  ivkit-extract-ivectors --uncertainty-wspecifier ark:var.ark final.dubm final.ie scp:feats.scp ark,t:ivectors.txt");
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
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    if (!gselect.empty() && app.count("--num-gselect")) throw UsageError("--num-gselect applies only without --gselect");
    processing.finish_options(app);
    if (processing.active()) tool.info("features on the fly: ", processing.describe());
    const Ubm ubm = read_ubm(ubm_path);
    const Extractor ex = read_extractor(extractor_path, ubm);
    const Index C = ubm.num_components(), D = ubm.dim(), R = ex.ivector_dim();
    tool.info("UBM: ", ubm.describe(), "; extractor: R = ", R, ex.full_covariance() ? ", full covariances" : ", diagonal covariances");
    StatsComputer computer(ubm, post, gselect);
    ivkit::ExtractOptions eo;
    eo.method = method == "exact" ? ivkit::ExtractionMethod::Exact : ivkit::ExtractionMethod::Approximate;
    eo.variances = !uncertainty.empty();
    eo.batch_size = 16;
    eo.num_threads = tool.threads();
    const ivkit::Vector<float> prior = keep_prior ? ivkit::Vector<float>::Zero(R) : ex.prior_mean();
    ivkit::KaldiWriter<ivkit::Vector<float>> out(wspec);
    std::unique_ptr<ivkit::KaldiWriter<ivkit::Vector<float>>> var_out;
    if (!uncertainty.empty()) var_out = std::make_unique<ivkit::KaldiWriter<ivkit::Vector<float>>>(uncertainty);
    Progress progress(tool.name(), "extracting i-vectors", static_cast<double>(count_script_entries(feats)), "utterances", !tool.quiet());
    double count = 0, frames = 0, norm = 0;
    for_each_utterance_batch(feats, 256, D, [&](std::vector<Utterance>& batch) {
      const auto stats = computer.compute(batch, tool.threads());
      const Index n = static_cast<Index>(batch.size());
      Matrix<double> zeroth(n, C), first(n, C * D);
      for (Index i = 0; i < n; ++i) {
        const auto& s = stats[static_cast<std::size_t>(i)];
        zeroth.row(i) = s.zeroth.transpose();
        for (Index c = 0; c < C; ++c) first.row(i).segment(c * D, D) = s.first.row(c);
        frames += static_cast<double>(s.num_frames);
      }
      ivkit::Ivectors<float> iv = ex.extract_matrices(zeroth, first, eo);
      iv.means.rowwise() -= prior.transpose();
      for (Index i = 0; i < n; ++i) {
        const std::string& key = batch[static_cast<std::size_t>(i)].key;
        out.write(key, iv.means.row(i).transpose());
        if (var_out) var_out->write(key, iv.variances.row(i).transpose());
        norm += static_cast<double>(iv.means.row(i).norm());
      }
      count += static_cast<double>(n);
      progress.add(static_cast<double>(n));
    }, &processing);
    if (count == 0) throw ivkit::FormatError(ivkit::detail::message("'", feats, "' holds no utterances"));
    out.close();
    if (var_out) var_out->close();
    progress.finish(ivkit::detail::message(frames, " frames; average i-vector norm ", count > 0 ? norm / count : 0.0));
  });
}
