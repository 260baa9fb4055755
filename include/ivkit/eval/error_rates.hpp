/// @file
/// Exact detection metrics from sorted scores: the equal error rate under named conventions (ROC
/// convex hull as BOSARIS, Kaldi `compute-eer`, linear interpolation), minDCF and actDCF, Cllr and
/// minCllr. Each is a sweep: a consumer of the groups of one ascending pass, so that one pass over
/// `SortedScores`, a `ScoreHistogram` or the merge of a `StreamingScoreSorter` feeds several.
///
/// Operating points. The scores (targets and non-targets together) fall into groups of equal value
/// v_1 < v_2 < ... < v_G. Operating point k (k = 0..G) rejects the first k groups and accepts the
/// others: a trial is accepted (declared a target) when its score is >= theta_k = v_{k+1}
/// (theta_G = +inf: reject everything). Tied scores therefore always move together.
///   P_miss(k) = #{targets with score < theta_k} / N_tar,  P_fa(k) = #{non-targets >= theta_k} / N_non.
/// See docs/evaluation.md for the formulas and their sources.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/eval/pav.hpp"
#include "ivkit/eval/sorted_scores.hpp"

namespace ivkit {

// ---------------------------------------------------------------------------------------------
// Result types

/// How the equal error rate is read off the empirical error rates.
enum class EerConvention {
  /// EER of the ROC convex hull (BOSARIS `rocch` + `rocch2eer`, Brümmer): PAV over the sorted scores
  /// gives the hull vertices, the EER is where the hull crosses P_miss = P_fa.
  Rocch,
  /// Kaldi `compute-eer` (src/ivectorbin/compute-eer.cc), reproduced rule for rule; always a
  /// multiple of 1 / N_tar.
  Kaldi,
  /// Linear interpolation between the two consecutive operating points where P_miss - P_fa changes
  /// sign: the crossing of the (non-convexified) piecewise-linear ROC with P_miss = P_fa.
  Interpolated,
};

/// Short name: "rocch", "kaldi", "interpolated".
inline const char* convention_name(EerConvention c) {
  switch (c) {
    case EerConvention::Rocch: return "rocch";
    case EerConvention::Kaldi: return "kaldi";
    case EerConvention::Interpolated: return "interpolated";
  }
  return "unknown";
}

/// One-line description with the source of the convention.
inline const char* convention_description(EerConvention c) {
  switch (c) {
    case EerConvention::Rocch: return "ROC convex hull, as BOSARIS rocch2eer";
    case EerConvention::Kaldi: return "Kaldi compute-eer";
    case EerConvention::Interpolated: return "linear interpolation between the operating points where P_miss and P_fa cross";
  }
  return "unknown";
}

/// An equal error rate and how it was obtained.
struct EerResult {
  double eer = 0.0;  ///< proportion in [0, 1]
  /// Rocch: the lowest score of the PAV bin whose hull segment crosses P_miss = P_fa (the EER is
  /// reached by accepting everything above that bin and a fraction of it), or theta_k when the hull
  /// vertex k lies on the diagonal. Kaldi: the threshold compute-eer prints (a target score).
  /// Interpolated: the score v_k of the group straddling the crossing, or theta_k when operating
  /// point k has P_miss = P_fa exactly. From a ScoreHistogram: a bin edge.
  double threshold = 0.0;
  EerConvention convention = EerConvention::Rocch;
  Index num_targets = 0;
  Index num_nontargets = 0;
  bool approximate = false;  ///< true when computed by a ScoreHistogram
  double lower = 0.0;        ///< the exact EER of the same convention lies in [lower, upper]
  double upper = 0.0;        ///< (lower == upper == eer when computed exactly)

  /// e.g. "EER = 2.5% (rocch: ROC convex hull, as BOSARIS rocch2eer; threshold 1.2; 100 targets,
  /// 9900 non-targets)"; approximate figures add "in [lower%, upper%], histogram".
  std::string to_string() const {
    std::string s = "EER = " + detail::fmt(100.0 * eer) + "%";
    if (approximate) s += " in [" + detail::fmt(100.0 * lower) + "%, " + detail::fmt(100.0 * upper) + "%]";
    s += std::string(" (") + convention_name(convention) + ": " + convention_description(convention);
    if (approximate) s += ", approximate from a score histogram";
    s += "; threshold " + detail::fmt(threshold) + "; " + std::to_string(num_targets) + " targets, " +
         std::to_string(num_nontargets) + " non-targets)";
    return s;
  }
};

/// Parameters of a detection cost function:
///   DCF = P_target C_miss P_miss + (1 - P_target) C_fa P_fa,
/// reported normalised by min(P_target C_miss, (1 - P_target) C_fa) (the cost of the better of
/// "accept all" and "reject all"). The default (0.01, 1, 1) is the VoxSRC and NIST SRE 2016-2021
/// choice; SRE 2008's core condition used (0.01, 10, 1).
struct DcfParams {
  double p_target = 0.01;
  double c_miss = 1.0;
  double c_fa = 1.0;

  /// min(P_target C_miss, (1 - P_target) C_fa)
  double normaliser() const { return std::min(p_target * c_miss, (1.0 - p_target) * c_fa); }
  /// Bayes threshold for calibrated LLRs: -log(P_target C_miss / ((1 - P_target) C_fa)).
  double bayes_threshold() const { return std::log((1.0 - p_target) * c_fa) - std::log(p_target * c_miss); }
  /// Effective prior P_target C_miss / (P_target C_miss + (1 - P_target) C_fa).
  double effective_prior() const {
    const double a = p_target * c_miss, b = (1.0 - p_target) * c_fa;
    return a / (a + b);
  }
  /// "P_target = 0.01, C_miss = 1, C_fa = 1"
  std::string to_string() const {
    return "P_target = " + detail::fmt(p_target) + ", C_miss = " + detail::fmt(c_miss) + ", C_fa = " + detail::fmt(c_fa);
  }
};

/// Minimum (best threshold) or actual (Bayes threshold applied to LLRs) detection cost.
enum class DcfKind { Min, Act };

/// A normalised detection cost and the operating point it was measured at.
struct DcfResult {
  DcfKind kind = DcfKind::Min;
  DcfParams params;
  double value = 0.0;      ///< normalised cost, DCF / params.normaliser()
  double threshold = 0.0;  ///< accept iff score >= threshold (min: theta_k of the best point; act: the Bayes threshold)
  double p_miss = 0.0;     ///< at `threshold`
  double p_fa = 0.0;
  Index num_targets = 0;
  Index num_nontargets = 0;
  bool approximate = false;  ///< true when computed by a ScoreHistogram
  double lower = 0.0;        ///< the exact normalised cost lies in [lower, upper]
  double upper = 0.0;

  /// e.g. "minDCF = 0.2345 (P_target = 0.01, C_miss = 1, C_fa = 1; normalised by 0.01; threshold 2.1:
  /// P_miss = 12%, P_fa = 0.5%; 100 targets, 9900 non-targets)".
  std::string to_string() const {
    std::string s = std::string(kind == DcfKind::Min ? "minDCF" : "actDCF") + " = " + detail::fmt(value);
    if (approximate) s += " in [" + detail::fmt(lower) + ", " + detail::fmt(upper) + "]";
    s += " (" + params.to_string() + "; normalised by " + detail::fmt(params.normaliser());
    if (approximate) s += "; approximate from a score histogram";
    s += kind == DcfKind::Act ? "; Bayes threshold " : "; threshold ";
    s += detail::fmt(threshold) + ": P_miss = " + detail::fmt(100.0 * p_miss) + "%, P_fa = " + detail::fmt(100.0 * p_fa) +
         "%; " + std::to_string(num_targets) + " targets, " + std::to_string(num_nontargets) + " non-targets)";
    return s;
  }
};

namespace detail {

inline void check_dcf_params(const char* fn, const DcfParams& p) {
  if (!(p.p_target > 0.0 && p.p_target < 1.0))
    throw InvalidArgument(message(fn, ": P_target must lie in (0, 1), got ", fmt(p.p_target)));
  if (!(p.c_miss > 0.0) || !std::isfinite(p.c_miss))
    throw InvalidArgument(message(fn, ": C_miss must be positive and finite, got ", fmt(p.c_miss)));
  if (!(p.c_fa > 0.0) || !std::isfinite(p.c_fa))
    throw InvalidArgument(message(fn, ": C_fa must be positive and finite, got ", fmt(p.c_fa)));
}

// The sweeps: each takes the groups (or operating points) of one ascending pass pushed to it, so
// that one pass over a sorted sequence can feed several of them at once. The functions taking a
// group source (eer_crossing, min_dcf_scan) drive one consumer each.

/// Turns pushed groups into operating points for a consumer `g(cum_targets, cum_nontargets, theta)`
/// (see for_each_operating_point); call finish() after the last group for the reject-all point.
/// Once `g` has returned false it is not called again.
template <class G>
class OperatingPointFeed {
 public:
  explicit OperatingPointFeed(G& g) : g_(g) {}
  bool operator()(double low, Index t, Index n) {
    if (go_) go_ = g_(ct_, cn_, low);
    ct_ += t;
    cn_ += n;
    return go_;
  }
  void finish() {
    if (go_) go_ = g_(ct_, cn_, std::numeric_limits<double>::infinity());
  }
  bool active() const { return go_; }

 private:
  G& g_;
  Index ct_ = 0, cn_ = 0;
  bool go_ = true;
};

/// Where P_miss - P_fa changes sign along the operating points of a group source: the EER by linear
/// interpolation between the two operating points (exact for the ROC of those points), and the
/// interval [max(P_miss(k-1), P_fa(k)), min(P_miss(k), P_fa(k-1))] that any monotone curve through
/// the two points must cross the diagonal in.
struct Crossing {
  double eer = 0.0, threshold = 0.0, lower = 0.0, upper = 0.0;
};

/// Operating-point consumer finding the crossing (see Crossing); `found` once it has.
class CrossingSweep {
 public:
  CrossingSweep(Index nt, Index nn) : nn_(nn), dnt_(static_cast<double>(nt)), dnn_(static_cast<double>(nn)) {}
  bool operator()(Index ct, Index cn, double theta) {
    if (found) return false;
    const double pm = static_cast<double>(ct) / dnt_, pf = static_cast<double>(nn_ - cn) / dnn_;
    const double d = pf - pm;
    if (d <= 0.0) {
      found = true;
      if (d == 0.0) {
        result.eer = result.lower = result.upper = pm;
        result.threshold = theta;
      } else {
        const double d_prev = pf_prev_ - pm_prev_;  // > 0
        const double w = d_prev / (d_prev - d);
        result.eer = pm_prev_ + w * (pm - pm_prev_);
        result.threshold = theta_prev_;
        result.lower = std::max(pm_prev_, pf);
        result.upper = std::min(pm, pf_prev_);
        result.eer = std::min(std::max(result.eer, result.lower), result.upper);  // rounding
      }
      return false;
    }
    pm_prev_ = pm;
    pf_prev_ = pf;
    theta_prev_ = theta;
    return true;
  }
  Crossing result;
  bool found = false;

 private:
  Index nn_;
  double dnt_, dnn_;
  double pm_prev_ = 0.0, pf_prev_ = 1.0, theta_prev_ = 0.0;
};

template <class Groups>
Crossing eer_crossing(const Groups& groups, Index nt, Index nn) {
  CrossingSweep sweep(nt, nn);
  for_each_operating_point(groups, [&](Index ct, Index cn, double theta) { return sweep(ct, cn, theta); });
  IVKIT_ASSERT(sweep.found);
  return sweep.result;
}

/// EER of the lower convex hull of points (P_fa, P_miss): where the hull crosses P_miss = P_fa.
/// The points must include one with P_fa = 0 and one with P_miss = 0 (the "reject all" and "accept
/// all" operating points). Andrew's monotone chain, O(m log m).
inline double lower_hull_eer(std::vector<std::pair<double, double>> pts) {
  std::sort(pts.begin(), pts.end());
  std::vector<std::pair<double, double>> h;
  h.reserve(pts.size());
  for (const auto& p : pts) {
    while (h.size() >= 2) {
      const auto& a = h[h.size() - 2];
      const auto& b = h.back();
      const double cross = (b.first - a.first) * (p.second - a.second) - (b.second - a.second) * (p.first - a.first);
      if (cross <= 0.0) h.pop_back();
      else break;
    }
    h.push_back(p);
  }
  for (std::size_t i = 0; i < h.size(); ++i) {
    const double d = h[i].first - h[i].second;  // P_fa - P_miss, increasing along the hull
    if (d >= 0.0) {
      if (d == 0.0 || i == 0) return h[i].second;
      const double d_prev = h[i - 1].first - h[i - 1].second;  // < 0
      const double w = -d_prev / (d - d_prev);
      return h[i - 1].second + w * (h[i].second - h[i - 1].second);
    }
  }
  return h.back().second;
}

/// Minimum normalised DCF over the operating points, with the lower bound
///   min_k [a P_miss(k) + b P_fa(k+1)] / normaliser
/// that holds for any threshold inside the groups (used for histogram bins; for exact tie groups
/// every threshold is an operating point and the bound is not reported).
struct MinDcfScan {
  double value = 0.0, lower = 0.0, threshold = 0.0, p_miss = 0.0, p_fa = 0.0;
};

/// Operating-point consumer for min_dcf_scan; result() after the last point.
class MinDcfSweep {
 public:
  MinDcfSweep(Index nt, Index nn, const DcfParams& p)
      : a_(p.p_target * p.c_miss), b_((1.0 - p.p_target) * p.c_fa), norm_(p.normaliser()), nn_(nn),
        dnt_(static_cast<double>(nt)), dnn_(static_cast<double>(nn)) {}
  bool operator()(Index ct, Index cn, double theta) {
    const double pm = static_cast<double>(ct) / dnt_, pf = static_cast<double>(nn_ - cn) / dnn_;
    const double cost = a_ * pm + b_ * pf;
    if (cost < best_) {
      best_ = cost;
      s_.threshold = theta;
      s_.p_miss = pm;
      s_.p_fa = pf;
    }
    if (!first_) low_ = std::min(low_, a_ * pm_prev_ + b_ * pf);
    first_ = false;
    pm_prev_ = pm;
    return true;
  }
  MinDcfScan result() const {
    MinDcfScan s = s_;
    s.value = best_ / norm_;
    s.lower = std::min(low_, best_) / norm_;
    return s;
  }

 private:
  double a_, b_, norm_;
  Index nn_;
  double dnt_, dnn_;
  MinDcfScan s_;
  double best_ = std::numeric_limits<double>::infinity(), low_ = std::numeric_limits<double>::infinity();
  double pm_prev_ = 0.0;
  bool first_ = true;
};

template <class Groups>
MinDcfScan min_dcf_scan(const Groups& groups, Index nt, Index nn, const DcfParams& p) {
  MinDcfSweep sweep(nt, nn, p);
  for_each_operating_point(groups, [&](Index ct, Index cn, double theta) { return sweep(ct, cn, theta); });
  return sweep.result();
}

/// Operating-point consumer for the actual DCF: the first operating point whose threshold is at or
/// above the Bayes threshold eta splits the trials into LLR < eta (rejected: `misses` targets) and
/// LLR >= eta (accepted: `false_alarms` non-targets).
class ActDcfSweep {
 public:
  ActDcfSweep(Index nn, double eta) : nn_(nn), eta_(eta) {}
  bool operator()(Index ct, Index cn, double theta) {
    if (found) return false;
    if (!(theta >= eta_)) return true;
    misses = ct;
    false_alarms = nn_ - cn;
    found = true;
    return false;
  }
  Index misses = 0, false_alarms = 0;
  bool found = false;

 private:
  Index nn_;
  double eta_;
};

/// Group consumer for Kaldi compute-eer's rule (see eer()): with targets t_p and non-targets sorted
/// ascending, n_q < t_p holds exactly when at least q + 1 non-targets score below t_p, i.e. below
/// the group of t_p. So the rule needs only the running counts of one ascending pass, and gives the
/// same p (and threshold t_p) as the loop over the sorted arrays.
class KaldiEerSweep {
 public:
  KaldiEerSweep(Index nt, Index nn) : nt_(static_cast<std::size_t>(nt)), nn_(static_cast<std::size_t>(nn)) {}
  bool operator()(double v, Index t, Index n) {
    if (found) return false;
    for (Index j = 0; j < t; ++j) {
      const std::size_t p = tar_below_ + static_cast<std::size_t>(j);
      if (p + 1 >= nt_) return stop(p, v);
      // Kaldi: ssize_t nontarget_n = nontarget_size * target_position * 1.0 / target_size;
      const auto n_below = static_cast<std::int64_t>(static_cast<double>(nn_ * p) * 1.0 / static_cast<double>(nt_));
      std::int64_t q = static_cast<std::int64_t>(nn_) - 1 - n_below;
      if (q < 0) q = 0;
      if (non_below_ >= static_cast<std::uint64_t>(q) + 1) return stop(p, v);  // n_q < t_p
    }
    tar_below_ += static_cast<std::size_t>(t);
    non_below_ += static_cast<std::uint64_t>(n);
    return true;
  }
  double eer = 0.0, threshold = 0.0;
  bool found = false;

 private:
  bool stop(std::size_t p, double v) {
    eer = static_cast<double>(p) * 1.0 / static_cast<double>(nt_);
    threshold = v;
    found = true;
    return false;
  }
  std::size_t nt_, nn_, tar_below_ = 0;
  std::uint64_t non_below_ = 0;
};

/// Group consumer for the Cllr sums, adding log(1 + e^-s) per target and log(1 + e^s) per non-target
/// one score at a time in ascending order (the order, hence the rounding, of cllr(SortedScores)).
class CllrSums {
 public:
  bool operator()(double v, Index t, Index n) {
    if (t > 0) {
      const double c = softplus(-v);
      for (Index j = 0; j < t; ++j) targets += c;
    }
    if (n > 0) {
      const double c = softplus(v);
      for (Index j = 0; j < n; ++j) nontargets += c;
    }
    return true;
  }
  double targets = 0.0, nontargets = 0.0;
};

inline double cllr_from_sums(double st, double sn, Index nt, Index nn) {
  return (st / static_cast<double>(nt) + sn / static_cast<double>(nn)) / (2.0 * std::log(2.0));
}

/// Cllr of the PAV-optimal LLRs of the blocks (BOSARIS `opt_loglr` then `cllr`): block LLR
/// log(t / n) - log(N_tar / N_non).
inline double pav_cllr(const GroupList& blocks, Index nt, Index nn) {
  const double log_prior_odds = std::log(static_cast<double>(nt)) - std::log(static_cast<double>(nn));
  double st = 0.0, sn = 0.0;
  for (const ScoreGroup& g : blocks.groups) {
    if (g.t == 0 || g.n == 0) continue;  // pure block: LLR +-inf, zero cost
    const double llr = std::log(static_cast<double>(g.t)) - std::log(static_cast<double>(g.n)) - log_prior_odds;
    st += static_cast<double>(g.t) * softplus(-llr);
    sn += static_cast<double>(g.n) * softplus(llr);
  }
  return (st / static_cast<double>(nt) + sn / static_cast<double>(nn)) / (2.0 * std::log(2.0));
}

inline EerResult make_eer(double eer, double threshold, EerConvention c, Index nt, Index nn) {
  EerResult r;
  r.eer = r.lower = r.upper = eer;
  r.threshold = threshold;
  r.convention = c;
  r.num_targets = nt;
  r.num_nontargets = nn;
  return r;
}

inline DcfResult make_min_dcf(const MinDcfScan& m, const DcfParams& params, Index nt, Index nn) {
  DcfResult r;
  r.kind = DcfKind::Min;
  r.params = params;
  r.value = r.lower = r.upper = m.value;
  r.threshold = m.threshold;
  r.p_miss = m.p_miss;
  r.p_fa = m.p_fa;
  r.num_targets = nt;
  r.num_nontargets = nn;
  return r;
}

inline DcfResult make_act_dcf(std::size_t misses, std::size_t false_alarms, const DcfParams& params, Index nt, Index nn) {
  DcfResult r;
  r.kind = DcfKind::Act;
  r.params = params;
  r.threshold = params.bayes_threshold();
  r.num_targets = nt;
  r.num_nontargets = nn;
  r.p_miss = static_cast<double>(misses) / static_cast<double>(nt);
  r.p_fa = static_cast<double>(false_alarms) / static_cast<double>(nn);
  r.value = r.lower = r.upper =
      (params.p_target * params.c_miss * r.p_miss + (1.0 - params.p_target) * params.c_fa * r.p_fa) / params.normaliser();
  return r;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Exact metrics (sort-based)

/// Equal error rate under a named convention. O(n) after the sort of `SortedScores`.
///
/// - Rocch (BOSARIS): PAV over the scores sorted ascending (ties pooled) gives the vertices of the ROC
///   convex hull, (P_fa, P_miss) after each PAV bin; the EER is the hull's crossing with
///   P_miss = P_fa, the largest of the per-segment candidates BOSARIS's rocch2eer computes.
/// - Kaldi (compute-eer.cc): with targets t_0 <= ... and non-targets n_0 <= ... sorted ascending,
///   for p = 0, 1, ..., N_tar - 2: q = N_non - 1 - floor(N_non * p / N_tar) (clamped at 0); stop at
///   the first p with n_q < t_p; p = N_tar - 1 if none. EER = p / N_tar, threshold = t_p.
///   (compute-eer reads scores as float: pass float scores to reproduce it bit for bit.)
/// - Interpolated: the first operating point k with P_miss(k) >= P_fa(k); if equal, EER = P_miss(k),
///   otherwise the segment from operating point k-1 to k, straight in (P_fa, P_miss), is intersected
///   with the diagonal.
inline EerResult eer(const SortedScores& s, EerConvention convention) {
  const Index nt = s.num_targets(), nn = s.num_nontargets();
  switch (convention) {
    case EerConvention::Rocch: {
      const detail::Crossing c = detail::eer_crossing(detail::pav_blocks(s), nt, nn);
      return detail::make_eer(c.eer, c.threshold, convention, nt, nn);
    }
    case EerConvention::Kaldi: {
      const auto& t = s.targets();
      const auto& n = s.nontargets();
      const std::size_t t_size = t.size();
      std::size_t p = 0;
      for (; p + 1 < t_size; ++p) {
        // Kaldi: ssize_t nontarget_n = nontarget_size * target_position * 1.0 / target_size;
        const auto n_below = static_cast<std::int64_t>(static_cast<double>(n.size() * p) * 1.0 / static_cast<double>(t_size));
        std::int64_t q = static_cast<std::int64_t>(n.size()) - 1 - n_below;
        if (q < 0) q = 0;
        if (n[static_cast<std::size_t>(q)] < t[p]) break;
      }
      return detail::make_eer(static_cast<double>(p) * 1.0 / static_cast<double>(t_size), t[p], convention, nt, nn);
    }
    case EerConvention::Interpolated: {
      const detail::Crossing c = detail::eer_crossing(s, nt, nn);
      return detail::make_eer(c.eer, c.threshold, convention, nt, nn);
    }
  }
  throw InvalidArgument("eer: unknown convention");
}

/// EER from unsorted target and non-target scores (sorts a copy).
/// @throws InvalidArgument (empty list), NonFiniteInput (NaN, naming its index)
inline EerResult eer(ScoreView targets, ScoreView nontargets, EerConvention convention) {
  return eer(SortedScores("eer", targets, nontargets), convention);
}

/// Normalised minimum DCF: min over the operating points (including accept-all and reject-all) of
/// (P_target C_miss P_miss + (1 - P_target) C_fa P_fa) / min(P_target C_miss, (1 - P_target) C_fa).
/// The first (lowest-threshold) minimum is reported. At most 1 by construction.
/// @throws InvalidArgument (P_target outside (0, 1), a cost not positive)
inline DcfResult min_dcf(const SortedScores& s, const DcfParams& params) {
  detail::check_dcf_params("min_dcf", params);
  const detail::MinDcfScan m = detail::min_dcf_scan(s, s.num_targets(), s.num_nontargets(), params);
  return detail::make_min_dcf(m, params, s.num_targets(), s.num_nontargets());
}

/// minDCF from unsorted scores (sorts a copy).
inline DcfResult min_dcf(ScoreView targets, ScoreView nontargets, const DcfParams& params) {
  detail::check_dcf_params("min_dcf", params);
  return min_dcf(SortedScores("min_dcf", targets, nontargets), params);
}

/// Normalised actual DCF of calibrated scores (log-likelihood ratios): trials with
/// LLR >= -log(P_target C_miss / ((1 - P_target) C_fa)) are accepted. O(n), no sort.
/// @throws InvalidArgument (empty list, bad parameters), NonFiniteInput (NaN, naming its index)
inline DcfResult act_dcf(ScoreView target_llrs, ScoreView nontarget_llrs, const DcfParams& params) {
  constexpr const char* fn = "act_dcf";
  detail::check_dcf_params(fn, params);
  detail::check_not_empty(fn, target_llrs.size(), nontarget_llrs.size());
  detail::check_no_nan(fn, target_llrs, "target score");
  detail::check_no_nan(fn, nontarget_llrs, "non-target score");
  const double eta = params.bayes_threshold();
  std::size_t misses = 0, fas = 0;
  target_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) misses += static_cast<double>(p[i]) < eta;
  });
  nontarget_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) fas += static_cast<double>(p[i]) >= eta;
  });
  DcfResult r;
  r.kind = DcfKind::Act;
  r.params = params;
  r.threshold = eta;
  r.num_targets = static_cast<Index>(target_llrs.size());
  r.num_nontargets = static_cast<Index>(nontarget_llrs.size());
  r.p_miss = static_cast<double>(misses) / static_cast<double>(target_llrs.size());
  r.p_fa = static_cast<double>(fas) / static_cast<double>(nontarget_llrs.size());
  r.value = r.lower = r.upper =
      (params.p_target * params.c_miss * r.p_miss + (1.0 - params.p_target) * params.c_fa * r.p_fa) / params.normaliser();
  return r;
}

/// actDCF from sorted scores (binary search, O(log n)).
inline DcfResult act_dcf(const SortedScores& s, const DcfParams& params) {
  detail::check_dcf_params("act_dcf", params);
  const double eta = params.bayes_threshold();
  const auto& t = s.targets();
  const auto& n = s.nontargets();
  const auto misses = std::lower_bound(t.begin(), t.end(), eta) - t.begin();
  const auto fas = n.end() - std::lower_bound(n.begin(), n.end(), eta);
  return detail::make_act_dcf(static_cast<std::size_t>(misses), static_cast<std::size_t>(fas), params, s.num_targets(),
                              s.num_nontargets());
}

/// Cllr of calibrated scores (natural-log LLRs), in bits (Brümmer and du Preez 2006, BOSARIS `cllr`):
///   Cllr = 1 / (2 log 2) [ mean_tar log(1 + e^-s) + mean_non log(1 + e^s) ].
/// 1 for a system that always outputs LLR 0; +inf if a target has LLR -inf (or a non-target +inf).
/// O(n), no sort. @throws InvalidArgument (empty list), NonFiniteInput (NaN, naming its index)
inline double cllr(ScoreView target_llrs, ScoreView nontarget_llrs) {
  constexpr const char* fn = "cllr";
  detail::check_not_empty(fn, target_llrs.size(), nontarget_llrs.size());
  detail::check_no_nan(fn, target_llrs, "target score");
  detail::check_no_nan(fn, nontarget_llrs, "non-target score");
  double st = 0.0, sn = 0.0;
  target_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) st += detail::softplus(-static_cast<double>(p[i]));
  });
  nontarget_llrs.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) sn += detail::softplus(static_cast<double>(p[i]));
  });
  return (st / static_cast<double>(target_llrs.size()) + sn / static_cast<double>(nontarget_llrs.size())) /
         (2.0 * std::log(2.0));
}

/// Cllr from sorted scores.
inline double cllr(const SortedScores& s) { return cllr(ScoreView(s.targets()), ScoreView(s.nontargets())); }

/// minCllr: the Cllr of the best monotone (non-decreasing) score-to-LLR map, found by PAV as
/// BOSARIS `min_cllr` (opt_loglr 'raw', then cllr). Tied scores get one LLR. Always <= Cllr and <= 1.
inline double min_cllr(const SortedScores& s) {
  return detail::pav_cllr(detail::pav_blocks(s), s.num_targets(), s.num_nontargets());
}

/// minCllr from unsorted scores (sorts a copy).
inline double min_cllr(ScoreView targets, ScoreView nontargets) {
  return min_cllr(SortedScores("min_cllr", targets, nontargets));
}

}  // namespace ivkit
