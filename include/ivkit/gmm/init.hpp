/// @file
/// Deterministic GMM initialisation: random frames (Kaldi's gmm-global-init-from-feats), mixing
/// up by splitting the heaviest components, and k-means++ seeding with Lloyd iterations.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"

namespace ivkit {

/// Up to `max_frames` frames drawn without replacement (all of them, in order, when there are
/// fewer), copied to an (M x D) row-major matrix for initialisation.
/// @param caller names the function in error messages
/// @throws NonFiniteInput naming the first bad frame of the sample
template <class Scalar, class Layout = FramesAsRows, class Derived>
Matrix<Scalar> sample_frames(const Eigen::MatrixBase<Derived>& frames, Index max_frames, Random& rng,
                             const char* caller = "sample_frames") {
  IVKIT_CHECK_LAYOUT(Layout);
  const Index n = num_frames<Layout>(frames), D = feature_dim<Layout>(frames);
  std::vector<Index> pick(static_cast<std::size_t>(n));
  std::iota(pick.begin(), pick.end(), Index{0});
  if (max_frames > 0 && n > max_frames) {
    // Partial Fisher-Yates: the first max_frames entries become a uniform sample; then restore order.
    for (Index i = 0; i < max_frames; ++i)
      std::swap(pick[static_cast<std::size_t>(i)],
                pick[static_cast<std::size_t>(i + static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(n - i))))]);
    pick.resize(static_cast<std::size_t>(max_frames));
    std::sort(pick.begin(), pick.end());
  }
  Matrix<Scalar> out(static_cast<Index>(pick.size()), D);
  for (Index i = 0; i < out.rows(); ++i) {
    const Index t = pick[static_cast<std::size_t>(i)];
    out.row(i) = detail::LayoutTraits<Layout>::frames(frames, t, 1).template cast<Scalar>();
    if (!out.row(i).allFinite()) throw NonFiniteInput(detail::message(caller, ": frame ", t, " holds NaN or Inf"));
  }
  return out;
}

namespace detail {
template <class Scalar>
Eigen::VectorXd sample_variance(const char* fn, const Matrix<Scalar>& x) {
  const Eigen::MatrixXd xd = x.template cast<double>();
  const Eigen::RowVectorXd mean = xd.colwise().mean();
  Eigen::VectorXd var = ((xd.rowwise() - mean).cwiseAbs2().colwise().sum() / static_cast<double>(x.rows())).transpose();
  for (Index d = 0; d < var.size(); ++d)
    if (!(var(d) > 0.0)) throw NumericalError(message(fn, ": the data have zero variance in dimension ", d));
  return var;
}
}  // namespace detail

/// Kaldi's gmm-global-init-from-feats start: means at C distinct random frames, every variance the
/// global variance, equal weights.
/// @param sample (M x D) frames, M >= C
template <class Scalar>
DiagGmm<Scalar> init_from_random_frames(const Matrix<Scalar>& sample, Index num_components, Random& rng) {
  constexpr const char* fn = "init_from_random_frames";
  if (num_components < 1) throw InvalidArgument(detail::message(fn, ": num_components must be >= 1, got ", num_components));
  if (sample.rows() < num_components)
    throw InvalidArgument(detail::message(fn, ": ", sample.rows(), " frames are too few for ", num_components, " components"));
  const Eigen::VectorXd var = detail::sample_variance(fn, sample);
  const Index n = sample.rows(), D = sample.cols();
  std::vector<Index> pick(static_cast<std::size_t>(n));
  std::iota(pick.begin(), pick.end(), Index{0});
  for (Index i = 0; i < num_components; ++i)
    std::swap(pick[static_cast<std::size_t>(i)],
              pick[static_cast<std::size_t>(i + static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(n - i))))]);
  Matrix<Scalar> mu(num_components, D), v(num_components, D);
  for (Index c = 0; c < num_components; ++c) {
    mu.row(c) = sample.row(pick[static_cast<std::size_t>(c)]);
    v.row(c) = var.transpose().template cast<Scalar>();
  }
  return DiagGmm<Scalar>(Vector<Scalar>::Constant(num_components, Scalar(1) / static_cast<Scalar>(num_components)),
                         std::move(mu), std::move(v));
}

/// Which component mixing up splits next.
enum class SplitCriterion {
  Weight,  ///< the heaviest (Kaldi's DiagGmm::Split)
  Spread,  ///< the largest w_c * sum_d var_cd: a component covering two clusters has both a large
           ///< weight and a large variance, so it is split before a heavy but compact one
};

/// Mixing up: repeatedly splits one component in two (chosen by `criterion`), halving its weight
/// and moving the means by +- perturbation standard deviations along a random direction, until the
/// model has `target` components.
template <class Scalar>
DiagGmm<Scalar> split_components(const DiagGmm<Scalar>& gmm, Index target, double perturbation, Random& rng,
                                 SplitCriterion criterion = SplitCriterion::Weight) {
  const Index C = gmm.num_components(), D = gmm.dim();
  if (target < C)
    throw InvalidArgument(detail::message("split_components: target ", target, " is below the current ", C, " components"));
  Eigen::VectorXd w = gmm.weights().template cast<double>();
  w.conservativeResize(target);
  Matrix<double> mu = gmm.means().template cast<double>(), var = gmm.variances().template cast<double>();
  mu.conservativeResize(target, D);
  var.conservativeResize(target, D);
  for (Index k = C; k < target; ++k) {
    Index heavy = 0;
    double best = -1.0;
    for (Index c = 0; c < k; ++c) {
      const double score = criterion == SplitCriterion::Weight ? w(c) : w(c) * var.row(c).sum();
      if (score > best) {
        best = score;
        heavy = c;
      }
    }
    Eigen::RowVectorXd offset(D);
    for (Index d = 0; d < D; ++d) offset(d) = perturbation * rng.normal() * std::sqrt(var(heavy, d));
    w(heavy) *= 0.5;
    w(k) = w(heavy);
    var.row(k) = var.row(heavy);
    mu.row(k) = mu.row(heavy) - offset;
    mu.row(heavy) += offset;
  }
  w /= w.sum();
  return DiagGmm<Scalar>(w.template cast<Scalar>(), mu.template cast<Scalar>(), var.template cast<Scalar>());
}

/// Greedy k-means++ seeding (Arthur and Vassilvitskii 2007) followed by Lloyd iterations; the GMM takes the
/// cluster means, per-cluster variances (at least variance_floor times the global variance) and
/// cluster sizes as weights. Distances are computed a block at a time as one matrix product.
template <class Scalar>
DiagGmm<Scalar> init_kmeans_plus_plus(const Matrix<Scalar>& sample, Index num_components, int iterations, Random& rng,
                                      double variance_floor = 1e-3) {
  constexpr const char* fn = "init_kmeans_plus_plus";
  if (num_components < 1) throw InvalidArgument(detail::message(fn, ": num_components must be >= 1, got ", num_components));
  if (sample.rows() < num_components)
    throw InvalidArgument(detail::message(fn, ": ", sample.rows(), " frames are too few for ", num_components, " components"));
  const Eigen::VectorXd gvar = detail::sample_variance(fn, sample);
  const Index n = sample.rows(), D = sample.cols(), C = num_components;
  const Matrix<double> x = sample.template cast<double>();
  Matrix<double> centres(C, D);
  // Greedy seeding (as scikit-learn): each step draws 2 + ln(C) candidates with probability
  // proportional to the squared distance to the nearest centre and keeps the one that lowers the
  // total squared distance most; plain k-means++ often leaves two centres in one cluster.
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(C)));
  const Index first = static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(n)));
  centres.row(0) = x.row(first);
  Eigen::VectorXd d2 = (x.rowwise() - x.row(first)).rowwise().squaredNorm();
  Eigen::VectorXd candidate_d2(n), best_d2(n);
  for (Index k = 1; k < C; ++k) {
    const double total = d2.sum();
    double best_potential = std::numeric_limits<double>::infinity();
    Index best_pick = 0;
    for (int trial = 0; trial < trials; ++trial) {
      Index pick = static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(n)));
      if (total > 0.0) {
        double r = rng.uniform() * total;
        pick = n - 1;
        for (Index i = 0; i < n; ++i) {
          r -= d2(i);
          if (r < 0.0) {
            pick = i;
            break;
          }
        }
      }
      candidate_d2 = d2.cwiseMin((x.rowwise() - x.row(pick)).rowwise().squaredNorm());
      const double potential = candidate_d2.sum();
      if (potential < best_potential) {
        best_potential = potential;
        best_pick = pick;
        best_d2.swap(candidate_d2);
      }
    }
    centres.row(k) = x.row(best_pick);
    d2.swap(best_d2);
  }
  std::vector<Index> assign(static_cast<std::size_t>(n), 0);
  auto assign_all = [&] {
    const Eigen::VectorXd c_sq = centres.rowwise().squaredNorm();
    const Index block = 4096;
    for (Index b = 0; b < n; b += block) {
      const Index cnt = std::min(block, n - b);
      // ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; the ||x||^2 term does not change the argmin.
      Matrix<double> dist = -2.0 * x.middleRows(b, cnt) * centres.transpose();
      dist.rowwise() += c_sq.transpose();
      for (Index i = 0; i < cnt; ++i) {
        Index best;
        dist.row(i).minCoeff(&best);
        assign[static_cast<std::size_t>(b + i)] = best;
      }
    }
  };
  Eigen::VectorXd count(C);
  for (int it = 0; it <= iterations; ++it) {
    assign_all();
    Matrix<double> sum = Matrix<double>::Zero(C, D);
    count.setZero();
    for (Index i = 0; i < n; ++i) {
      sum.row(assign[static_cast<std::size_t>(i)]) += x.row(i);
      count(assign[static_cast<std::size_t>(i)]) += 1.0;
    }
    for (Index k = 0; k < C; ++k) {
      if (count(k) > 0) {
        centres.row(k) = sum.row(k) / count(k);
      } else {
        // An empty cluster moves to the frame farthest from its centre.
        Index far = 0;
        double best = -1.0;
        for (Index i = 0; i < n; ++i) {
          const double d = (x.row(i) - centres.row(assign[static_cast<std::size_t>(i)])).squaredNorm();
          if (d > best) {
            best = d;
            far = i;
          }
        }
        centres.row(k) = x.row(far);
      }
    }
  }
  assign_all();
  Matrix<double> sq = Matrix<double>::Zero(C, D);
  count.setZero();
  for (Index i = 0; i < n; ++i) {
    const Index k = assign[static_cast<std::size_t>(i)];
    sq.row(k) += (x.row(i) - centres.row(k)).cwiseAbs2();
    count(k) += 1.0;
  }
  Matrix<Scalar> var(C, D);
  Vector<Scalar> w(C);
  for (Index k = 0; k < C; ++k) {
    for (Index d = 0; d < D; ++d) {
      const double v = count(k) > 1 ? sq(k, d) / count(k) : gvar(d);
      var(k, d) = static_cast<Scalar>(std::max(v, variance_floor * gvar(d)));
    }
    w(k) = static_cast<Scalar>((count(k) + 1.0) / (static_cast<double>(n) + static_cast<double>(C)));
  }
  return DiagGmm<Scalar>(std::move(w), centres.template cast<Scalar>(), std::move(var));
}

}  // namespace ivkit
