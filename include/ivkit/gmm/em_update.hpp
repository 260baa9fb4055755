/// @file
/// The EM M-step for diagonal and full-covariance GMMs, with a variance floor relative to the
/// global data variance (ivkit's default) or absolute (Kaldi's), a minimum weight and occupancy, and
/// explicit low-occupancy handling.
///
/// Kaldi's conventions (gmm-global-est, fgmm-global-est as sid/train_{diag,full}_ubm.sh run them):
/// `EmUpdateOptions::kaldi(full)`. They differ from ivkit's defaults in two places: the floor is
/// absolute (0.001) rather than 0.001 of the data's variance, and a low-occupancy Gaussian keeps
/// its parameters with weight max(share, min_weight) rather than being re-split.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/full_gmm.hpp"

namespace ivkit {

/// What happens to a component whose occupancy is below min_occupancy or whose weight is below
/// min_weight.
enum class LowOccupancy {
  Remove,          ///< drop it (Kaldi's default, remove_low_count_gaussians)
  SplitHeaviest,   ///< replace it by splitting the heaviest component in two (keeps C)
  KeepPrevious,    ///< keep its previous parameters
  /// keep its previous mean and (co)variance, weight max(share, min_weight) (Kaldi with
  /// --remove-low-count-gaussians=false, as its UBM recipes run). Kaldi stores such weights
  /// unnormalised (they can sum to a little over one); ivkit's models divide them by their sum,
  /// which leaves every posterior, and so the next iteration, as Kaldi's.
  KeepPreviousMinWeight,
};

struct EmUpdateOptions {
  double variance_floor = 1e-3;  ///< variances (eigenvalues for full) >= variance_floor * global data variance
  /// and >= this, in the features' units (Kaldi's --min-variance of gmm-global-est, --variance-floor
  /// of fgmm-global-est; 0 = none)
  double absolute_variance_floor = 0.0;
  double min_weight = 1e-5;      ///< a component is low-occupancy unless its share of the data is above this (Kaldi's min_gaussian_weight)
  double min_occupancy = 10.0;   ///< ... and its occupancy above this (Kaldi's min_gaussian_occupancy)
  LowOccupancy low_occupancy = LowOccupancy::SplitHeaviest;
  double split_perturbation = 0.2;  ///< split means move by +- this many standard deviations
  std::uint64_t seed = 0;           ///< seeds the split directions
  double max_condition = 1e4;       ///< full: eigenvalues >= largest eigenvalue / max_condition
  bool update_weights = true;
  bool update_means = true;
  bool update_variances = true;

  /// Kaldi's estimation conventions: absolute floor 0.001 (and none relative to the data), the
  /// low-occupancy rule of --remove-low-count-gaussians=false, min_gaussian_occupancy 10 (diagonal)
  /// or 100 (full), min_gaussian_weight 1e-4 as sid/train_{diag,full}_ubm.sh pass it.
  static EmUpdateOptions kaldi(bool full_covariance) {
    EmUpdateOptions o;
    o.variance_floor = 0.0;
    o.absolute_variance_floor = 1e-3;
    o.min_weight = 1e-4;
    o.min_occupancy = full_covariance ? 100.0 : 10.0;
    o.low_occupancy = LowOccupancy::KeepPreviousMinWeight;
    return o;
  }
};

/// What the M-step did besides plain re-estimation. Indices refer to the input model.
struct EmUpdateReport {
  std::vector<Index> removed;                      ///< components dropped
  std::vector<std::pair<Index, Index>> split;      ///< (low component, heavy component it was re-split from)
  std::vector<Index> kept_previous;                ///< components left as they were
  Index floored = 0;  ///< variances (diagonal) or eigenvalues (full) raised to the floor

  /// True when the number or identity of the components changed (EM's monotonicity restarts).
  bool structure_changed() const { return !removed.empty() || !split.empty() || !kept_previous.empty(); }
};

namespace detail {

inline void check_accumulator(const char* fn, const EmAccumulator& acc, const Eigen::VectorXd& centre, Index C, bool full) {
  if (acc.num_components() != C || acc.dim() != centre.size() || acc.full_covariance != full)
    throw DimensionMismatch(message(fn, ": the accumulator (C = ", acc.num_components(), ", D = ", acc.dim(),
                                    ") does not match the model (C = ", C, ", D = ", centre.size(), ")"));
  if (acc.centre != centre) throw DimensionMismatch(message(fn, ": the accumulator was made for another model"));
  if (!(acc.occupancy.array() >= 0.0).all() || !acc.occupancy.allFinite())
    throw InvalidArgument(message(fn, ": the accumulator holds negative or non-finite occupancies"));
  if (!(acc.occupancy.sum() > 0.0)) throw InvalidArgument(message(fn, ": no data accumulated (total occupancy is 0)"));
  if (!acc.first.allFinite() || !acc.second.allFinite())
    throw InvalidArgument(message(fn, ": the accumulator holds NaN or Inf statistics"));
}

/// Global (all components pooled) variance per dimension of the accumulated data.
inline Eigen::VectorXd global_variance(const char* fn, const EmAccumulator& acc) {
  const Index D = acc.dim();
  const double tot = acc.occupancy.sum();
  const Eigen::VectorXd mean = acc.first.colwise().sum().transpose() / tot;
  Eigen::VectorXd sq(D);
  if (acc.full_covariance) {
    Index k = 0;
    for (Index i = 0; i < D; ++i) {
      sq(i) = acc.second.col(k).sum();
      k += D - i;
    }
  } else {
    sq = acc.second.colwise().sum().transpose();
  }
  Eigen::VectorXd var = sq / tot - mean.cwiseAbs2();
  for (Index d = 0; d < D; ++d)
    if (!(var(d) > 0.0))
      throw NumericalError(message(fn, ": the data have zero variance in dimension ", d, "; a GMM cannot be fitted"));
  return var;
}

// Kaldi's rule: a component is estimated only when its occupancy and its share are both above the
// limits (so an empty component is low-occupancy even with both limits 0).
inline std::vector<char> low_occupancy_flags(const EmAccumulator& acc, const EmUpdateOptions& opts) {
  const double tot = acc.occupancy.sum();
  std::vector<char> low(static_cast<std::size_t>(acc.num_components()));
  for (Index c = 0; c < acc.num_components(); ++c)
    low[static_cast<std::size_t>(c)] = !(acc.occupancy(c) > opts.min_occupancy && acc.occupancy(c) / tot > opts.min_weight);
  return low;
}

inline void check_update_options(const char* fn, const EmUpdateOptions& o) {
  if (!(o.variance_floor >= 0.0)) throw InvalidArgument(message(fn, ": variance_floor must be >= 0, got ", o.variance_floor));
  if (!(o.absolute_variance_floor >= 0.0 && std::isfinite(o.absolute_variance_floor)))
    throw InvalidArgument(message(fn, ": absolute_variance_floor must be finite and >= 0, got ", o.absolute_variance_floor));
  if (!(o.min_weight >= 0.0 && o.min_weight < 1.0)) throw InvalidArgument(message(fn, ": min_weight must be in [0, 1), got ", o.min_weight));
  if (!(o.min_occupancy >= 0.0)) throw InvalidArgument(message(fn, ": min_occupancy must be >= 0, got ", o.min_occupancy));
  if (!(o.max_condition >= 1.0)) throw InvalidArgument(message(fn, ": max_condition must be >= 1, got ", o.max_condition));
}

/// Mean and covariance of one component during the update, in double.
struct ComponentParams {
  Eigen::VectorXd mean;
  ColMatrix<double> cov;  // D x 1 (diagonal variances) or D x D
};

/// The components of an M-step: every weight, and each component's mean and covariance estimated
/// from the statistics when they are needed, once. Storing all of them in double took 2 MB beside
/// the statistics for a diagonal model of C = 2048, D = 60, and 59 MB for a full one; only the few
/// components the low-occupancy policy changes (the splits) are kept here.
class UpdatedComponents {
 public:
  /// estimate(c, params): the new mean and covariance of c (the previous ones for a low-occupancy c).
  using Estimate = std::function<void(Index, ComponentParams&)>;

  UpdatedComponents(std::vector<double> weights, Estimate estimate) : weights_(std::move(weights)), estimate_(std::move(estimate)) {}

  Index size() const { return static_cast<Index>(weights_.size()); }
  double weight(Index c) const { return weights_[static_cast<std::size_t>(c)]; }
  void set_weight(Index c, double w) { weights_[static_cast<std::size_t>(c)] = w; }

  /// c's parameters to change: estimated and kept on the first call.
  ComponentParams& change(Index c) {
    auto it = changed_.find(c);
    if (it == changed_.end()) {
      it = changed_.emplace(c, ComponentParams{}).first;
      estimate_(c, it->second);
    }
    return it->second;
  }

  /// c's parameters to read: the kept ones of a changed component, else estimated into `scratch`.
  const ComponentParams& get(Index c, ComponentParams& scratch) const {
    const auto it = changed_.find(c);
    if (it != changed_.end()) return it->second;
    estimate_(c, scratch);
    return scratch;
  }

 private:
  std::vector<double> weights_;
  Estimate estimate_;
  std::map<Index, ComponentParams> changed_;  // references stay valid as entries are added
};

/// Fills the low-occupancy slots by splitting the heaviest component each time.
inline void split_into(UpdatedComponents& comps, std::vector<char>& valid, Index slot, Index& heavy_out, double perturbation,
                       Random& rng, bool full) {
  Index heavy = -1;
  for (Index c = 0; c < comps.size(); ++c)
    if (valid[static_cast<std::size_t>(c)] && (heavy < 0 || comps.weight(c) > comps.weight(heavy))) heavy = c;
  ComponentParams& h = comps.change(heavy);
  const Index D = h.mean.size();
  Eigen::VectorXd z(D);
  for (Index d = 0; d < D; ++d) z(d) = rng.normal();
  Eigen::VectorXd offset;
  if (full) {
    const ColMatrix<double> L = Eigen::LLT<ColMatrix<double>>(h.cov).matrixL();
    offset = perturbation * (L * z);
  } else {
    offset = perturbation * z.cwiseProduct(h.cov.col(0).cwiseSqrt());
  }
  ComponentParams& s = comps.change(slot);
  comps.set_weight(heavy, 0.5 * comps.weight(heavy));
  comps.set_weight(slot, comps.weight(heavy));
  s.cov = h.cov;
  s.mean = h.mean - offset;
  h.mean += offset;
  valid[static_cast<std::size_t>(slot)] = 1;
  heavy_out = heavy;
}

/// Applies the low-occupancy policy; returns which components are kept.
inline std::vector<char> apply_low_occupancy(const char* fn, UpdatedComponents& comps, std::vector<char>& valid,
                                             const std::vector<char>& low, const EmUpdateOptions& opts, const EmAccumulator& acc,
                                             bool full, EmUpdateReport& rep) {
  const double tot = acc.occupancy.sum();
  if (std::none_of(valid.begin(), valid.end(), [](char v) { return v != 0; }))
    throw NumericalError(message(fn, ": every component is below the occupancy limits (total occupancy ", tot, ")"));
  Random rng(opts.seed);
  const Index C = comps.size();
  std::vector<char> keep(static_cast<std::size_t>(C), 1);
  for (Index c = 0; c < C; ++c) {
    if (!low[static_cast<std::size_t>(c)]) continue;
    switch (opts.low_occupancy) {
      case LowOccupancy::Remove:
        keep[static_cast<std::size_t>(c)] = 0;
        rep.removed.push_back(c);
        break;
      case LowOccupancy::KeepPrevious:
        rep.kept_previous.push_back(c);
        valid[static_cast<std::size_t>(c)] = 1;
        break;
      case LowOccupancy::KeepPreviousMinWeight:
        rep.kept_previous.push_back(c);
        valid[static_cast<std::size_t>(c)] = 1;
        comps.set_weight(c, std::max(acc.occupancy(c) / tot, opts.min_weight));
        break;
      case LowOccupancy::SplitHeaviest: {
        Index heavy = -1;
        split_into(comps, valid, c, heavy, opts.split_perturbation, rng, full);
        rep.split.emplace_back(c, heavy);
        break;
      }
    }
  }
  return keep;
}

/// The weights of an update before the low-occupancy policy: occ_c / total where estimated (and
/// weights are updated), the previous weight otherwise.
template <class Model>
std::vector<double> updated_weights(const Model& model, const EmAccumulator& acc, const std::vector<char>& low, const EmUpdateOptions& opts) {
  const double tot = acc.occupancy.sum();
  std::vector<double> w(static_cast<std::size_t>(model.num_components()));
  for (Index c = 0; c < model.num_components(); ++c)
    w[static_cast<std::size_t>(c)] =
        !low[static_cast<std::size_t>(c)] && opts.update_weights ? acc.occupancy(c) / tot : static_cast<double>(model.weights()(c));
  return w;
}

}  // namespace detail

/// M-step of a diagonal GMM from its statistics. Weights occ_c / sum occ, means o + first_c / occ_c,
/// variances second_c / occ_c - (first_c / occ_c)^2 floored at max(variance_floor * global variance,
/// absolute_variance_floor) (Reynolds et al. 2000; Kaldi's MleDiagGmmUpdate).
/// @throws DimensionMismatch (accumulator of another model), InvalidArgument (no data),
///         NumericalError (data with zero variance, every component below the occupancy limits)
template <class Scalar>
DiagGmm<Scalar> em_update(const DiagGmm<Scalar>& model, const EmAccumulator& acc, const EmUpdateOptions& opts = {},
                          EmUpdateReport* report = nullptr) {
  constexpr const char* fn = "em_update(DiagGmm)";
  detail::check_update_options(fn, opts);
  const Index C = model.num_components(), D = model.dim();
  const Eigen::VectorXd o = model.centre().template cast<double>();
  detail::check_accumulator(fn, acc, o, C, false);
  const Eigen::VectorXd floor =
      (opts.variance_floor > 0.0 ? Eigen::VectorXd(opts.variance_floor * detail::global_variance(fn, acc)) : Eigen::VectorXd::Zero(D))
          .cwiseMax(opts.absolute_variance_floor);
  const auto low = detail::low_occupancy_flags(acc, opts);
  EmUpdateReport rep;
  std::vector<char> valid(static_cast<std::size_t>(C), 0);
  for (Index c = 0; c < C; ++c) valid[static_cast<std::size_t>(c)] = !low[static_cast<std::size_t>(c)];
  // Each component is estimated once: floors are counted as it is.
  detail::UpdatedComponents comps(detail::updated_weights(model, acc, low, opts), [&](Index c, detail::ComponentParams& p) {
    p.mean = model.means().row(c).transpose().template cast<double>();
    p.cov = model.variances().row(c).transpose().template cast<double>();
    if (low[static_cast<std::size_t>(c)]) return;
    const double occ = acc.occupancy(c);
    const Eigen::VectorXd m = acc.first.row(c).transpose() / occ;
    if (opts.update_means) p.mean = o + m;
    if (opts.update_variances) {
      Eigen::VectorXd v = acc.second.row(c).transpose() / occ - m.cwiseAbs2();
      for (Index d = 0; d < D; ++d)
        if (!(v(d) >= floor(d))) {
          v(d) = floor(d);
          ++rep.floored;
        }
      p.cov = v;
    }
  });
  const std::vector<char> keep = detail::apply_low_occupancy(fn, comps, valid, low, opts, acc, false, rep);
  const Index kept = static_cast<Index>(std::count(keep.begin(), keep.end(), 1));
  Vector<Scalar> w(kept);
  Matrix<Scalar> mu(kept, D), var(kept, D);
  double wsum = 0.0;
  for (Index c = 0; c < C; ++c)
    if (keep[static_cast<std::size_t>(c)]) wsum += comps.weight(c);
  detail::ComponentParams scratch;
  for (Index c = 0, k = 0; c < C; ++c) {
    if (!keep[static_cast<std::size_t>(c)]) continue;
    const auto& p = comps.get(c, scratch);
    w(k) = static_cast<Scalar>(comps.weight(c) / wsum);
    mu.row(k) = p.mean.transpose().template cast<Scalar>();
    var.row(k) = p.cov.col(0).transpose().template cast<Scalar>();
    ++k;
  }
  if (report) *report = std::move(rep);
  return DiagGmm<Scalar>(std::move(w), std::move(mu), std::move(var));
}

/// M-step of a full-covariance GMM: covariance second_c / occ_c - m m^T, its eigenvalues floored
/// at max(largest / max_condition, variance_floor * mean global variance, absolute_variance_floor)
/// (Kaldi's MleFullGmmUpdate: max(variance_floor, largest / max_condition)).
template <class Scalar>
FullGmm<Scalar> em_update(const FullGmm<Scalar>& model, const EmAccumulator& acc, const EmUpdateOptions& opts = {},
                          EmUpdateReport* report = nullptr) {
  constexpr const char* fn = "em_update(FullGmm)";
  detail::check_update_options(fn, opts);
  const Index C = model.num_components(), D = model.dim();
  const Eigen::VectorXd o = model.centre().template cast<double>();
  detail::check_accumulator(fn, acc, o, C, true);
  const double abs_floor =
      std::max(opts.variance_floor > 0.0 ? opts.variance_floor * detail::global_variance(fn, acc).mean() : 0.0, opts.absolute_variance_floor);
  const auto low = detail::low_occupancy_flags(acc, opts);
  EmUpdateReport rep;
  std::vector<char> valid(static_cast<std::size_t>(C), 0);
  for (Index c = 0; c < C; ++c) valid[static_cast<std::size_t>(c)] = !low[static_cast<std::size_t>(c)];
  // Each component is estimated once: floors are counted as it is.
  detail::UpdatedComponents comps(detail::updated_weights(model, acc, low, opts), [&](Index c, detail::ComponentParams& p) {
    p.mean = model.means().row(c).transpose().template cast<double>();
    p.cov = model.covariances()[static_cast<std::size_t>(c)].template cast<double>();
    if (low[static_cast<std::size_t>(c)]) return;
    const double occ = acc.occupancy(c);
    const Eigen::VectorXd m = acc.first.row(c).transpose() / occ;
    if (opts.update_means) p.mean = o + m;
    if (opts.update_variances) {
      ColMatrix<double> S(D, D);
      Index k = 0;
      for (Index i = 0; i < D; ++i)
        for (Index j = i; j < D; ++j, ++k) S(i, j) = S(j, i) = acc.second(c, k) / occ;
      S -= m * m.transpose();
      Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(S);
      Eigen::VectorXd lambda = eig.eigenvalues();
      const double fl = std::max(lambda.maxCoeff() / opts.max_condition, abs_floor);
      for (Index d = 0; d < D; ++d)
        if (!(lambda(d) >= fl)) {
          lambda(d) = fl;
          ++rep.floored;
        }
      p.cov = eig.eigenvectors() * lambda.asDiagonal() * eig.eigenvectors().transpose();
      p.cov = (0.5 * (p.cov + p.cov.transpose())).eval();
    }
  });
  const std::vector<char> keep = detail::apply_low_occupancy(fn, comps, valid, low, opts, acc, true, rep);
  const Index kept = static_cast<Index>(std::count(keep.begin(), keep.end(), 1));
  Vector<Scalar> w(kept);
  Matrix<Scalar> mu(kept, D);
  std::vector<ColMatrix<Scalar>> covs;
  covs.reserve(static_cast<std::size_t>(kept));
  double wsum = 0.0;
  for (Index c = 0; c < C; ++c)
    if (keep[static_cast<std::size_t>(c)]) wsum += comps.weight(c);
  detail::ComponentParams scratch;
  for (Index c = 0, k = 0; c < C; ++c) {
    if (!keep[static_cast<std::size_t>(c)]) continue;
    const auto& p = comps.get(c, scratch);
    w(k) = static_cast<Scalar>(comps.weight(c) / wsum);
    mu.row(k) = p.mean.transpose().template cast<Scalar>();
    covs.push_back(p.cov.template cast<Scalar>());
    ++k;
  }
  if (report) *report = std::move(rep);
  return FullGmm<Scalar>(std::move(w), std::move(mu), std::move(covs));
}

}  // namespace ivkit
