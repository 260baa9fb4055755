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
///
/// One concept per header, all included here: eval/sorted_scores.hpp (score views, sorting, tie
/// groups), eval/pav.hpp (PAV), eval/error_rates.hpp (EER, DCF, Cllr), eval/score_histogram.hpp
/// (bounded-memory approximations); this header adds `evaluate`, every figure at once.
#pragma once

#include <vector>

#include "ivkit/core/types.hpp"
#include "ivkit/eval/error_rates.hpp"
#include "ivkit/eval/pav.hpp"
#include "ivkit/eval/score_histogram.hpp"
#include "ivkit/eval/sorted_scores.hpp"

namespace ivkit {


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
