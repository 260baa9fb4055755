/// @file
/// Back-end scoring of 1,000 enrolments x 10,000 tests at embedding dimension R (200 and 512), float,
/// single-threaded unless the name says otherwise:
///   - BM_Gemm: the plain matrix product of the same shape (1000 x R times R x 10000) into a
///     preallocated result: the floor every full-matrix scorer is measured against;
///   - BM_Cosine_matrix: cosine_score_matrix (normalising both sets, then the tiled product);
///   - BM_Plda_matrix: PldaScorer end to end: transform and length-normalise both sets (Kaldi's
///     count-aware normalisation, enrolments with 1 to 3 embeddings), then score_matrix;
///   - BM_Plda_matrix_prepared: score_matrix alone on prepared sets;
///   - BM_Plda_trials: a sparse list of 10 million trials (random pairs given one by one) on
///     prepared sets; BM_Plda_trials_2threads on two threads;
///   - BM_Kaldi_llr_loop: Kaldi's Plda::LogLikelihoodRatio per trial (a double loop over the
///     dimension with its temporaries), on prepared vectors: the per-trial reference.
/// Counter: trials/s (per CPU second of the main thread; wall time for the 2-thread case).
#include <benchmark/benchmark.h>

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

void BM_Plda_trials(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    auto s = scorer.score_trials(d.e, d.t, d.trials, 1);
    benchmark::DoNotOptimize(s.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Plda_trials_2threads(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::PldaScorer<float> scorer(d.plda);
  for (auto _ : state) {
    auto s = scorer.score_trials(d.e, d.t, d.trials, 2);
    benchmark::DoNotOptimize(s.data());
  }
  set_rate(state, double(kTrials));
}

void BM_Kaldi_llr_loop(benchmark::State& state) {
  const Data& d = data(state.range(0));
  const ivkit::Matrix<float> u = ivkit::plda_transform(d.plda, d.enrol, d.counts);
  constexpr ivkit::Index kSome = 200000;
  for (auto _ : state) {
    double sink = 0;
    for (ivkit::Index i = 0; i < kSome; ++i) {
      const auto k = d.trials.enrol[static_cast<std::size_t>(i)], j = d.trials.test[static_cast<std::size_t>(i)];
      sink += ivkit::plda_llr(d.plda, u.row(k), d.counts[static_cast<std::size_t>(k)], d.t.vectors.row(j));
    }
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state, double(kSome));
}

}  // namespace

BENCHMARK(BM_Gemm)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cosine_matrix)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_matrix)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_matrix_prepared)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_trials)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plda_trials_2threads)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Kaldi_llr_loop)->Arg(200)->Arg(512)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
