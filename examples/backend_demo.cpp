// ivkit back-end demo: speaker embeddings drawn from a known model (a low-rank speaker subspace,
// a low-rank channel subspace and noise), then the usual back-ends trained on one set of speakers
// and evaluated on held-out ones:
//   cosine on raw embeddings; centring + LDA + length norm + cosine; the same + two-covariance PLDA
//   with count-aware (by-the-book) multi-session enrolment.
// Prints EER and minDCF for each, writes the trial list, the PLDA scores and a DET plot (SVG).
//
//   backend_demo [--out DIR (backend_demo_out)] [--dim 120] [--lda 60] [--threads 0] [--seed 5]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ivkit/ivkit.hpp>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string out = "backend_demo_out";
  long dim = 120, lda = 60;
  int threads = 0;
  unsigned long seed = 5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string o = argv[i];
    if (o == "--help" || o == "-h" || i + 1 >= argc) {
      std::printf("usage: backend_demo [--out DIR] [--dim D (120)] [--lda K (60)] [--threads T (0 = all)] [--seed N]\n");
      std::exit(o == "--help" || o == "-h" ? 0 : 2);
    }
    const char* v = argv[++i];
    if (o == "--out") a.out = v;
    else if (o == "--dim") a.dim = std::atol(v);
    else if (o == "--lda") a.lda = std::atol(v);
    else if (o == "--threads") a.threads = std::atoi(v);
    else if (o == "--seed") a.seed = std::strtoul(v, nullptr, 10);
    else {
      std::fprintf(stderr, "backend_demo: unknown option %s\n", o.c_str());
      std::exit(2);
    }
  }
  return a;
}

/// Embeddings x = mu + V y_speaker + U z_session + e: speaker rank 30, channel rank 20, isotropic noise.
struct Generator {
  ivkit::Vector<double> mu;
  ivkit::ColMatrix<double> v, u;
  ivkit::Random rng;
  Generator(ivkit::Index d, unsigned long seed) : mu(d), v(d, 30), u(d, 20), rng(seed) {
    for (ivkit::Index i = 0; i < d; ++i) {
      mu(i) = 3.0 * rng.normal();
      for (ivkit::Index j = 0; j < 30; ++j) v(i, j) = 0.1 * rng.normal();
      for (ivkit::Index j = 0; j < 20; ++j) u(i, j) = 0.5 * rng.normal();
    }
  }
  ivkit::Vector<double> gauss(ivkit::Index n) {
    ivkit::Vector<double> g(n);
    for (ivkit::Index i = 0; i < n; ++i) g(i) = rng.normal();
    return g;
  }
  /// `sessions` embeddings of `speakers` new speakers, appended to x (rows) with their labels.
  void draw(ivkit::Index speakers, ivkit::Index sessions, std::vector<ivkit::Vector<double>>& x, std::vector<ivkit::Index>& labels) {
    for (ivkit::Index s = 0; s < speakers; ++s) {
      const ivkit::Vector<double> speaker = mu + v * gauss(30);
      const ivkit::Index id = static_cast<ivkit::Index>(labels.empty() ? 0 : labels.back() + 1);
      for (ivkit::Index k = 0; k < sessions; ++k) {
        x.push_back(speaker + u * gauss(20) + 1.0 * gauss(mu.size()));
        labels.push_back(id);
      }
    }
  }
};

ivkit::Matrix<float> stack(const std::vector<ivkit::Vector<double>>& rows) {
  ivkit::Matrix<float> m(static_cast<ivkit::Index>(rows.size()), rows.front().size());
  for (std::size_t i = 0; i < rows.size(); ++i) m.row(static_cast<ivkit::Index>(i)) = rows[i].transpose().cast<float>();
  return m;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  namespace fs = std::filesystem;
  fs::create_directories(args.out);
  Generator gen(args.dim, args.seed);

  // Training set: 400 speakers x 6 sessions. Evaluation: 150 new speakers, 3 enrolment and 6 test sessions each.
  std::vector<ivkit::Vector<double>> train_rows, enrol_rows, test_rows;
  std::vector<ivkit::Index> train_labels, eval_labels, test_labels;
  gen.draw(400, 6, train_rows, train_labels);
  gen.draw(150, 9, enrol_rows, eval_labels);
  std::vector<ivkit::Vector<double>> enrol_only;
  std::vector<ivkit::Index> enrol_labels;
  for (std::size_t i = 0; i < enrol_rows.size(); ++i) {
    if (i % 9 < 3) {
      enrol_only.push_back(enrol_rows[i]);
      enrol_labels.push_back(eval_labels[i]);
    } else {
      test_rows.push_back(enrol_rows[i]);
      test_labels.push_back(eval_labels[i]);
    }
  }
  const ivkit::Matrix<float> train = stack(train_rows), enrol = stack(enrol_only), test = stack(test_rows);
  std::printf("backend_demo: %ld-dim embeddings; train %ld (400 speakers), enrol %ld (150 models x 3), test %ld\n", args.dim,
              static_cast<long>(train.rows()), static_cast<long>(enrol.rows()), static_cast<long>(test.rows()));

  // Trial list: every enrolment model against every test segment.
  ivkit::Trials trials;
  std::vector<std::string> model_ids, test_ids;
  for (int k = 0; k < 150; ++k) model_ids.push_back("spk" + std::to_string(k));
  for (std::size_t j = 0; j < test_rows.size(); ++j) test_ids.push_back("seg" + std::to_string(j));
  for (int k = 0; k < 150; ++k)
    for (std::size_t j = 0; j < test_rows.size(); ++j) {
      trials.enrol.push_back(model_ids[static_cast<std::size_t>(k)]);
      trials.test.push_back(test_ids[j]);
      trials.labels.push_back(test_labels[j] - test_labels.front() == k);
    }
  {
    std::ofstream f(args.out + "/trials");
    ivkit::write_trials(f, trials, ivkit::TrialFormat::Kaldi);
  }
  const ivkit::TrialIndices idx = ivkit::trial_indices(trials, model_ids, test_ids);

  // Back-end fitted on the training speakers only.
  const auto centre = ivkit::fit_centre(train);
  ivkit::LdaOptions lda_opt;
  lda_opt.dim = args.lda;
  const auto lda = centre.then(ivkit::fit_lda(centre.apply(train), train_labels, lda_opt));
  const ivkit::Matrix<float> train_lda = ivkit::normalise_length(lda.apply(train));
  ivkit::PldaTrainingReport report;
  const auto plda = ivkit::train_plda<float>(train_lda, train_labels, {}, &report);
  std::printf("PLDA: %ld speakers, EM objective %.4f -> %.4f per embedding\n", static_cast<long>(report.num_classes),
              report.objective.front(), report.objective.back());
  plda.save(args.out + "/plda.ivk");

  // Enrolment models: the average of each speaker's 3 sessions, and how many there were.
  const auto models_raw = ivkit::average_by_label<float>(enrol, enrol_labels, ivkit::EnrolmentAveraging::Mean);
  const ivkit::Matrix<float> enrol_lda = ivkit::normalise_length(lda.apply(enrol));
  const ivkit::Matrix<float> test_lda = ivkit::normalise_length(lda.apply(test));
  const auto models_lda = ivkit::average_by_label<float>(enrol_lda, enrol_labels, ivkit::EnrolmentAveraging::MeanThenNorm);

  struct System {
    std::string name;
    ivkit::Vector<float> scores;
  };
  std::vector<System> systems;
  systems.push_back({"cosine, raw", ivkit::cosine_score_trials<float>(models_raw.means, test, idx, ivkit::ThreadOptions{args.threads})});
  systems.push_back({"cosine, LDA " + std::to_string(args.lda), ivkit::cosine_score_trials<float>(models_lda.means, test_lda, idx, ivkit::ThreadOptions{args.threads})});
  const ivkit::PldaScorer<float> scorer(plda);
  const auto e = scorer.enrol(models_lda.means, models_lda.counts);
  const auto t = scorer.test(test_lda);
  systems.push_back({"PLDA, LDA " + std::to_string(args.lda) + ", by-the-book enrolment", scorer.score_trials(e, t, idx, ivkit::ThreadOptions{args.threads})});

  std::vector<ivkit::DetPlotSeries> curves;
  const ivkit::DcfParams dcf01{0.01, 1, 1}, dcf05{0.05, 1, 1};
  for (const auto& s : systems) {
    const ivkit::SortedScores sorted(ivkit::ScoreView(s.scores), trials.labels);
    std::printf("\n%s\n  %s\n  %s\n  %s\n", s.name.c_str(), ivkit::eer(sorted, ivkit::EerConvention::Rocch).to_string().c_str(),
                ivkit::min_dcf(sorted, dcf01).to_string().c_str(), ivkit::min_dcf(sorted, dcf05).to_string().c_str());
    curves.push_back({s.name, ivkit::det_curve(sorted)});
  }
  {
    std::ofstream f(args.out + "/plda_scores");
    for (std::size_t i = 0; i < trials.size(); ++i)
      f << trials.enrol[i] << ' ' << trials.test[i] << ' ' << systems.back().scores(static_cast<ivkit::Index>(i)) << '\n';
  }
  ivkit::DetPlotOptions plot;
  plot.title = "backend_demo: held-out speakers";
  ivkit::write_det_svg(args.out + "/det.svg", curves, plot);
  std::printf("\noutputs in %s/: trials, plda_scores, plda.ivk, det.svg\n", args.out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "backend_demo: %s\n", e.what());
  return 1;
}
