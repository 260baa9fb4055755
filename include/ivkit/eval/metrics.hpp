/// @file
/// Detection metrics from target and non-target scores: the equal error rate under named
/// conventions (ROC convex hull as BOSARIS, Kaldi `compute-eer`, linear interpolation), minDCF and
/// actDCF, Cllr and minCllr (PAV), computed exactly by sorting (O(n log n)), and approximately, in
/// bounded memory over score streams of any length, by `ScoreHistogram` with a guaranteed interval.
/// (The exact figures in bounded memory, by external sorting: eval/external_sort.hpp.)
///
/// Operating points. The scores (targets and non-targets together) fall into groups of equal value
/// v_1 < v_2 < ... < v_G. Operating point k (k = 0..G) rejects the first k groups and accepts the
/// others: a trial is accepted (declared a target) when its score is >= theta_k = v_{k+1}
/// (theta_G = +inf: reject everything). Tied scores therefore always move together.
///   P_miss(k) = #{targets with score < theta_k} / N_tar,  P_fa(k) = #{non-targets >= theta_k} / N_non.
/// See docs/evaluation.md for the formulas and their sources.
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

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

// ---------------------------------------------------------------------------------------------
// Score arrays

/// Non-owning view of a contiguous array of scores, float or double: a std::vector, a pointer and a
/// size, or a vector-shaped Eigen object with unit inner stride (VectorXd, ArrayXf, a column of a
/// column-major matrix, a Map). The viewed storage must outlive the view; functions taking a view
/// never keep it.
class ScoreView {
 public:
  ScoreView(const double* data, std::size_t size) : d_(data), size_(size) {}
  ScoreView(const float* data, std::size_t size) : f_(data), size_(size) {}
  ScoreView(const std::vector<double>& v) : ScoreView(v.data(), v.size()) {}  // NOLINT: implicit by design
  ScoreView(const std::vector<float>& v) : ScoreView(v.data(), v.size()) {}   // NOLINT
  /// @throws DimensionMismatch for a matrix that is not a vector, InvalidArgument for a strided one
  template <class Derived>
  ScoreView(const Eigen::DenseBase<Derived>& v) {  // NOLINT
    using S = typename Derived::Scalar;
    static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "ScoreView: scores must be float or double");
    static_assert(bool(Derived::Flags & Eigen::DirectAccessBit),
                  "ScoreView: evaluate the Eigen expression into a vector first");
    if (v.rows() != 1 && v.cols() != 1)
      throw DimensionMismatch(detail::message("ScoreView: expected a vector of scores, got a ", v.rows(), " x ",
                                              v.cols(), " matrix"));
    if (v.size() > 1 && v.derived().innerStride() != 1)
      throw InvalidArgument(detail::message("ScoreView: the scores must be contiguous, got inner stride ",
                                            v.derived().innerStride()));
    if constexpr (std::is_same_v<S, double>) d_ = v.derived().data();
    else f_ = v.derived().data();
    size_ = static_cast<std::size_t>(v.size());
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool is_float() const { return f_ != nullptr; }
  double operator[](std::size_t i) const { return d_ ? d_[i] : static_cast<double>(f_[i]); }
  /// Calls `f(ptr, size)` with the typed pointer (const double* or const float*), for tight loops.
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (f_) return f(f_, size_);
    return f(d_, size_);
  }

 private:
  const double* d_ = nullptr;
  const float* f_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {

/// Throws NonFiniteInput naming `what` and the index of the first NaN (infinities are allowed: an
/// LLR may be +-inf).
inline void check_no_nan(const char* fn, ScoreView v, const char* what, std::size_t index_offset = 0) {
  v.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (std::isnan(p[i])) throw NonFiniteInput(message(fn, ": ", what, " ", i + index_offset, " is NaN"));
  });
}

inline void check_not_empty(const char* fn, std::size_t num_targets, std::size_t num_nontargets) {
  if (num_targets == 0) throw InvalidArgument(message(fn, ": no target scores"));
  if (num_nontargets == 0) throw InvalidArgument(message(fn, ": no non-target scores"));
}

inline std::vector<double> to_double_vector(ScoreView v) {
  std::vector<double> out(v.size());
  v.visit([&](const auto* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

constexpr std::uint64_t kKeySign = 0x8000000000000000ull;

/// Order-preserving map of a double (not NaN) to an unsigned 64-bit key, and back.
inline std::uint64_t sort_key(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u & kKeySign) ? ~u : (u | kKeySign);
}
inline double from_sort_key(std::uint64_t k) {
  const std::uint64_t u = (k & kKeySign) ? (k & ~kKeySign) : ~k;
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

/// LSD radix sort of keys [a, a + n) on their low `bits` bits (the others are equal), 12-bit digits,
/// using tmp[0, n) as scratch and `counts` (4 x 4096) as counters; digits every key shares are
/// skipped. Runs in cache for the bucket sizes sorted_scores gives it.
inline void lsd_radix_low_bits(std::uint64_t* a, std::uint64_t* tmp, std::size_t n, int bits, std::vector<std::uint32_t>& counts) {
  constexpr int kDigit = 12;
  constexpr std::size_t kRadix = std::size_t{1} << kDigit;
  const int passes = (bits + kDigit - 1) / kDigit;
  counts.assign(kRadix * static_cast<std::size_t>(passes), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = a[i];
    for (int d = 0; d < passes; ++d) ++counts[static_cast<std::size_t>(d) * kRadix + ((k >> (d * kDigit)) & (kRadix - 1))];
  }
  std::uint64_t* src = a;
  std::uint64_t* dst = tmp;
  for (int d = 0; d < passes; ++d) {
    std::uint32_t* c = counts.data() + static_cast<std::size_t>(d) * kRadix;
    if (c[(src[0] >> (d * kDigit)) & (kRadix - 1)] == n) continue;
    std::uint32_t sum = 0;
    for (std::size_t r = 0; r < kRadix; ++r) {
      const std::uint32_t c_r = c[r];
      c[r] = sum;
      sum += c_r;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = src[i];
      dst[c[(k >> (d * kDigit)) & (kRadix - 1)]++] = k;
    }
    std::swap(src, dst);
  }
  if (src != a) std::memcpy(a, src, n * sizeof(std::uint64_t));
}

/// The scores of a view (no NaN) as doubles sorted ascending, O(n): order-preserving 64-bit keys
/// (built straight from the view) are distributed by their top 16 bits (sign, exponent, 4 mantissa
/// bits) in one pass over memory, then each bucket is sorted in cache by LSD radix on its low 48
/// bits (std::sort for small buckets). std::sort for short arrays. -0.0 sorts before +0.0, which
/// compare equal anyway.
inline std::vector<double> sorted_scores(ScoreView view) {
  const std::size_t n = view.size();
  if (n < 4096) {
    std::vector<double> v = to_double_vector(view);
    std::sort(v.begin(), v.end());
    return v;
  }
  static_assert(sizeof(double) == sizeof(std::uint64_t), "ivkit: double must be 64 bits");
  constexpr int kTopBits = 16;
  constexpr std::size_t kBuckets = std::size_t{1} << kTopBits;
  std::vector<std::uint64_t> a(n), b(n);
  std::vector<std::size_t> start(kBuckets + 1, 0);
  view.visit([&](const auto* p, std::size_t) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = sort_key(static_cast<double>(p[i]));
      a[i] = k;
      ++start[(k >> (64 - kTopBits)) + 1];
    }
  });
  for (std::size_t r = 0; r < kBuckets; ++r) start[r + 1] += start[r];
  {
    std::vector<std::size_t> pos(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = a[i];
      b[pos[k >> (64 - kTopBits)]++] = k;
    }
  }
  std::vector<std::uint32_t> counts;
  for (std::size_t r = 0; r < kBuckets; ++r) {
    const std::size_t lo = start[r], m = start[r + 1] - lo;
    if (m < 2) continue;
    if (m < 512 || m > 0xffffffffu) std::sort(b.data() + lo, b.data() + lo + m);
    else lsd_radix_low_bits(b.data() + lo, a.data() + lo, m, 64 - kTopBits, counts);
  }
  a.clear();
  a.shrink_to_fit();
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from_sort_key(b[i]);
  return v;
}

/// Formats a number with the classic locale (whatever the global locale says).
inline std::string fmt(double x, int precision = 6) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.precision(precision);
  out << x;
  return out.str();
}

inline double softplus(double x) {  // log(1 + e^x), stable, softplus(-inf) = 0, softplus(inf) = inf
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

}  // namespace detail

/// Labels a combined score array: true = target trial. Sizes must match the scores.
using TrialLabels = std::vector<bool>;

/// Target and non-target scores, each copied into double and sorted ascending once, so that any
/// number of exact metrics (EER, minDCF, minCllr, DET) can be computed from one sort.
/// Memory: 8 bytes per score (24 per score transiently while sorting).
class SortedScores {
 public:
  /// @throws InvalidArgument (empty list), NonFiniteInput (a NaN, naming its index in its list)
  SortedScores(ScoreView targets, ScoreView nontargets) : SortedScores("SortedScores", targets, nontargets) {}
  /// Scores with labels (true = target).
  /// @throws DimensionMismatch (sizes differ), InvalidArgument, NonFiniteInput (index in `scores`)
  SortedScores(ScoreView scores, const TrialLabels& labels) : SortedScores("SortedScores", scores, labels) {}

  /// Same, naming `fn` in error messages (used by the convenience overloads of the metrics).
  SortedScores(const char* fn, ScoreView targets, ScoreView nontargets) {
    detail::check_not_empty(fn, targets.size(), nontargets.size());
    detail::check_no_nan(fn, targets, "target score");
    detail::check_no_nan(fn, nontargets, "non-target score");
    tar_ = detail::sorted_scores(targets);
    non_ = detail::sorted_scores(nontargets);
  }
  SortedScores(const char* fn, ScoreView scores, const TrialLabels& labels) {
    if (scores.size() != labels.size())
      throw DimensionMismatch(detail::message(fn, ": ", scores.size(), " scores but ", labels.size(), " labels"));
    detail::check_no_nan(fn, scores, "score");
    const std::size_t nt = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), true));
    detail::check_not_empty(fn, nt, labels.size() - nt);
    tar_.reserve(nt);
    non_.reserve(labels.size() - nt);
    for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? tar_ : non_).push_back(scores[i]);
    tar_ = detail::sorted_scores(tar_);
    non_ = detail::sorted_scores(non_);
  }

  /// Target scores, ascending.
  const std::vector<double>& targets() const { return tar_; }
  /// Non-target scores, ascending.
  const std::vector<double>& nontargets() const { return non_; }
  Index num_targets() const { return static_cast<Index>(tar_.size()); }
  Index num_nontargets() const { return static_cast<Index>(non_.size()); }

  /// Calls `f(value, num_targets, num_nontargets)` for each group of equal scores, ascending; stops
  /// when `f` returns false.
  template <class F>
  void for_each_group(F&& f) const {
    const double* t = tar_.data();
    const double* n = non_.data();
    const std::size_t nt = tar_.size(), nn = non_.size();
    std::size_t i = 0, j = 0;
    while (i < nt || j < nn) {
      const double v = (j >= nn || (i < nt && t[i] <= n[j])) ? t[i] : n[j];
      const std::size_t i0 = i, j0 = j;
      while (i < nt && t[i] == v) ++i;
      while (j < nn && n[j] == v) ++j;
      if (!f(v, static_cast<Index>(i - i0), static_cast<Index>(j - j0))) return;
    }
  }

 private:
  std::vector<double> tar_, non_;
};

/// Splits a labelled score array into target and non-target scores (original order kept).
/// @throws DimensionMismatch when the sizes differ
inline std::pair<std::vector<double>, std::vector<double>> split_scores(ScoreView scores, const TrialLabels& labels) {
  if (scores.size() != labels.size())
    throw DimensionMismatch(detail::message("split_scores: ", scores.size(), " scores but ", labels.size(), " labels"));
  std::pair<std::vector<double>, std::vector<double>> out;
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? out.first : out.second).push_back(scores[i]);
  return out;
}

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

/// A run of scores treated as one: a tie group (exact), a histogram bin, or a PAV block.
struct ScoreGroup {
  double low;  ///< lowest score (threshold that accepts the group and everything above)
  Index t;     ///< targets in it
  Index n;     ///< non-targets in it
};

/// Groups held in a vector (PAV blocks), with the for_each_group interface.
struct GroupList {
  std::vector<ScoreGroup> groups;
  template <class F>
  void for_each_group(F&& f) const {
    for (const ScoreGroup& g : groups)
      if (!f(g.low, g.t, g.n)) return;
  }
};

/// Calls `g(cum_targets, cum_nontargets, theta)` for the operating points k = 0..G of a group source:
/// cum_* count the trials rejected (the first k groups), theta is the lowest score accepted
/// (+inf for k = G). Stops when `g` returns false.
template <class Groups, class G>
void for_each_operating_point(const Groups& groups, G&& g) {
  Index ct = 0, cn = 0;
  bool go = true;
  groups.for_each_group([&](double low, Index t, Index n) {
    go = g(ct, cn, low);
    ct += t;
    cn += n;
    return go;
  });
  if (go) g(ct, cn, std::numeric_limits<double>::infinity());
}

/// Pool-adjacent-violators over groups, in ascending score order: merges neighbouring groups until
/// the target proportions t / (t + n) strictly increase (BOSARIS `pavx` merges on >=, as here).
/// Tied scores are a single group, so a tie is always pooled (BOSARIS: targets sorted before
/// non-targets within ties). The result's blocks are the ROC convex hull's segments.
///
/// The sweeps below are consumers: each takes the groups (or operating points) of one ascending
/// pass pushed to it, so that one pass over a sorted sequence (SortedScores, a ScoreHistogram, the
/// merge of a StreamingScoreSorter's runs) can feed several of them at once. The functions taking
/// a group source (pav_blocks, eer_crossing, min_dcf_scan) drive one consumer each.
///
/// PAV consumer: push groups in ascending order with operator(); `blocks` holds the result. Its
/// stack is a convex chain of lattice points, so it stays small (at most about (N_tar N_non)^(1/3)
/// blocks) whatever the number of groups.
class PavAccumulator {
 public:
  bool operator()(double low, Index t, Index n) {
    auto& b = blocks.groups;
    if (t == 0 && n == 0) return true;
    // Fast path: a pure group joins a top block that is pure of the same kind (equal proportions
    // merge); this is what the loop below would do, without the push and the comparison.
    if (!b.empty() && ((t == 0 && b.back().t == 0) || (n == 0 && b.back().n == 0))) {
      b.back().t += t;
      b.back().n += n;
      return true;
    }
    b.push_back({low, t, n});
    while (b.size() >= 2 && not_increasing(b[b.size() - 2], b.back())) {
      ScoreGroup& prev = b[b.size() - 2];
      prev.t += b.back().t;
      prev.n += b.back().n;
      b.pop_back();
    }
    return true;
  }
  GroupList blocks;

 private:
  // t1 / (t1 + n1) >= t2 / (t2 + n2)  <=>  t1 n2 >= t2 n1, in exact integer arithmetic
  static bool not_increasing(const ScoreGroup& x, const ScoreGroup& y) {
#ifdef __SIZEOF_INT128__
    __extension__ typedef __int128 Wide;
    return static_cast<Wide>(x.t) * y.n >= static_cast<Wide>(y.t) * x.n;
#else
    return static_cast<long double>(x.t) * y.n >= static_cast<long double>(y.t) * x.n;
#endif
  }
};

template <class Groups>
GroupList pav_blocks(const Groups& groups) {
  PavAccumulator pav;
  groups.for_each_group([&](double low, Index t, Index n) { return pav(low, t, n); });
  return std::move(pav.blocks);
}

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

/// Smoothing of the PAV posteriors in `pav_llrs` (BOSARIS `opt_loglr` option).
enum class PavSmoothing {
  Raw,      ///< plain PAV: LLRs of pure bins are +-inf
  Laplace,  ///< one extra target and non-target below all scores and above all scores (Laplace's rule
            ///< of succession): finite LLRs
};

/// Optimal LLRs of each trial, in the order given.
struct PavLlrs {
  std::vector<double> target_llrs;
  std::vector<double> nontarget_llrs;
};

/// The PAV-optimal monotone score-to-LLR map applied to the scores themselves (BOSARIS `opt_loglr`):
/// LLR = logit(P_pav) - log(N_tar / N_non). Ties are pooled (one LLR per score value); unlike
/// BOSARIS, no 1e-6 ramp is added to break ties among the output LLRs. Cllr of the result equals
/// min_cllr of the input (Raw). O(n log n).
/// @throws InvalidArgument (empty list), NonFiniteInput (NaN, naming its index)
inline PavLlrs pav_llrs(ScoreView targets, ScoreView nontargets, PavSmoothing smoothing = PavSmoothing::Raw) {
  const SortedScores s("pav_llrs", targets, nontargets);
  detail::GroupList groups;
  const double inf = std::numeric_limits<double>::infinity();
  if (smoothing == PavSmoothing::Laplace) groups.groups.push_back({-inf, 1, 1});
  s.for_each_group([&](double v, Index t, Index n) {
    groups.groups.push_back({v, t, n});
    return true;
  });
  if (smoothing == PavSmoothing::Laplace) groups.groups.push_back({inf, 1, 1});
  const detail::GroupList blocks = detail::pav_blocks(groups);
  const double log_prior_odds = std::log(static_cast<double>(s.num_targets())) - std::log(static_cast<double>(s.num_nontargets()));
  std::vector<double> lows(blocks.groups.size()), llrs(blocks.groups.size());
  for (std::size_t b = 0; b < blocks.groups.size(); ++b) {
    const auto& g = blocks.groups[b];
    lows[b] = g.low;
    llrs[b] = std::log(static_cast<double>(g.t)) - std::log(static_cast<double>(g.n)) - log_prior_odds;
  }
  auto map = [&](double x) {
    // the block whose lowest score is the largest one <= x
    const auto it = std::upper_bound(lows.begin(), lows.end(), x);
    const std::size_t b = it == lows.begin() ? 0 : static_cast<std::size_t>(it - lows.begin()) - 1;
    return llrs[b];
  };
  PavLlrs out;
  out.target_llrs.resize(targets.size());
  out.nontarget_llrs.resize(nontargets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) out.target_llrs[i] = map(targets[i]);
  for (std::size_t i = 0; i < nontargets.size(); ++i) out.nontarget_llrs[i] = map(nontargets[i]);
  return out;
}

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

// ---------------------------------------------------------------------------------------------
// Everything at once

/// All the figures of one system, each stating its parameters.
struct EvaluationReport {
  Index num_targets = 0;
  Index num_nontargets = 0;
  std::vector<EerResult> eers;      ///< Rocch, Kaldi, Interpolated
  std::vector<DcfResult> min_dcfs;  ///< one per DcfParams
  std::vector<DcfResult> act_dcfs;  ///< one per DcfParams (meaningful for calibrated LLRs only)
  double cllr = 0.0;                ///< bits (meaningful for calibrated LLRs only)
  double min_cllr = 0.0;            ///< bits

  /// One figure per line, each with its convention or parameters.
  std::string to_string() const {
    std::string s;
    for (const auto& e : eers) s += e.to_string() + "\n";
    for (const auto& d : min_dcfs) s += d.to_string() + "\n";
    for (const auto& d : act_dcfs) s += d.to_string() + "\n";
    s += "Cllr = " + detail::fmt(cllr) + " bits (scores taken as natural-log LLRs)\n";
    s += "minCllr = " + detail::fmt(min_cllr) + " bits (PAV, as BOSARIS min_cllr)\n";
    return s;
  }
};

/// EER under the three conventions, minDCF and actDCF for each parameter set, Cllr and minCllr.
inline EvaluationReport evaluate(const SortedScores& s, const std::vector<DcfParams>& dcf_params = {DcfParams{}}) {
  EvaluationReport r;
  r.num_targets = s.num_targets();
  r.num_nontargets = s.num_nontargets();
  for (EerConvention c : {EerConvention::Rocch, EerConvention::Kaldi, EerConvention::Interpolated}) r.eers.push_back(eer(s, c));
  for (const DcfParams& p : dcf_params) {
    r.min_dcfs.push_back(min_dcf(s, p));
    r.act_dcfs.push_back(act_dcf(s, p));
  }
  r.cllr = cllr(s);
  r.min_cllr = min_cllr(s);
  return r;
}

/// evaluate() from unsorted scores.
inline EvaluationReport evaluate(ScoreView targets, ScoreView nontargets, const std::vector<DcfParams>& dcf_params = {DcfParams{}}) {
  for (const DcfParams& p : dcf_params) detail::check_dcf_params("evaluate", p);
  return evaluate(SortedScores("evaluate", targets, nontargets), dcf_params);
}

}  // namespace ivkit
