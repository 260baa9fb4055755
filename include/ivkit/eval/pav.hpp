/// @file
/// Pool-adjacent-violators over tie groups (BOSARIS `pavx`): the blocks of the ROC convex hull, from
/// which the ROCCH EER and minCllr are read (eval/error_rates.hpp), and `pav_llrs`, the PAV-optimal
/// monotone score-to-LLR map applied to the scores (BOSARIS `opt_loglr`).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "ivkit/eval/sorted_scores.hpp"

namespace ivkit {

namespace detail {

/// Pool-adjacent-violators over groups, in ascending score order: merges neighbouring groups until
/// the target proportions t / (t + n) strictly increase (BOSARIS `pavx` merges on >=, as here).
/// Tied scores are a single group, so a tie is always pooled (BOSARIS: targets sorted before
/// non-targets within ties). The result's blocks are the ROC convex hull's segments.
///
/// Like the sweeps of eval/error_rates.hpp, it is a consumer of the groups of one ascending pass
/// (SortedScores, a ScoreHistogram, the merge of a StreamingScoreSorter's runs); pav_blocks drives
/// it over a group source.
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

}  // namespace detail

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

}  // namespace ivkit
