/// @file
/// Baum-Welch statistics of one utterance under a UBM: zeroth order, first order centred on the
/// UBM means, optional second order, from dense or top-N posteriors, a block of frames at a time
/// with matrix products (DESIGN.md formulation 3).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/sparse_posteriors.hpp"
#include "ivkit/stats/stats_set.hpp"

namespace ivkit {

struct StatsOptions {
  Index top_n = 0;               ///< 0 = all components; > 0 = top-n posteriors per frame (Kaldi's --n)
  double min_post = 0.0;         ///< with top_n: prune below and renormalise (Kaldi's --min-post)
  double posterior_scale = 1.0;  ///< multiplies every posterior (Kaldi's scale-post / acoustic weight)
  double max_count = 0.0;        ///< > 0: scale the statistics down so that sum_c N_c <= max_count
  bool second_order = false;     ///< also compute the second-order statistics
  /// With second_order, in stats_from_posteriors: the full scatter sum_t gamma_tc (x_t - mu_c)(x_t - mu_c)^T,
  /// its upper triangle packed row by row (C x D(D+1)/2, what compute_stats gives for a FullGmm), for
  /// the i-vector extractor's full-covariance update. compute_stats follows the model (a FullGmm gives
  /// the full scatter) and rejects it for a DiagGmm, whose accumulator holds only the diagonal.
  bool full_second_order = false;
  int num_threads = 1;           ///< over blocks of frames; results identical for any value
  Index block_frames = 0;
};

/// Statistics of one utterance (all sums in double).
struct UtteranceStats {
  Eigen::VectorXd zeroth;        ///< (C)  N_c = sum_t gamma_tc
  Matrix<double> first;          ///< (C x D) F_c = sum_t gamma_tc (x_t - mu_c)
  Matrix<double> second;         ///< (C x D) diagonal sum_t gamma_tc (x_t - mu_c)^2, or (C x D(D+1)/2)
                                 ///< vech of the full scatter for a FullGmm; empty unless requested
  double log_likelihood = 0.0;   ///< sum_t log p(x_t) under the UBM
  Index num_frames = 0;

  double total_count() const { return zeroth.sum(); }
};

namespace detail {

inline void check_stats_options(const char* fn, const StatsOptions& o) {
  if (!(o.posterior_scale > 0.0 && std::isfinite(o.posterior_scale)))
    throw InvalidArgument(message(fn, ": posterior_scale must be positive, got ", o.posterior_scale));
  if (!(o.max_count >= 0.0)) throw InvalidArgument(message(fn, ": max_count must be >= 0, got ", o.max_count));
}

/// Applies the posterior scale and the maximum total count (both linear in the statistics).
inline void scale_stats(UtteranceStats& s, const StatsOptions& o) {
  double scale = o.posterior_scale;
  const double total = s.zeroth.sum() * scale;
  if (o.max_count > 0.0 && total > o.max_count) scale *= o.max_count / total;
  if (scale == 1.0) return;
  s.zeroth *= scale;
  s.first *= scale;
  if (s.second.size() > 0) s.second *= scale;
}

/// Moves statistics about the centre o to statistics about each component's mean mu_c:
/// F_c = sum gamma (y - a_c), S_c = sum gamma (y - a_c)(y - a_c)^T with y = x - o, a_c = mu_c - o.
/// The second-order matrix is taken over and updated in place (each entry depends only on itself
/// and F), so a C x D(D+1)/2 full scatter is not copied.
template <class Means>
void recentre(const Eigen::VectorXd& occupancy, const Matrix<double>& first_o, Matrix<double>&& second_o,
              const Means& means, const Eigen::VectorXd& o, bool want_second, bool full, UtteranceStats& out) {
  const Index C = occupancy.size(), D = o.size();
  out.zeroth = occupancy;
  out.first.resize(C, D);
  if (want_second) out.second = std::move(second_o);
  for (Index c = 0; c < C; ++c) {
    const Eigen::RowVectorXd a = means.row(c).template cast<double>() - o.transpose();
    const double n = occupancy(c);
    out.first.row(c) = first_o.row(c) - n * a;
    if (!want_second) continue;
    if (!full) {
      out.second.row(c) += -2.0 * a.cwiseProduct(first_o.row(c)) + n * a.cwiseAbs2();
    } else {
      Index k = 0;
      for (Index i = 0; i < D; ++i)
        for (Index j = i; j < D; ++j, ++k) out.second(c, k) += -a(i) * first_o(c, j) - a(j) * first_o(c, i) + n * a(i) * a(j);
    }
  }
}

}  // namespace detail

/// Baum-Welch statistics of one utterance's frames under `ubm` (a DiagGmm or FullGmm).
/// @tparam Layout FramesAsRows (N x D) or FramesAsCols (D x N)
/// @throws DimensionMismatch, NonFiniteInput, InvalidArgument (options)
template <class Layout = FramesAsRows, class Model, class Derived>
UtteranceStats compute_stats(const Model& ubm, const Eigen::MatrixBase<Derived>& frames, const StatsOptions& opts = {}) {
  detail::check_stats_options("compute_stats", opts);
  EmAccumulator acc(ubm);
  if (opts.second_order && opts.full_second_order && !acc.full_covariance)
    throw InvalidArgument(
        "compute_stats: full_second_order needs a FullGmm (a DiagGmm accumulates the diagonal only); give its posteriors to "
        "stats_from_posteriors instead");
  AccumulateOptions aopts;
  aopts.num_threads = opts.num_threads;
  aopts.block_frames = opts.block_frames;
  aopts.top_n = opts.top_n;
  aopts.min_post = opts.min_post;
  accumulate_em_stats<Layout>(ubm, frames, acc, aopts);
  UtteranceStats out;
  detail::recentre(acc.occupancy, acc.first, std::move(acc.second), ubm.means(), acc.centre, opts.second_order,
                   acc.full_covariance, out);
  out.log_likelihood = acc.log_likelihood;
  out.num_frames = static_cast<Index>(acc.num_frames);
  detail::scale_stats(out, opts);
  return out;
}

/// Statistics from posteriors computed elsewhere (e.g. on other features, as Kaldi's recipes
/// align with one feature set and accumulate another): N = Gamma^T 1, F = Gamma^T X - N mu, and with
/// second_order the diagonal scatter about the means, or the packed full scatter (full_second_order).
/// @param posteriors (N x C) dense
/// @param means (C x D) the UBM means
template <class Layout = FramesAsRows, class DP, class DX, class DM>
UtteranceStats stats_from_posteriors(const Eigen::MatrixBase<DP>& posteriors, const Eigen::MatrixBase<DX>& frames,
                                     const Eigen::MatrixBase<DM>& means, const StatsOptions& opts = {}) {
  constexpr const char* fn = "stats_from_posteriors";
  IVKIT_CHECK_LAYOUT(Layout);
  detail::check_stats_options(fn, opts);
  const Index n = num_frames<Layout>(frames), D = feature_dim<Layout>(frames), C = means.rows();
  if (posteriors.rows() != n || posteriors.cols() != C || means.cols() != D)
    throw DimensionMismatch(detail::message(fn, ": posteriors are ", posteriors.rows(), " x ", posteriors.cols(), ", frames ",
                                            n, " x ", D, " (after layout), means ", means.rows(), " x ", means.cols()));
  const Matrix<double> x = detail::LayoutTraits<Layout>::frames(frames, 0, n).template cast<double>();
  const Matrix<double> p = posteriors.template cast<double>();
  for (Index t = 0; t < n; ++t) {
    if (!x.row(t).allFinite()) throw NonFiniteInput(detail::message(fn, ": frame ", t, " holds NaN or Inf"));
    if (!p.row(t).allFinite() || (p.row(t).array() < 0.0).any())
      throw InvalidArgument(detail::message(fn, ": posteriors of frame ", t, " are negative or not finite"));
  }
  UtteranceStats out;
  out.num_frames = n;
  if (opts.second_order && opts.full_second_order) {
    // Moments about the origin, the packed products x_ti x_tj a block of frames at a time (one
    // product per block), then moved to each component's mean.
    const Index P = packed_size(D);
    constexpr Index kBlock = 1024;
    Matrix<double> second_o = Matrix<double>::Zero(C, P), q;
    for (Index t0 = 0; t0 < n; t0 += kBlock) {
      const Index tn = std::min(kBlock, n - t0);
      q.resize(tn, P);
      for (Index t = 0; t < tn; ++t)
        for (Index i = 0, k = 0; i < D; ++i)
          for (Index j = i; j < D; ++j, ++k) q(t, k) = x(t0 + t, i) * x(t0 + t, j);
      second_o.noalias() += p.middleRows(t0, tn).transpose() * q;
    }
    const Eigen::VectorXd occupancy = p.colwise().sum().transpose();
    const Matrix<double> first_o = p.transpose() * x;
    detail::recentre(occupancy, first_o, std::move(second_o), means, Eigen::VectorXd::Zero(D), true, true, out);
    detail::scale_stats(out, opts);
    return out;
  }
  out.zeroth = p.colwise().sum().transpose();
  const Matrix<double> mu = means.template cast<double>();
  out.first.noalias() = p.transpose() * x;
  if (opts.second_order) out.second.noalias() = p.transpose() * x.cwiseAbs2();
  for (Index c = 0; c < C; ++c) {
    if (opts.second_order)
      out.second.row(c) += -2.0 * mu.row(c).cwiseProduct(out.first.row(c)) + out.zeroth(c) * mu.row(c).cwiseAbs2();
    out.first.row(c) -= out.zeroth(c) * mu.row(c);
  }
  detail::scale_stats(out, opts);
  return out;
}

/// Same, from sparse posteriors (Kaldi's Posterior): cost O(N n D) instead of O(N C D) (O(N n D^2)
/// with the full scatter).
template <class Layout = FramesAsRows, class S, class DX, class DM>
UtteranceStats stats_from_posteriors(const SparsePosteriors<S>& posteriors, const Eigen::MatrixBase<DX>& frames,
                                     const Eigen::MatrixBase<DM>& means, const StatsOptions& opts = {}) {
  constexpr const char* fn = "stats_from_posteriors";
  IVKIT_CHECK_LAYOUT(Layout);
  detail::check_stats_options(fn, opts);
  const Index n = num_frames<Layout>(frames), D = feature_dim<Layout>(frames), C = means.rows();
  if (posteriors.num_frames() != n || means.cols() != D)
    throw DimensionMismatch(detail::message(fn, ": posteriors for ", posteriors.num_frames(), " frames, frames ", n, " x ", D,
                                            " (after layout), means ", means.rows(), " x ", means.cols()));
  UtteranceStats out;
  out.num_frames = n;
  out.zeroth = Eigen::VectorXd::Zero(C);
  out.first = Matrix<double>::Zero(C, D);
  const bool full = opts.second_order && opts.full_second_order;
  if (opts.second_order) out.second = Matrix<double>::Zero(C, full ? packed_size(D) : D);
  for (Index t = 0; t < n; ++t) {
    const Eigen::RowVectorXd x = detail::LayoutTraits<Layout>::frames(frames, t, 1).template cast<double>();
    if (!x.allFinite()) throw NonFiniteInput(detail::message(fn, ": frame ", t, " holds NaN or Inf"));
    for (Index k = posteriors.begin(t); k < posteriors.end(t); ++k) {
      const auto c = posteriors.components[static_cast<std::size_t>(k)];
      const double g = static_cast<double>(posteriors.values[static_cast<std::size_t>(k)]);
      if (c < 0 || c >= C) throw DimensionMismatch(detail::message(fn, ": frame ", t, " names component ", c, " of ", C));
      if (!(g >= 0.0 && std::isfinite(g)))
        throw InvalidArgument(detail::message(fn, ": posterior ", g, " at frame ", t, " is negative or not finite"));
      const Eigen::RowVectorXd y = x - means.row(c).template cast<double>();
      out.zeroth(c) += g;
      out.first.row(c) += g * y;
      if (full) {
        double* row = &out.second(c, 0);  // row-major: the packed upper triangle row by row
        for (Index i = 0, k = 0; i < D; ++i) {
          const double gy = g * y(i);
          for (Index j = i; j < D; ++j, ++k) row[k] += gy * y(j);
        }
      } else if (opts.second_order) {
        out.second.row(c) += g * y.cwiseAbs2();
      }
    }
  }
  detail::scale_stats(out, opts);
  return out;
}

/// Appends an utterance's zeroth and first-order statistics to a set.
template <class Scalar>
void add_to(StatsSet<Scalar>& set, const std::string& id, const UtteranceStats& stats) {
  set.add(id, stats.zeroth, stats.first);
}

/// Appends many utterances (ids[i] with stats[i]) in one step (StatsSet::add_all).
/// @throws DimensionMismatch when the two lists differ in length; as StatsSet::add
template <class Scalar>
void add_to(StatsSet<Scalar>& set, const std::vector<std::string>& ids, const std::vector<UtteranceStats>& stats) {
  if (ids.size() != stats.size())
    throw DimensionMismatch(detail::message("add_to: ", ids.size(), " utterance ids for ", stats.size(), " statistics"));
  set.add_all(ids, [&](std::size_t i) -> const Eigen::VectorXd& { return stats[i].zeroth; },
              [&](std::size_t i) -> const Matrix<double>& { return stats[i].first; });
}

}  // namespace ivkit
