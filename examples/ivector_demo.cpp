// ivkit i-vector demo: synthetic speakers drawn from a known total-variability model; trains a
// UBM, an i-vector extractor (progress through a callback), extracts i-vectors of held-out
// speakers and scores them with cosine similarity.
//
//   ivector_demo [--speakers 60] [--utterances 8] [--threads 0] [--seed 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ivkit/ivkit.hpp>
#include <string>
#include <vector>

namespace {
struct Args {
  long speakers = 60, utterances = 8;
  int threads = 0;
  unsigned long seed = 3;
};
Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string o = argv[i];
    if (o == "--help" || o == "-h" || i + 1 >= argc) {
      std::printf("usage: ivector_demo [--speakers S (60)] [--utterances U per speaker (8)] [--threads T (0 = all)] [--seed N]\n");
      std::exit(o == "--help" || o == "-h" ? 0 : 2);
    }
    const char* v = argv[++i];
    if (o == "--speakers") a.speakers = std::atol(v);
    else if (o == "--utterances") a.utterances = std::atol(v);
    else if (o == "--threads") a.threads = std::atoi(v);
    else if (o == "--seed") a.seed = std::strtoul(v, nullptr, 10);
  }
  return a;
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) try {
  using namespace ivkit;
  const Args args = parse(argc, argv);
  const Index C = 64, D = 20, R_true = 10, R = 20, frames_per_utt = 300;
  Random rng(args.seed);

  // The generating model: a 64-component mixture, a speaker subspace and a weaker channel subspace.
  Matrix<double> mu(C, D), sd(C, D), Ts(C * D, R_true), Tch(C * D, 3);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = 3.0 * rng.normal();
      sd(c, d) = 0.7 + 0.6 * rng.uniform();
    }
  for (Index i = 0; i < C * D; ++i) {
    for (Index r = 0; r < R_true; ++r) Ts(i, r) = 0.25 * rng.normal();
    for (Index r = 0; r < 3; ++r) Tch(i, r) = 0.15 * rng.normal();
  }
  const Index S = args.speakers, per = args.utterances, U = S * per;
  std::vector<Matrix<float>> utts(static_cast<std::size_t>(U));
  std::vector<Index> speaker_of(static_cast<std::size_t>(U));
  for (Index s = 0; s < S; ++s) {
    Eigen::VectorXd ws(R_true);
    for (Index r = 0; r < R_true; ++r) ws(r) = rng.normal();
    for (Index k = 0; k < per; ++k) {
      Eigen::VectorXd wc(3);
      for (Index r = 0; r < 3; ++r) wc(r) = rng.normal();
      const Eigen::VectorXd shift = Ts * ws + Tch * wc;
      Matrix<float> x(frames_per_utt, D);
      for (Index t = 0; t < frames_per_utt; ++t) {
        const Index c = static_cast<Index>(rng.uniform_index(static_cast<std::uint64_t>(C)));
        for (Index d = 0; d < D; ++d)
          x(t, d) = static_cast<float>(mu(c, d) + shift(c * D + d) + sd(c, d) * rng.normal());
      }
      utts[static_cast<std::size_t>(s * per + k)] = std::move(x);
      speaker_of[static_cast<std::size_t>(s * per + k)] = s;
    }
  }
  // First half of the speakers train the UBM and the extractor; the rest are scored.
  const Index train_utts = (S / 2) * per;
  std::printf("ivkit i-vector demo: %ld speakers x %ld utterances x %ld frames, D = %ld, C = %ld, R = %ld\n",
              static_cast<long>(S), static_cast<long>(per), static_cast<long>(frames_per_utt), static_cast<long>(D),
              static_cast<long>(C), static_cast<long>(R));

  auto t0 = std::chrono::steady_clock::now();
  Matrix<float> pooled(train_utts * frames_per_utt, D);
  for (Index u = 0; u < train_utts; ++u) pooled.middleRows(u * frames_per_utt, frames_per_utt) = utts[static_cast<std::size_t>(u)];
  GmmTrainOptions gopts;
  gopts.num_components = C;
  gopts.num_iterations = 20;
  gopts.initial_components = 1;
  gopts.accumulate.num_threads = args.threads;
  GmmTrainReport grep;
  const DiagGmm<float> ubm = train_diag_gmm<float>(pooled, gopts, &grep);
  std::printf("UBM: %zu EM iterations, avg log-lik/frame %.4f (%.1f s)\n", grep.iterations.size(),
              grep.final_average_log_likelihood, seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  StatsSet<float> train(C, D), test(C, D);
  StatsOptions sopts;
  sopts.num_threads = args.threads;
  for (Index u = 0; u < U; ++u) {
    const UtteranceStats st = compute_stats(ubm, utts[static_cast<std::size_t>(u)], sopts);
    add_to(u < train_utts ? train : test, "utt" + std::to_string(u), st);
  }
  std::printf("Baum-Welch statistics of %ld utterances (%.2f s)\n", static_cast<long>(U), seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  IvectorTrainOptions topts;
  topts.num_iterations = 6;
  topts.accumulate.num_threads = args.threads;
  topts.progress = [](const IvectorIteration& it) {
    std::printf("  extractor EM iteration %d: objective per utterance %.3f\n", it.iteration, it.objective);
    std::fflush(stdout);
  };
  const IvectorExtractor<float> extractor = train_extractor(init_extractor_pca(ubm, train, R), train, topts);
  std::printf("extractor trained (%.2f s)\n", seconds_since(t0));

  ExtractOptions eopts;
  eopts.num_threads = args.threads;
  const Ivectors<float> iv = extractor.extract(test, eopts);
  // Cosine scoring of every pair of test utterances, after centring on the training i-vectors' mean.
  const Ivectors<float> iv_train = extractor.extract(train, eopts);
  const Eigen::RowVectorXf centre = iv_train.means.colwise().mean();
  Matrix<float> x = iv.means.rowwise() - centre;
  x.rowwise().normalize();
  const Matrix<float> scores = x * x.transpose();
  std::vector<double> target, nontarget;
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = i + 1; j < x.rows(); ++j)
      (speaker_of[static_cast<std::size_t>(train_utts + i)] == speaker_of[static_cast<std::size_t>(train_utts + j)] ? target : nontarget)
          .push_back(scores(i, j));
  // EER by a threshold sweep over the sorted scores (ivkit/eval has the full set of metrics).
  std::sort(target.begin(), target.end());
  std::sort(nontarget.begin(), nontarget.end());
  double eer = 1.0;
  for (const double thr : target) {
    const double miss = static_cast<double>(std::lower_bound(target.begin(), target.end(), thr) - target.begin()) / static_cast<double>(target.size());
    const double fa = static_cast<double>(nontarget.end() - std::lower_bound(nontarget.begin(), nontarget.end(), thr)) / static_cast<double>(nontarget.size());
    eer = std::min(eer, std::max(miss, fa));
  }
  double mt = 0, mn = 0;
  for (double s : target) mt += s;
  for (double s : nontarget) mn += s;
  std::printf("cosine scoring of %zu target and %zu non-target pairs: mean %.3f vs %.3f, EER %.2f%%\n", target.size(),
              nontarget.size(), mt / static_cast<double>(target.size()), mn / static_cast<double>(nontarget.size()), 100.0 * eer);
  return 0;
} catch (const ivkit::Error& e) {
  std::fprintf(stderr, "ivector_demo: %s\n", e.what());
  return 1;
}
