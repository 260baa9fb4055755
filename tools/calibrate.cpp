// ivkit-calibrate: score calibration and fusion by prior-weighted linear logistic regression
// (BOSARIS train_linear_calibration / train_linear_fuser, FoCal): `train` fits llr = w^T s + b on
// the scores of a labelled trial list (one score file: calibration; several: fusion) and writes the
// model; `apply` maps score files to calibrated log-likelihood ratios.
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/backend/calibration.hpp>
#include <ivkit/core/file_io.hpp>
#include <ivkit/eval/metrics.hpp>

#include "common/cli.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::detail::message;

namespace {

/// Score files joined on their trials: rows in the order of `order` (enrol, test pairs), one column
/// per file. Every file must score every pair (errors name the file and the pair).
ivkit::Matrix<double> join_columns(const std::vector<std::string>& enrol, const std::vector<std::string>& test, const std::string& order_source,
                                   const std::vector<ScoreList>& files) {
  ivkit::Matrix<double> out(static_cast<Index>(enrol.size()), static_cast<Index>(files.size()));
  for (std::size_t k = 0; k < files.size(); ++k) {
    const ScoreList& f = files[k];
    std::unordered_map<std::string, std::size_t> at;
    at.reserve(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) at.emplace(f.enrol[i] + ' ' + f.test[i], i);
    for (std::size_t i = 0; i < enrol.size(); ++i) {
      const auto it = at.find(enrol[i] + ' ' + test[i]);
      if (it == at.end())
        throw ivkit::FormatError(message("'", f.source, "' has no score for the trial '", enrol[i], " ", test[i], "' of '", order_source, "'"));
      out(static_cast<Index>(i), static_cast<Index>(k)) = f.scores[it->second];
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-calibrate",
            "Calibration and fusion of scores by prior-weighted linear logistic regression (BOSARIS train_linear_calibration / "
            "train_linear_fuser): 'train' fits llr = w^T s + b on the scores of a labelled trial list, one score file (calibration) or "
            "several (fusion, one weight per system), and writes the model; 'apply' writes 'enrol test llr' for the trials of the first "
            "score file. The objective is the cross-entropy at the effective prior --prior (Cllr at 0.5); --l2 regularises (needed when "
            "the training scores separate the classes). See docs/calibration.md.",
            "  ivkit-calibrate train --prior 0.01 data/dev/trials exp/scores/dev_plda exp/backend/calibration.ivk\n"
            "  ivkit-calibrate apply exp/backend/calibration.ivk exp/scores/eval_plda exp/scores/eval_plda_llr\n"
            "  ivkit-calibrate train data/dev/trials dev_plda dev_cosine fusion.ivk   # fusion of two systems\n"
            "  ivkit-calibrate apply fusion.ivk eval_plda eval_cosine eval_fused");
  auto& app = tool.app();
  app.require_subcommand(1);
  std::string trials_path, trials_format = "auto", model_path, out_path;
  std::vector<std::string> train_args, apply_args, score_paths;
  ivkit::CalibrationOptions co;
  auto* train = app.add_subcommand("train", "fit a calibration (one score file) or a fusion (several) on a labelled trial list");
  // One list of positionals, split after parsing: CLI11 would give every argument to the score files.
  train->add_option("trials scores... calibration-out", train_args,
                    "the labelled trial list (Kaldi or stklia format), one score file per system ('enrol test score' per line), and the "
                    "model written (an ivkit LinearCalibration file)")
      ->required()
      ->expected(3, -1);
  train->add_option("--prior", co.prior, "effective target prior of the cross-entropy (BOSARIS prior)")->check(CLI::Range(1e-9, 1 - 1e-9));
  train->add_option("--l2", co.l2, "regularisation (dimensionless; 0 = maximum likelihood, no solution for separable scores)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--trials-format", trials_format, "auto, kaldi or stklia")->check(CLI::IsMember({"auto", "kaldi", "stklia"}));
  auto* apply = app.add_subcommand("apply", "map score files to calibrated (or fused) log-likelihood ratios");
  std::string apply_model;
  std::vector<std::string> apply_scores;
  apply->add_option("calibration scores... llr-out", apply_args,
                    "a model from 'ivkit-calibrate train', the score files (as many and in the order it was trained with), and the "
                    "output: 'enrol test llr' per trial of the first score file (- for stdout)")
      ->required()
      ->expected(3, -1);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    co.num_threads = tool.threads();
    if (train->parsed()) {
      trials_path = train_args.front();
      model_path = train_args.back();
      score_paths.assign(train_args.begin() + 1, train_args.end() - 1);
      const TrialList list = read_trial_list(trials_path, trials_format, false);
      const ivkit::Trials& trials = list.trials;
      std::vector<ScoreList> files;
      for (const auto& p : score_paths) files.push_back(read_scores(p));
      const ivkit::Matrix<double> s = join_columns(trials.enrol, trials.test, trials.source, files);
      ivkit::CalibrationReport report;
      const ivkit::LinearCalibration cal = ivkit::train_linear_fusion(s, trials.labels, co, &report);
      cal.save(model_path);
      std::string weights;
      for (Index k = 0; k < cal.num_systems(); ++k) weights += (k ? ", " : "") + format_real(cal.weights()(k));
      tool.info(trials.size(), " trials (", trials.num_targets(), " targets): llr = ", files.size() == 1 ? "" : "[", weights,
                files.size() == 1 ? "" : "]", " s + ", format_real(cal.offset()), "; cross-entropy at prior ", format_real(co.prior), " ",
                format_real(report.objective), " after ", report.iterations, " Newton steps");
      if (files.size() == 1) {
        const std::vector<double> raw(s.col(0).data(), s.col(0).data() + s.rows());
        const std::vector<double> llr = cal.apply(ivkit::ScoreView(raw));
        const ivkit::SortedScores before(ivkit::ScoreView(raw), trials.labels);
        const ivkit::SortedScores after(ivkit::ScoreView(llr), trials.labels);
        tool.info("Cllr ", format_real(ivkit::cllr(before)), " bits before, ", format_real(ivkit::cllr(after)), " after (minCllr ",
                  format_real(ivkit::min_cllr(after)), ")");
      }
      return;
    }
    apply_model = apply_args.front();
    out_path = apply_args.back();
    apply_scores.assign(apply_args.begin() + 1, apply_args.end() - 1);
    const ivkit::LinearCalibration cal = ivkit::LinearCalibration::load(apply_model);
    if (static_cast<Index>(apply_scores.size()) != cal.num_systems())
      throw UsageError(message("'", apply_model, "' fuses ", cal.num_systems(), " system", cal.num_systems() == 1 ? "" : "s", " but ",
                               apply_scores.size(), " score file", apply_scores.size() == 1 ? " was" : "s were", " given"));
    std::vector<ScoreList> files;
    for (const auto& p : apply_scores) files.push_back(read_scores(p));
    const ivkit::Matrix<double> s = join_columns(files[0].enrol, files[0].test, files[0].source, files);
    const ivkit::Vector<double> llr = cal.fuse(s);
    std::string out;
    out.reserve(static_cast<std::size_t>(s.rows()) * 32);
    for (Index i = 0; i < s.rows(); ++i)
      out += files[0].enrol[static_cast<std::size_t>(i)] + ' ' + files[0].test[static_cast<std::size_t>(i)] + ' ' + format_real(llr(i)) + '\n';
    write_text_output(tool.name(), out_path, out);
    tool.info("wrote ", s.rows(), " calibrated scores to '", out_path, "'");
  });
}
