/// @file
/// EM sufficient statistics of a GMM (occupancy, first and second order), accumulated in double,
/// batched: the posteriors of a block of frames (B x C) times the block's expanded frames
/// (B x F) is one matrix product that gives every component's statistics at once.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/detail/top_n.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/gmm/scoring.hpp"
#include "ivkit/simd/softmax.hpp"

namespace ivkit {

/// Sufficient statistics for one EM step, centred on the model's centre o (the frames' offset
/// cancels out of the update and the sums stay small):
///   occupancy_c = sum_t gamma_tc,  first_c = sum_t gamma_tc (x_t - o),
///   second_c = sum_t gamma_tc (x_t - o)^2 (diagonal, D) or vech((x_t - o)(x_t - o)^T) (full).
/// A plain value: accumulators of the same model add together (threads, processes, MPI).
struct EmAccumulator {
  Eigen::VectorXd centre;       ///< (D) the offset o the statistics are centred on
  Eigen::VectorXd occupancy;    ///< (C)
  Matrix<double> first;         ///< (C x D)
  Matrix<double> second;        ///< (C x D) diagonal, (C x D(D+1)/2) full
  double log_likelihood = 0.0;  ///< sum over frames of log p(x_t)
  double num_frames = 0.0;
  bool full_covariance = false;

  EmAccumulator() = default;

  /// Zeroed statistics for `model` (a DiagGmm or FullGmm).
  template <class Model>
  explicit EmAccumulator(const Model& model) {
    resize(model.centre().template cast<double>(), model.num_components(),
           std::is_same_v<Model, FullGmm<typename Model::Scalar>>);
  }

  void resize(const Eigen::VectorXd& offset, Index C, bool full) {
    const Index D = offset.size();
    centre = offset;
    full_covariance = full;
    occupancy = Eigen::VectorXd::Zero(C);
    first = Matrix<double>::Zero(C, D);
    second = Matrix<double>::Zero(C, full ? packed_size(D) : D);
    log_likelihood = 0.0;
    num_frames = 0.0;
  }

  void set_zero() {
    occupancy.setZero();
    first.setZero();
    second.setZero();
    log_likelihood = 0.0;
    num_frames = 0.0;
  }

  Index num_components() const { return occupancy.size(); }
  Index dim() const { return centre.size(); }

  /// Adds another accumulator of the same model.
  /// @throws DimensionMismatch when shapes, covariance kind or centre differ
  EmAccumulator& operator+=(const EmAccumulator& other) {
    if (other.num_components() != num_components() || other.dim() != dim() ||
        other.full_covariance != full_covariance || other.second.cols() != second.cols())
      throw DimensionMismatch(detail::message("EmAccumulator::operator+=: accumulators differ (C = ", num_components(), " vs ",
                                              other.num_components(), ", D = ", dim(), " vs ", other.dim(), ")"));
    if (other.centre != centre)
      throw DimensionMismatch("EmAccumulator::operator+=: accumulators are centred differently (different models)");
    occupancy += other.occupancy;
    first += other.first;
    second += other.second;
    log_likelihood += other.log_likelihood;
    num_frames += other.num_frames;
    return *this;
  }

  /// Average log-likelihood per frame of the accumulated data under the model that produced it.
  double average_log_likelihood() const { return num_frames > 0 ? log_likelihood / num_frames : 0.0; }
};

/// How statistics are gathered.
struct AccumulateOptions {
  int num_threads = 1;     ///< 0 = all hardware threads; results are identical for any value
  Index block_frames = 0;  ///< 0 = chosen from the model size
  Index top_n = 0;         ///< 0 = every component (exact EM); > 0 = only the top-n posteriors per frame
  double min_post = 0.0;   ///< with top_n: prune below this posterior and renormalise (Kaldi's --min-post)
};

namespace detail {

/// @throws DimensionMismatch unless `acc` was made for `model` (EmAccumulator(model)).
template <class Model>
void check_em_accumulator(const char* fn, const Model& model, const EmAccumulator& acc) {
  const Index C = model.num_components(), D = model.dim();
  const bool full = std::is_same_v<Model, FullGmm<typename Model::Scalar>>;
  if (acc.num_components() != C || acc.dim() != D || acc.full_covariance != full ||
      acc.centre != model.centre().template cast<double>())
    throw DimensionMismatch(message(fn, ": the accumulator (C = ", acc.num_components(), ", D = ", acc.dim(),
                                    ") was not made for this model (C = ", C, ", D = ", D, ")"));
}

/// One block's statistics in the model's scalar, added to the accumulator in double in block order.
template <class Scalar>
struct EmBlockPartial {
  ScoringWorkspace<Scalar> ws;
  Matrix<Scalar> stats;      // (C x F) sum_t gamma_tc phi(y_t) over this block
  Vector<Scalar> occupancy;  // (C)
  double log_likelihood = 0.0;
  Index frames = 0;

  /// Adds the partial to the totals; `stats` empty: the statistics were added to them directly.
  void add_to(EmAccumulator& acc) const {
    const Index D = acc.dim();
    if constexpr (std::is_same_v<Scalar, float>) {
      // Row by row through the widening kernel (simd/softmax.hpp): Eigen's cast-and-add is scalar
      // code, 12% of a dense UBM EM iteration at C = 2048.
      const Index C = stats.rows(), rest = stats.cols() - D;
      simd::add_widened(acc.occupancy.data(), occupancy.data(), occupancy.size());
      for (Index c = 0; c < C; ++c) {
        simd::add_widened(&acc.first(c, 0), &stats(c, 0), D);
        simd::add_widened(&acc.second(c, 0), &stats(c, D), rest);
      }
    } else {
      acc.occupancy += occupancy.template cast<double>();
      if (stats.size() != 0) {
        acc.first += stats.leftCols(D).template cast<double>();
        acc.second += stats.rightCols(stats.cols() - D).template cast<double>();
      }
    }
    acc.log_likelihood += log_likelihood;
    acc.num_frames += static_cast<double>(frames);
  }
};

template <class Model, class Layout, class Derived>
void accumulate_impl(const Model& model, const Eigen::MatrixBase<Derived>& frames, EmAccumulator& acc,
                     const AccumulateOptions& opts) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "accumulate_em_stats";
  check_frame_dim<Layout>(model, frames, fn);
  const Index C = model.num_components(), F = model.expansion_dim();
  check_em_accumulator(fn, model, acc);
  if (opts.top_n < 0) throw InvalidArgument(message(fn, ": top_n must be >= 0, got ", opts.top_n));
  if (!(opts.min_post >= 0.0 && opts.min_post < 1.0))
    throw InvalidArgument(message(fn, ": min_post must be in [0, 1), got ", opts.min_post));
  ScoringOptions sopts;
  sopts.block_frames = opts.block_frames;
  const Index n = num_frames<Layout>(frames), B = block_frames_for(model, sopts);
  const Index keep = opts.top_n > 0 ? std::min(opts.top_n, C) : C;
  const bool sparse = opts.top_n > 0 && (keep < C || opts.min_post > 0.0);  // min_post prunes even when top_n >= C

  // On one thread the kernel adds the dense statistics straight into the totals: no C x F partial
  // (1 MB at C = 2048, D = 60 in float) beside the accumulator.
  const bool direct = !sparse && have_gemm_kernel() && block_reduce_is_serial(num_blocks(n, B), opts.num_threads);

  using Partial = EmBlockPartial<Scalar>;
  ordered_block_reduce(
      num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        block_linear_terms<Layout>(model, frames, begin, count, p.ws, fn);
        p.log_likelihood = 0.0;
        p.frames = count;
        std::vector<std::pair<Scalar, std::int32_t>> best(static_cast<std::size_t>(keep));
        for (Index i = 0; i < count; ++i) {
          Scalar* row = &p.ws.loglik(i, 0);
          const Scalar lse = simd::softmax_inplace(row, model.log_constants().data(), C);
          if (!std::isfinite(lse)) throw_non_finite_loglik(fn, begin + i);
          p.log_likelihood += static_cast<double>(lse);
          if (sparse) {
            // Keep the top-n posteriors of this frame, renormalised; zero the rest of the row.
            Index m = select_top_n(row, C, keep, best.data());
            while (m > 1 && best[static_cast<std::size_t>(m - 1)].first < static_cast<Scalar>(opts.min_post)) --m;
            Scalar total = 0;
            for (Index k = 0; k < m; ++k) total += best[static_cast<std::size_t>(k)].first;
            std::fill(row, row + C, Scalar(0));
            for (Index k = 0; k < m; ++k) row[best[static_cast<std::size_t>(k)].second] = best[static_cast<std::size_t>(k)].first / total;
          }
        }
        if (!sparse) {
          // Dense: all statistics of the block in one matrix product (C x B) * (B x F).
          if (direct) {
            // Into the totals: the kernel adds each entry's float sum over the block to the double
            // total, as add_to would from the partial, so the result is the same bit for bit.
            const Index D = model.dim();
            gemm_add(C, D, count, p.ws.phi.data(), p.ws.phi.outerStride(), p.ws.loglik.data(), Index{1},
                     p.ws.loglik.outerStride(), acc.first.data(), acc.first.outerStride());
            gemm_add(C, F - D, count, p.ws.phi.data() + D, p.ws.phi.outerStride(), p.ws.loglik.data(), Index{1},
                     p.ws.loglik.outerStride(), acc.second.data(), acc.second.outerStride());
            p.stats.resize(0, 0);
          } else {
            p.stats.resize(C, F);
            if (have_gemm_kernel())  // flags-independent speed (core/isa.hpp)
              gemm(C, F, count, p.ws.phi.data(), p.ws.phi.outerStride(), p.ws.loglik.data(), Index{1},
                   p.ws.loglik.outerStride(), p.stats.data(), p.stats.outerStride());
            else
              p.stats.noalias() = p.ws.loglik.transpose() * p.ws.phi;
          }
          // Column sums of the row-major posteriors, a row at a time through the row kernel.
          p.occupancy.setZero(C);
          for (Index i = 0; i < count; ++i) simd::add_inplace(p.occupancy.data(), &p.ws.loglik(i, 0), C);
        } else {
          p.stats.setZero(C, F);
          p.occupancy.setZero(C);
          for (Index i = 0; i < count; ++i) {
            const Scalar* row = &p.ws.loglik(i, 0);
            for (Index c = 0; c < C; ++c)
              if (row[c] != Scalar(0)) {
                p.stats.row(c) += row[c] * p.ws.phi.row(i);
                p.occupancy(c) += row[c];
              }
          }
        }
      },
      [&](Partial& p) { p.add_to(acc); });
}

/// Statistics with each frame's posteriors restricted to its selected components (softmax over
/// them, nothing pruned): Kaldi's `gmm-global-acc-stats --gselect` / `fgmm-global-acc-stats --gselect`.
template <class Model, class Layout, class Derived>
void accumulate_selected_impl(const Model& model, const Eigen::MatrixBase<Derived>& frames, const GaussianSelection& selection,
                              EmAccumulator& acc, const AccumulateOptions& opts) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "accumulate_em_stats (Gaussian selection)";
  check_frame_dim<Layout>(model, frames, fn);
  const Index C = model.num_components(), F = model.expansion_dim();
  check_em_accumulator(fn, model, acc);
  const Index n = num_frames<Layout>(frames);
  check_selection(model, selection, n, fn);
  if (opts.top_n != 0 || opts.min_post != 0.0)
    throw InvalidArgument(message(fn, ": top_n and min_post do not apply: the selection fixes the components of each frame"));
  ScoringOptions sopts;
  sopts.block_frames = opts.block_frames;
  const Index B = block_frames_for(model, sopts), k_sel = selection.num_selected();
  const auto& W = model.scoring_weights();
  const auto& g = model.log_constants();

  using Partial = EmBlockPartial<Scalar>;
  ordered_block_reduce(
      num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        const Index begin = b * B, count = std::min(B, n - begin);
        load_expanded_frames<Layout>(model, frames, begin, count, p.ws, fn);
        p.stats.setZero(C, F);
        p.occupancy.setZero(C);
        p.log_likelihood = 0.0;
        p.frames = count;
        std::vector<Scalar> post(static_cast<std::size_t>(k_sel));
        for (Index i = 0; i < count; ++i) {
          for (Index k = 0; k < k_sel; ++k) {
            const auto c = selection.indices(begin + i, k);
            post[static_cast<std::size_t>(k)] = simd::dot(&p.ws.phi(i, 0), &W(c, 0), F) + g(c);
          }
          const Scalar lse = simd::softmax_inplace<Scalar>(post.data(), nullptr, k_sel);
          if (!std::isfinite(lse)) throw_non_finite_loglik(fn, begin + i);
          p.log_likelihood += static_cast<double>(lse);
          for (Index k = 0; k < k_sel; ++k) {
            const auto c = selection.indices(begin + i, k);
            p.stats.row(c) += post[static_cast<std::size_t>(k)] * p.ws.phi.row(i);
            p.occupancy(c) += post[static_cast<std::size_t>(k)];
          }
        }
      },
      [&](Partial& p) { p.add_to(acc); });
}

}  // namespace detail

/// Adds the EM statistics of `frames` under `gmm` to `acc` (made by EmAccumulator(gmm)).
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws DimensionMismatch, NonFiniteInput, NumericalError
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_em_stats(const DiagGmm<Scalar>& gmm, const Eigen::MatrixBase<Derived>& frames, EmAccumulator& acc,
                         const AccumulateOptions& opts = {}) {
  detail::accumulate_impl<DiagGmm<Scalar>, Layout>(gmm, frames, acc, opts);
}

/// Full-covariance version: second-order statistics are full (packed) scatter matrices.
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_em_stats(const FullGmm<Scalar>& gmm, const Eigen::MatrixBase<Derived>& frames, EmAccumulator& acc,
                         const AccumulateOptions& opts = {}) {
  detail::accumulate_impl<FullGmm<Scalar>, Layout>(gmm, frames, acc, opts);
}

/// Statistics with the posteriors of frame t restricted to the components `selection` lists for it
/// (a softmax over them; Kaldi's `gmm-global-acc-stats --gselect`, which sid/train_diag_ubm.sh runs
/// with a selection made once from the initial model). The log-likelihood accumulated is that of
/// the selected components. Cost O(N n F) instead of O(N C F).
/// @throws DimensionMismatch (frames, selection or accumulator of another shape), InvalidArgument
///         (opts.top_n or opts.min_post set), NonFiniteInput, NumericalError
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_em_stats(const DiagGmm<Scalar>& gmm, const Eigen::MatrixBase<Derived>& frames, const GaussianSelection& selection,
                         EmAccumulator& acc, const AccumulateOptions& opts = {}) {
  detail::accumulate_selected_impl<DiagGmm<Scalar>, Layout>(gmm, frames, selection, acc, opts);
}

/// Full-covariance version (Kaldi's `fgmm-global-acc-stats --gselect`).
template <class Layout = FramesAsRows, class Scalar, class Derived>
void accumulate_em_stats(const FullGmm<Scalar>& gmm, const Eigen::MatrixBase<Derived>& frames, const GaussianSelection& selection,
                         EmAccumulator& acc, const AccumulateOptions& opts = {}) {
  detail::accumulate_selected_impl<FullGmm<Scalar>, Layout>(gmm, frames, selection, acc, opts);
}

}  // namespace ivkit
