// ivkit-sum-accs: sums the accumulator files that the jobs of a queue wrote (ivkit-train-ubm or
// ivkit-train-ivector-extractor with --from and --write-accs) and runs the M-step: Kaldi's
// gmm-global-sum-accs + gmm-global-est (fgmm-...) and ivector-extractor-sum-accs + -est in one call.
#include <string>
#include <vector>

#include <ivkit/gmm/em_update.hpp>
#include <ivkit/io/accumulator_files.hpp>
#include <ivkit/ivector/trainer.hpp>

#include "common/cli.hpp"
#include "common/gmm_update.hpp"
#include "common/models.hpp"

using namespace ivkit_tools;
using ivkit::detail::message;

int main(int argc, char** argv) {
  Tool tool("ivkit-sum-accs",
            "Sums the accumulator files of the jobs of one EM iteration (written by ivkit-train-ubm or ivkit-train-ivector-extractor with "
            "--from MODEL --write-accs FILE, each job on its share of the data) and updates MODEL with them: Kaldi's "
            "gmm-global-sum-accs + gmm-global-est, fgmm-global-sum-accs + fgmm-global-est, or ivector-extractor-sum-accs + "
            "ivector-extractor-est. The kind of update follows the files. The options are the training tools' and must match them "
            "for the same model as a run in one process.",
            "  for j in 1 2 3; do ivkit-train-ubm --from exp/ubm/3.dubm --write-accs exp/ubm/acc.3.$j scp:data/train/split3/$j/feats.scp x; done\n"
            "  ivkit-sum-accs exp/ubm/3.dubm exp/ubm/acc.3.1 exp/ubm/acc.3.2 exp/ubm/acc.3.3 exp/ubm/4.dubm\n"
            "  ivkit-sum-accs --ubm exp/ubm/final.ubm exp/ie/3.ie exp/ie/acc.3.* exp/ie/4.ie");
  std::vector<std::string> args;
  std::string ubm_path;
  GmmUpdateCli update;  // as ivkit-train-ubm
  std::uint64_t seed = 777;
  int iteration = 0;
  bool minimum_divergence = true, kaldi_format = false, binary = true;
  auto& app = tool.app();
  // One list of positionals, split after parsing (CLI11 would give every argument to the files).
  app.add_option("model accs... model-out", args, "the model the statistics were accumulated with, the jobs' accumulator files, the updated model")
      ->required()
      ->expected(3, -1);
  app.add_option("--ubm", ubm_path, "extractor accumulators: the UBM the extractor was trained with (to read it)");
  update.add_options(app);
  app.add_option("--seed", seed, "GMM: the training's --seed (re-splits draw from it)");
  app.add_option("--iteration", iteration, "GMM: the 0-based iteration being updated (re-splits draw from it, as in ivkit-train-ubm)");
  app.add_option("--minimum-divergence", minimum_divergence, "extractor: re-estimate the prior (as ivkit-train-ivector-extractor)");
  app.add_flag("--kaldi-format", kaldi_format, "write Kaldi's format (final.dubm / final.ubm / final.ie)");
  app.add_option("--binary", binary, "with --kaldi-format: binary (true) or text (false)");

  return tool.run(argc, argv, [&] {
    if (!app.get_option("--binary")->empty() && !kaldi_format) throw UsageError("--binary applies to --kaldi-format output only");
    const std::string model_path = args.front(), out_path = args.back();
    const std::vector<std::string> accs(args.begin() + 1, args.end() - 1);
    const ModelProbe kind = probe_model_file(accs.front());
    if (kind.format == FileFormat::Ivkit && kind.type == "EmAccumulator") {
      if (!ubm_path.empty()) throw UsageError("--ubm applies to extractor accumulators");
      const ivkit::EmAccumulator acc = ivkit::load_em_accumulators(accs);
      Ubm model = read_ubm(model_path);
      // Full-covariance statistics of a diagonal model: its first full iteration (ivkit-train-ubm --full).
      if (acc.full_covariance && !model.is_full()) model = Ubm(ivkit::to_full(model.diag()));
      if (acc.full_covariance != model.is_full() || acc.occupancy.size() != model.num_components() || acc.centre.size() != model.dim())
        throw ivkit::DimensionMismatch(message("the accumulators (C = ", acc.occupancy.size(), ", D = ", acc.centre.size(),
                                               acc.full_covariance ? ", full" : ", diagonal", ") are not those of '", model_path, "' (",
                                               model.describe(), ")"));
      ivkit::EmUpdateOptions u = update.options(app, model.is_full());
      u.seed = iteration_seed(seed, iteration);
      ivkit::EmUpdateReport report;
      const Ubm next = model.is_full() ? Ubm(ivkit::em_update(model.full(), acc, u, &report))
                                       : Ubm(ivkit::em_update(model.diag(), acc, u, &report));
      write_ubm(out_path, next, OutputFormat{kaldi_format, binary});
      tool.info(accs.size(), " accumulator files, ", acc.num_frames, " frames, average log-likelihood ", acc.average_log_likelihood(),
                " per frame; wrote ", next.describe(), " to '", out_path, "'");
      return;
    }
    if (kind.format == FileFormat::Ivkit && kind.type == "IvectorTrainerStats") {
      if (ubm_path.empty()) throw UsageError("extractor accumulators need --ubm (the UBM the extractor was trained with)");
      const Ubm ubm = read_ubm(ubm_path);
      Extractor model = read_extractor(model_path, ubm);
      const ivkit::IvectorTrainerStats acc = ivkit::load_ivector_trainer_stats(accs);
      if (acc.gamma.size() != model.num_components() || acc.w_sum.size() != model.ivector_dim() || acc.Y.rows() != model.num_components() * model.dim())
        throw ivkit::DimensionMismatch(message("the accumulators (C = ", acc.gamma.size(), ", R = ", acc.w_sum.size(), ") are not those of '",
                                               model_path, "' (C = ", model.num_components(), ", R = ", model.ivector_dim(), ")"));
      ivkit::IvectorUpdateOptions u;
      u.minimum_divergence = minimum_divergence;
      model = ivkit::update_extractor(model, acc, u);
      model.set_approximation_weights(ubm.weights());
      write_extractor(out_path, model, ubm, OutputFormat{kaldi_format, binary});
      tool.info(accs.size(), " accumulator files, ", acc.num_utterances, " utterances, objective ", acc.objective / acc.num_utterances,
                " per utterance; wrote the extractor to '", out_path, "'");
      return;
    }
    throw ivkit::FormatError(message("'", accs.front(), "' holds ", kind.describe(), ", not accumulators (ivkit-train-ubm or ",
                                     "ivkit-train-ivector-extractor --write-accs)"));
  });
}
