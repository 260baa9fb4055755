// ivkit-gmm-ubm-score: the classic GMM-UBM system (Reynolds et al. 2000): each enrolment model is the
// UBM MAP-adapted to its utterances' frames; a trial's score is the average per-frame log-likelihood
// ratio of the test frames, adapted model against UBM, over the UBM's top-N Gaussians per frame.
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/core/file_io.hpp>
#include <ivkit/core/parallel.hpp>
#include <ivkit/gmm/gmm_ubm_score.hpp>
#include <ivkit/gmm/map.hpp>
#include <ivkit/io/kaldi_reader.hpp>
#include <ivkit/stats/baum_welch.hpp>

#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/models.hpp"
#include "common/progress.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;
using ivkit::detail::message;

int main(int argc, char** argv) {
  Tool tool("ivkit-gmm-ubm-score",
            "The GMM-UBM system: every enrolment model is the UBM MAP-adapted to the frames of its utterances (--enrol-spk2utt, or "
            "one utterance per model), by default the means only with relevance factor 16 (Reynolds et al.); every trial scores the "
            "average per-frame log-likelihood ratio of its test utterance, model against UBM, on the UBM's --top-n best Gaussians of "
            "each frame. A full-covariance UBM is used through its diagonal. Writes 'enrol test score' per trial, in trial order.",
            "  ivkit-gmm-ubm-score --enrol-spk2utt data/enrol/spk2utt exp/ubm/final.dubm data/test/trials scp:data/enrol/feats.scp \\\n"
            "      scp:data/test/feats.scp exp/scores/gmm_ubm\n"
            "  ivkit-gmm-ubm-score --sid-pipeline --vad-rspecifier scp:vad.scp final.dubm trials scp:mfcc.scp scp:mfcc.scp scores");
  std::string ubm_path, trials_path, enrol_feats, test_feats, out_path, spk2utt, trials_format = "auto";
  ivkit::MapOptions map = ivkit::MapOptions::means_only(16.0);
  Index top_n = 5;
  auto& app = tool.app();
  app.add_option("ubm", ubm_path, "the UBM (ivkit or Kaldi file; a full one is used through its diagonal)")->required();
  app.add_option("trials", trials_path, "trial list (Kaldi, stklia, or 'enrol test' pairs)")->required();
  app.add_option("enrol-feats-rspecifier", enrol_feats, "features of the enrolment utterances")->required();
  app.add_option("test-feats-rspecifier", test_feats, "features of the test utterances (may be the same table)")->required();
  app.add_option("scores-out", out_path, "output: 'enrol test score' per trial (- for stdout)")->required();
  app.add_option("--enrol-spk2utt", spk2utt, "enrolment models: 'model utterance...' per line (default: each enrolment key is an utterance)");
  app.add_option("--trials-format", trials_format, "auto, kaldi, stklia or pairs")->check(CLI::IsMember({"auto", "kaldi", "stklia", "pairs"}));
  app.add_option("--relevance", map.mean_tau, "relevance factor of the mean update (Kaldi's --mean-tau)")->check(CLI::NonNegativeNumber);
  app.add_option("--variance-relevance", map.variance_tau, "relevance factor of the variance update")->check(CLI::NonNegativeNumber);
  app.add_option("--weight-relevance", map.weight_tau, "relevance factor of the weight update")->check(CLI::NonNegativeNumber);
  app.add_option("--update-variances", map.update_variances, "also adapt the variances (gmm-adapt-map --update-flags=mvw)");
  app.add_option("--update-weights", map.update_weights, "also adapt the weights");
  app.add_option("--top-n", top_n, "score on the UBM's n best Gaussians per frame (0 = all components)")->check(CLI::NonNegativeNumber);
  FeatureProcessing processing;
  processing.add_options(app);
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    processing.finish_options(app, tool);
    const Ubm read = read_ubm(ubm_path);
    const DiagUbm ubm = read.to_diag();
    const Index C = ubm.num_components(), D = ubm.dim();
    const TrialList list = read_trial_list(trials_path, trials_format, true);
    const ivkit::Trials& trials = list.trials;

    // Enrolment models: which utterances make which model.
    std::vector<std::string> models;
    std::unordered_map<std::string, std::size_t> model_index;
    std::unordered_map<std::string, std::vector<std::size_t>> utt_models;  // utterance -> models it enrols
    if (!spk2utt.empty()) {
      const SpeakerMap m = read_spk2utt(spk2utt);
      for (std::size_t s = 0; s < m.speakers.size(); ++s) {
        model_index.emplace(m.speakers[s], models.size());
        for (const auto& u : m.utterances[s]) utt_models[u].push_back(models.size());
        models.push_back(m.speakers[s]);
      }
    } else {
      for (const auto& e : trials.enrol)
        if (model_index.emplace(e, models.size()).second) {
          utt_models[e].push_back(models.size());
          models.push_back(e);
        }
    }
    for (std::size_t i = 0; i < trials.size(); ++i)
      if (!model_index.count(trials.enrol[i]))
        throw ivkit::FormatError(message("'", trials.source, "' line ", trials.lines.empty() ? i + 1 : trials.lines[i], ": the enrolment model '",
                                         trials.enrol[i], "' is not in '", spk2utt, "'"));

    // Statistics of each model, pooled over its utterances (read in table order, in batches).
    ivkit::StatsOptions so;
    so.top_n = top_n;
    so.second_order = map.update_variances;
    std::vector<ivkit::UtteranceStats> pooled(models.size());
    for (auto& s : pooled) {
      s.zeroth = Eigen::VectorXd::Zero(C);
      s.first = Matrix<double>::Zero(C, D);
      if (so.second_order) s.second = Matrix<double>::Zero(C, D);
    }
    std::vector<std::size_t> enrol_utts(models.size(), 0);
    Progress enrol_progress(tool.name(), "enrolment", 0, "utterances", !tool.quiet());
    for_each_utterance_batch(enrol_feats, 64, D, [&](std::vector<Utterance>& batch) {
      std::vector<ivkit::UtteranceStats> stats(batch.size());
      ivkit::parallel_for_blocks(static_cast<Index>(batch.size()), tool.threads(), [&](Index b) {
        const Utterance& u = batch[static_cast<std::size_t>(b)];
        if (utt_models.count(u.key) && u.frames.rows() > 0) stats[static_cast<std::size_t>(b)] = ivkit::compute_stats(ubm, u.frames, so);
      });
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto it = utt_models.find(batch[i].key);
        if (it == utt_models.end() || batch[i].frames.rows() == 0) continue;
        for (std::size_t m : it->second) {
          pooled[m].zeroth += stats[i].zeroth;
          pooled[m].first += stats[i].first;
          if (so.second_order) pooled[m].second += stats[i].second;
          pooled[m].num_frames += stats[i].num_frames;
          ++enrol_utts[m];
        }
      }
      enrol_progress.add(static_cast<double>(batch.size()));
    }, &processing);
    enrol_progress.finish();
    std::vector<DiagUbm> adapted(models.size());
    for (std::size_t m = 0; m < models.size(); ++m) {
      if (enrol_utts[m] == 0)
        throw ivkit::FormatError(message("the enrolment model '", models[m], "' has no utterance with frames in '", enrol_feats, "'"));
      adapted[m] = ivkit::map_adapt(ubm, pooled[m], map);
    }
    tool.info(models.size(), " enrolment models adapted from ", ubm_path, " (", C, " components)");

    // Trials by test utterance; the test table is read once, in its order.
    std::unordered_map<std::string, std::vector<std::size_t>> by_test;
    for (std::size_t i = 0; i < trials.size(); ++i) by_test[trials.test[i]].push_back(i);
    std::vector<double> scores(trials.size(), 0.0);
    std::vector<char> scored(trials.size(), 0);
    Progress progress(tool.name(), "scoring", 0, "test utterances", !tool.quiet());
    for_each_utterance_batch(test_feats, 16, D, [&](std::vector<Utterance>& batch) {
      std::vector<std::pair<std::size_t, const Utterance*>> work;
      for (const auto& u : batch) {
        const auto it = by_test.find(u.key);
        if (it == by_test.end()) continue;
        if (u.frames.rows() == 0) throw ivkit::FormatError(message("the test utterance '", u.key, "' of '", test_feats, "' has no frames"));
        for (std::size_t t : it->second) work.emplace_back(t, &u);
      }
      ivkit::parallel_for_blocks(static_cast<Index>(work.size()), tool.threads(), [&](Index w) {
        const auto [t, u] = work[static_cast<std::size_t>(w)];
        scores[t] = ivkit::gmm_ubm_score(adapted[model_index.at(trials.enrol[t])], ubm, u->frames, top_n);
        scored[t] = 1;
      });
      progress.add(static_cast<double>(batch.size()));
    }, &processing);
    progress.finish();
    std::string out;
    for (std::size_t i = 0; i < trials.size(); ++i) {
      if (!scored[i])
        throw ivkit::FormatError(message("'", trials.source, "' line ", trials.lines.empty() ? i + 1 : trials.lines[i], ": the test utterance '",
                                         trials.test[i], "' is not in '", test_feats, "'"));
      out += trials.enrol[i] + ' ' + trials.test[i] + ' ' + format_real(scores[i]) + '\n';
    }
    write_text_output(tool.name(), out_path, out);
    tool.info("scored ", trials.size(), " trials");
  });
}
