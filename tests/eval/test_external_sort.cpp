// StreamingScoreSorter (external merge sort) against the in-memory SortedScores: the same figures,
// bit for bit, with budgets small enough to force many runs and intermediate merge passes, ties
// across run boundaries, infinities, float input; memory bounded by the budget; run files removed;
// errors (empty classes, NaN naming the trial, unusable temporary directory).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/eval/det.hpp>
#include <ivkit/eval/external_sort.hpp>
#include <ivkit/eval/metrics.hpp>

using namespace ivkit;
namespace fs = std::filesystem;

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::uint64_t bits(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Bit-for-bit equality (NaN never occurs; +0 and -0 would differ).
bool same(double a, double b) { return bits(a) == bits(b); }

// A fresh, empty directory for run files, removed at the end of the scope.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    path = fs::temp_directory_path() / ("ivkit_test_external_sort_" + name);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::size_t files() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(path)) n += e.is_regular_file();
    return n;
  }
};

struct Labelled {
  std::vector<double> scores;
  TrialLabels labels;
  std::vector<double> tar, non;
};

// Scores with many ties (values on a grid of `levels`), some infinities, targets shifted up.
Labelled draw(std::size_t n, double target_rate, int levels, Random& rng, bool infinities) {
  Labelled d;
  for (std::size_t i = 0; i < n; ++i) {
    const bool t = rng.uniform() < target_rate;
    double s = rng.normal() + (t ? 1.5 : 0.0);
    if (levels > 0) s = std::round(s * levels) / levels;
    if (infinities && i % 997 == 3) s = (i % 2 ? kInfinity : -kInfinity);
    d.scores.push_back(s);
    d.labels.push_back(t);
    (t ? d.tar : d.non).push_back(s);
  }
  return d;
}

void check_eer(const EerResult& a, const EerResult& b) {
  CHECK(same(a.eer, b.eer));
  CHECK(a.threshold == b.threshold);
  CHECK(a.convention == b.convention);
  CHECK(a.num_targets == b.num_targets);
  CHECK(a.num_nontargets == b.num_nontargets);
  CHECK(same(a.lower, b.lower));
  CHECK(same(a.upper, b.upper));
}

void check_dcf(const DcfResult& a, const DcfResult& b) {
  CHECK(same(a.value, b.value));
  CHECK(same(a.threshold, b.threshold));
  CHECK(same(a.p_miss, b.p_miss));
  CHECK(same(a.p_fa, b.p_fa));
  CHECK(a.num_targets == b.num_targets);
  CHECK(a.num_nontargets == b.num_nontargets);
}

void check_curve(const DetCurve& a, const DetCurve& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(same(a.p_miss[i], b.p_miss[i]));
    CHECK(same(a.p_fa[i], b.p_fa[i]));
    CHECK(a.threshold[i] == b.threshold[i]);
  }
}

const std::vector<DcfParams> kParams = {{0.01, 1, 1}, {0.5, 1, 1}, {0.001, 10, 1}};

// Every figure of the sorter equals SortedScores'.
void check_all(const StreamingScoreSorter& s, const SortedScores& ref) {
  REQUIRE(s.num_targets() == ref.num_targets());
  REQUIRE(s.num_nontargets() == ref.num_nontargets());
  for (EerConvention c : {EerConvention::Rocch, EerConvention::Kaldi, EerConvention::Interpolated}) check_eer(eer(s, c), eer(ref, c));
  for (const DcfParams& p : kParams) {
    check_dcf(min_dcf(s, p), min_dcf(ref, p));
    check_dcf(act_dcf(s, p), act_dcf(ref, p));
  }
  CHECK(same(cllr(s), cllr(ref)));
  CHECK(same(min_cllr(s), min_cllr(ref)));
  const EvaluationReport a = evaluate(s, kParams), b = evaluate(ref, kParams);
  REQUIRE(a.eers.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) check_eer(a.eers[i], b.eers[i]);
  for (std::size_t i = 0; i < kParams.size(); ++i) {
    check_dcf(a.min_dcfs[i], b.min_dcfs[i]);
    check_dcf(a.act_dcfs[i], b.act_dcfs[i]);
  }
  CHECK(same(a.cllr, b.cllr));
  CHECK(same(a.min_cllr, b.min_cllr));
  CHECK(a.to_string() == b.to_string());
  check_curve(det_curve(s), det_curve(ref));
  check_curve(rocch_det_curve(s), rocch_det_curve(ref));
}

}  // namespace

TEST_CASE("StreamingScoreSorter equals SortedScores bit for bit, with many runs and merge passes") {
  TempDir dir("many_runs");
  Random rng(20261203);
  struct Case {
    std::size_t n;
    double rate;
    int levels;
    bool infinities;
    std::size_t budget;
  };
  for (const Case& c : {Case{5000, 0.1, 0, false, 16},      // ~300 runs per class, width 15: intermediate merges
                        Case{5000, 0.3, 20, true, 64},      // heavy ties (a tie group spans many runs), +-inf
                        Case{20000, 0.05, 4, false, 1000},  // very heavy ties
                        Case{3000, 0.5, 0, true, 1 << 20},  // fits: sorted in memory, no file
                        Case{4096, 0.2, 10, false, 4096}}) {  // exactly fills the buffer: sorted in memory
    CAPTURE(c.n);
    CAPTURE(c.budget);
    const Labelled d = draw(c.n, c.rate, c.levels, rng, c.infinities);
    const SortedScores ref(d.scores, d.labels);

    // Labelled chunks of uneven sizes.
    StreamingScoreSorter s(c.budget, dir.path.string());
    for (std::size_t i = 0; i < d.scores.size();) {
      const std::size_t m = std::min<std::size_t>(1 + (i * 7919) % 1777, d.scores.size() - i);
      s.add(ScoreView(d.scores.data() + i, m), TrialLabels(d.labels.begin() + static_cast<std::ptrdiff_t>(i),
                                                           d.labels.begin() + static_cast<std::ptrdiff_t>(i + m)));
      i += m;
    }
    s.finish();
    CHECK(s.peak_buffered() <= c.budget);
    if (c.budget >= c.n) {
      CHECK(s.num_runs_written() == 0);
      CHECK(dir.files() == 0);
    } else {
      CHECK(s.num_runs_written() >= c.n / c.budget);
      CHECK(dir.files() == s.num_runs());
    }
    if (c.budget == 16) CHECK(s.num_merges() > 0);
    check_all(s, ref);
    CHECK(s.peak_buffered() <= c.budget);

    // The same scores one pair at a time, and as separate target and non-target chunks.
    StreamingScoreSorter one(c.budget, dir.path.string());
    for (std::size_t i = 0; i < d.scores.size(); ++i) one.add(d.scores[i], d.labels[i]);
    one.finish();
    CHECK(evaluate(one, kParams).to_string() == evaluate(ref, kParams).to_string());
    StreamingScoreSorter split(c.budget, dir.path.string());
    split.add_nontargets(d.non);
    split.add_targets(d.tar);
    split.finish();
    check_all(split, ref);
  }
  CHECK(dir.files() == 0);  // every run file removed with its sorter
}

TEST_CASE("StreamingScoreSorter: float input, ties across run boundaries, groups as SortedScores gives them") {
  TempDir dir("ties");
  // Runs of 8 scores per class; the value 1.0 is in every run of both classes.
  std::vector<float> tar, non;
  for (int i = 0; i < 400; ++i) {
    tar.push_back(i % 3 == 0 ? 1.0f : static_cast<float>(0.01 * (i % 50)) + 0.5f);
    non.push_back(i % 4 == 0 ? 1.0f : static_cast<float>(0.01 * (i % 70)));
  }
  StreamingScoreSorter s(16, dir.path.string());
  for (std::size_t i = 0; i < tar.size(); ++i) {
    s.add(ScoreView(&tar[i], 1), TrialLabels{true});
    s.add(ScoreView(&non[i], 1), TrialLabels{false});
  }
  s.finish();
  const SortedScores ref(tar, non);
  std::vector<std::tuple<double, Index, Index>> got, want;
  s.for_each_group([&](double v, Index t, Index n) {
    got.emplace_back(v, t, n);
    return true;
  });
  ref.for_each_group([&](double v, Index t, Index n) {
    want.emplace_back(v, t, n);
    return true;
  });
  CHECK(got == want);
  bool found = false;
  for (const auto& [v, t, n] : got)
    if (v == 1.0) {
      CHECK(t == 134);
      CHECK(n == 100);
      found = true;
    }
  CHECK(found);
  check_all(s, ref);
  // Stopping early stops the pass.
  int calls = 0;
  s.for_each_group([&](double, Index, Index) { return ++calls < 3; });
  CHECK(calls == 3);
}

TEST_CASE("StreamingScoreSorter: adding after finish, and one million scores in a budget of 10^4") {
  TempDir dir("large");
  Random rng(7);
  const Labelled d = draw(1000000, 0.1, 0, rng, false);
  StreamingScoreSorter s(10000, dir.path.string());
  const std::size_t half = d.scores.size() / 2;
  s.add(ScoreView(d.scores.data(), half), TrialLabels(d.labels.begin(), d.labels.begin() + static_cast<std::ptrdiff_t>(half)));
  s.finish();
  CHECK(s.num_runs() <= 64);
  s.add(ScoreView(d.scores.data() + half, d.scores.size() - half),
        TrialLabels(d.labels.begin() + static_cast<std::ptrdiff_t>(half), d.labels.end()));
  CHECK(!s.finished());
  s.finish();
  CHECK(s.peak_buffered() <= 10000);
  CHECK(s.num_merges() > 0);
  const SortedScores ref(d.scores, d.labels);
  const EvaluationReport a = evaluate(s, kParams), b = evaluate(ref, kParams);
  for (std::size_t i = 0; i < 3; ++i) check_eer(a.eers[i], b.eers[i]);
  for (std::size_t i = 0; i < kParams.size(); ++i) {
    check_dcf(a.min_dcfs[i], b.min_dcfs[i]);
    check_dcf(a.act_dcfs[i], b.act_dcfs[i]);
  }
  CHECK(same(a.cllr, b.cllr));
  CHECK(same(a.min_cllr, b.min_cllr));
  check_curve(rocch_det_curve(s), rocch_det_curve(ref));
}

TEST_CASE("StreamingScoreSorter: Kaldi's convention against its loop on float scores") {
  // The transcribed compute-eer loop (as in test_metrics) on sorted float scores.
  TempDir dir("kaldi");
  Random rng(99);
  for (std::size_t nt : {1u, 2u, 7u, 100u}) {
    std::vector<float> t(nt), n(333);
    for (auto& x : t) x = static_cast<float>(std::round((rng.normal() + 1.0) * 8) / 8);
    for (auto& x : n) x = static_cast<float>(std::round(rng.normal() * 8) / 8);
    StreamingScoreSorter s(16, dir.path.string());
    s.add_targets(t);
    s.add_nontargets(n);
    s.finish();
    std::sort(t.begin(), t.end());
    std::sort(n.begin(), n.end());
    std::size_t p = 0;
    for (; p + 1 < t.size(); ++p) {
      const auto nontarget_n = static_cast<std::int64_t>(static_cast<double>(n.size() * p) * 1.0 / static_cast<double>(t.size()));
      std::int64_t q = static_cast<std::int64_t>(n.size()) - 1 - nontarget_n;
      if (q < 0) q = 0;
      if (n[static_cast<std::size_t>(q)] < t[p]) break;
    }
    const EerResult e = eer(s, EerConvention::Kaldi);
    CHECK(e.eer == static_cast<double>(p) / static_cast<double>(t.size()));
    CHECK(e.threshold == static_cast<double>(t[p]));
  }
}

TEST_CASE("StreamingScoreSorter: peak memory is the budget's, counted in scores") {
  TempDir dir("peak");
  Random rng(3);
  for (std::size_t budget : {16u, 17u, 100u, 4097u}) {
    StreamingScoreSorter s(budget, dir.path.string());
    std::vector<double> x(10 * budget + 3);
    for (auto& v : x) v = rng.normal();
    s.add_targets(x);
    s.add_nontargets(x);
    CHECK(s.peak_buffered() == budget);  // the buffer filled up, never beyond
    s.finish();
    (void)evaluate(s);
    CHECK(s.peak_buffered() <= budget);
    CHECK(s.num_runs() <= 64);
  }
}

TEST_CASE("sort_keys_in_place sorts like std::sort: spread, concentrated (one bucket), tied, signed zeros and infinities") {
  Random rng(5);
  for (int kind = 0; kind < 4; ++kind) {
    std::vector<std::uint64_t> keys(50000);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      double x = rng.normal() * (kind == 0 ? 100.0 : 1.0);
      if (kind == 1) x = 1.0 + 0.01 * rng.uniform();  // one top-16-bit bucket
      if (kind == 2) x = std::round(x * 3);           // heavy ties
      if (kind == 3) x = i % 5 == 0 ? (i % 2 ? 0.0 : -0.0) : (i % 7 == 0 ? (i % 2 ? kInfinity : -kInfinity) : x);
      keys[i] = detail::sort_key(x);
    }
    std::vector<std::uint64_t> want = keys;
    std::sort(want.begin(), want.end());
    detail::sort_keys_in_place(keys.data(), keys.size());
    CHECK(keys == want);
  }
}

TEST_CASE("StreamingScoreSorter errors") {
  TempDir dir("errors");
  CHECK_THROWS_WITH_AS(StreamingScoreSorter(15), "StreamingScoreSorter: the memory budget must be at least 16 scores, got 15",
                       InvalidArgument);

  StreamingScoreSorter only_targets(16, dir.path.string());
  only_targets.add_targets(std::vector<double>(100, 1.0));
  CHECK_THROWS_WITH_AS(only_targets.finish(), "StreamingScoreSorter::finish: no non-target scores", InvalidArgument);
  StreamingScoreSorter only_non(16, dir.path.string());
  only_non.add(0.5, false);
  CHECK_THROWS_WITH_AS(only_non.finish(), "StreamingScoreSorter::finish: no target scores", InvalidArgument);
  StreamingScoreSorter none(16, dir.path.string());
  CHECK_THROWS_WITH_AS(none.finish(), "StreamingScoreSorter::finish: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(eer(none, EerConvention::Rocch), "StreamingScoreSorter: call finish() before reading the sorted scores",
                       InvalidArgument);

  // NaN: the index counts every score added before, and nothing of the chunk is added.
  StreamingScoreSorter s(16, dir.path.string());
  s.add(std::vector<double>{1, 2, 3}, TrialLabels{true, false, true});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(s.add(std::vector<double>{1, nan}, TrialLabels{true, false}), "StreamingScoreSorter::add: score 4 is NaN",
                       NonFiniteInput);
  CHECK(s.num_targets() + s.num_nontargets() == 3);
  CHECK_THROWS_WITH_AS(s.add(nan, true), "StreamingScoreSorter::add: score 3 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(s.add_targets(std::vector<float>{0.f, std::nanf("")}), "StreamingScoreSorter::add_targets: score 4 is NaN",
                       NonFiniteInput);
  CHECK_THROWS_WITH_AS(s.add_nontargets(std::vector<double>{nan}), "StreamingScoreSorter::add_nontargets: score 3 is NaN",
                       NonFiniteInput);
  CHECK_THROWS_WITH_AS(s.add(std::vector<double>{1, 2}, TrialLabels{true}), "StreamingScoreSorter::add: 2 scores but 1 labels",
                       DimensionMismatch);
  s.finish();
  CHECK_THROWS_WITH_AS(min_dcf(s, DcfParams{1.0, 1, 1}), "min_dcf: P_target must lie in (0, 1), got 1", InvalidArgument);
  CHECK_THROWS_WITH_AS(evaluate(s, {DcfParams{0.5, 0, 1}}), "evaluate: C_miss must be positive and finite, got 0", InvalidArgument);

  // A temporary directory that does not exist: IoError naming the file it could not create.
  const std::string missing = (dir.path / "no" / "such" / "dir").string();
  StreamingScoreSorter bad(16, missing);
  bad.add_targets(std::vector<double>(16, 1.0));  // fills the buffer: no spill yet
  try {
    bad.add_nontargets(std::vector<double>{0.0});
    FAIL("expected IoError");
  } catch (const IoError& e) {
    const std::string what = e.what();
    CHECK(what.rfind("StreamingScoreSorter: cannot create the temporary file '" + missing + "/ivkit-scores-", 0) == 0);
  }

  // A run file that disappeared: IoError naming it.
  TempDir lost_dir("lost");
  StreamingScoreSorter lost(16, lost_dir.path.string());
  lost.add_targets(std::vector<double>(40, 1.0));
  lost.add_nontargets(std::vector<double>(40, 0.0));
  lost.finish();
  std::string removed;
  for (const auto& e : fs::directory_iterator(lost_dir.path)) {
    removed = e.path().string();
    fs::remove(e.path());
    break;
  }
  REQUIRE(!removed.empty());
  CHECK_THROWS_WITH_AS(eer(lost, EerConvention::Rocch),
                       doctest::Contains(("StreamingScoreSorter: cannot open the temporary file '" + removed + "'").c_str()), IoError);
}
