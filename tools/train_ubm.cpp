// ivkit-train-ubm: trains a diagonal-covariance UBM (and optionally a full-covariance one on top)
// from a features rspecifier by EM, streaming the features every iteration (or keeping them in
// memory when they fit), with a checkpoint after every iteration. See docs/tools/train-ubm.md.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <ivkit/core/random.hpp>
#include <ivkit/gmm/em_accumulator.hpp>
#include <ivkit/gmm/em_update.hpp>
#include <ivkit/gmm/init.hpp>
#include <ivkit/io/accumulator_files.hpp>
#include <ivkit/io/model_files.hpp>

#include "common/checkpoint.hpp"
#include "common/mpi_world.hpp"
#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/gmm_update.hpp"
#include "common/gselect_table.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;

namespace {

// Frames per statistics chunk: 16 scoring blocks of the final model (a block holds 512 KB of
// log-likelihoods, 131,072 / C frames: block_frames_for, gmm/scoring.hpp), for up to 16 threads to
// share, between 1,024 and 8,192 frames. Fixed for the run, from the final number of components
// and not the thread count, so results do not depend on the thread count or on resuming. Small:
// the three chunks in flight (being read, queued, being accumulated) take 0.7 MB at C = 2048,
// D = 60 (chunks of 4,096 frames, four in flight, took 3.9 MB).
Index chunk_frames_for(Index components) {
  return std::clamp<Index>((Index{1} << 21) / std::max<Index>(components, 1), 1024, 8192);
}

struct Options {
  std::string feats, output, init = "random", from, write_accs, gselect;
  Index num_gauss = 256, num_frames = 500000, top_n = 0;
  int num_iters = 20, num_full_iters = 4, iters_per_split = 4, kmeans_iters = 10, subsample = 1, stop_after = 0;
  double initial_proportion = 0.5, min_post = 0.0, perturbation = 0.2;
  double cache_mb = 2048;
  unsigned long long seed = 777;
  bool full = false, kaldi_format = false, binary = true, resume = false, keep_checkpoint = false;
  GmmUpdateCli update;
};

// Random choices of iteration k (mixing up, re-splitting) are seeded from the seed and k only, so a
// resumed run makes the same choices as an uninterrupted one.

// EM statistics of one pass over the data: over every component of each chunk of frames, or, with a
// Gaussian-selection table, over each utterance's selected components (Kaldi's --gselect).
void accumulate_pass(const Ubm& model, FrameChunks& data, GselectLookup* gselect, const ivkit::AccumulateOptions& opts,
                     ivkit::EmAccumulator& acc, Progress* progress) {
  if (!gselect) {
    data.pass(
        [&](const Matrix<float>& chunk) {
          if (model.is_full()) ivkit::accumulate_em_stats(model.full(), chunk, acc, opts);
          else ivkit::accumulate_em_stats(model.diag(), chunk, acc, opts);
        },
        {}, progress);
    return;
  }
  data.pass([](const Matrix<float>&) {},
            [&](const std::string& key, const Matrix<float>& frames) {
              const std::string what = ivkit::detail::message("the Gaussian selection of utterance '", key, "' in '", gselect->rspecifier(), "'");
              const ivkit::GaussianSelection sel = gselect_from_table(gselect->of(key), model.num_components(), what);
              if (sel.num_frames() != frames.rows())
                throw ivkit::FormatError(ivkit::detail::message(what, " has ", sel.num_frames(), " frames but the features have ", frames.rows(),
                                                                data.subsampled() ? " (after --subsample)" : ""));
              if (model.is_full()) ivkit::accumulate_em_stats(model.full(), frames, sel, acc, opts);
              else ivkit::accumulate_em_stats(model.diag(), frames, sel, acc, opts);
            },
            progress);
}

}  // namespace

int main(int argc, char** argv) {
  MpiWorld world(argc, argv);
  Tool tool("ivkit-train-ubm",
            "Trains a UBM by EM from features (a Kaldi rspecifier): a diagonal-covariance GMM (Kaldi's gmm-global-init-from-feats "
            "and gmm-global-est; sid/train_diag_ubm.sh) and, with --full, full-covariance iterations on top (fgmm-global-est; "
            "sid/train_full_ubm.sh). Features are read again at every iteration (kept in memory when they fit in --cache-mb). "
            "After every iteration a checkpoint is written (OUT.iterN and OUT.checkpoint); --resume continues from it.",
            "  ivkit-train-ubm --num-gauss 512 --num-iters 20 --threads 8 scp:data/train/feats.scp exp/ubm/final.dubm\n"
            "  ivkit-train-ubm --full --from exp/ubm/final.dubm --num-iters 0 --num-full-iters 4 scp:data/train/feats.scp exp/ubm/final.ubm\n"
            "  ivkit-train-ubm --num-gauss 2048 --kaldi-format --resume scp:data/train/feats.scp exp/ubm/final.dubm");
  Options o;
  auto& app = tool.app();
  app.add_option("feats-rspecifier", o.feats, "features, e.g. scp:data/train/feats.scp or ark:feats.ark")->required();
  app.add_option("model-out", o.output, "the trained UBM")->required();
  app.add_option("--num-gauss", o.num_gauss, "number of Gaussians")->check(CLI::PositiveNumber);
  app.add_option("--num-iters", o.num_iters, "EM iterations of the diagonal model (random init: mixing up during the first half)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--init", o.init, "initialisation: random (Kaldi: random frames, mixing up), split (binary splitting), kmeans (k-means++)")
      ->check(CLI::IsMember({"random", "split", "kmeans"}));
  app.add_option("--initial-gauss-proportion", o.initial_proportion, "random init: start with this proportion of the Gaussians")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--iters-per-split", o.iters_per_split, "split init: EM iterations after each doubling")->check(CLI::NonNegativeNumber);
  app.add_option("--kmeans-iters", o.kmeans_iters, "kmeans init: Lloyd iterations")->check(CLI::NonNegativeNumber);
  app.add_option("--num-frames", o.num_frames, "frames sampled (uniformly, over all the data) for the initialisation")->check(CLI::PositiveNumber);
  app.add_option("--write-accs", o.write_accs,
                 "with --from: accumulate the EM statistics of that model (full-covariance ones with --full) on the features, write "
                 "them to this file and stop (one job of Kaldi's gmm-global-acc-stats; ivkit-sum-accs sums the jobs' files and updates)");
  app.add_option("--from", o.from, "start EM from this UBM instead of initialising (ivkit or Kaldi file; with --full a diagonal one is converted)");
  app.add_flag("--full", o.full, "train a full-covariance UBM: --num-full-iters full-covariance iterations after the diagonal ones");
  app.add_option("--num-full-iters", o.num_full_iters, "full-covariance EM iterations (with --full)")->check(CLI::NonNegativeNumber);
  app.add_option("--subsample", o.subsample, "use every n-th frame (Kaldi's subsample-feats --n)")->check(CLI::PositiveNumber);
  app.add_option("--top-n", o.top_n, "EM statistics from the n best posteriors per frame (0 = all: exact EM)")->check(CLI::NonNegativeNumber);
  app.add_option("--min-post", o.min_post, "with --top-n: drop posteriors below this and renormalise")->check(CLI::Range(0.0, 0.999999));
  o.update.add_options(app);
  app.add_option("--gselect", o.gselect,
                 "a fixed Gaussian-selection table (rspecifier) of the frames after --subsample: every iteration's statistics use each "
                 "frame's selected Gaussians only (Kaldi's gmm-global-acc-stats --gselect; sid/train_diag_ubm.sh makes one with "
                 "gmm-gselect --n=30 from the initial model). Needs --from");
  app.add_option("--split-perturbation", o.perturbation, "mixing up and splitting move the means by this many standard deviations")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "random seed (initialisation, mixing up)");
  app.add_option("--cache-mb", o.cache_mb, "keep the (subsampled) features in memory between iterations up to this size (0: read every time)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--kaldi-format", o.kaldi_format, "write the model in Kaldi's format (final.dubm / final.ubm) instead of ivkit's");
  app.add_option("--binary", o.binary, "with --kaldi-format: binary (true) or text (false)");
  add_checkpoint_options(app, o.resume, o.stop_after, o.keep_checkpoint);
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return world.finish(tool.run(argc, argv, [&] {
    if (world.distributed()) {
      if (o.resume) throw UsageError("--resume is not supported under MPI: run again from the start");
      if (o.from.empty())
        throw UsageError("under MPI, give --from: initialise with one process (as Kaldi's gmm-global-init-from-feats runs in one), "
                         "then run the EM iterations across processes");
      if (world.rank() != 0) tool.set_quiet(true);
      tool.info("training on ", world.size(), " MPI processes; each reads every ", world.size(), "th utterance");
    }
    processing.finish_options(app, tool);
    if (!app.get_option("--binary")->empty() && !o.kaldi_format) throw UsageError("--binary applies to --kaldi-format output only");
    const OutputFormat out_format{o.kaldi_format, o.binary};
    if (!o.gselect.empty()) {
      if (o.from.empty()) throw UsageError("--gselect needs --from: the selection is of a given model's Gaussians (and mixing up would change them)");
      if (app.count("--top-n") || app.count("--min-post")) throw UsageError("--top-n and --min-post do not apply with --gselect");
    }
    std::unique_ptr<GselectLookup> gselect = o.gselect.empty() ? nullptr : std::make_unique<GselectLookup>(o.gselect);
    ivkit::AccumulateOptions accumulate;
    accumulate.num_threads = tool.threads();
    accumulate.top_n = o.top_n;
    accumulate.min_post = o.min_post;

    // The starting point and the schedule: diagonal steps, then full-covariance steps.
    Ubm from;
    if (!o.from.empty()) {
      from = read_ubm(o.from);
      if (from.is_full() && !o.full) throw UsageError("--from '" + o.from + "' is a full-covariance UBM: add --full to continue training it");
    }
    if (!o.write_accs.empty()) {
      if (o.from.empty()) throw UsageError("--write-accs needs --from: the model whose statistics are accumulated");
      if (world.distributed()) throw UsageError("--write-accs is the queue pattern (one file per job); under MPI the ranks sum in memory");
      const Ubm model = o.full && !from.is_full() ? Ubm(ivkit::to_full(from.diag())) : std::move(from);
      FrameChunks data(o.feats, o.subsample, chunk_frames_for(model.num_components()), 0, &processing);
      ivkit::EmAccumulator acc = model.is_full() ? ivkit::EmAccumulator(model.full()) : ivkit::EmAccumulator(model.diag());
      Progress progress(tool.name(), "accumulating", static_cast<double>(count_script_entries(o.feats)), "utterances", !tool.quiet());
      accumulate_pass(model, data, gselect.get(), accumulate, acc, &progress);
      ivkit::save_em_accumulator(o.write_accs, acc);
      progress.finish(ivkit::detail::message(acc.num_frames, " frames, average log-likelihood ", acc.average_log_likelihood(), "; wrote '",
                                             o.write_accs, "'"));
      return;
    }
    const bool from_full = !o.from.empty() && from.is_full();
    const Index target = o.from.empty() ? o.num_gauss : from.num_components();
    if (!o.from.empty() && app.count("--num-gauss"))
      throw UsageError("--num-gauss does not apply with --from (the model keeps its " + std::to_string(target) + " Gaussians)");
    int diag_steps = from_full ? 0 : o.num_iters;
    Index start_gauss = target;
    // Random init mixes up after EM passes; with a single pass there is none left to train the
    // Gaussians a mix-up would add, so it starts from all of them.
    if (o.from.empty() && o.init == "random" && diag_steps >= 2)
      start_gauss = std::max<Index>(1, static_cast<Index>(std::floor(o.initial_proportion * target)));
    int split_steps = 0;
    if (o.from.empty() && o.init == "split") {
      for (Index c = 1; c < target; c = std::min(target, 2 * c)) split_steps += o.iters_per_split;
    }
    diag_steps += split_steps;
    const int full_steps = o.full ? o.num_full_iters : 0;
    const int total = diag_steps + full_steps;

    Fingerprint fp{{"feats", o.feats},
                      {"features", processing.describe()},
                      {"num-gauss", std::to_string(target)},
                      {"num-iters", std::to_string(o.num_iters)},
                      {"init", o.from.empty() ? o.init : "from:" + o.from},
                      {"initial-gauss-proportion", format_real(o.initial_proportion)},
                      {"iters-per-split", std::to_string(o.iters_per_split)},
                      {"kmeans-iters", std::to_string(o.kmeans_iters)},
                      {"num-frames", std::to_string(o.num_frames)},
                      {"full", o.full ? "true" : "false"},
                      {"num-full-iters", std::to_string(o.num_full_iters)},
                      {"subsample", std::to_string(o.subsample)},
                      {"top-n", std::to_string(o.top_n)},
                      {"min-post", format_real(o.min_post)},
                      {"gselect", o.gselect},
                      {"split-perturbation", format_real(o.perturbation)},
                      {"seed", std::to_string(o.seed)}};
    for (auto& entry : o.update.describe(app)) fp.push_back(std::move(entry));
    Checkpointer checkpoint(tool.name(), o.output, fp);

    // From a given model for one iteration the features are read once: a cache would never be read
    // again (370 MB at 2,000 utterances of 60 dimensions), so none is kept.
    const bool single_pass = !o.from.empty() && total <= 1;
    FrameChunks data(o.feats, o.subsample, chunk_frames_for(target), single_pass ? 0 : static_cast<std::size_t>(o.cache_mb * 1048576.0),
                     &processing, Shard{world.rank(), world.size()});
    Ubm model;
    int k = 0;  // iterations done
    if (o.resume) {
      if (auto st = checkpoint.load()) {
        model = read_ubm(st->model_path);
        k = st->iterations_done;
        checkpoint.resumed(k);
        tool.info("resuming from '", st->model_path, "' after ", k, " of ", total, " iterations (", model.describe(), ")");
      } else {
        tool.info("no checkpoint '", checkpoint.index_path(), "': starting from the beginning");
      }
    }
    const bool have_model = o.resume && k > 0;
    if (!have_model && !o.from.empty()) {
      model = std::move(from);  // not needed again: one copy of the model (4 MB at C = 2048, D = 60)
      tool.info("starting from '", o.from, "': ", model.describe());
    } else if (!have_model) {
      // Initialisation from a uniform sample of the frames (reservoir sampling while reading).
      ivkit::Random sampler(o.seed);
      Matrix<float> sample;
      std::uint64_t seen = 0;
      Progress progress(tool.name(), "reading features for the initialisation", static_cast<double>(count_script_entries(o.feats)),
                        "utterances", !tool.quiet());
      data.pass([](const Matrix<float>&) {},
                [&](const std::string&, const Matrix<float>& m) {
                  if (sample.size() == 0) sample.resize(o.num_frames, m.cols());
                  for (Index t = 0; t < m.rows(); ++t, ++seen) {
                    if (seen < static_cast<std::uint64_t>(o.num_frames)) {
                      sample.row(static_cast<Index>(seen)) = m.row(t);
                    } else {
                      const std::uint64_t j = sampler.uniform_index(seen + 1);
                      if (j < static_cast<std::uint64_t>(o.num_frames)) sample.row(static_cast<Index>(j)) = m.row(t);
                    }
                  }
                },
                &progress);
      if (seen < static_cast<std::uint64_t>(sample.rows())) {
        Matrix<float> s = sample.topRows(static_cast<Index>(seen));
        sample.swap(s);
      }
      progress.finish(ivkit::detail::message(data.num_utterances(), " utterances, ", data.num_frames(), " frames of dimension ", data.dim(),
                                             data.cached() ? " (kept in memory)" : ""));
      if (sample.rows() < start_gauss)
        throw ivkit::InvalidArgument(ivkit::detail::message("'", o.feats, "' has ", sample.rows(), " frames (after subsampling), too few for ",
                                                            start_gauss, " Gaussians"));
      ivkit::Random rng(iteration_seed(o.seed, -1));
      if (o.init == "random") {
        model = Ubm(ivkit::init_from_random_frames(sample, start_gauss, rng));
      } else if (o.init == "split") {
        DiagUbm one = ivkit::init_from_random_frames(sample, 1, rng);
        Matrix<float> mu = sample.cast<double>().colwise().mean().cast<float>();
        model = Ubm(DiagUbm(one.weights(), std::move(mu), one.variances()));
        if (o.iters_per_split == 0) model = Ubm(ivkit::split_components(model.diag(), target, o.perturbation, rng, ivkit::SplitCriterion::Spread));
      } else {
        model = Ubm(ivkit::init_kmeans_plus_plus(sample, target, o.kmeans_iters, rng, o.update.variance_floor));
      }
      if (diag_steps == 0 && model.num_components() < target)
        model = Ubm(ivkit::split_components(model.diag(), target, o.perturbation, rng, ivkit::SplitCriterion::Spread));
      tool.info("initialised (", o.init, ") from ", sample.rows(), " sampled frames: ", model.describe());
    }


    // Random init: mixing up in equal steps during the first half (Kaldi's gauss_inc), never after
    // the last diagonal pass, so every Gaussian of the output has been through EM.
    const int mixup_iters = std::max(1, std::min(o.num_iters / 2, diag_steps - 1));
    const Index inc = std::max<Index>(1, (target - start_gauss + mixup_iters - 1) / mixup_iters);

    int run_here = 0;
    for (; k < total; ++k) {
      if (o.stop_after > 0 && run_here == o.stop_after) {
        tool.info("stopping after ", run_here, " iterations (", k, " of ", total, " done); continue with --resume");
        return;
      }
      const bool full_step = k >= diag_steps;
      if (full_step && !model.is_full()) model = Ubm(ivkit::to_full(model.diag()));
      const std::string label = ivkit::detail::message("iteration ", k + 1, "/", total, " (", model.num_components(),
                                                       full_step ? " full" : " diagonal", ")");
      Progress progress(tool.name(), label, data.counted() ? data.num_frames() : static_cast<double>(count_script_entries(o.feats)),
                        data.counted() ? "frames" : "utterances", !tool.quiet());
      ivkit::EmAccumulator acc = model.is_full() ? ivkit::EmAccumulator(model.full()) : ivkit::EmAccumulator(model.diag());
      accumulate_pass(model, data, gselect.get(), accumulate, acc, &progress);
      world.sum(acc);
      // The update reads only the parameters: the scoring matrices (1 MB at C = 2048, D = 60,
      // 31 MB for a full model) need not stay beside the new model.
      model.release_scoring_weights();
      ivkit::EmUpdateOptions u = o.update.options(app, model.is_full());
      u.split_perturbation = o.perturbation;
      u.seed = iteration_seed(o.seed, k);
      ivkit::EmUpdateReport report;
      model = model.is_full() ? Ubm(ivkit::em_update(model.full(), acc, u, &report)) : Ubm(ivkit::em_update(model.diag(), acc, u, &report));
      std::string event;
      if (report.structure_changed())
        event = ivkit::detail::message("; low occupancy: ", report.removed.size(), " removed, ", report.split.size(), " re-split, ",
                                       report.kept_previous.size(), " kept");
      // Growth of the diagonal model (mixing up or binary splitting) after the update.
      if (!full_step && o.from.empty()) {
        Index grow_to = 0;
        const Index c = model.num_components();
        if (o.init == "random") {
          if (k < mixup_iters) grow_to = k == mixup_iters - 1 ? target : std::min(target, c + inc);
        } else if (o.init == "split" && k < split_steps && o.iters_per_split > 0 && k % o.iters_per_split == o.iters_per_split - 1) {
          grow_to = std::min(target, 2 * c);
        }
        if (grow_to > c) {
          ivkit::Random rng(iteration_seed(o.seed, k) ^ 0x5DEECE66Dull);
          model = Ubm(ivkit::split_components(model.diag(), grow_to, o.perturbation, rng, ivkit::SplitCriterion::Spread));
          event += ivkit::detail::message("; ", o.init == "random" ? "mixed up" : "split", " to ", grow_to, " Gaussians");
        }
      }
      progress.finish(ivkit::detail::message("average log-likelihood ", acc.average_log_likelihood(), " per frame over ", acc.num_frames,
                                             " frames", event));
      if (world.rank() == 0) checkpoint.save(k + 1, [&](const std::string& path) { write_ubm(path, model, OutputFormat{}); });
      ++run_here;
    }
    if (model.num_components() == 0) throw ivkit::InvalidArgument("no model: give --num-iters > 0 or --from");
    if (world.rank() != 0) return;  // every rank holds the same model; rank 0 writes it
    write_ubm(o.output, model, out_format);
    if (!o.keep_checkpoint) checkpoint.remove();
    tool.info("wrote ", model.describe(), " to '", o.output, "' (", o.kaldi_format ? (o.binary ? "Kaldi binary" : "Kaldi text") : "ivkit",
              " format)");
  }));
}
