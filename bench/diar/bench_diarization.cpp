/// @file
/// The diarisation back-end of one recording of n windows (n = 1200, 4800: 15 minutes and an hour
/// of 1.5 s windows every 0.75 s), 64-dimensional embeddings of 4 speakers, fixed seed:
///   - BM_Cluster_average: average-linkage clustering of the n x n score matrix (nearest-neighbour
///     chain), cut at 4 clusters;
///   - BM_Cluster_centroid: centroid linkage (greedy with kept nearest neighbours);
///   - BM_Dense_cosine: the cosine scores of all pairs (one product) and their symmetric part;
///   - BM_Gemm_reference: the n x 64 by 64 x n product alone, the machine's GEMM for the same size.
/// And the text side of evaluation: BM_Join_in_order, join_trial_scores over 10^6 trial and score
/// lines in the same order (LineReader from memory, no files), against BM_Split_reference, the
/// field splitting of the same lines alone.
/// Counters: windows/s or lines/s. Single-threaded.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "ivkit/core/random.hpp"
#include "ivkit/core/text_fields.hpp"
#include "ivkit/diar/clustering.hpp"
#include "ivkit/diar/dense_scoring.hpp"
#include "ivkit/io/trial_scores.hpp"

namespace {

ivkit::Matrix<float> embeddings(ivkit::Index n) {
  ivkit::Random rng(7);
  ivkit::Matrix<float> centres(4, 64), x(n, 64);
  for (ivkit::Index i = 0; i < centres.size(); ++i) centres.data()[i] = static_cast<float>(rng.normal());
  for (ivkit::Index i = 0; i < n; ++i)
    for (ivkit::Index j = 0; j < 64; ++j) x(i, j) = centres((i / 40) % 4, j) + 0.8f * static_cast<float>(rng.normal());
  return x;
}

void cluster(benchmark::State& state, ivkit::Linkage linkage) {
  const ivkit::Index n = state.range(0);
  const ivkit::Matrix<double> s = ivkit::dense_cosine_scores(embeddings(n));
  ivkit::ClusteringOptions o;
  o.linkage = linkage;
  o.num_clusters = 4;
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::cluster(s, o).num_clusters);
  state.counters["windows/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Cluster_average(benchmark::State& state) { cluster(state, ivkit::Linkage::Average); }
void BM_Cluster_centroid(benchmark::State& state) { cluster(state, ivkit::Linkage::Centroid); }

void BM_Dense_cosine(benchmark::State& state) {
  const ivkit::Matrix<float> x = embeddings(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::dense_cosine_scores(x).data());
  state.counters["windows/s"] = benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm_reference(benchmark::State& state) {
  const ivkit::Matrix<float> x = embeddings(state.range(0));
  ivkit::Matrix<float> out(x.rows(), x.rows());
  for (auto _ : state) {
    out.noalias() = x * x.transpose();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["windows/s"] = benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

constexpr int kLines = 1000000;

std::shared_ptr<const std::string> text(bool scores) {
  auto s = std::make_shared<std::string>();
  for (int i = 0; i < kLines; ++i)
    *s += "spk" + std::to_string(i % 1000) + "-" + std::to_string(i) + " utt" + std::to_string(i + 1) +
          (scores ? " " + std::to_string(0.001 * (i % 5000) - 2.5) + "\n" : (i % 10 == 0 ? " target\n" : " nontarget\n"));
  return s;
}

void BM_Join_in_order(benchmark::State& state) {
  const auto trials = text(false), scores = text(true);
  for (auto _ : state) {
    ivkit::LineReader t(trials, "trials"), s(scores, "scores");
    double sum = 0;
    ivkit::join_trial_scores(t, s, [&](double v, bool) { sum += v; });
    benchmark::DoNotOptimize(sum);
  }
  state.counters["lines/s"] = benchmark::Counter(kLines, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Split_reference(benchmark::State& state) {
  const auto trials = text(false), scores = text(true);
  for (auto _ : state) {
    std::size_t fields = 0;
    for (const auto& t : {trials, scores}) {
      ivkit::LineReader r(t, "x");
      std::string_view line, f[4];
      while (r.next(line)) fields += ivkit::detail::split_fields_into(line, f, 4);
    }
    benchmark::DoNotOptimize(fields);
  }
  state.counters["lines/s"] = benchmark::Counter(kLines, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Cluster_average)->Arg(1200)->Arg(4800)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cluster_centroid)->Arg(1200)->Arg(4800)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Dense_cosine)->Arg(1200)->Arg(4800)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_reference)->Arg(1200)->Arg(4800)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Join_in_order)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Split_reference)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
