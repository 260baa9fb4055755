// ivkit-score-trials: scores a trial list with cosine similarity or a PLDA model (Kaldi's
// ivector-compute-dot-products and ivector-plda-scoring), optionally after an embedding transform
// and with score normalisation against a cohort (z-, t-, s-norm, adaptive variants and AS-norm).
// Enrolment models are single embeddings, embeddings averaged per speaker (--enrol-spk2utt, as
// ivector-mean), or averages computed elsewhere with their counts (--num-utts). Writes one line
// "enrol test score" per trial, in trial order, atomically. See docs/tools/score-trials.md.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <ivkit/backend/cosine.hpp>
#include <ivkit/backend/enrolment.hpp>
#include <ivkit/backend/plda_scoring.hpp>
#include <ivkit/backend/score_norm.hpp>
#include <ivkit/core/file_io.hpp>
#include <ivkit/eval/trials.hpp>
#include <ivkit/io/kaldi_matrix.hpp>

#include "common/cli.hpp"
#include "common/ivectors.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;
using ivkit::detail::message;

namespace {

constexpr std::size_t kTrialBlock = 1 << 16;  // trials scored (and normalised) per progress step

struct Options {
  std::string trials, enrol, test, output, plda, transform, mean, spk2utt, num_utts, cohort;
  std::string trials_format = "auto", averaging = "mean", norm = "none", std_convention = "population";
  Index top_k = 0;
  double std_floor = 0.0;
  bool count_aware = true, plda_length_norm = true, simple_length_norm = false;
};

ivkit::EnrolmentAveraging parse_averaging(const std::string& s) {
  if (s == "norm-then-mean") return ivkit::EnrolmentAveraging::NormThenMean;
  if (s == "mean-then-norm") return ivkit::EnrolmentAveraging::MeanThenNorm;
  if (s == "norm-mean-norm") return ivkit::EnrolmentAveraging::NormMeanNorm;
  return ivkit::EnrolmentAveraging::Mean;
}

// The enrolment models: ids, one (raw) embedding per row, and the number of embeddings behind each.
struct Enrolments {
  std::vector<std::string> ids;
  Matrix<float> vectors;
  std::vector<Index> counts;
};

Enrolments make_enrolments(const IvectorTable& table, const Options& o) {
  Enrolments out;
  if (!o.spk2utt.empty()) {
    const SpeakerMap spk = read_spk2utt(o.spk2utt);
    std::vector<std::vector<Index>> groups(spk.speakers.size());
    for (std::size_t s = 0; s < spk.speakers.size(); ++s) {
      for (const std::string& utt : spk.utterances[s]) {
        const Index row = table.find(utt);
        if (row < 0)
          throw ivkit::FormatError(message("'", o.spk2utt, "' line ", spk.utterance_line.at(utt), ": utterance '", utt, "' of '",
                                           spk.speakers[s], "' has no embedding in '", table.source, "'"));
        groups[s].push_back(row);
      }
    }
    ivkit::EnrolmentModels<float> m = ivkit::average_embeddings<float>(table.vectors, groups, parse_averaging(o.averaging));
    out.ids = spk.speakers;
    out.vectors = std::move(m.means);
    out.counts = std::move(m.counts);
    return out;
  }
  out.ids = table.ids;
  out.vectors = table.vectors;
  out.counts.assign(table.ids.size(), 1);
  if (!o.num_utts.empty()) {
    const auto counts = read_int_table(o.num_utts);
    for (std::size_t i = 0; i < out.ids.size(); ++i) {
      const auto it = counts.find(out.ids[i]);
      if (it == counts.end())
        throw ivkit::FormatError(message("'", o.num_utts, "' has no count for the enrolment model '", out.ids[i], "' of '", table.source, "'"));
      if (it->second < 1)
        throw ivkit::FormatError(message("'", o.num_utts, "': the count of '", out.ids[i], "' is ", it->second, " (must be >= 1)"));
      out.counts[i] = static_cast<Index>(it->second);
    }
  }
  return out;
}

// Trials [begin, end) of `idx`.
ivkit::TrialIndices slice(const ivkit::TrialIndices& idx, std::size_t begin, std::size_t end) {
  ivkit::TrialIndices s;
  s.enrol.assign(idx.enrol.begin() + static_cast<std::ptrdiff_t>(begin), idx.enrol.begin() + static_cast<std::ptrdiff_t>(end));
  s.test.assign(idx.test.begin() + static_cast<std::ptrdiff_t>(begin), idx.test.begin() + static_cast<std::ptrdiff_t>(end));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-score-trials",
            "Scores a trial list: cosine similarity (Kaldi's ivector-compute-dot-products) or PLDA log-likelihood ratios (with --plda; "
            "Kaldi's ivector-plda-scoring), after an optional embedding transform (--transform, from ivkit-train-backend or a Kaldi "
            "matrix, applied to enrolment, test and cohort embeddings alike). An enrolment model is one embedding of enrol-rspecifier, or with "
            "--enrol-spk2utt the average of a speaker's embeddings (Kaldi's ivector-mean; PLDA then scores with the count, as "
            "--num-utts does in Kaldi), or with --num-utts an average made elsewhere with its count. Optional score normalisation "
            "against a cohort of impostor embeddings (--score-norm z, t, s or as with --cohort). Trials: Kaldi ('enrol test "
            "target|nontarget'), stklia ('1|0 enrol test') or bare pairs ('enrol test'). Writes 'enrol test score' per trial, in "
            "trial order.",
            "  ivkit-score-trials --plda exp/backend/plda.ivk --transform exp/backend/transform.ivk --enrol-spk2utt data/enrol/spk2utt \\\n"
            "      data/test/trials scp:exp/ivectors_enrol/ivector.scp scp:exp/ivectors_test/ivector.scp exp/scores/plda\n"
            "  ivkit-score-trials --transform transform.ivk --score-norm as --top-k 100 --cohort scp:exp/ivectors_train/ivector.scp \\\n"
            "      trials.txt ark:enrol_ivectors.ark ark:test_ivectors.ark scores_cosine_asnorm\n"
            "  ivkit-score-trials --plda plda --transform transform.mat --num-utts ark,t:num_utts.ark \\\n"
            "      trials ark:spk_ivector.ark scp:ivector.scp -");
  Options o;
  auto& app = tool.app();
  app.add_option("trials", o.trials, "trial list (Kaldi, stklia, or 'enrol test' pairs; - for stdin)")->required();
  app.add_option("enrol-rspecifier", o.enrol, "enrolment embeddings, e.g. scp:exp/ivectors_enrol/ivector.scp")->required();
  app.add_option("test-rspecifier", o.test, "test embeddings, e.g. scp:exp/ivectors_test/ivector.scp")->required();
  app.add_option("scores-out", o.output, "output: 'enrol test score' per trial (- for stdout)")->required();
  app.add_option("--plda", o.plda, "score with this PLDA model (ivkit file or Kaldi's plda); without it: cosine scoring");
  app.add_option("--transform", o.transform,
                 "embedding transform before scoring: an ivkit TransformPipeline (ivkit-train-backend) or a Kaldi matrix (then "
                 "followed by length normalisation, as Kaldi's recipes do)");
  app.add_option("--mean", o.mean,
                 "a vector (Kaldi's mean.vec, from ivector-mean) subtracted from every embedding before the transform, as Kaldi's "
                 "ivector-subtract-global-mean mean.vec does");
  app.add_option("--trials-format", o.trials_format, "auto (from the first line), kaldi, stklia or pairs")
      ->check(CLI::IsMember({"auto", "kaldi", "stklia", "pairs"}));
  auto* o_s2u = app.add_option("--enrol-spk2utt", o.spk2utt,
                               "enrolment models: 'model utterance...' per line, each model the average of its utterances' embeddings");
  auto* o_num = app.add_option("--num-utts", o.num_utts,
                               "number of embeddings averaged into each enrolment embedding ('model count' per line; Kaldi's num_utts.ark "
                               "written with ark,t:)");
  o_s2u->excludes(o_num);
  app.add_option("--enrol-averaging", o.averaging,
                 "with --enrol-spk2utt, the order of averaging and length normalisation of the raw embeddings before the transform: "
                 "mean (Kaldi's ivector-mean), norm-then-mean, mean-then-norm, norm-mean-norm")
      ->check(CLI::IsMember({"mean", "norm-then-mean", "mean-then-norm", "norm-mean-norm"}));
  app.add_option("--count-aware", o.count_aware,
                 "PLDA: score an average of n embeddings with the posterior given n of them (true, Kaldi with --num-utts), or as one "
                 "embedding (false)");
  app.add_option("--plda-normalize-length", o.plda_length_norm, "PLDA: length-normalise in the PLDA space (Kaldi's --normalize-length)");
  app.add_flag("--simple-length-normalization", o.simple_length_norm,
               "PLDA: normalise to length sqrt(dim) (Kaldi's --simple-length-normalization)");
  app.add_option("--score-norm", o.norm,
                 "score normalisation against --cohort: none, z (enrolment statistics), t (test statistics), s (both, averaged), as "
                 "(adaptive s-norm over the --top-k highest cohort scores)")
      ->check(CLI::IsMember({"none", "z", "t", "s", "as"}));
  app.add_option("--cohort", o.cohort, "cohort embeddings (impostor segments), e.g. scp:exp/ivectors_train/ivector.scp");
  app.add_option("--top-k", o.top_k, "cohort statistics over the K highest scores (adaptive norms; needed by --score-norm as; 0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--std-convention", o.std_convention, "divisor of the cohort variance: population (K) or unbiased (K - 1)")
      ->check(CLI::IsMember({"population", "unbiased"}));
  app.add_option("--std-floor", o.std_floor, "raise every cohort standard deviation to at least this (0: a zero deviation is an error)")
      ->check(CLI::NonNegativeNumber);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    // Option consistency.
    const bool plda = !o.plda.empty();
    if (!plda && app.count("--count-aware")) throw UsageError("--count-aware applies to PLDA scoring (--plda) only");
    if (!plda && (app.count("--plda-normalize-length") || o.simple_length_norm))
      throw UsageError("--plda-normalize-length and --simple-length-normalization apply to PLDA scoring (--plda) only");
    if (o.spk2utt.empty() && app.count("--enrol-averaging")) throw UsageError("--enrol-averaging applies with --enrol-spk2utt only");
    const bool norm = o.norm != "none";
    if (norm && o.cohort.empty()) throw UsageError("--score-norm " + o.norm + " needs a --cohort");
    if (!norm && !o.cohort.empty()) throw UsageError("--cohort is used by --score-norm only; give --score-norm z, t, s or as");
    if (!norm && (app.count("--top-k") || app.count("--std-convention") || app.count("--std-floor")))
      throw UsageError("--top-k, --std-convention and --std-floor apply with --score-norm only");
    if (o.norm == "as" && o.top_k == 0) throw UsageError("--score-norm as needs --top-k K (the cohort scores each statistic uses)");
    if (o.output != "-" && o.output.empty()) throw UsageError("scores-out is empty");

    // Inputs.
    const TrialList list = read_trial_list(o.trials, o.trials_format, true);
    const ivkit::Trials& trials = list.trials;
    tool.info("'", trials.source, "': ", trials.size(), " trials (", list.format, " format)");
    const IvectorTable enrol_table = read_ivectors(o.enrol);
    const IvectorTable test_table = read_ivectors(o.test);
    if (enrol_table.dim() != test_table.dim())
      throw ivkit::DimensionMismatch(message("the enrolment embeddings ('", o.enrol, "') have dimension ", enrol_table.dim(),
                                             " but the test embeddings ('", o.test, "') ", test_table.dim()));
    Enrolments enrol = make_enrolments(enrol_table, o);
    tool.info(enrol.ids.size(), " enrolment models from ", enrol_table.size(), " embeddings of '", o.enrol, "'; ", test_table.size(),
              " test embeddings of '", o.test, "' (dimension ", test_table.dim(), ")");
    IvectorTable cohort;
    if (norm) {
      cohort = read_ivectors(o.cohort);
      if (cohort.dim() != test_table.dim())
        throw ivkit::DimensionMismatch(message("the cohort embeddings ('", o.cohort, "') have dimension ", cohort.dim(),
                                               " but the test embeddings ", test_table.dim()));
      if (o.top_k > cohort.size())
        throw ivkit::InvalidArgument(message("--top-k ", o.top_k, " exceeds the ", cohort.size(), " embeddings of the cohort '", o.cohort, "'"));
      tool.info("cohort: ", cohort.size(), " embeddings of '", o.cohort, "'");
    }
    // Every trial names a model and a test embedding (errors name the trial's file and line).
    ivkit::TrialIndices idx;
    try {
      idx = ivkit::trial_indices(trials, enrol.ids, test_table.ids);
    } catch (const ivkit::InvalidArgument& err) {
      const std::string what = err.what();
      if (o.spk2utt.empty() && what.find("enrolment id") != std::string::npos)
        throw ivkit::InvalidArgument(what + " (the keys of '" + o.enrol + "'; to enrol a model from several utterances, give --enrol-spk2utt)");
      throw;
    }

    // The transform, applied to the (averaged) enrolment, test and cohort embeddings.
    Matrix<float> e = std::move(enrol.vectors), t = test_table.vectors, c = cohort.vectors;
    if (!o.mean.empty()) {
      const ivkit::Vector<float> mean = ivkit::read_kaldi_vector<float>(o.mean);
      if (mean.size() != t.cols())
        throw ivkit::DimensionMismatch(message("the mean '", o.mean, "' has dimension ", mean.size(), " but the embeddings ", t.cols()));
      if (!mean.allFinite()) throw ivkit::NonFiniteInput(message("the mean '", o.mean, "' holds NaN or Inf"));
      e.rowwise() -= mean.transpose();
      t.rowwise() -= mean.transpose();
      if (norm) c.rowwise() -= mean.transpose();
    }
    if (!o.transform.empty()) {
      const Pipeline pipeline = read_transform(o.transform, test_table.dim());
      e = pipeline.apply(e);
      t = pipeline.apply(t);
      if (norm) c = pipeline.apply(c);
      tool.info("transform '", o.transform, "': dimension ", test_table.dim(), " -> ", t.cols());
    }

    // Scoring set-up: cosine, or PLDA with the enrolments and tests prepared once.
    std::unique_ptr<ivkit::PldaScorer<float>> scorer;
    ivkit::PldaEnrolments<float> plda_enrol;
    ivkit::PldaTests<float> plda_test;
    if (plda) {
      ivkit::PldaOptions po;
      po.normalise_length = o.plda_length_norm;
      po.simple_length_norm = o.simple_length_norm;
      Plda model = read_plda(o.plda);
      if (model.dim() != t.cols())
        throw ivkit::DimensionMismatch(message("the PLDA model '", o.plda, "' has dimension ", model.dim(), " but the embeddings",
                                               o.transform.empty() ? "" : " after the transform", " have dimension ", t.cols()));
      scorer = std::make_unique<ivkit::PldaScorer<float>>(std::move(model), po);
      plda_enrol = scorer->enrol(e, o.count_aware ? enrol.counts : std::vector<Index>{});
      plda_test = scorer->test(t);
    }
    const int threads = tool.threads();

    // Cohort statistics (z: of the enrolment models, t: of the test segments), computed only for the
    // models and segments the trials name; the others' stay NaN and are never read.
    const ivkit::ScoreNorm method = o.norm == "z" ? ivkit::ScoreNorm::Z : o.norm == "t" ? ivkit::ScoreNorm::T : ivkit::ScoreNorm::S;
    ivkit::CohortStats enrol_stats, test_stats;
    if (norm) {
      ivkit::ScoreNormOptions so;
      so.top_k = o.top_k;
      so.std_convention = o.std_convention == "unbiased" ? ivkit::StdConvention::Unbiased : ivkit::StdConvention::Population;
      so.std_floor = o.std_floor;
      so.num_threads = threads;
      const int matrices = (method != ivkit::ScoreNorm::T) + (method != ivkit::ScoreNorm::Z);
      Progress progress(tool.name(), "cohort scores", matrices, "score matrices", !tool.quiet());
      if (method != ivkit::ScoreNorm::T) {
        const Matrix<float> ec = plda ? scorer->score_matrix(plda_enrol, scorer->test(c), ivkit::ThreadOptions{threads})
                                      : ivkit::cosine_score_matrix<float>(e, c, ivkit::ThreadOptions{threads});
        enrol_stats = ivkit::enrol_cohort_stats(ec, so, idx.enrol);
        progress.add(1);
      }
      if (method != ivkit::ScoreNorm::Z) {
        const Matrix<float> ct = plda ? scorer->score_matrix(scorer->enrol(c), plda_test, ivkit::ThreadOptions{threads})
                                      : ivkit::cosine_score_matrix<float>(c, t, ivkit::ThreadOptions{threads});
        test_stats = ivkit::test_cohort_stats(ct, so, idx.test);
        progress.add(1);
      }
      progress.finish(message(ivkit::score_norm_name(method), o.top_k > 0 ? message(" (adaptive, top ", o.top_k, ")") : std::string(),
                              " statistics over ", enrol_stats.num_scores > 0 ? enrol_stats.num_scores : test_stats.num_scores,
                              " cohort scores each"));
    }

    // Scores, a block of trials at a time.
    std::string out;
    out.reserve(trials.size() * 40);
    Progress progress(tool.name(), plda ? "PLDA scoring" : "cosine scoring", static_cast<double>(trials.size()), "trials", !tool.quiet());
    double sum = 0;
    for (std::size_t b = 0; b < trials.size(); b += kTrialBlock) {
      const std::size_t end = std::min(trials.size(), b + kTrialBlock);
      const ivkit::TrialIndices block = slice(idx, b, end);
      ivkit::Vector<float> s = plda ? scorer->score_trials(plda_enrol, plda_test, block, ivkit::ThreadOptions{threads})
                                    : ivkit::cosine_score_trials<float>(e, t, block, ivkit::ThreadOptions{threads});
      if (norm) s = ivkit::normalise_trial_scores(s, block, method, enrol_stats, test_stats, ivkit::ThreadOptions{threads});
      for (std::size_t i = b; i < end; ++i) {
        const float v = s(static_cast<Index>(i - b));
        out += trials.enrol[i];
        out += ' ';
        out += trials.test[i];
        out += ' ';
        out += format_float(v);
        out += '\n';
        sum += static_cast<double>(v);
      }
      progress.add(static_cast<double>(end - b));
    }
    progress.finish(message("mean score ", sum / static_cast<double>(trials.size()),
                            norm ? message(" (", o.norm == "as" ? "AS-norm" : ivkit::score_norm_name(method), ")") : std::string()));
    write_text_output(tool.name(), o.output, out);
    if (o.output != "-") tool.info("wrote ", trials.size(), " scores to '", o.output, "'");
  });
}
