/// @file
/// Metrics over score streams of any length in bounded memory: `ScoreRange` (the first pass) and
/// `ScoreHistogram`, whose EER, minDCF and Cllr come with a guaranteed interval. The exact figures
/// in bounded memory come from external sorting instead (eval/external_sort.hpp).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ivkit/eval/error_rates.hpp"
#include "ivkit/eval/pav.hpp"
#include "ivkit/eval/sorted_scores.hpp"

namespace ivkit {

// ---------------------------------------------------------------------------------------------
// Streaming: bounded memory, bounded error

/// Smallest and largest finite score of a stream: the first pass before a ScoreHistogram.
class ScoreRange {
 public:
  /// @throws NonFiniteInput (NaN, naming its index in the stream so far)
  void add(ScoreView scores) {
    detail::check_no_nan("ScoreRange::add", scores, "score", static_cast<std::size_t>(count_));
    scores.visit([&](const auto* p, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(p[i]);
        if (std::isfinite(x)) {
          min_ = std::min(min_, x);
          max_ = std::max(max_, x);
        }
      }
    });
    count_ += static_cast<Index>(scores.size());
  }
  double min() const { return min_; }  ///< +inf before any finite score
  double max() const { return max_; }  ///< -inf before any finite score
  Index count() const { return count_; }

 private:
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  Index count_ = 0;
};

/// Streaming accumulator: target and non-target counts in `num_bins` equal bins over [lo, hi), plus an
/// underflow bin (-inf, lo) and an overflow bin [hi, +inf). Memory 16 (num_bins + 2) bytes whatever
/// the number of scores; add() is O(1) per score; chunks may be added in any order and histograms
/// of the same shape merged.
///
/// Exactness. The bin edges are operating points of the exact ROC (all scores of a bin lie between
/// its edges), so P_miss and P_fa at every edge are exact. Between edges the exact figures are
/// bounded, and every approximate result carries the interval [lower, upper] that provably holds the
/// exact figure of the same definition:
///  - minDCF: value = min over edges (an upper bound, attained at an edge threshold);
///    lower = min over bins j of [a P_miss(j) + b P_fa(j+1)] / normaliser. The width is at most
///    max over bins of min(a t_j / N_tar, b n_j / N_non) / normaliser.
///  - EER, Interpolated: value = interpolation between the edges around the crossing (exact when that
///    bin holds one distinct score); [lower, upper] = [max(P_miss(j), P_fa(j+1)), min(P_miss(j+1),
///    P_fa(j))] for the crossing bin j, so the width is at most the larger of the bin's target and
///    non-target proportions.
///  - EER, Rocch: value = upper = the convex hull EER of the edge points (fewer points: a higher hull);
///    lower = the hull EER of the edge points plus each bin's lower-left corner (P_fa(j+1), P_miss(j)).
///  - actDCF: exact when the Bayes threshold falls in an empty bin, else bounded by the edges of
///    its bin (and interpolated inside it).
///  - Cllr: exact (sums of log(1 + e^-+s) in double, when enabled); minCllr: only an upper bound
///    (PAV over bins instead of scores).
///  - Kaldi's EER needs every score: not available.
/// Scores below lo or at or above hi are counted exactly but fall in one wide bin each, which widens
/// the bounds: choose [lo, hi] to cover the scores (ScoreRange), and more bins for tighter bounds.
class ScoreHistogram {
 public:
  static constexpr Index kDefaultBins = Index{1} << 16;

  /// @param track_cllr accumulate the exact Cllr sums (one exp and log1p per score: several times the
  ///        cost of binning)
  /// @throws InvalidArgument (lo, hi not finite or lo >= hi, num_bins < 1 or > 2^28)
  ScoreHistogram(double lo, double hi, Index num_bins = kDefaultBins, bool track_cllr = false)
      : lo_(lo), hi_(hi), bins_(num_bins), track_cllr_(track_cllr) {
    constexpr const char* fn = "ScoreHistogram";
    if (!std::isfinite(lo) || !std::isfinite(hi))
      throw InvalidArgument(detail::message(fn, ": the range must be finite, got [", detail::fmt(lo), ", ", detail::fmt(hi), ")"));
    if (!(lo < hi))
      throw InvalidArgument(detail::message(fn, ": lo (", detail::fmt(lo), ") must be below hi (", detail::fmt(hi), ")"));
    if (num_bins < 1 || num_bins > (Index{1} << 28))
      throw InvalidArgument(detail::message(fn, ": num_bins must lie in [1, 2^28], got ", num_bins));
    width_ = (hi - lo) / static_cast<double>(num_bins);
    inv_width_ = static_cast<double>(num_bins) / (hi - lo);
    if (!(width_ > 0.0) || !std::isfinite(inv_width_))
      throw InvalidArgument(detail::message(fn, ": the range [", detail::fmt(lo), ", ", detail::fmt(hi), ") is too narrow for ",
                                            num_bins, " bins"));
    tar_.assign(static_cast<std::size_t>(num_bins + 2), 0);
    non_.assign(static_cast<std::size_t>(num_bins + 2), 0);
  }

  /// A histogram over a ScoreRange's [min, max] (max lands in the overflow bin, alone with its ties);
  /// a degenerate range is widened by 0.5 on each side.
  /// @throws InvalidArgument when the range saw no finite score
  static ScoreHistogram from_range(const ScoreRange& range, Index num_bins = kDefaultBins, bool track_cllr = false) {
    if (!(range.min() <= range.max()))
      throw InvalidArgument("ScoreHistogram::from_range: the range holds no finite score");
    double lo = range.min(), hi = range.max();
    if (!(lo < hi)) {
      lo -= 0.5;
      hi += 0.5;
    }
    return ScoreHistogram(lo, hi, num_bins, track_cllr);
  }

  /// Adds a chunk of target scores. The chunk is checked first: on error nothing is added.
  /// @throws NonFiniteInput (NaN, naming its index among all target scores added so far)
  void add_targets(ScoreView chunk) { add_chunk(chunk, tar_, num_tar_, cllr_tar_, true, "ScoreHistogram::add_targets", "target score"); }
  /// Adds a chunk of non-target scores. @throws NonFiniteInput
  void add_nontargets(ScoreView chunk) {
    add_chunk(chunk, non_, num_non_, cllr_non_, false, "ScoreHistogram::add_nontargets", "non-target score");
  }
  /// Adds a chunk of labelled scores (true = target).
  /// @throws DimensionMismatch (sizes differ), NonFiniteInput (index in the chunk)
  void add(ScoreView chunk, const TrialLabels& labels) {
    constexpr const char* fn = "ScoreHistogram::add";
    if (chunk.size() != labels.size())
      throw DimensionMismatch(detail::message(fn, ": ", chunk.size(), " scores but ", labels.size(), " labels"));
    detail::check_no_nan(fn, chunk, "score");
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const double x = chunk[i];
      if (labels[i]) {
        ++tar_[static_cast<std::size_t>(bin_of(x))];
        ++num_tar_;
        if (track_cllr_) cllr_tar_ += detail::softplus(-x);
      } else {
        ++non_[static_cast<std::size_t>(bin_of(x))];
        ++num_non_;
        if (track_cllr_) cllr_non_ += detail::softplus(x);
      }
    }
  }

  /// Adds another histogram's counts. @throws DimensionMismatch (different range, bins or Cllr tracking)
  void merge(const ScoreHistogram& other) {
    if (other.lo_ != lo_ || other.hi_ != hi_ || other.bins_ != bins_ || other.track_cllr_ != track_cllr_)
      throw DimensionMismatch(detail::message("ScoreHistogram::merge: histograms differ: [", detail::fmt(lo_), ", ",
                                              detail::fmt(hi_), ") in ", bins_, " bins vs [", detail::fmt(other.lo_), ", ",
                                              detail::fmt(other.hi_), ") in ", other.bins_, " bins"));
    for (std::size_t k = 0; k < tar_.size(); ++k) {
      tar_[k] += other.tar_[k];
      non_[k] += other.non_[k];
    }
    num_tar_ += other.num_tar_;
    num_non_ += other.num_non_;
    cllr_tar_ += other.cllr_tar_;
    cllr_non_ += other.cllr_non_;
  }

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  Index num_bins() const { return bins_; }
  Index num_targets() const { return num_tar_; }
  Index num_nontargets() const { return num_non_; }
  /// Bin k of [0, num_bins + 2): 0 is (-inf, lo), 1..num_bins the equal bins, num_bins + 1 is [hi, inf).
  Index bin_of(double x) const {
    if (!(x >= lo_)) return 0;
    if (x >= hi_) return bins_ + 1;
    const auto j = static_cast<Index>((x - lo_) * inv_width_);
    return 1 + std::min(j, bins_ - 1);
  }
  /// Lower edge of bin k: -inf, lo, lo + width, ..., hi.
  double bin_low(Index k) const {
    if (k == 0) return -std::numeric_limits<double>::infinity();
    if (k == bins_ + 1) return hi_;
    return lo_ + static_cast<double>(k - 1) * width_;
  }
  /// Target / non-target counts per bin (num_bins + 2 entries, see bin_of).
  const std::vector<std::uint64_t>& target_counts() const { return tar_; }
  const std::vector<std::uint64_t>& nontarget_counts() const { return non_; }

  /// Calls `f(bin_low, targets, non-targets)` for every non-empty bin, ascending; stops when f returns false.
  template <class F>
  void for_each_group(F&& f) const {
    for (std::size_t k = 0; k < tar_.size(); ++k)
      if (tar_[k] || non_[k])
        if (!f(bin_low(static_cast<Index>(k)), static_cast<Index>(tar_[k]), static_cast<Index>(non_[k]))) return;
  }

  /// Approximate EER with its guaranteed interval (see the class comment).
  /// @throws InvalidArgument (no targets or non-targets yet, or the Kaldi convention)
  EerResult eer(EerConvention convention) const {
    constexpr const char* fn = "ScoreHistogram::eer";
    if (convention == EerConvention::Kaldi)
      throw InvalidArgument(detail::message(fn, ": the kaldi convention needs every score; use rocch or interpolated"));
    detail::check_not_empty(fn, static_cast<std::size_t>(num_tar_), static_cast<std::size_t>(num_non_));
    EerResult r;
    r.convention = convention;
    r.num_targets = num_tar_;
    r.num_nontargets = num_non_;
    r.approximate = true;
    if (convention == EerConvention::Interpolated) {
      const detail::Crossing c = detail::eer_crossing(*this, num_tar_, num_non_);
      r.eer = c.eer;
      r.threshold = c.threshold;
      r.lower = c.lower;
      r.upper = c.upper;
      return r;
    }
    const detail::Crossing c = detail::eer_crossing(detail::pav_blocks(*this), num_tar_, num_non_);
    r.eer = r.upper = c.eer;
    r.threshold = c.threshold;
    // Lower bound: hull of the edge points and the bins' lower-left corners.
    std::vector<std::pair<double, double>> pts;
    const double dnt = static_cast<double>(num_tar_), dnn = static_cast<double>(num_non_);
    double pm_prev = 0.0;
    bool first = true;
    detail::for_each_operating_point(*this, [&](Index ct, Index cn, double) {
      const double pm = static_cast<double>(ct) / dnt, pf = static_cast<double>(num_non_ - cn) / dnn;
      pts.emplace_back(pf, pm);
      if (!first) pts.emplace_back(pf, pm_prev);
      first = false;
      pm_prev = pm;
      return true;
    });
    r.lower = std::min(detail::lower_hull_eer(std::move(pts)), r.upper);
    return r;
  }

  /// Approximate normalised minDCF with its guaranteed interval; `value` (= upper) is attained at
  /// the reported edge threshold. @throws InvalidArgument (no targets or non-targets, bad parameters)
  DcfResult min_dcf(const DcfParams& params) const {
    constexpr const char* fn = "ScoreHistogram::min_dcf";
    detail::check_dcf_params(fn, params);
    detail::check_not_empty(fn, static_cast<std::size_t>(num_tar_), static_cast<std::size_t>(num_non_));
    const detail::MinDcfScan m = detail::min_dcf_scan(*this, num_tar_, num_non_, params);
    DcfResult r;
    r.kind = DcfKind::Min;
    r.params = params;
    r.value = r.upper = m.value;
    r.lower = m.lower;
    r.threshold = m.threshold;
    r.p_miss = m.p_miss;
    r.p_fa = m.p_fa;
    r.num_targets = num_tar_;
    r.num_nontargets = num_non_;
    r.approximate = true;
    return r;
  }

  /// Approximate actDCF (scores taken as LLRs, Bayes threshold): P_miss and P_fa at the Bayes
  /// threshold are interpolated linearly inside its bin and bounded by the bin's edges.
  DcfResult act_dcf(const DcfParams& params) const {
    constexpr const char* fn = "ScoreHistogram::act_dcf";
    detail::check_dcf_params(fn, params);
    detail::check_not_empty(fn, static_cast<std::size_t>(num_tar_), static_cast<std::size_t>(num_non_));
    const double eta = params.bayes_threshold();
    const Index k = bin_of(eta);
    std::uint64_t t_below = 0, n_below = 0;
    for (Index j = 0; j < k; ++j) {
      t_below += tar_[static_cast<std::size_t>(j)];
      n_below += non_[static_cast<std::size_t>(j)];
    }
    const double dnt = static_cast<double>(num_tar_), dnn = static_cast<double>(num_non_);
    const double a = params.p_target * params.c_miss, b = (1.0 - params.p_target) * params.c_fa, norm = params.normaliser();
    const double tk = static_cast<double>(tar_[static_cast<std::size_t>(k)]), nk = static_cast<double>(non_[static_cast<std::size_t>(k)]);
    // Edge k: everything from bin k up accepted; edge k + 1: bin k rejected.
    const double pm0 = static_cast<double>(t_below) / dnt, pm1 = (static_cast<double>(t_below) + tk) / dnt;
    const double pf0 = (dnn - static_cast<double>(n_below)) / dnn, pf1 = (dnn - static_cast<double>(n_below) - nk) / dnn;
    double w = 0.5;  // fraction of bin k below eta (by position; the midpoint for the unbounded bins)
    if (k >= 1 && k <= bins_) w = std::min(1.0, std::max(0.0, (eta - bin_low(k)) * inv_width_));
    DcfResult r;
    r.kind = DcfKind::Act;
    r.params = params;
    r.threshold = eta;
    r.num_targets = num_tar_;
    r.num_nontargets = num_non_;
    r.approximate = true;
    r.p_miss = pm0 + w * (pm1 - pm0);
    r.p_fa = pf0 + w * (pf1 - pf0);
    r.value = (a * r.p_miss + b * r.p_fa) / norm;
    // With bin k empty the edges around it are exact: a score x < eta has bin_of(x) <= k and one
    // with x >= eta has bin_of(x) >= k (bin_of is monotone), so only bin k could straddle eta.
    if (tk == 0.0 && nk == 0.0) {
      r.p_miss = pm0;
      r.p_fa = pf0;
      r.value = r.lower = r.upper = (a * pm0 + b * pf0) / norm;
    } else {
      r.lower = (a * pm0 + b * pf1) / norm;
      r.upper = (a * pm1 + b * pf0) / norm;
    }
    return r;
  }

  /// Exact Cllr (up to rounding of the double sums). @throws InvalidArgument when not tracked or empty
  double cllr() const {
    constexpr const char* fn = "ScoreHistogram::cllr";
    if (!track_cllr_) throw InvalidArgument(detail::message(fn, ": Cllr was not tracked (construct with track_cllr = true)"));
    detail::check_not_empty(fn, static_cast<std::size_t>(num_tar_), static_cast<std::size_t>(num_non_));
    return (cllr_tar_ / static_cast<double>(num_tar_) + cllr_non_ / static_cast<double>(num_non_)) / (2.0 * std::log(2.0));
  }

  /// An upper bound of the exact minCllr: PAV over the bins (each bin one tie group).
  double min_cllr_upper_bound() const {
    detail::check_not_empty("ScoreHistogram::min_cllr_upper_bound", static_cast<std::size_t>(num_tar_),
                            static_cast<std::size_t>(num_non_));
    return detail::pav_cllr(detail::pav_blocks(*this), num_tar_, num_non_);
  }

 private:
  void add_chunk(ScoreView chunk, std::vector<std::uint64_t>& counts, Index& total, double& cllr_sum, bool target, const char* fn,
           const char* what) {
    detail::check_no_nan(fn, chunk, what, static_cast<std::size_t>(total));
    std::uint64_t* c = counts.data();
    double sum = 0.0;
    chunk.visit([&](const auto* p, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) ++c[bin_of(static_cast<double>(p[i]))];
      if (track_cllr_)
        for (std::size_t i = 0; i < n; ++i) sum += detail::softplus(target ? -static_cast<double>(p[i]) : static_cast<double>(p[i]));
    });
    cllr_sum += sum;
    total += static_cast<Index>(chunk.size());
  }

  double lo_, hi_;
  Index bins_;
  bool track_cllr_;
  double width_ = 0.0, inv_width_ = 0.0;
  std::vector<std::uint64_t> tar_, non_;
  Index num_tar_ = 0, num_non_ = 0;
  double cllr_tar_ = 0.0, cllr_non_ = 0.0;
};

}  // namespace ivkit
