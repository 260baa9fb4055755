/// @file
/// Scores as the metrics read them: `ScoreView` (float or double, any contiguous storage), the
/// sort (LSD radix on order-preserving integer keys), `SortedScores` (targets and non-targets sorted
/// once, for any number of exact metrics), and the tie groups an ascending pass hands to the sweeps
/// of eval/error_rates.hpp. See docs/evaluation.md.
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

}  // namespace ivkit
