// ivkit-evaluate: detection metrics of one or more score files against a labelled trial list: the
// EER under the named conventions (ROC convex hull as BOSARIS, Kaldi's compute-eer, linear
// interpolation), minDCF and actDCF for each P_target, Cllr and minCllr, and a DET plot as SVG.
// See docs/tools/evaluate.md.
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ivkit/eval/det.hpp>
#include <ivkit/eval/external_sort.hpp>
#include <ivkit/eval/metrics.hpp>
#include <ivkit/io/line_reader.hpp>
#include <ivkit/io/trial_scores.hpp>

#include "common/cli.hpp"
#include "common/progress.hpp"

using namespace ivkit_tools;
using ivkit::detail::message;

namespace {

// The scores of one file, joined to the trials and sorted (in memory, or in runs on disk when
// they exceed the memory budget).
struct System {
  std::string name;
  ivkit::TrialScoreJoinReport join;
  std::unique_ptr<ivkit::StreamingScoreSorter> sorted;
};

// Trial lists of a few hundred bytes per line; read from stdin once when several score files need it.
std::shared_ptr<const std::string> read_stdin() {
  auto text = std::make_shared<std::string>(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (std::cin.bad()) throw ivkit::IoError("error reading the trials from stdin");
  return text;
}

System read_system(const std::string& trials_path, const std::shared_ptr<const std::string>& trials_text, const std::string& scores_path,
                   const ivkit::TrialScoreJoinOptions& opts, std::size_t budget, const std::string& temp_dir, const Tool& tool) {
  std::unique_ptr<ivkit::LineReader> trials =
      trials_text ? std::make_unique<ivkit::LineReader>(trials_text, "stdin") : std::make_unique<ivkit::LineReader>(trials_path);
  ivkit::LineReader scores(scores_path);
  System s;
  s.sorted = std::make_unique<ivkit::StreamingScoreSorter>(budget, temp_dir);
  // Chunks of each class go to the sorter together (its per-chunk checks run once per chunk).
  constexpr std::size_t kChunk = 1 << 14;
  std::vector<double> tar, non;
  tar.reserve(kChunk);
  non.reserve(kChunk);
  auto flush = [&] {
    if (!tar.empty()) s.sorted->add_targets(tar);
    if (!non.empty()) s.sorted->add_nontargets(non);
    tar.clear();
    non.clear();
  };
  s.join = ivkit::join_trial_scores(
      *trials, scores,
      [&](double score, bool target) {
        (target ? tar : non).push_back(score);
        if (tar.size() == kChunk || non.size() == kChunk) flush();
      },
      opts);
  flush();
  const auto& j = s.join;
  if (j.missing > 0) tool.warn("'", scores_path, "': ", j.missing, " trials have no score and are skipped (first ", j.first_missing, ")");
  if (j.unused_scores > 0) tool.info("'", scores_path, "': ", j.unused_scores, " scores are not of listed trials and are ignored");
  if (j.targets == 0 || j.nontargets == 0)
    throw ivkit::FormatError(message("'", scores_path, "' scores ", j.targets, " target and ", j.nontargets, " non-target trials of '",
                                     trials->source(), "'; the metrics need both"));
  s.sorted->finish();
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
              missing = "error", temp_dir;
  double memory_mb = 128;
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
  app.add_option("--memory-mb", memory_mb,
                 "scores held in memory at most (8 bytes each); longer lists are sorted in runs on disk (--temp-dir), with the same "
                 "results")
      ->check(CLI::Range(0.001, 1e7));
  app.add_option("--temp-dir", temp_dir, "directory of the sorted runs of lists longer than --memory-mb (default: $TMPDIR or /tmp)");
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

    ivkit::TrialScoreJoinOptions join_opts;
    join_opts.format = trials_format == "kaldi" ? ivkit::TrialFormat::Kaldi
                       : trials_format == "stklia" ? ivkit::TrialFormat::Stklia
                                                   : ivkit::TrialFormat::Auto;
    join_opts.skip_missing = missing == "skip";
    const std::size_t budget =
        std::max(ivkit::StreamingScoreSorter::kMinBudget, static_cast<std::size_t>(memory_mb * 1048576.0 / sizeof(double)));
    std::shared_ptr<const std::string> trials_text;
    if (trials_path == "-" && score_paths.size() > 1) trials_text = read_stdin();
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
      System sys = read_system(trials_path, trials_text, score_paths[k], join_opts, budget, temp_dir, tool);
      sys.name = names.empty() ? score_paths[k] : names[k];
      if (k == 0) {
        const auto& j = sys.join;
        tool.info("'", trials_path == "-" ? std::string("stdin") : trials_path, "': ", j.trials, " trials (", j.trial_targets, " targets, ",
                  j.trials - j.trial_targets, " non-targets; ", ivkit::format_name(j.format), " format)");
      }
      const ivkit::StreamingScoreSorter& sorted = *sys.sorted;
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
      } else {
        // Every figure in one pass over the sorted scores.
        const ivkit::EvaluationReport r = ivkit::evaluate(sorted, params);
        std::vector<const ivkit::EerResult*> eers;
        for (auto c : conventions)
          for (const auto& e : r.eers)
            if (e.convention == c) eers.push_back(&e);
        if (format == "text") {
          report += message(n, ": ", r.num_targets + r.num_nontargets, " trials (", r.num_targets, " targets, ", r.num_nontargets,
                            " non-targets)\n");
          for (const auto* e : eers) report += "  " + e->to_string() + "\n";
          for (const auto& d : r.min_dcfs) report += "  " + d.to_string() + "\n";
          for (const auto& d : r.act_dcfs) report += "  " + d.to_string() + "\n";
          report += "  Cllr = " + ivkit::detail::fmt(r.cllr) + " bits (scores taken as natural-log LLRs)\n";
          report += "  minCllr = " + ivkit::detail::fmt(r.min_cllr) + " bits (PAV, as BOSARIS min_cllr)\n";
        } else {
          report += tsv(n, "targets", static_cast<double>(r.num_targets), "");
          report += tsv(n, "nontargets", static_cast<double>(r.num_nontargets), "");
          for (const auto* e : eers)
            report += tsv(n, std::string("eer_") + ivkit::convention_name(e->convention), e->eer, "threshold=" + format_real(e->threshold));
          for (std::size_t i = 0; i < params.size(); ++i)
            report += tsv(n, "min_dcf", r.min_dcfs[i].value, dcf_params(params[i]) + ",threshold=" + format_real(r.min_dcfs[i].threshold));
          for (std::size_t i = 0; i < params.size(); ++i)
            report += tsv(n, "act_dcf", r.act_dcfs[i].value, dcf_params(params[i]) + ",threshold=" + format_real(r.act_dcfs[i].threshold));
          report += tsv(n, "cllr", r.cllr, "bits");
          report += tsv(n, "min_cllr", r.min_cllr, "bits");
        }
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
