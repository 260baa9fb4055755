/// @file
/// UBM training: EM iterations with a per-iteration report, and the three initialisation
/// schedules (random frames with mixing-up, binary splitting, k-means++).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/gmm/init.hpp"

namespace ivkit {

/// One EM iteration as reported to the caller.
struct EmIteration {
  int iteration = 0;                    ///< 0-based, over the whole training
  int phase = 0;                        ///< increments whenever the set of components changes;
                                        ///< within a phase the log-likelihood never decreases
  Index num_components = 0;             ///< components of the model that was evaluated
  double average_log_likelihood = 0.0;  ///< per frame, of the model before this iteration's update
  EmUpdateReport update;                ///< what the M-step removed, split or floored
  std::string event;                    ///< structural change made after this iteration ("" if none)
};

/// The whole training history.
struct GmmTrainReport {
  std::vector<EmIteration> iterations;
  double final_average_log_likelihood = 0.0;  ///< of the returned model (one extra evaluation pass)
};

using EmProgress = std::function<void(const EmIteration&)>;
/// Sums an iteration's accumulator over processes before the M-step (ivkit/mpi/allreduce.hpp).
using EmReduce = std::function<void(EmAccumulator&)>;

/// Options of plain EM from a given model.
struct EmOptions {
  int num_iterations = 10;
  EmUpdateOptions update;
  AccumulateOptions accumulate;
  EmProgress progress;          ///< called after every iteration
  EmReduce reduce;              ///< if set, sums each accumulator over processes (each passes its share of the frames)
  bool evaluate_final = true;   ///< compute the final model's log-likelihood for the report (this process's frames)
};

namespace detail {

template <class Layout, class Model, class Derived>
Model em_iteration(const Model& model, const Eigen::MatrixBase<Derived>& frames, const EmUpdateOptions& update,
                   const AccumulateOptions& accumulate, int iteration, int& phase, GmmTrainReport& report,
                   std::uint64_t seed, const EmReduce& reduce = {}) {
  EmAccumulator acc(model);
  accumulate_em_stats<Layout>(model, frames, acc, accumulate);
  if (reduce) reduce(acc);
  EmIteration info;
  info.iteration = iteration;
  info.phase = phase;
  info.num_components = model.num_components();
  info.average_log_likelihood = acc.average_log_likelihood();
  EmUpdateOptions uopts = update;
  uopts.seed = seed + static_cast<std::uint64_t>(iteration) * 7919u;
  Model next = em_update(model, acc, uopts, &info.update);
  if (info.update.structure_changed()) {
    ++phase;
    info.event = message(info.update.removed.size(), " removed, ", info.update.split.size(), " re-split, ",
                         info.update.kept_previous.size(), " kept (low occupancy)");
  }
  report.iterations.push_back(info);
  return next;
}

template <class Layout, class Model, class Derived>
void finish_report(const Model& model, const Eigen::MatrixBase<Derived>& frames, bool evaluate,
                   const AccumulateOptions& acc, GmmTrainReport& report) {
  if (!evaluate) return;
  ScoringOptions s;
  s.num_threads = acc.num_threads;
  s.block_frames = acc.block_frames;
  report.final_average_log_likelihood = average_log_likelihood<Layout>(model, frames, s);
}

}  // namespace detail

/// Runs EM from `model` (a DiagGmm or FullGmm) on in-memory frames.
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws as accumulate_em_stats and em_update; InvalidArgument for no frames
template <class Layout = FramesAsRows, class Model, class Derived>
Model train_em(Model model, const Eigen::MatrixBase<Derived>& frames, const EmOptions& opts = {},
               GmmTrainReport* report = nullptr) {
  if (num_frames<Layout>(frames) == 0) throw InvalidArgument("train_em: no frames");
  if (opts.num_iterations < 0) throw InvalidArgument(detail::message("train_em: num_iterations must be >= 0, got ", opts.num_iterations));
  GmmTrainReport rep;
  int phase = 0;
  for (int it = 0; it < opts.num_iterations; ++it) {
    model = detail::em_iteration<Layout>(model, frames, opts.update, opts.accumulate, it, phase, rep, opts.update.seed,
                                         opts.reduce);
    if (opts.progress) opts.progress(rep.iterations.back());
  }
  detail::finish_report<Layout>(model, frames, opts.evaluate_final, opts.accumulate, rep);
  if (report) *report = std::move(rep);
  return model;
}

/// How a diagonal UBM is started.
enum class GmmInit {
  RandomFrames,    ///< Kaldi's gmm-global-init-from-feats: random frames, mixing up during the first half
  BinarySplit,     ///< SIDEKIT/ALIZE: 1, 2, 4, ... components with EM between splits
  KMeansPlusPlus,  ///< k-means++ seeding and Lloyd iterations, then EM
};

struct GmmTrainOptions {
  Index num_components = 256;
  GmmInit init = GmmInit::RandomFrames;
  int num_iterations = 20;         ///< EM iterations at (RandomFrames: towards) the final size
  Index initial_components = 0;    ///< RandomFrames: start size, 0 = num_components (no mixing up)
  int iterations_per_split = 4;    ///< BinarySplit: EM iterations after each doubling
  int kmeans_iterations = 10;      ///< KMeansPlusPlus: Lloyd iterations
  Index max_init_frames = 200000;  ///< initialisation sees at most this many random frames (Kaldi's --num-frames)
  double split_perturbation = 0.2; ///< mixing up / splitting: +- this many standard deviations
  SplitCriterion split_criterion = SplitCriterion::Spread;  ///< which component mixing up splits next
  std::uint64_t seed = 777;
  EmUpdateOptions update;
  AccumulateOptions accumulate;
  EmProgress progress;
  bool evaluate_final = true;
};

/// Trains a diagonal-covariance UBM from scratch on in-memory frames; deterministic for a seed
/// and independent of accumulate.num_threads.
/// @throws InvalidArgument (too few frames, bad options), NonFiniteInput, NumericalError
template <class Scalar, class Layout = FramesAsRows, class Derived>
DiagGmm<Scalar> train_diag_gmm(const Eigen::MatrixBase<Derived>& frames, const GmmTrainOptions& opts,
                               GmmTrainReport* report = nullptr) {
  constexpr const char* fn = "train_diag_gmm";
  IVKIT_CHECK_LAYOUT(Layout);
  const Index n = num_frames<Layout>(frames);
  if (opts.num_components < 1) throw InvalidArgument(detail::message(fn, ": num_components must be >= 1, got ", opts.num_components));
  if (n < opts.num_components)
    throw InvalidArgument(detail::message(fn, ": ", n, " frames are too few for ", opts.num_components, " components"));
  if (opts.num_iterations < 0 || opts.iterations_per_split < 0 || opts.kmeans_iterations < 0)
    throw InvalidArgument(detail::message(fn, ": iteration counts must be >= 0"));
  Random rng(opts.seed);
  const Matrix<Scalar> sample = sample_frames<Scalar, Layout>(frames, opts.max_init_frames, rng, fn);
  GmmTrainReport rep;
  int phase = 0, iteration = 0;
  // One EM iteration, then an optional structural change (mixing up, splitting) recorded in the
  // same report entry before the progress callback sees it.
  auto step = [&](const DiagGmm<Scalar>& m, Index grow_to = 0, const char* what = "") {
    DiagGmm<Scalar> next = detail::em_iteration<Layout>(m, frames, opts.update, opts.accumulate, iteration++, phase, rep, opts.seed);
    if (grow_to > next.num_components()) {
      next = split_components(next, grow_to, opts.split_perturbation, rng, opts.split_criterion);
      auto& last = rep.iterations.back();
      const std::string event = detail::message(what, " to ", grow_to, " components");
      last.event = last.event.empty() ? event : last.event + "; " + event;
      ++phase;
    }
    if (opts.progress) opts.progress(rep.iterations.back());
    return next;
  };
  DiagGmm<Scalar> gmm;
  switch (opts.init) {
    case GmmInit::RandomFrames: {
      const Index target = opts.num_components;
      const Index start = opts.initial_components > 0 ? std::min(opts.initial_components, target) : target;
      gmm = init_from_random_frames(sample, start, rng);
      // Mixing up during the first half of the iterations, in equal steps (Kaldi's gauss_inc).
      const int mixup_iters = std::max(1, opts.num_iterations / 2);
      const Index inc = std::max<Index>(1, (target - start + mixup_iters - 1) / mixup_iters);
      // With a single iteration the model is mixed up after it, so the target size is always reached.
      for (int it = 0; it < opts.num_iterations; ++it) {
        const bool last = it == opts.num_iterations - 1;
        const Index grow_to = last ? target : std::min(target, gmm.num_components() + inc);
        gmm = step(gmm, grow_to, "mixed up");
      }
      if (gmm.num_components() < target) gmm = split_components(gmm, target, opts.split_perturbation, rng, opts.split_criterion);
      break;
    }
    case GmmInit::BinarySplit: {
      gmm = init_from_random_frames(sample, 1, rng);
      // The single component starts at the global mean rather than a random frame.
      Matrix<Scalar> mu = sample.template cast<double>().colwise().mean().template cast<Scalar>();
      gmm = DiagGmm<Scalar>(gmm.weights(), std::move(mu), gmm.variances());
      while (gmm.num_components() < opts.num_components) {
        const Index next = std::min(opts.num_components, 2 * gmm.num_components());
        if (opts.iterations_per_split == 0) {
          gmm = split_components(gmm, next, opts.split_perturbation, rng, opts.split_criterion);
          continue;
        }
        for (int k = 0; k < opts.iterations_per_split; ++k)
          gmm = step(gmm, k + 1 == opts.iterations_per_split ? next : 0, "split");
      }
      for (int it = 0; it < opts.num_iterations; ++it) gmm = step(gmm);
      break;
    }
    case GmmInit::KMeansPlusPlus: {
      gmm = init_kmeans_plus_plus(sample, opts.num_components, opts.kmeans_iterations, rng, opts.update.variance_floor);
      for (int it = 0; it < opts.num_iterations; ++it) gmm = step(gmm);
      break;
    }
  }
  detail::finish_report<Layout>(gmm, frames, opts.evaluate_final, opts.accumulate, rep);
  if (report) *report = std::move(rep);
  return gmm;
}

/// Full-covariance UBM as Kaldi trains it: a diagonal UBM (train_diag_gmm), converted with
/// to_full, then `full_iterations` of full-covariance EM.
template <class Scalar, class Layout = FramesAsRows, class Derived>
FullGmm<Scalar> train_full_gmm(const Eigen::MatrixBase<Derived>& frames, const GmmTrainOptions& opts, int full_iterations,
                               GmmTrainReport* report = nullptr) {
  GmmTrainReport diag_rep, full_rep;
  const DiagGmm<Scalar> diag = train_diag_gmm<Scalar, Layout>(frames, opts, &diag_rep);
  // The full-covariance iterations continue the diagonal stage's numbering, in the callback too.
  const int offset = static_cast<int>(diag_rep.iterations.size());
  const int phase0 = diag_rep.iterations.empty() ? 0 : diag_rep.iterations.back().phase + 1;
  EmOptions em;
  em.num_iterations = full_iterations;
  em.update = opts.update;
  em.accumulate = opts.accumulate;
  if (opts.progress)
    em.progress = [&](const EmIteration& it) {
      EmIteration shifted = it;
      shifted.iteration += offset;
      shifted.phase += phase0;
      opts.progress(shifted);
    };
  em.evaluate_final = opts.evaluate_final;
  FullGmm<Scalar> full = train_em<Layout>(to_full(diag), frames, em, &full_rep);
  if (report) {
    *report = std::move(diag_rep);
    for (auto it : full_rep.iterations) {
      it.iteration += offset;
      it.phase += phase0;
      report->iterations.push_back(std::move(it));
    }
    report->final_average_log_likelihood = full_rep.final_average_log_likelihood;
  }
  return full;
}

}  // namespace ivkit
