// ivkit-train-ivector-extractor: trains an i-vector extractor (total-variability matrix) by EM from
// a UBM and features, as Kaldi's sid/train_ivector_extractor.sh (ivector-extractor-init,
// ivector-extractor-acc-stats, ivector-extractor-est), with a checkpoint after every iteration.
#include <string>
#include <vector>

#include <ivkit/io/kaldi_ivector_extractor.hpp>
#include <ivkit/io/model_files.hpp>
#include <ivkit/ivector/init.hpp>
#include <ivkit/ivector/trainer.hpp>

#include <ivkit/io/accumulator_files.hpp>

#include "common/checkpoint.hpp"
#include "common/mpi_world.hpp"
#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/stats.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;
using StatsBatch = ivkit::StatsSet<float>;

namespace {

constexpr std::size_t kBatch = 256;       // utterances per statistics batch (fixed: results do not depend on threads)
constexpr Index kPcaUtterances = 2000;    // utterances the PCA initialisation looks at

struct Options {
  std::string ubm, feats, output, gselect, init = "random", convention = "kaldi", from, write_accs;
  Index ivector_dim = 400;
  int num_iters = 10, stop_after = 0;
  PosteriorOptions post;
  double prior_offset = 100.0, init_scale = 0.1, memory_mb = 4096;
  unsigned long long seed = 777;
  bool update_variances = false, minimum_divergence = true, kaldi_format = false, binary = true, resume = false, keep_checkpoint = false;
};

// The library's initialisations are written for a diagonal UBM; a full-covariance UBM gets the same
// T from its diagonal and keeps its full covariances (as Kaldi's extractor does).
Extractor with_ubm_covariances(const Extractor& e, const Ubm& ubm) {
  if (!ubm.is_full()) return e;
  return Extractor(e.ubm_means(), e.m(), e.T(), ubm.full().covariances(), e.prior_mean());
}

}  // namespace

int main(int argc, char** argv) {
  MpiWorld world(argc, argv);
  Tool tool("ivkit-train-ivector-extractor",
            "Trains an i-vector extractor by EM (Kaldi's ivector-extractor-init, -acc-stats and -est; sid/train_ivector_extractor.sh). "
            "Statistics come from the UBM's posteriors restricted to a Gaussian selection (--gselect, from ivkit-gselect or Kaldi's "
            "gmm-gselect) or, without one, to the --num-gselect best components; posteriors below --min-post are pruned. They are kept in "
            "memory when they fit in --stats-memory-mb, else recomputed from the features at every iteration. After every iteration a "
            "checkpoint is written (OUT.iterN, OUT.checkpoint); --resume continues from it.",
            "  ivkit-train-ivector-extractor --ivector-dim 400 --num-iters 10 --gselect ark:exp/extractor/gselect.ark \\\n"
            "      exp/ubm/final.ubm scp:data/train/feats.scp exp/extractor/final.ie\n"
            "  ivkit-train-ivector-extractor --ivector-dim 100 --kaldi-format --resume exp/ubm/final.dubm scp:data/train/feats.scp final.ie");
  Options o;
  auto& app = tool.app();
  app.add_option("ubm", o.ubm, "the UBM (ivkit or Kaldi; a full-covariance UBM gives an extractor with full covariances, as Kaldi's)")->required();
  app.add_option("feats-rspecifier", o.feats, "features")->required();
  app.add_option("extractor-out", o.output, "the trained extractor")->required();
  app.add_option("--ivector-dim", o.ivector_dim, "i-vector dimension (with --prior-convention kaldi it includes Kaldi's offset dimension)")
      ->check(CLI::PositiveNumber);
  app.add_option("--num-iters", o.num_iters, "EM iterations")->check(CLI::NonNegativeNumber);
  app.add_option("--gselect", o.gselect, "Gaussian selection table (rspecifier) for the posteriors, e.g. ark:gselect.ark");
  app.add_option("--num-gselect", o.post.num_gselect, "without --gselect: Gaussians selected per frame (Kaldi's gmm-gselect --n)")->check(CLI::PositiveNumber);
  app.add_flag("--select-with-full", o.post.select_with_full,
               "without --gselect and with a full-covariance UBM: select the --num-gselect best components of the full model (default: of "
               "its diagonal, as Kaldi's sid scripts do with gmm-gselect on fgmm-global-to-gmm, then full-covariance posteriors)");
  app.add_option("--min-post", o.post.min_post, "prune posteriors below this and renormalise")->check(CLI::Range(0.0, 0.999999));
  app.add_option("--posterior-scale", o.post.posterior_scale, "scale the posteriors (Kaldi's scale-post; e.g. 0.1 for correlated frames)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-count", o.post.max_count, "cap the total count of an utterance (0 = no cap; Kaldi's --max-count)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--write-accs", o.write_accs,
                 "with --from: accumulate that extractor's statistics on the features, write them to this file and stop (one job of "
                 "Kaldi's ivector-extractor-acc-stats; ivkit-sum-accs sums the jobs' files and updates)");
  app.add_option("--from", o.from,
                 "continue training this extractor instead of initialising (ivkit file or Kaldi's final.ie, as Kaldi's "
                 "ivector-extractor-acc-stats and -est take any model); its dimension and prior convention are kept");
  app.add_option("--init", o.init, "initialisation: random (scaled by the UBM variances) or pca (of the normalised supervectors)")
      ->check(CLI::IsMember({"random", "pca"}));
  app.add_option("--init-scale", o.init_scale, "random init: T entries ~ N(0, (scale * stddev)^2)")->check(CLI::PositiveNumber);
  app.add_option("--prior-convention", o.convention,
                 "kaldi: w ~ N(prior_offset e1, I), m = 0 (writable in Kaldi's format); zero-mean: w ~ N(0, I), m = UBM means (SIDEKIT)")
      ->check(CLI::IsMember({"kaldi", "zero-mean"}));
  app.add_option("--prior-offset", o.prior_offset, "Kaldi convention: the prior mean of the first i-vector dimension")->check(CLI::PositiveNumber);
  app.add_flag("--update-variances", o.update_variances,
               "re-estimate the covariances too (Kaldi's --update-variances): diagonal ones for a diagonal UBM, full ones for a full UBM "
               "(from the packed full scatter of every utterance), each kept at least 1% of the UBM's in the PSD order and its "
               "eigenvalues floored as Kaldi's ivector-extractor-est does");
  app.add_option("--minimum-divergence", o.minimum_divergence, "re-estimate the prior after every iteration (Brummer's minimum divergence)");
  app.add_option("--seed", o.seed, "random seed of the initialisation");
  app.add_option("--stats-memory-mb", o.memory_mb, "keep the statistics in memory up to this size, else recompute them every iteration")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--kaldi-format", o.kaldi_format, "write Kaldi's final.ie format (needs --prior-convention kaldi)");
  app.add_option("--binary", o.binary, "with --kaldi-format: binary (true) or text (false)");
  add_checkpoint_options(app, o.resume, o.stop_after, o.keep_checkpoint);
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return world.finish(tool.run(argc, argv, [&] {
    if (world.distributed()) {
      if (o.resume) throw UsageError("--resume is not supported under MPI: run again from the start, or continue with --from");
      if (o.from.empty() && o.init == "pca")
        throw UsageError("--init pca needs every utterance's statistics in one process: under MPI use --init random or --from");
      if (world.rank() != 0) tool.set_quiet(true);
      tool.info("training on ", world.size(), " MPI processes; each reads every ", world.size(), "th utterance");
    }
    processing.finish_options(app, tool);
    if (!app.get_option("--binary")->empty() && !o.kaldi_format) throw UsageError("--binary applies to --kaldi-format output only");
    if (!o.from.empty() && (app.count("--init") || app.count("--init-scale") || app.count("--seed") || app.count("--ivector-dim") ||
                            app.count("--prior-offset")))
      throw UsageError("--from continues a given extractor: --init, --init-scale, --seed, --ivector-dim and --prior-offset do not apply");
    const Ubm ubm_for_from = o.from.empty() ? Ubm() : read_ubm(o.ubm);
    Extractor from_model;
    if (!o.from.empty()) {
      from_model = read_extractor(o.from, ubm_for_from);
      o.ivector_dim = from_model.ivector_dim();
      const ivkit::PriorConvention c = from_model.convention();
      const std::string conv = c == ivkit::PriorConvention::KaldiOffset ? "kaldi" : c == ivkit::PriorConvention::ZeroMean ? "zero-mean" : "general";
      if (app.count("--prior-convention") && o.convention != conv)
        throw UsageError("--prior-convention " + o.convention + " differs from the convention of '" + o.from + "' (" + conv + ")");
      o.convention = conv;
    }
    const bool kaldi = o.convention == "kaldi";
    if (o.kaldi_format && !kaldi) throw UsageError("--kaldi-format needs --prior-convention kaldi (Kaldi's format has no separate mean)");
    if (kaldi && o.ivector_dim < 2) throw UsageError("--prior-convention kaldi needs --ivector-dim >= 2 (the first dimension holds the offset)");
    if (!o.gselect.empty() && app.count("--num-gselect")) throw UsageError("--num-gselect applies only without --gselect");
    const Ubm ubm = o.from.empty() ? read_ubm(o.ubm) : ubm_for_from;
    tool.info("UBM '", o.ubm, "': ", ubm.describe());
    const Index C = ubm.num_components(), D = ubm.dim(), R = o.ivector_dim;
    PosteriorOptions post = o.post;
    post.second_order = o.update_variances;
    StatsComputer computer(ubm, post, o.gselect);

    Fingerprint fp = {{"ubm", o.ubm},
                      {"feats", o.feats},
                      {"gselect", o.gselect},
                      {"ivector-dim", std::to_string(R)},
                      {"num-iters", std::to_string(o.num_iters)},
                      {"num-gselect", std::to_string(o.post.num_gselect)},
                      {"features", processing.describe()},
                      {"select-with-full", o.post.select_with_full ? "1" : "0"},
                      {"min-post", format_real(o.post.min_post)},
                      {"posterior-scale", format_real(o.post.posterior_scale)},
                      {"max-count", format_real(o.post.max_count)},
                      {"init", o.from.empty() ? o.init : "from:" + o.from},
                      {"init-scale", format_real(o.init_scale)},
                      {"prior-convention", o.convention},
                      {"prior-offset", format_real(o.prior_offset)},
                      {"update-variances", o.update_variances ? "true" : "false"},
                      {"minimum-divergence", o.minimum_divergence ? "true" : "false"},
                      {"seed", std::to_string(o.seed)}};
    Checkpointer checkpoint(tool.name(), o.output, fp);

    // Statistics: computed in batches of kBatch utterances, kept while they fit in memory.
    const std::size_t memory_limit = static_cast<std::size_t>(o.memory_mb * 1048576.0);
    std::vector<StatsBatch> stored;
    std::size_t stored_bytes = 0;
    // The PCA initialisation's sample (up to kPcaUtterances), gathered only for it: 0.5 MB an
    // utterance at C = 2048, D = 60.
    const bool need_pca_stats = o.from.empty() && o.init == "pca";
    // One iteration without PCA initialisation reads the statistics once: none are kept for a
    // second pass that never comes (1 GB at 2,000 utterances, C = 2048, D = 60).
    const bool single_pass = o.num_iters <= 1 && !need_pca_stats;
    bool storing = memory_limit > 0 && !single_pass, complete = false, counted = false;
    std::string counts_message;
    double num_utts = 0, num_frames = 0, total_count = 0;
    // Corpus totals of the second-order statistics: the diagonal (C x D), or for a full UBM the
    // packed full scatter (C x D(D+1)/2) the full-covariance update needs.
    Matrix<double> second_order = Matrix<double>::Zero(C, ubm.is_full() ? ivkit::packed_size(D) : D);
    StatsBatch pca_stats(C, D);
    const std::size_t script_entries = count_script_entries(o.feats);
    auto for_each_batch = [&](Progress& progress, const std::function<void(const StatsBatch&)>& f) {
      if (complete) {
        for (const auto& b : stored) {
          f(b);
          progress.add(static_cast<double>(b.size()));
        }
        return;
      }
      const bool first = !counted;
      for_each_utterance_batch(o.feats, kBatch, D, [&](std::vector<Utterance>& batch) {
        const auto stats = computer.compute(batch, tool.threads());
        StatsBatch set(C, D);
        std::vector<std::string> keys;
        for (const auto& u : batch) keys.push_back(u.key);
        ivkit::add_to(set, keys, stats);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (first) {
            num_frames += static_cast<double>(batch[i].frames.rows());
            total_count += stats[i].total_count();
            if (o.update_variances) second_order += stats[i].second;
            if (need_pca_stats && pca_stats.size() < kPcaUtterances) ivkit::add_to(pca_stats, batch[i].key, stats[i]);
          }
        }
        if (first) num_utts += static_cast<double>(batch.size());
        f(set);
        progress.add(static_cast<double>(batch.size()));
        if (first && storing) {
          const std::size_t bytes = static_cast<std::size_t>(set.zeroth().size() + set.first().size()) * sizeof(float);
          if (stored_bytes + bytes > memory_limit) {
            storing = false;
            stored.clear();
            stored.shrink_to_fit();
          } else {
            stored_bytes += bytes;
            stored.push_back(std::move(set));
          }
        }
      }, &processing, Shard{world.rank(), world.size()});
      if (first) {
        world.sum(num_utts);
        world.sum(num_frames);
        world.sum(total_count);
        if (o.update_variances) world.sum(second_order);
        if (num_utts == 0) throw ivkit::FormatError(ivkit::detail::message("'", o.feats, "' holds no utterances"));
        counted = true;
        complete = storing;
        counts_message = ivkit::detail::message("statistics of ", num_utts, " utterances, ", num_frames, " frames (total count ", total_count,
                                                ")", complete ? ", kept in memory" : ", recomputed at every iteration");
      }
    };
    // Printed after the progress line of the pass that counted them.
    auto report_counts = [&] {
      if (counts_message.empty()) return;
      tool.info(counts_message);
      counts_message.clear();
    };
    auto total = [&] { return counted ? num_utts / world.size() : static_cast<double>(script_entries) / world.size(); };

    if (!o.write_accs.empty()) {
      if (o.from.empty()) throw UsageError("--write-accs needs --from: the extractor whose statistics are accumulated");
      if (world.distributed()) throw UsageError("--write-accs is the queue pattern (one file per job); under MPI the ranks sum in memory");
      if (o.update_variances) throw UsageError("--write-accs does not carry the second-order statistics --update-variances needs");
      Extractor m = std::move(from_model);
      m.set_approximation_weights(ubm.weights());
      ivkit::IvectorAccumulateOptions ao;
      ao.batch_size = static_cast<Index>(kBatch);
      ao.num_threads = tool.threads();
      ivkit::IvectorTrainerStats acc(C, D, R);
      Progress progress(tool.name(), "accumulating", total(), "utterances", !tool.quiet());
      for_each_batch(progress, [&](const StatsBatch& b) { ivkit::accumulate_ivector_stats(m, b, acc, ao); });
      ivkit::save_ivector_trainer_stats(o.write_accs, acc);
      progress.finish(ivkit::detail::message("objective ", acc.objective / acc.num_utterances, " per utterance; wrote '", o.write_accs, "'"));
      return;
    }
    Extractor model;
    int k = 0;
    if (o.resume) {
      if (auto st = checkpoint.load()) {
        model = ivkit::load_ivector_extractor<float>(st->model_path);
        model.set_approximation_weights(ubm.weights());
        k = st->iterations_done;
        checkpoint.resumed(k);
        tool.info("resuming from '", st->model_path, "' after ", k, " of ", o.num_iters, " iterations");
      } else {
        tool.info("no checkpoint '", checkpoint.index_path(), "': starting from the beginning");
      }
    }
    if (!(o.resume && k > 0) && !o.from.empty()) {
      model = std::move(from_model);
      model.set_approximation_weights(ubm.weights());
      tool.info("continuing from '", o.from, "' (", o.convention, " prior): C = ", C, ", D = ", D, ", R = ", R,
                model.full_covariance() ? ", full covariances" : ", diagonal covariances");
    } else if (!(o.resume && k > 0)) {
      const ivkit::PriorConvention conv = kaldi ? ivkit::PriorConvention::KaldiOffset : ivkit::PriorConvention::ZeroMean;
      if (o.init == "random") {
        model = with_ubm_covariances(ivkit::init_extractor_random(ubm.to_diag(), R, o.seed, o.init_scale, conv, o.prior_offset), ubm);
      } else {
        Progress progress(tool.name(), "statistics for the PCA initialisation", total(), "utterances", !tool.quiet());
        for_each_batch(progress, [](const StatsBatch&) {});
        progress.finish();
        report_counts();
        const Index r_pca = kaldi ? R - 1 : R;
        Extractor pca = with_ubm_covariances(ivkit::init_extractor_pca(ubm.to_diag(), pca_stats, r_pca), ubm);
        model = kaldi ? ivkit::to_kaldi_offset(pca, o.prior_offset) : pca;
      }
      model.set_approximation_weights(ubm.weights());
      tool.info("initialised (", o.init, ", ", o.convention, " prior): C = ", C, ", D = ", D, ", R = ", R,
                model.full_covariance() ? ", full covariances" : ", diagonal covariances");
    }

    ivkit::IvectorAccumulateOptions acc_opts;
    acc_opts.batch_size = static_cast<Index>(kBatch);
    acc_opts.num_threads = tool.threads();
    // The covariances never fall below 1% of the UBM's (IvectorUpdateOptions::reference_floor), as
    // train_extractor does: the same model on a resumed run.
    ivkit::CovarianceFloorReference<float> floor_reference;
    if (o.update_variances) {
      if (ubm.is_full()) floor_reference.covariances = ubm.full().covariances();
      else floor_reference.variances = ubm.diag().variances();
    }
    int run_here = 0;
    for (; k < o.num_iters; ++k) {
      if (o.stop_after > 0 && run_here == o.stop_after) {
        tool.info("stopping after ", run_here, " iterations (", k, " of ", o.num_iters, " done); continue with --resume");
        return;
      }
      Progress progress(tool.name(), ivkit::detail::message("iteration ", k + 1, "/", o.num_iters), total(), "utterances", !tool.quiet());
      ivkit::IvectorTrainerStats acc(C, D, R);
      for_each_batch(progress, [&](const StatsBatch& b) { ivkit::accumulate_ivector_stats(model, b, acc, acc_opts); });
      world.sum(acc);
      ivkit::IvectorUpdateOptions u;
      u.minimum_divergence = o.minimum_divergence;
      if (o.update_variances) u.second_order = &second_order;
      model = ivkit::update_extractor(model, acc, u, o.update_variances ? &floor_reference : nullptr);
      progress.finish(ivkit::detail::message("objective ", acc.objective / acc.num_utterances, " per utterance (before the update)"));
      report_counts();
      // After the last iteration the output itself is written next: a checkpoint of the same
      // model would only be removed again (at C = 2048, R = 400 it took 1.1 s); --keep-checkpoint
      // still writes it.
      const bool last = k + 1 == o.num_iters;
      if (world.rank() == 0 && (!last || o.keep_checkpoint))
        checkpoint.save(k + 1, [&](const std::string& path) { ivkit::save_ivector_extractor(path, model); });
      ++run_here;
    }
    if (world.rank() != 0) return;  // every rank holds the same model; rank 0 writes it
    write_extractor(o.output, model, ubm, OutputFormat{o.kaldi_format, o.binary});
    if (!o.keep_checkpoint) checkpoint.remove();
    tool.info("wrote the extractor (R = ", R, ") to '", o.output, "' (", o.kaldi_format ? (o.binary ? "Kaldi binary" : "Kaldi text") : "ivkit",
              " format)");
  }));
}
