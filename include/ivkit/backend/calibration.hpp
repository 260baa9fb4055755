/// @file
/// Score calibration and fusion by prior-weighted linear logistic regression (BOSARIS toolkit
/// `train_linear_calibration` / `train_linear_fuser`, Brümmer's FoCal `logregCal`): scores s of M
/// systems (M = 1: calibration) map to log-likelihood ratios
///   llr = w^T s + b,
/// with (w, b) minimising the prior-weighted cross-entropy at an effective target prior P,
///   C(w, b) = [ P/N_tar sum_tar softplus(-(llr_i + logit P)) + (1-P)/N_non sum_non softplus(llr_j + logit P) ] / H(P)
///             + (l2/2) sum_k (w_k sigma_k)^2,
/// H(P) = -P log P - (1-P) log(1-P), so that C = 1 for the useless llr = 0 and C = Cllr (bits) at P = 0.5.
/// Newton's method in double with the exact (M+1) x (M+1) Hessian and a backtracking line search,
/// converged until the Newton decrement is below a tight tolerance. See docs/calibration.md.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/metrics.hpp"

namespace ivkit {

/// Options of train_linear_calibration and train_linear_fusion.
struct CalibrationOptions {
  /// Effective target prior P in (0, 1) the cross-entropy is weighted for (BOSARIS `prior`). The
  /// resulting LLRs do not depend on P when the model fits; P chooses where a misfit costs least.
  double prior = 0.5;
  /// Regularisation l2 >= 0: adds (l2/2) sum_k (w_k sigma_k)^2 to the objective, sigma_k the standard
  /// deviation of system k's training scores (so l2 is dimensionless; the offset is not penalised).
  /// 0 (default, as BOSARIS): plain maximum likelihood, which has no finite solution for separable
  /// training scores (an error); any l2 > 0 gives a unique finite solution.
  double l2 = 0.0;
  /// Newton iterations at most; reaching it without convergence is a NumericalError.
  int max_iterations = 100;
  /// Converged when half the squared Newton decrement, g^T H^-1 g / 2 (the predicted distance of the
  /// objective to its minimum), is at most this.
  double tolerance = 1e-20;
  /// Threads for the sums over trials (0 = all hardware threads); the result does not depend on it.
  int num_threads = 1;
};

/// How training went.
struct CalibrationReport {
  int iterations = 0;       ///< Newton steps taken
  double objective = 0.0;   ///< normalised cross-entropy C at the solution, without the penalty (BOSARIS cxe)
  double penalty = 0.0;     ///< (l2/2) sum_k (w_k sigma_k)^2 at the solution
  double decrement = 0.0;   ///< g^T H^-1 g / 2 at the last Newton step
};

/// A linear map of the scores of one or more systems to log-likelihood ratios: llr = w^T s + b.
/// Parameters are double; apply() and fuse() accept float or double scores and return the same type.
class LinearCalibration {
 public:
  static constexpr const char* kFileKind = "LinearCalibration";
  static constexpr std::uint32_t kFileVersion = 1;

  /// The identity on one system (llr = score).
  LinearCalibration() : w_(Vector<double>::Ones(1)) {}
  /// From weights (one per system), an offset, and the effective prior it was trained at (kept for
  /// reference only). @throws InvalidArgument (no weights, non-finite values, prior outside (0, 1))
  LinearCalibration(Vector<double> weights, double offset, double prior = 0.5) : w_(std::move(weights)), b_(offset), prior_(prior) {
    constexpr const char* fn = "LinearCalibration";
    if (w_.size() == 0) throw InvalidArgument(detail::message(fn, ": no weights"));
    for (Index k = 0; k < w_.size(); ++k)
      if (!std::isfinite(w_(k))) throw InvalidArgument(detail::message(fn, ": weight ", k, " is ", w_(k)));
    if (!std::isfinite(b_)) throw InvalidArgument(detail::message(fn, ": the offset is ", b_));
    if (!(prior_ > 0 && prior_ < 1)) throw InvalidArgument(detail::message(fn, ": the prior must lie in (0, 1), got ", prior_));
  }

  /// Number of systems fused (1 for a calibration).
  Index num_systems() const { return w_.size(); }
  const Vector<double>& weights() const { return w_; }
  double offset() const { return b_; }
  /// The scale a of a single-system calibration llr = a s + b. @throws InvalidArgument for a fusion
  double scale() const {
    require_single("LinearCalibration::scale");
    return w_(0);
  }
  double prior() const { return prior_; }

  /// LLR of one score of a single system.
  double operator()(double score) const {
    require_single("LinearCalibration::operator()");
    return w_(0) * score + b_;
  }

  /// Element-wise llr = a s + b of a single-system calibration on any vector or matrix of scores (a
  /// trial list, a whole enrolment x test matrix), computed in double, returned in the input's scalar
  /// and shape. ±inf scores map to ±inf. @throws InvalidArgument (a fusion), NonFiniteInput (a NaN)
  template <class Derived>
  typename Derived::PlainObject apply(const Eigen::MatrixBase<Derived>& scores) const {
    using S = typename Derived::Scalar;
    IVKIT_CHECK_SCALAR(S);
    constexpr const char* fn = "LinearCalibration::apply";
    require_single(fn);
    typename Derived::PlainObject out(scores.rows(), scores.cols());
    const double a = w_(0), b = b_;
    for (Index j = 0; j < scores.cols(); ++j)
      for (Index i = 0; i < scores.rows(); ++i) {
        const double s = static_cast<double>(scores(i, j));
        if (std::isnan(s)) throw NonFiniteInput(detail::message(fn, ": score (", i, ", ", j, ") is NaN"));
        out(i, j) = static_cast<S>(a * s + b);
      }
    return out;
  }
  /// Element-wise on a std::vector or other score array, as doubles.
  std::vector<double> apply(ScoreView scores) const {
    constexpr const char* fn = "LinearCalibration::apply";
    require_single(fn);
    std::vector<double> out(scores.size());
    const double a = w_(0), b = b_;
    scores.visit([&](const auto* p, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        const double s = static_cast<double>(p[i]);
        if (std::isnan(s)) throw NonFiniteInput(detail::message(fn, ": score ", i, " is NaN"));
        out[i] = a * s + b;
      }
    });
    return out;
  }

  /// Fused LLRs of trials x systems scores (row i: the M systems' scores of trial i): w^T s_i + b,
  /// in double, returned in the input's scalar. @throws DimensionMismatch, NonFiniteInput (a NaN)
  template <class Derived>
  Vector<typename Derived::Scalar> fuse(const Eigen::MatrixBase<Derived>& scores) const {
    using S = typename Derived::Scalar;
    IVKIT_CHECK_SCALAR(S);
    constexpr const char* fn = "LinearCalibration::fuse";
    if (scores.cols() != num_systems())
      throw DimensionMismatch(detail::message(fn, ": the scores are ", scores.rows(), " x ", scores.cols(), " (trials x systems) but the fusion has ",
                                              num_systems(), " system", num_systems() == 1 ? "" : "s"));
    Vector<S> out(scores.rows());
    for (Index i = 0; i < scores.rows(); ++i) {
      double z = b_;
      for (Index k = 0; k < num_systems(); ++k) {
        const double s = static_cast<double>(scores(i, k));
        if (std::isnan(s)) throw NonFiniteInput(detail::message(fn, ": the score of trial ", i, " from system ", k, " is NaN"));
        z += w_(k) * s;
      }
      out(i) = static_cast<S>(z);
    }
    return out;
  }

  /// Saves atomically in ivkit's model container (kind "LinearCalibration"). @throws IoError
  void save(const std::string& path) const { to_writer().save(path); }
  /// The bytes save() writes.
  std::string to_bytes() const { return to_writer().bytes(); }
  /// Loads a calibration saved by save(). @throws IoError, FormatError
  static LinearCalibration load(const std::string& path) { return from_reader(ModelReader(path, kFileKind, kFileVersion)); }
  static LinearCalibration from_bytes(std::string bytes, const std::string& source = "<memory>") {
    return from_reader(ModelReader(std::move(bytes), source, kFileKind, kFileVersion));
  }

 private:
  void require_single(const char* fn) const {
    if (w_.size() != 1)
      throw InvalidArgument(detail::message(fn, ": this is a fusion of ", w_.size(), " systems; use fuse() on trials x systems scores"));
  }
  ModelWriter to_writer() const {
    ModelWriter w(kFileKind, kFileVersion);
    w.matrix("weights", w_).real("offset", b_).real("prior", prior_);
    return w;
  }
  static LinearCalibration from_reader(const ModelReader& r) {
    try {
      return LinearCalibration(r.vector<double>("weights"), r.real("offset"), r.real("prior"));
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(detail::message("ModelReader: '", r.source(), "' holds an invalid calibration: ", e.what()));
    }
  }

  Vector<double> w_;
  double b_ = 0.0;
  double prior_ = 0.5;
};

namespace detail {

inline constexpr Index kCalibrationBlock = 8192;  // trials per block of the sums

/// Training scores, standardised per system: x'_ik = (x_ik - mean_k) / sd_k, targets first.
struct CalibrationData {
  Index num_targets = 0, num_nontargets = 0, num_systems = 0;
  std::vector<double> x;  // (num_targets + num_nontargets) x num_systems, row-major, standardised
  Vector<double> mean, sd;
  double tar_min = 0, tar_max = 0, non_min = 0, non_max = 0;  // raw range (one system)
  Index rows() const { return num_targets + num_nontargets; }
};

/// Copies targets then non-targets (get(i, k) gives the raw score), checks them, standardises.
template <class GetT, class GetN>
CalibrationData calibration_data(const char* fn, Index nt, Index nn, Index m, GetT&& get_t, GetN&& get_n) {
  if (m == 0) throw InvalidArgument(message(fn, ": no systems (the score matrices have no columns)"));
  if (nt == 0) throw InvalidArgument(message(fn, ": no target scores"));
  if (nn == 0) throw InvalidArgument(message(fn, ": no non-target scores"));
  CalibrationData d;
  d.num_targets = nt;
  d.num_nontargets = nn;
  d.num_systems = m;
  d.x.resize(static_cast<std::size_t>((nt + nn) * m));
  auto label = [&](Index i, Index k, bool target) {
    return m == 1 ? message(target ? "target" : "non-target", " score ", i)
                  : message("the score of system ", k, " for ", target ? "target" : "non-target", " trial ", i);
  };
  for (Index i = 0; i < nt + nn; ++i)
    for (Index k = 0; k < m; ++k) {
      const bool t = i < nt;
      const double v = t ? static_cast<double>(get_t(i, k)) : static_cast<double>(get_n(i - nt, k));
      if (!std::isfinite(v)) throw NonFiniteInput(message(fn, ": ", label(t ? i : i - nt, k, t), " is NaN or Inf"));
      d.x[static_cast<std::size_t>(i * m + k)] = v;
    }
  if (m == 1) {
    const auto* p = d.x.data();
    d.tar_min = *std::min_element(p, p + nt);
    d.tar_max = *std::max_element(p, p + nt);
    d.non_min = *std::min_element(p + nt, p + nt + nn);
    d.non_max = *std::max_element(p + nt, p + nt + nn);
  }
  const Index n = nt + nn;
  d.mean.setZero(m);
  d.sd.setZero(m);
  for (Index k = 0; k < m; ++k) {
    double s = 0;
    for (Index i = 0; i < n; ++i) s += d.x[static_cast<std::size_t>(i * m + k)];
    const double mu = s / static_cast<double>(n);
    double ss = 0;
    for (Index i = 0; i < n; ++i) {
      const double e = d.x[static_cast<std::size_t>(i * m + k)] - mu;
      ss += e * e;
    }
    const double sd = std::sqrt(ss / static_cast<double>(n));
    if (!(sd > 0)) {
      if (m == 1) throw InvalidArgument(message(fn, ": all ", n, " scores are equal (", mu, "); a scale cannot be fitted"));
      throw InvalidArgument(message(fn, ": the scores of system ", k, " are all equal (", mu, "); its weight cannot be fitted"));
    }
    d.mean(k) = mu;
    d.sd(k) = sd;
    for (Index i = 0; i < n; ++i) {
      double& v = d.x[static_cast<std::size_t>(i * m + k)];
      v = (v - mu) / sd;
    }
  }
  return d;
}

/// Objective (without the penalty) and, if wanted, gradient and Hessian over theta = (w', b') in
/// the standardised coordinates; `separated`: every trial on its own side of llr + logit P = 0.
struct CalibrationSums {
  double f = 0;
  Vector<double> g;
  ColMatrix<double> h;
  bool separated = true;
};

inline CalibrationSums calibration_sums(const CalibrationData& d, const Vector<double>& theta, double logit_p, double alpha_t,
                                        double alpha_n, bool derivatives, int num_threads) {
  const Index m = d.num_systems, dim = m + 1, n = d.rows();
  struct Partial {
    double ft = 0, fn = 0;
    std::vector<double> g, h;  // g: dim; h: dim x dim (upper triangle used)
    bool separated = true;
  };
  CalibrationSums out;
  out.g.setZero(dim);
  out.h.setZero(dim, dim);
  double ft = 0, fn = 0;
  ordered_block_reduce(
      num_blocks(n, kCalibrationBlock), num_threads,
      [&] {
        Partial p;
        p.g.resize(static_cast<std::size_t>(dim));
        p.h.resize(static_cast<std::size_t>(dim * dim));
        return p;
      },
      [&](Index b, Partial& p) {
        p.ft = p.fn = 0;
        std::fill(p.g.begin(), p.g.end(), 0.0);
        std::fill(p.h.begin(), p.h.end(), 0.0);
        p.separated = true;
        const Index i0 = b * kCalibrationBlock, i1 = std::min(n, i0 + kCalibrationBlock);
        for (Index i = i0; i < i1; ++i) {
          const double* x = d.x.data() + i * m;
          const bool target = i < d.num_targets;
          double z = theta(m) + logit_p;
          for (Index k = 0; k < m; ++k) z += theta(k) * x[k];
          if (target ? !(z > 0) : !(z < 0)) p.separated = false;
          // softplus(-/+z), its derivative in z, its second derivative: stable for any |z|.
          const double e = std::exp(-std::abs(z));
          const double log1pe = std::log1p(e);
          const double sig_pos = z >= 0 ? 1 / (1 + e) : e / (1 + e);  // sigma(z)
          const double sig_neg = z >= 0 ? e / (1 + e) : 1 / (1 + e);  // sigma(-z)
          double loss, d1;
          if (target) {
            loss = std::max(-z, 0.0) + log1pe;
            d1 = -sig_neg;
          } else {
            loss = std::max(z, 0.0) + log1pe;
            d1 = sig_pos;
          }
          (target ? p.ft : p.fn) += loss;
          if (!derivatives) continue;
          const double a = target ? alpha_t : alpha_n;
          const double g1 = a * d1, h1 = a * (e / ((1 + e) * (1 + e)));
          for (Index r = 0; r < m; ++r) {
            p.g[static_cast<std::size_t>(r)] += g1 * x[r];
            double* hr = p.h.data() + r * dim;
            const double hx = h1 * x[r];
            for (Index c = r; c < m; ++c) hr[c] += hx * x[c];
            hr[m] += hx;
          }
          p.g[static_cast<std::size_t>(m)] += g1;
          p.h[static_cast<std::size_t>(m * dim + m)] += h1;
        }
      },
      [&](Partial& p) {
        ft += p.ft;
        fn += p.fn;
        out.separated = out.separated && p.separated;
        if (!derivatives) return;
        for (Index r = 0; r < dim; ++r) {
          out.g(r) += p.g[static_cast<std::size_t>(r)];
          for (Index c = r; c < dim; ++c) out.h(r, c) += p.h[static_cast<std::size_t>(r * dim + c)];
        }
      });
  out.f = alpha_t * ft + alpha_n * fn;
  for (Index r = 0; r < dim; ++r)
    for (Index c = 0; c < r; ++c) out.h(r, c) = out.h(c, r);
  return out;
}

inline void check_calibration_options(const char* fn, const CalibrationOptions& o) {
  if (!(o.prior > 0 && o.prior < 1)) throw InvalidArgument(message(fn, ": the prior must lie in (0, 1), got ", o.prior));
  if (!(o.l2 >= 0) || !std::isfinite(o.l2)) throw InvalidArgument(message(fn, ": l2 must be finite and >= 0, got ", o.l2));
  if (o.max_iterations < 1) throw InvalidArgument(message(fn, ": max_iterations must be >= 1, got ", o.max_iterations));
  if (!(o.tolerance > 0)) throw InvalidArgument(message(fn, ": tolerance must be positive, got ", o.tolerance));
  if (o.num_threads < 0) throw InvalidArgument(message(fn, ": num_threads must be >= 0, got ", o.num_threads));
}

/// Newton's method on the standardised data; returns the calibration in the original coordinates.
inline LinearCalibration train_calibration(const char* fn, const CalibrationData& d, const CalibrationOptions& o, CalibrationReport* report) {
  const Index m = d.num_systems, dim = m + 1;
  const double p = o.prior, lp = std::log(p / (1 - p));
  const double entropy = -p * std::log(p) - (1 - p) * std::log1p(-p);
  const double alpha_t = p / (static_cast<double>(d.num_targets) * entropy);
  const double alpha_n = (1 - p) / (static_cast<double>(d.num_nontargets) * entropy);
  const double l2 = o.l2;

  if (l2 == 0) {
    if (m == 1 && d.tar_min >= d.non_max)
      throw InvalidArgument(message(fn, ": the scores are separable (lowest target score ", d.tar_min, " >= highest non-target score ",
                                    d.non_max, "); the maximum-likelihood scale is infinite; set CalibrationOptions::l2 > 0"));
    if (m == 1 && d.tar_max <= d.non_min)
      throw InvalidArgument(message(fn, ": the scores are separable (highest target score ", d.tar_max, " <= lowest non-target score ",
                                    d.non_min, "); the maximum-likelihood scale is infinite; set CalibrationOptions::l2 > 0"));
    if (m > 1) {
      // Correlation matrix of the standardised systems: linearly dependent systems have no unique fusion.
      ColMatrix<double> r = ColMatrix<double>::Zero(m, m);
      for (Index i = 0; i < d.rows(); ++i) {
        const Eigen::Map<const Vector<double>> x(d.x.data() + i * m, m);
        r.noalias() += x * x.transpose();
      }
      r /= static_cast<double>(d.rows());
      const double smallest = Eigen::SelfAdjointEigenSolver<ColMatrix<double>>(r, Eigen::EigenvaluesOnly).eigenvalues()(0);
      if (!(smallest > 1e-10))
        throw InvalidArgument(message(fn, ": the scores of the ", m, " systems are linearly dependent (smallest eigenvalue of their correlation matrix ",
                                      smallest, "); drop a system or set CalibrationOptions::l2 > 0"));
    }
  }

  auto penalty = [&](const Vector<double>& th) { return 0.5 * l2 * th.head(m).squaredNorm(); };
  auto objective = [&](const Vector<double>& th) {
    return calibration_sums(d, th, lp, alpha_t, alpha_n, false, o.num_threads).f + penalty(th);
  };

  Vector<double> theta = Vector<double>::Zero(dim);  // w = 0, b = 0 is the optimum of the offset alone
  double decrement = std::numeric_limits<double>::infinity();
  int it = 0;
  bool converged = false;
  while (it < o.max_iterations) {
    CalibrationSums s = calibration_sums(d, theta, lp, alpha_t, alpha_n, true, o.num_threads);
    if (l2 == 0 && s.separated)
      throw InvalidArgument(message(fn, ": the training scores are linearly separable (the fusion at iteration ", it,
                                    " puts every trial on its side); the maximum-likelihood weights are infinite; set CalibrationOptions::l2 > 0"));
    const double f = s.f + penalty(theta);
    for (Index k = 0; k < m; ++k) {
      s.g(k) += l2 * theta(k);
      s.h(k, k) += l2;
    }
    const Eigen::LLT<ColMatrix<double>> llt(s.h);
    if (llt.info() != Eigen::Success)
      throw NumericalError(message(fn, ": the Hessian is not positive definite at iteration ", it,
                                   " (the scores may be nearly separable); set CalibrationOptions::l2 > 0"));
    const Vector<double> step = -llt.solve(s.g);
    const double gd = s.g.dot(step);  // -(decrement^2)
    decrement = -0.5 * gd;
    if (!std::isfinite(decrement))
      throw NumericalError(message(fn, ": the Newton step is not finite at iteration ", it));
    ++it;
    if (decrement <= 1e-10) {
      theta += step;  // quadratic convergence region: the full Newton step
      if (decrement <= o.tolerance) {
        converged = true;
        break;
      }
      continue;
    }
    double t = 1;
    const double slack = 1e-14 * (std::abs(f) + 1);
    for (;;) {
      const Vector<double> trial = theta + t * step;
      const double ft = objective(trial);
      if (ft <= f + 1e-4 * t * gd + slack) {
        theta = trial;
        break;
      }
      t *= 0.5;
      if (t < 1e-12)
        throw NumericalError(message(fn, ": the line search failed at iteration ", it, " (Newton decrement ", decrement, ")"));
    }
  }
  if (!converged)
    throw NumericalError(message(fn, ": Newton's method did not converge in ", o.max_iterations, " iterations (half squared Newton decrement ",
                                 decrement, ", tolerance ", o.tolerance, "); the scores may be separable: set CalibrationOptions::l2 > 0"));
  // Back to the original coordinates: llr = sum_k w'_k (x_k - mean_k) / sd_k + b'.
  Vector<double> w(m);
  double b = theta(m);
  for (Index k = 0; k < m; ++k) {
    w(k) = theta(k) / d.sd(k);
    b -= w(k) * d.mean(k);
  }
  if (report) {
    report->iterations = it;
    report->objective = calibration_sums(d, theta, lp, alpha_t, alpha_n, false, o.num_threads).f;
    report->penalty = penalty(theta);
    report->decrement = decrement;
  }
  return LinearCalibration(std::move(w), b, p);
}

}  // namespace detail

/// Trains a single-system calibration llr = a s + b by prior-weighted linear logistic regression
/// (BOSARIS train_linear_calibration), Newton's method in double.
/// @throws InvalidArgument (bad options, no targets or no non-targets, all scores equal, separable
/// scores with l2 = 0), NonFiniteInput (NaN or Inf, naming its index), NumericalError (no convergence)
inline LinearCalibration train_linear_calibration(ScoreView targets, ScoreView nontargets, const CalibrationOptions& options = {},
                                                  CalibrationReport* report = nullptr) {
  constexpr const char* fn = "train_linear_calibration";
  detail::check_calibration_options(fn, options);
  const auto d = detail::calibration_data(
      fn, static_cast<Index>(targets.size()), static_cast<Index>(nontargets.size()), 1,
      [&](Index i, Index) { return targets[static_cast<std::size_t>(i)]; },
      [&](Index i, Index) { return nontargets[static_cast<std::size_t>(i)]; });
  return detail::train_calibration(fn, d, options, report);
}

/// As above, from labelled scores (true = target).
/// @throws DimensionMismatch when the sizes differ; otherwise as above
inline LinearCalibration train_linear_calibration(ScoreView scores, const TrialLabels& labels, const CalibrationOptions& options = {},
                                                  CalibrationReport* report = nullptr) {
  constexpr const char* fn = "train_linear_calibration";
  if (scores.size() != labels.size())
    throw DimensionMismatch(detail::message(fn, ": ", scores.size(), " scores but ", labels.size(), " labels"));
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (!std::isfinite(scores[i])) throw NonFiniteInput(detail::message(fn, ": score ", i, " is NaN or Inf"));
  const auto [t, n] = split_scores(scores, labels);
  return train_linear_calibration(ScoreView(t), ScoreView(n), options, report);
}

/// Trains a linear fusion llr = w^T s + b of M systems (BOSARIS train_linear_fuser): `targets` and
/// `nontargets` hold one trial per row and one system per column. M = 1 is train_linear_calibration.
/// @throws DimensionMismatch (column counts differ), InvalidArgument (as train_linear_calibration;
/// a system with constant scores; linearly dependent systems or separable trials with l2 = 0),
/// NonFiniteInput, NumericalError
template <class DT, class DN>
LinearCalibration train_linear_fusion(const Eigen::MatrixBase<DT>& targets, const Eigen::MatrixBase<DN>& nontargets,
                                      const CalibrationOptions& options = {}, CalibrationReport* report = nullptr) {
  IVKIT_CHECK_SCALAR(typename DT::Scalar);
  IVKIT_CHECK_SCALAR(typename DN::Scalar);
  constexpr const char* fn = "train_linear_fusion";
  detail::check_calibration_options(fn, options);
  if (targets.cols() != nontargets.cols())
    throw DimensionMismatch(detail::message(fn, ": the target scores are ", targets.rows(), " x ", targets.cols(), " but the non-target scores are ",
                                            nontargets.rows(), " x ", nontargets.cols(), " (trials x systems)"));
  const auto d = detail::calibration_data(
      fn, targets.rows(), nontargets.rows(), targets.cols(), [&](Index i, Index k) { return targets(i, k); },
      [&](Index i, Index k) { return nontargets(i, k); });
  return detail::train_calibration(fn, d, options, report);
}

/// As above, from trials x systems scores and one label per trial (true = target).
template <class Derived>
LinearCalibration train_linear_fusion(const Eigen::MatrixBase<Derived>& scores, const TrialLabels& labels, const CalibrationOptions& options = {},
                                      CalibrationReport* report = nullptr) {
  IVKIT_CHECK_SCALAR(typename Derived::Scalar);
  constexpr const char* fn = "train_linear_fusion";
  if (static_cast<std::size_t>(scores.rows()) != labels.size())
    throw DimensionMismatch(detail::message(fn, ": ", scores.rows(), " trials (rows of scores) but ", labels.size(), " labels"));
  detail::check_calibration_options(fn, options);
  for (Index i = 0; i < scores.rows(); ++i)
    for (Index k = 0; k < scores.cols(); ++k)
      if (!std::isfinite(static_cast<double>(scores(i, k))))
        throw NonFiniteInput(detail::message(fn, ": the score of system ", k, " for trial ", i, " is NaN or Inf"));
  std::vector<Index> t, n;
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? t : n).push_back(static_cast<Index>(i));
  const auto d = detail::calibration_data(
      fn, static_cast<Index>(t.size()), static_cast<Index>(n.size()), scores.cols(),
      [&](Index i, Index k) { return scores(t[static_cast<std::size_t>(i)], k); },
      [&](Index i, Index k) { return scores(n[static_cast<std::size_t>(i)], k); });
  return detail::train_calibration(fn, d, options, report);
}

/// The normalised prior-weighted cross-entropy of LLRs at effective prior P (the objective
/// train_linear_calibration minimises, BOSARIS's cxe):
///   [ P/N_tar sum_tar softplus(-(llr + logit P)) + (1-P)/N_non sum_non softplus(llr + logit P) ] / H(P).
/// Equals cllr() at P = 0.5; 1 for llr = 0. ±inf LLRs allowed.
/// @throws InvalidArgument (prior outside (0, 1), empty list), NonFiniteInput (NaN)
inline double prior_weighted_cross_entropy(ScoreView target_llrs, ScoreView nontarget_llrs, double prior) {
  constexpr const char* fn = "prior_weighted_cross_entropy";
  if (!(prior > 0 && prior < 1)) throw InvalidArgument(detail::message(fn, ": the prior must lie in (0, 1), got ", prior));
  detail::check_not_empty(fn, target_llrs.size(), nontarget_llrs.size());
  detail::check_no_nan(fn, target_llrs, "target score");
  detail::check_no_nan(fn, nontarget_llrs, "non-target score");
  const double lp = std::log(prior / (1 - prior));
  double st = 0, sn = 0;
  target_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) st += detail::softplus(-(static_cast<double>(p[i]) + lp));
  });
  nontarget_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) sn += detail::softplus(static_cast<double>(p[i]) + lp);
  });
  const double entropy = -prior * std::log(prior) - (1 - prior) * std::log1p(-prior);
  return (prior * st / static_cast<double>(target_llrs.size()) + (1 - prior) * sn / static_cast<double>(nontarget_llrs.size())) / entropy;
}

}  // namespace ivkit
