/// @file
/// Evaluation metrics on 10 million scores (1 million targets ~ N(2, 1), 9 million non-targets
/// ~ N(0, 1), double, fixed seed):
///   - BM_Exact_eer_mindcf: the exact, sort-based path: SortedScores (copy + radix sort of both lists),
///     then the ROCCH EER and minDCF(0.01, 1, 1); the timed work is what a caller pays per system;
///   - BM_Exact_all: the same sort, then all three EER conventions, minDCF, actDCF and minCllr;
///   - BM_Exact_std_sort: the copy + std::sort that the radix sort replaces (reference only);
///   - BM_Kaldi_reference: Kaldi compute-eer's own computation (std::sort of float scores and its
///     loop), the convention's reference implementation, without compute-eer's text parsing;
///   - BM_Histogram_eer_mindcf: the streaming ScoreHistogram (2^16 bins) over a known range: the
///     scores added in chunks of 1 million, then the ROCCH EER (with its bounds) and minDCF;
///   - BM_Histogram_two_pass: the same with the range found by a first pass (ScoreRange);
///   - BM_Histogram_with_cllr: the single pass with the exact Cllr sums switched on;
///   - BM_Streaming_eer_mindcf: the exact, bounded-memory path: StreamingScoreSorter with a budget of
///     10^6 scores (8 MB) fed in labelled chunks of 10^6, runs spilled to the system temporary
///     directory, then the ROCCH EER and minDCF (two merge passes); figures equal BM_Exact's;
///   - BM_Streaming_evaluate: the same sorter, then evaluate(): all three EERs, minDCF, actDCF, Cllr
///     and minCllr in one merge pass;
///   - BM_Exact_evaluate: evaluate() on SortedScores, the in-memory counterpart of the previous one.
/// Counter: scores/s (10^7 per iteration divided by the CPU time of the thread). Single-threaded.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <sys/types.h>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/eval/external_sort.hpp"
#include "ivkit/eval/metrics.hpp"

namespace {

constexpr std::size_t kTargets = 1000000;
constexpr std::size_t kNontargets = 9000000;
constexpr double kScores = double(kTargets + kNontargets);
constexpr std::size_t kChunk = 1000000;

constexpr std::size_t kBudget = 1000000;

struct Data {
  std::vector<double> tar, non;
  std::vector<double> mixed;   // the same scores, targets and non-targets interleaved (1 in 10)
  ivkit::TrialLabels labels;   // of `mixed`
};

const Data& data() {
  static const Data d = [] {
    ivkit::Random rng(20240611);
    Data x;
    x.tar.resize(kTargets);
    x.non.resize(kNontargets);
    for (auto& s : x.tar) s = 2.0 + rng.normal();
    for (auto& s : x.non) s = rng.normal();
    for (std::size_t i = 0, t = 0, n = 0; i < kTargets + kNontargets; ++i) {
      const bool is_target = i % 10 == 0;
      x.mixed.push_back(is_target ? x.tar[t++] : x.non[n++]);
      x.labels.push_back(is_target);
    }
    return x;
  }();
  return d;
}

void set_rate(benchmark::State& state) {
  state.counters["scores/s"] = benchmark::Counter(kScores, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Exact_eer_mindcf(benchmark::State& state) {
  const Data& d = data();
  double sink = 0;
  for (auto _ : state) {
    const ivkit::SortedScores s(d.tar, d.non);
    sink += ivkit::eer(s, ivkit::EerConvention::Rocch).eer;
    sink += ivkit::min_dcf(s, ivkit::DcfParams{0.01, 1, 1}).value;
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state);
}
BENCHMARK(BM_Exact_eer_mindcf)->Unit(benchmark::kMillisecond);

void BM_Exact_all(benchmark::State& state) {
  const Data& d = data();
  double sink = 0;
  for (auto _ : state) {
    const ivkit::SortedScores s(d.tar, d.non);
    for (auto c : {ivkit::EerConvention::Rocch, ivkit::EerConvention::Kaldi, ivkit::EerConvention::Interpolated})
      sink += ivkit::eer(s, c).eer;
    sink += ivkit::min_dcf(s, ivkit::DcfParams{0.01, 1, 1}).value;
    sink += ivkit::act_dcf(s, ivkit::DcfParams{0.01, 1, 1}).value;
    sink += ivkit::min_cllr(s);
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state);
}
BENCHMARK(BM_Exact_all)->Unit(benchmark::kMillisecond);

void BM_Exact_std_sort(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    std::vector<double> t(d.tar), n(d.non);
    std::sort(t.begin(), t.end());
    std::sort(n.begin(), n.end());
    benchmark::DoNotOptimize(t.data());
    benchmark::DoNotOptimize(n.data());
  }
  set_rate(state);
}
BENCHMARK(BM_Exact_std_sort)->Unit(benchmark::kMillisecond);

/// Kaldi's ComputeEer (src/ivectorbin/compute-eer.cc) on float scores, as compute-eer runs it once
/// its input is parsed.
float kaldi_compute_eer(std::vector<float>* target_scores, std::vector<float>* nontarget_scores, float* threshold) {
  std::sort(target_scores->begin(), target_scores->end());
  std::sort(nontarget_scores->begin(), nontarget_scores->end());
  size_t target_position = 0, target_size = target_scores->size();
  for (; target_position + 1 < target_size; target_position++) {
    ssize_t nontarget_size = nontarget_scores->size(), nontarget_n = nontarget_size * target_position * 1.0 / target_size,
            nontarget_position = nontarget_size - 1 - nontarget_n;
    if (nontarget_position < 0) nontarget_position = 0;
    if ((*nontarget_scores)[nontarget_position] < (*target_scores)[target_position]) break;
  }
  *threshold = (*target_scores)[target_position];
  return static_cast<float>(target_position * 1.0 / target_size);
}

void BM_Kaldi_reference(benchmark::State& state) {
  const Data& d = data();
  const std::vector<float> tf(d.tar.begin(), d.tar.end()), nf(d.non.begin(), d.non.end());
  for (auto _ : state) {
    std::vector<float> t(tf), n(nf);
    float threshold = 0;
    benchmark::DoNotOptimize(kaldi_compute_eer(&t, &n, &threshold));
  }
  set_rate(state);
}
BENCHMARK(BM_Kaldi_reference)->Unit(benchmark::kMillisecond);

void histogram_pass(benchmark::State& state, ivkit::ScoreHistogram& h, const Data& d) {
  for (std::size_t i = 0; i < d.tar.size(); i += kChunk)
    h.add_targets(ivkit::ScoreView(d.tar.data() + i, std::min(kChunk, d.tar.size() - i)));
  for (std::size_t i = 0; i < d.non.size(); i += kChunk)
    h.add_nontargets(ivkit::ScoreView(d.non.data() + i, std::min(kChunk, d.non.size() - i)));
  const ivkit::EerResult e = h.eer(ivkit::EerConvention::Rocch);
  const ivkit::DcfResult m = h.min_dcf(ivkit::DcfParams{0.01, 1, 1});
  benchmark::DoNotOptimize(e.eer + e.lower + m.value + m.lower);
  state.counters["eer_bound_width"] = e.upper - e.lower;
  state.counters["mindcf_bound_width"] = m.upper - m.lower;
}

void BM_Histogram_eer_mindcf(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    ivkit::ScoreHistogram h(-6.0, 8.0);
    histogram_pass(state, h, d);
  }
  set_rate(state);
}
BENCHMARK(BM_Histogram_eer_mindcf)->Unit(benchmark::kMillisecond);

void BM_Histogram_two_pass(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    ivkit::ScoreRange range;
    for (std::size_t i = 0; i < d.tar.size(); i += kChunk) range.add(ivkit::ScoreView(d.tar.data() + i, std::min(kChunk, d.tar.size() - i)));
    for (std::size_t i = 0; i < d.non.size(); i += kChunk) range.add(ivkit::ScoreView(d.non.data() + i, std::min(kChunk, d.non.size() - i)));
    ivkit::ScoreHistogram h = ivkit::ScoreHistogram::from_range(range);
    histogram_pass(state, h, d);
  }
  set_rate(state);
}
BENCHMARK(BM_Histogram_two_pass)->Unit(benchmark::kMillisecond);

void BM_Histogram_with_cllr(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    ivkit::ScoreHistogram h(-6.0, 8.0, ivkit::ScoreHistogram::kDefaultBins, true);
    histogram_pass(state, h, d);
    benchmark::DoNotOptimize(h.cllr());
  }
  set_rate(state);
}
BENCHMARK(BM_Histogram_with_cllr)->Unit(benchmark::kMillisecond);

void streaming_fill(ivkit::StreamingScoreSorter& s, const Data& d) {
  for (std::size_t i = 0; i < d.mixed.size(); i += kChunk) {
    const std::size_t m = std::min(kChunk, d.mixed.size() - i);
    s.add(ivkit::ScoreView(d.mixed.data() + i, m),
          ivkit::TrialLabels(d.labels.begin() + static_cast<std::ptrdiff_t>(i), d.labels.begin() + static_cast<std::ptrdiff_t>(i + m)));
  }
  s.finish();
}

void BM_Streaming_eer_mindcf(benchmark::State& state) {
  const Data& d = data();
  double sink = 0;
  std::size_t runs = 0, peak = 0;
  for (auto _ : state) {
    ivkit::StreamingScoreSorter s(kBudget);
    streaming_fill(s, d);
    sink += ivkit::eer(s, ivkit::EerConvention::Rocch).eer;
    sink += ivkit::min_dcf(s, ivkit::DcfParams{0.01, 1, 1}).value;
    benchmark::DoNotOptimize(sink);
    runs = s.num_runs_written();
    peak = s.peak_buffered();
  }
  set_rate(state);
  state.counters["runs"] = static_cast<double>(runs);
  state.counters["peak_scores"] = static_cast<double>(peak);
}
BENCHMARK(BM_Streaming_eer_mindcf)->Unit(benchmark::kMillisecond);

void BM_Streaming_evaluate(benchmark::State& state) {
  const Data& d = data();
  double sink = 0;
  for (auto _ : state) {
    ivkit::StreamingScoreSorter s(kBudget);
    streaming_fill(s, d);
    const ivkit::EvaluationReport r = ivkit::evaluate(s, {ivkit::DcfParams{0.01, 1, 1}});
    sink += r.eers[0].eer + r.min_dcfs[0].value + r.cllr;
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state);
}
BENCHMARK(BM_Streaming_evaluate)->Unit(benchmark::kMillisecond);

void BM_Exact_evaluate(benchmark::State& state) {
  const Data& d = data();
  double sink = 0;
  for (auto _ : state) {
    const ivkit::EvaluationReport r = ivkit::evaluate(ivkit::ScoreView(d.tar), ivkit::ScoreView(d.non), {ivkit::DcfParams{0.01, 1, 1}});
    sink += r.eers[0].eer + r.min_dcfs[0].value + r.cllr;
    benchmark::DoNotOptimize(sink);
  }
  set_rate(state);
}
BENCHMARK(BM_Exact_evaluate)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
