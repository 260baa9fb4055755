/// @file
/// Back-end scoring of 1,000 enrolments x 10,000 tests at embedding dimension R (200 and 512), float,
/// single-threaded unless the name says otherwise:
///   - BM_Gemm: the plain matrix product of the same shape (1000 x R times R x 10000) into a
///     preallocated result: the floor every full-matrix scorer is measured against;
///   - BM_Cosine_matrix: cosine_score_matrix (normalising both sets, then the tiled product);
///   - BM_Cosine_matrix_into: cosine_score_matrix_into, the same into a result matrix reused across
///     calls (no 40 MB allocation, hence no page faults, per call);
///   - BM_Cosine_trials: cosine_score_trials over a sparse list of 10 million trials (random pairs
///     given one by one), normalising both sets included; BM_Cosine_trials_into the same into a
///     result vector reused across calls;
///   - BM_Plda_matrix: PldaScorer end to end: transform and length-normalise both sets (Kaldi's
///     count-aware normalisation, enrolments with 1 to 3 embeddings), then score_matrix;
///   - BM_Plda_matrix_prepared: score_matrix alone on prepared sets;
///   - BM_Plda_matrix_into: score_matrix_into on prepared sets, into a result reused across calls
///     (the same output contract as BM_Gemm);
///   - BM_Plda_trials: a sparse list of 10 million trials (random pairs given one by one) on
///     prepared sets; BM_Plda_trials_into the same into a result vector reused across calls (no
///     40 MB of fresh pages to fault in per call); BM_Plda_trials_2threads on two threads;
///   - BM_Kaldi_llr_loop: the per-trial reference, Kaldi's own scoring loop transcribed: as
///     ivector-plda-scoring does for each trial, the transformed enrolment and test vectors (float)
///     are copied into double vectors, then Plda::LogLikelihoodRatio (ivector/plda.cc) computes the
///     two Gaussian log-likelihoods with its five temporary vectors (mean, variance, squared
///     difference, twice), allocated per call as Kaldi's Vector<double> are, and SumLog's running
///     product. Over the first 200,000 trials of the list; its LLRs are checked against plda_llr.
/// Counters: items_per_second = trials/s (per CPU second of the main thread; wall time for the
/// 2-thread case), also shown as trials/s.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "ivkit/backend/cosine.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/core/random.hpp"

namespace {

constexpr ivkit::Index kEnrol = 1000, kTest = 10000, kTrials = 10000000;

struct Data {
  ivkit::Matrix<float> enrol, test;
  std::vector<ivkit::Index> counts;
  ivkit::Plda<float> plda;
  ivkit::PldaEnrolments<float> e;
  ivkit::PldaTests<float> t;
  ivkit::TrialIndices trials;
};

ivkit::Plda<float> make_plda(ivkit::Index r, ivkit::Random& rng) {
  ivkit::ColMatrix<double> a(r, r), c(r, r);
  for (ivkit::Index i = 0; i < r; ++i)
    for (ivkit::Index j = 0; j < r; ++j) {
      a(i, j) = rng.normal();
      c(i, j) = rng.normal();
    }
  const ivkit::ColMatrix<double> b = a * a.transpose() / double(r) + ivkit::ColMatrix<double>::Identity(r, r);
  const ivkit::ColMatrix<double> w = c * c.transpose() / double(r) + 0.5 * ivkit::ColMatrix<double>::Identity(r, r);
  return ivkit::Plda<double>::from_covariances(ivkit::Vector<double>::Zero(r), b, w).cast<float>();
}

const Data& data(ivkit::Index r) {
  static std::vector<std::pair<ivkit::Index, Data*>> cache;
  for (auto& [dim, d] : cache)
    if (dim == r) return *d;
  ivkit::Random rng(20241121 + static_cast<std::uint64_t>(r));
  auto random_rows = [&](ivkit::Index n) {
    ivkit::Matrix<float> m(n, r);
    for (ivkit::Index i = 0; i < n; ++i)
      for (ivkit::Index j = 0; j < r; ++j) m(i, j) = static_cast<float>(rng.normal());
    return m;
  };
  auto* d = new Data{random_rows(kEnrol), random_rows(kTest), {}, make_plda(r, rng), {}, {}, {}};
  for (ivkit::Index k = 0; k < kEnrol; ++k) d->counts.push_back(1 + k % 3);
  const ivkit::PldaScorer<float> scorer(d->plda);
  d->e = scorer.enrol(d->enrol, d->counts);
  d->t = scorer.test(d->test);
  d->trials.enrol.resize(kTrials);
  d->trials.test.resize(kTrials);
  for (ivkit::Index i = 0; i < kTrials; ++i) {
    d->trials.enrol[static_cast<std::size_t>(i)] = static_cast<ivkit::Index>(rng.uniform_index(kEnrol));
    d->trials.test[static_cast<std::size_t>(i)] = static_cast<ivkit::Index>(rng.uniform_index(kTest));
  }
  cache.emplace_back(r, d);
  return *d;
}

void set_rate(benchmark::State& state, double trials) {
  state.SetItemsProcessed(static_cast<std::int64_t>(trials * static_cast<double>(state.iterations())));
  state.counters["trials/s"] = benchmark::Counter(trials, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm(benchmark::State& state) {
  const Data& d = data(state.range(0));
  ivkit::Matrix<float> out(kEnrol, kTest);
  for (auto _ : state) {
    out.noalias() = d.enrol * d.test.transpose();
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Cosine_matrix(benchmark::State& state) {
  const Data& d = data(state.range(0));
  for (auto _ : state) {
    auto m = ivkit::cosine_score_matrix<float>(d.enrol, d.test);
    benchmark::DoNotOptimize(m.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Cosine_matrix_into(benchmark::State& state) {
  const Data& d = data(state.range(0));
  ivkit::Matrix<float> out(kEnrol, kTest);
  for (auto _ : state) {
    ivkit::cosine_score_matrix_into<float>(d.enrol, d.test, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Cosine_trials(benchmark::State& state) {
  const Data& d = data(state.range(0));
  for (auto _ : state) {
    auto s = ivkit::cosine_score_trials<float>(d.enrol, d.test, d.trials, ivkit::ThreadOptions{1});
    benchmark::DoNotOptimize(s.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Cosine_trials_into(benchmark::State& state) {
  const Data& d = data(state.range(0));
  ivkit::Vector<float> out(kTrials);
  for (auto _ : state) {
    ivkit::cosine_score_trials_into<float>(d.enrol, d.test, d.trials, out, ivkit::ThreadOptions{1});
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Plda_matrix(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    const auto e = scorer.enrol(d.enrol, d.counts);
    const auto t = scorer.test(d.test);
    auto m = scorer.score_matrix(e, t);
    benchmark::DoNotOptimize(m.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Plda_matrix_prepared(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    auto m = scorer.score_matrix(d.e, d.t);
    benchmark::DoNotOptimize(m.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Plda_matrix_into(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  ivkit::Matrix<float> out(kEnrol, kTest);
  for (auto _ : state) {
    scorer.score_matrix_into(d.e, d.t, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, double(kEnrol) * double(kTest));
}

void BM_Plda_trials(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    auto s = scorer.score_trials(d.e, d.t, d.trials, ivkit::ThreadOptions{1});
    benchmark::DoNotOptimize(s.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Plda_trials_into(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  ivkit::Vector<float> out(kTrials);
  for (auto _ : state) {
    scorer.score_trials_into(d.e, d.t, d.trials, out, ivkit::ThreadOptions{1});
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Plda_trials_2threads(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    auto s = scorer.score_trials(d.e, d.t, d.trials, ivkit::ThreadOptions{2});
    benchmark::DoNotOptimize(s.data());
  }
  set_rate(state, double(kTrials));
}

// Kaldi's VectorBase<double>::SumLog (matrix/kaldi-vector.cc): a running product, its log taken
// whenever it leaves [1e-10, 1e10].
double kaldi_sum_log(const Eigen::VectorXd& v) {
  double sum_log = 0.0, prod = 1.0;
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    prod *= v(i);
    if (prod < 1.0e-10 || prod > 1.0e+10) {
      sum_log += std::log(prod);
      prod = 1.0;
    }
  }
  if (prod != 1.0) sum_log += std::log(prod);
  return sum_log;
}

// Kaldi's Plda::LogLikelihoodRatio (ivector/plda.cc), statement for statement; Vector<double>
// temporaries become Eigen::VectorXd, heap-allocated per call like Kaldi's.
double kaldi_log_likelihood_ratio(const Eigen::VectorXd& psi, const Eigen::VectorXd& transformed_train_ivector, int n,
                                  const Eigen::VectorXd& transformed_test_ivector) {
  constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // M_LOG_2PI
  const Eigen::Index dim = psi.size();
  double loglike_given_class, loglike_without_class;
  {
    Eigen::VectorXd mean(dim), variance(dim);
    for (Eigen::Index i = 0; i < dim; i++) {
      mean(i) = n * psi(i) / (n * psi(i) + 1.0) * transformed_train_ivector(i);
      variance(i) = 1.0 + psi(i) / (n * psi(i) + 1.0);
    }
    const double logdet = kaldi_sum_log(variance);
    Eigen::VectorXd sqdiff(transformed_test_ivector);
    sqdiff -= mean;                                // AddVec(-1.0, mean)
    sqdiff = sqdiff.array().square().matrix();     // ApplyPow(2.0)
    variance = variance.array().inverse().matrix();  // InvertElements()
    loglike_given_class = -0.5 * (logdet + kLog2Pi * static_cast<double>(dim) + sqdiff.dot(variance));
  }
  {
    Eigen::VectorXd sqdiff(transformed_test_ivector);
    sqdiff = sqdiff.array().square().matrix();
    Eigen::VectorXd variance(psi);
    variance.array() += 1.0;
    const double logdet = kaldi_sum_log(variance);
    variance = variance.array().inverse().matrix();
    loglike_without_class = -0.5 * (logdet + kLog2Pi * static_cast<double>(dim) + sqdiff.dot(variance));
  }
  return loglike_given_class - loglike_without_class;
}

void BM_Kaldi_llr_loop(benchmark::State& state) {
  const Data& d = data(state.range(0));
  // Transformed (and length-normalised) enrolment means and tests, float, as Kaldi keeps them.
  const ivkit::Matrix<float> u = ivkit::plda_transform(d.plda, d.enrol, d.counts);
  const Eigen::VectorXd psi = d.plda.psi().cast<double>();
  constexpr ivkit::Index kSome = 200000;
  for (ivkit::Index i = 0; i < 100; ++i) {
    const auto k = d.trials.enrol[static_cast<std::size_t>(i)], j = d.trials.test[static_cast<std::size_t>(i)];
    const int n = static_cast<int>(d.counts[static_cast<std::size_t>(k)]);
    const double kaldi = kaldi_log_likelihood_ratio(psi, u.row(k).transpose().cast<double>(), n, d.t.vectors.row(j).transpose().cast<double>());
    const double ref = ivkit::plda_llr(d.plda, u.row(k), n, d.t.vectors.row(j));
    if (!(std::abs(kaldi - ref) <= 1e-6 * (1.0 + std::abs(ref)))) {
      state.SkipWithError("the Kaldi transcription disagrees with plda_llr");
      return;
    }
  }
  for (auto _ : state) {
    double sink = 0;
    for (ivkit::Index i = 0; i < kSome; ++i) {
      const auto k = d.trials.enrol[static_cast<std::size_t>(i)], j = d.trials.test[static_cast<std::size_t>(i)];
      // ivector-plda-scoring: Vector<double> train_ivector_dbl(*train_ivector), test_ivector_dbl(*test_ivector);
      const Eigen::VectorXd train_ivector_dbl = u.row(k).transpose().cast<double>();
      const Eigen::VectorXd test_ivector_dbl = d.t.vectors.row(j).transpose().cast<double>();
      sink += kaldi_log_likelihood_ratio(psi, train_ivector_dbl, static_cast<int>(d.counts[static_cast<std::size_t>(k)]), test_ivector_dbl);
    }
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state, double(kSome));
}

}  // namespace

BENCHMARK(BM_Gemm)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cosine_matrix)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cosine_matrix_into)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cosine_trials)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cosine_trials_into)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_matrix)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_matrix_prepared)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_matrix_into)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_trials)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_trials_into)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_trials_2threads)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Kaldi_llr_loop)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
