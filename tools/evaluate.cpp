// ivkit-evaluate: detection metrics of one or more score files against a labelled trial list: the
// EER under the named conventions (ROC convex hull as BOSARIS, Kaldi's compute-eer, linear
// interpolation), minDCF and actDCF for each P_target, Cllr and minCllr, and a DET plot as SVG.
// See docs/tools/evaluate.md.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/eval/det.hpp>
#include <ivkit/eval/metrics.hpp>
#include <ivkit/eval/trials.hpp>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::detail::message;

namespace {

struct System {
  std::string name;
  std::vector<double> targets, nontargets;
};

// The scores of the trials, split by label. Each trial needs a score (or is skipped with
// `skip_missing`); scores of pairs that are not trials are ignored.
System join(const ivkit::Trials& trials, const ScoreList& scores, bool skip_missing, const Tool& tool) {
  // The common case: the score file lists the trials in their order (ivkit-score-trials and
  // ivector-plda-scoring write them so); then score i is trial i and no index of keys is needed.
  bool same_order = scores.size() == trials.size();
  for (std::size_t i = 0; i < trials.size() && same_order; ++i)
    same_order = scores.enrol[i] == trials.enrol[i] && scores.test[i] == trials.test[i];
  std::unordered_map<std::string, std::size_t> at;  // "enrol test" -> index in `scores`
  if (!same_order) {
    at.reserve(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) at.emplace(scores.enrol[i] + ' ' + scores.test[i], i);
  }
  System s;
  std::size_t missing = 0, used = 0;
  std::string first_missing;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const auto it = same_order ? at.end() : at.find(trials.enrol[i] + ' ' + trials.test[i]);
    if (!same_order && it == at.end()) {
      const std::string where = message("'", trials.source, "' line ", i < trials.lines.size() ? trials.lines[i] : i + 1);
      if (!skip_missing)
        throw ivkit::FormatError(message("'", scores.source, "' has no score for the trial '", trials.enrol[i], " ", trials.test[i], "' (",
                                         where, "); score every trial, or pass --missing skip"));
      if (missing++ == 0) first_missing = message("'", trials.enrol[i], " ", trials.test[i], "' (", where, ")");
      continue;
    }
    ++used;
    (trials.labels[i] ? s.targets : s.nontargets).push_back(scores.scores[same_order ? i : it->second]);
  }
  if (missing > 0) tool.warn("'", scores.source, "': ", missing, " trials have no score and are skipped (first ", first_missing, ")");
  if (used < scores.size())
    tool.info("'", scores.source, "': ", scores.size() - used, " scores are not of listed trials and are ignored");
  if (s.targets.empty() || s.nontargets.empty())
    throw ivkit::FormatError(message("'", scores.source, "' scores ", s.targets.size(), " target and ", s.nontargets.size(),
                                     " non-target trials of '", trials.source, "'; the metrics need both"));
  return s;
}

std::string tsv(const std::string& system, const std::string& metric, double value, const std::string& detail) {
  return system + '\t' + metric + '\t' + format_real(value) + '\t' + detail + '\n';
}

std::string dcf_params(const ivkit::DcfParams& p) {
  return "p_target=" + format_real(p.p_target) + ",c_miss=" + format_real(p.c_miss) + ",c_fa=" + format_real(p.c_fa);
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-evaluate",
            "Evaluates score files ('enrol test score' per line, as ivkit-score-trials and Kaldi's ivector-plda-scoring write them) "
            "against a labelled trial list (Kaldi 'enrol test target|nontarget' or stklia '1|0 enrol test'): the equal error rate "
            "under the named conventions (rocch: ROC convex hull as BOSARIS; kaldi: compute-eer rule for rule; interpolated), the "
            "minimum and actual detection costs for each --p-target, Cllr and minCllr in bits, and optionally a DET plot as SVG "
            "(one curve per score file). actDCF and Cllr treat the scores as natural-log likelihood ratios: they are meaningful for "
            "calibrated scores only (PLDA scores are roughly calibrated, cosine scores are not).",
            "  ivkit-evaluate --det-svg exp/scores/det.svg data/test/trials exp/scores/plda exp/scores/cosine\n"
            "  ivkit-evaluate --eer-convention kaldi --p-target 0.01,0.001 --c-miss 1 --c-fa 1 trials scores\n"
            "  ivkit-evaluate --format tsv --trials-format stklia voxceleb1_test.txt scores_asnorm");
  std::string trials_path, trials_format = "auto", eer_convention = "all", det_svg, det_title = "DET", det_curve = "steps", format = "text",
              missing = "error";
  std::vector<std::string> score_paths, names;
  std::vector<double> p_targets = {0.01};
  double c_miss = 1.0, c_fa = 1.0;
  std::vector<double> det_range = {0.1, 40.0};
  auto& app = tool.app();
  app.add_option("trials", trials_path, "labelled trial list (Kaldi or stklia format; - for stdin)")->required();
  app.add_option("scores", score_paths, "one or more score files, 'enrol test score' per line")->required();
  app.add_option("--trials-format", trials_format, "auto (from the first line), kaldi or stklia")
      ->check(CLI::IsMember({"auto", "kaldi", "stklia"}));
  app.add_option("--eer-convention", eer_convention, "which EER to report: all, rocch, kaldi or interpolated")
      ->check(CLI::IsMember({"all", "rocch", "kaldi", "interpolated"}));
  app.add_option("--p-target", p_targets, "prior(s) of a target trial for minDCF and actDCF, comma-separated or repeated")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--c-miss", c_miss, "cost of a miss")->check(CLI::PositiveNumber);
  app.add_option("--c-fa", c_fa, "cost of a false alarm")->check(CLI::PositiveNumber);
  app.add_option("--missing", missing, "a trial without a score: error, or skip (with a warning)")->check(CLI::IsMember({"error", "skip"}));
  app.add_option("--format", format,
                 "report format: text (one figure per line, with its convention), tsv (system, metric, value, parameters), or kaldi "
                 "(exactly compute-eer's output: the EER in percent on stdout, 'Equal error rate is X%, at threshold T' on stderr)")
      ->check(CLI::IsMember({"text", "tsv", "kaldi"}));
  app.add_option("--det-svg", det_svg, "write the DET plot of every score file to this SVG file");
  app.add_option("--det-title", det_title, "title of the DET plot");
  app.add_option("--det-curve", det_curve, "DET curve drawn: steps (every operating point) or hull (ROC convex hull, as BOSARIS)")
      ->check(CLI::IsMember({"steps", "hull"}));
  app.add_option("--det-range", det_range, "axis range of the DET plot in percent: MIN,MAX")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--names", names, "legend names of the score files (comma-separated or repeated; default: the file names)")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  return tool.run(argc, argv, [&] {
    if (format == "kaldi" && eer_convention != "all" && eer_convention != "kaldi")
      throw UsageError("--format kaldi prints compute-eer's EER (--eer-convention kaldi)");
    for (double p : p_targets)
      if (!(p > 0.0 && p < 1.0)) throw UsageError("--p-target must lie strictly between 0 and 1, got " + format_real(p));
    if (!names.empty() && names.size() != score_paths.size())
      throw UsageError(message("--names gives ", names.size(), " names for ", score_paths.size(), " score files"));
    if (det_svg.empty() && (app.count("--det-title") || app.count("--det-curve") || app.count("--det-range")))
      throw UsageError("--det-title, --det-curve and --det-range apply with --det-svg only");
    if (det_range.size() != 2 || !(det_range[0] > 0 && det_range[0] < det_range[1] && det_range[1] < 100))
      throw UsageError("--det-range must be MIN,MAX with 0 < MIN < MAX < 100 (percent)");

    const TrialList list = read_trial_list(trials_path, trials_format, false);
    const ivkit::Trials& trials = list.trials;
    tool.info("'", trials.source, "': ", trials.size(), " trials (", trials.num_targets(), " targets, ", trials.num_nontargets(),
              " non-targets; ", list.format, " format)");
    std::vector<ivkit::DcfParams> params;
    for (double p : p_targets) params.push_back(ivkit::DcfParams{p, c_miss, c_fa});
    std::vector<ivkit::EerConvention> conventions;
    if (eer_convention == "all" || eer_convention == "rocch") conventions.push_back(ivkit::EerConvention::Rocch);
    if (eer_convention == "all" || eer_convention == "kaldi") conventions.push_back(ivkit::EerConvention::Kaldi);
    if (eer_convention == "all" || eer_convention == "interpolated") conventions.push_back(ivkit::EerConvention::Interpolated);

    // Everything is read and computed before anything is written.
    std::string report;
    std::vector<ivkit::DetPlotSeries> series;
    Progress progress(tool.name(), "evaluating", static_cast<double>(score_paths.size()), "score files", !tool.quiet());
    for (std::size_t k = 0; k < score_paths.size(); ++k) {
      const ScoreList scores = read_scores(score_paths[k]);
      System sys = join(trials, scores, missing == "skip", tool);
      sys.name = names.empty() ? score_paths[k] : names[k];
      const ivkit::SortedScores sorted(ivkit::ScoreView(sys.targets), ivkit::ScoreView(sys.nontargets));
      const std::string& n = sys.name;
      if (format == "kaldi") {
        // compute-eer: std::cout.precision(4) << eer * 100; KALDI_LOG at the default precision.
        const auto r = ivkit::eer(sorted, ivkit::EerConvention::Kaldi);
        std::ostringstream out, log;
        out.precision(4);
        out << r.eer * 100.0 << '\n';
        log << "Equal error rate is " << r.eer * 100.0 << "%, at threshold " << r.threshold;
        report += out.str();
        std::cerr << tool.name() << ": " << (score_paths.size() > 1 ? n + ": " : std::string()) << log.str() << '\n';
      } else if (format == "text") {
        report += message(n, ": ", sorted.num_targets() + sorted.num_nontargets(), " trials (", sorted.num_targets(), " targets, ",
                          sorted.num_nontargets(), " non-targets)\n");
        for (auto c : conventions) report += "  " + ivkit::eer(sorted, c).to_string() + "\n";
        for (const auto& p : params) report += "  " + ivkit::min_dcf(sorted, p).to_string() + "\n";
        for (const auto& p : params) report += "  " + ivkit::act_dcf(sorted, p).to_string() + "\n";
        report += "  Cllr = " + ivkit::detail::fmt(ivkit::cllr(sorted)) + " bits (scores taken as natural-log LLRs)\n";
        report += "  minCllr = " + ivkit::detail::fmt(ivkit::min_cllr(sorted)) + " bits (PAV, as BOSARIS min_cllr)\n";
      } else {
        report += tsv(n, "targets", static_cast<double>(sorted.num_targets()), "");
        report += tsv(n, "nontargets", static_cast<double>(sorted.num_nontargets()), "");
        for (auto c : conventions) {
          const auto r = ivkit::eer(sorted, c);
          report += tsv(n, std::string("eer_") + ivkit::convention_name(c), r.eer, "threshold=" + format_real(r.threshold));
        }
        for (const auto& p : params) {
          const auto r = ivkit::min_dcf(sorted, p);
          report += tsv(n, "min_dcf", r.value, dcf_params(p) + ",threshold=" + format_real(r.threshold));
        }
        for (const auto& p : params) {
          const auto r = ivkit::act_dcf(sorted, p);
          report += tsv(n, "act_dcf", r.value, dcf_params(p) + ",threshold=" + format_real(r.threshold));
        }
        report += tsv(n, "cllr", ivkit::cllr(sorted), "bits");
        report += tsv(n, "min_cllr", ivkit::min_cllr(sorted), "bits");
      }
      if (!det_svg.empty())
        series.push_back({sys.name, det_curve == "hull" ? ivkit::rocch_det_curve(sorted) : ivkit::det_curve(sorted)});
      progress.add(1);
    }
    progress.finish();
    if (!det_svg.empty()) {
      ivkit::DetPlotOptions po;
      po.title = det_title;
      po.min_percent = det_range[0];
      po.max_percent = det_range[1];
      ivkit::write_det_svg(det_svg, series, po);
    }
    std::cout << report;
    std::cout.flush();
    if (!std::cout) throw ivkit::IoError("error writing the report to stdout");
    if (!det_svg.empty()) tool.info("wrote the DET plot of ", series.size(), " system", series.size() == 1 ? "" : "s", " to '", det_svg, "'");
  });
}
