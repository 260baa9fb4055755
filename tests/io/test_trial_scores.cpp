// LineReader (lines across block boundaries, long lines, CRLF, a missing last newline, NUL bytes)
// and join_trial_scores against a naive join by key: files in the same order, shuffled, with
// missing and extra scores, and malformed input named by file and line.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/io/line_reader.hpp"
#include "ivkit/io/trial_scores.hpp"
#include "support/files.hpp"

namespace {


std::vector<std::string> all_lines(ivkit::LineReader& r) {
  std::vector<std::string> out;
  std::string_view line;
  while (r.next(line)) out.emplace_back(line);
  return out;
}

struct Trial {
  std::string enrol, test;
  bool target;
  double score;
};

std::vector<Trial> make_trials(std::size_t n, ivkit::Random& rng) {
  std::vector<Trial> t;
  for (std::size_t i = 0; i < n; ++i) {
    const bool target = rng.uniform() < 0.2;
    t.push_back({"spk" + std::to_string(rng.uniform_index(50)) + "-e" + std::to_string(i), "utt" + std::to_string(i), target,
                 std::round((target ? 2.0 : -1.0) * 1e6 + rng.normal() * 1e6) / 1e6});
  }
  return t;
}

std::string trial_text(const std::vector<Trial>& t) {
  std::string s;
  for (const auto& x : t) s += x.enrol + " " + x.test + (x.target ? " target\n" : " nontarget\n");
  return s;
}

std::string score_text(const std::vector<Trial>& t) {
  std::string s;
  char buf[64];
  for (const auto& x : t) {
    std::snprintf(buf, sizeof buf, "%.6f", x.score);
    s += x.enrol + " " + x.test + " " + buf + "\n";
  }
  return s;
}

struct Joined {
  std::vector<std::pair<double, bool>> pairs;
  ivkit::TrialScoreJoinReport report;
};

Joined join(const std::string& trials, const std::string& scores, ivkit::TrialScoreJoinOptions opts = {}) {
  ivkit::LineReader t(trials), s(scores);
  Joined j;
  j.report = ivkit::join_trial_scores(t, s, [&](double v, bool target) { j.pairs.emplace_back(v, target); }, opts);
  return j;
}

}  // namespace

TEST_CASE("LineReader: block boundaries, long lines, CRLF, no final newline, stdin-like text") {
  ivkit_test::TempDir dir("trial_scores");
  std::string text;
  std::vector<std::string> expected;
  ivkit::Random rng(3);
  for (int i = 0; i < 30000; ++i) {  // ~1.5 MiB: lines cross the 1 MiB block boundary
    std::string line(static_cast<std::size_t>(rng.uniform_index(90)), 'a' + static_cast<char>(i % 26));
    expected.push_back(line);
    text += line + "\n";
  }
  expected.push_back(std::string(3u << 20, 'x'));  // longer than a block: the buffer grows
  text += expected.back() + "\n";
  expected.push_back("last line\r");  // CR kept in the line (field splitting drops it), no final newline
  text += expected.back();
  dir.write("a.txt", text);
  ivkit::LineReader r(dir / "a.txt");
  CHECK(r.remaining_bytes() == text.size());
  const auto got = all_lines(r);
  CHECK(got == expected);
  CHECK(r.line_number() == expected.size());
  CHECK(r.remaining_bytes() == 0);
  ivkit::LineReader m(std::make_shared<const std::string>(text), "stdin");
  CHECK(all_lines(m) == expected);

  dir.write("empty.txt", "");
  ivkit::LineReader e(dir / "empty.txt");
  std::string_view line;
  CHECK_FALSE(e.next(line));

  dir.write("nul.txt", std::string("a b\nc \0 d\n", 10));
  ivkit::LineReader n(dir / "nul.txt");
  CHECK(n.next(line));
  CHECK_THROWS_MSG(n.next(line), "'" + dir / "nul.txt" + "' line 2: a NUL byte: binary data, not text", ivkit::FormatError);
  CHECK_THROWS_MSG([&] { ivkit::LineReader missing(dir / "missing.txt"); }(), "cannot open '" + dir / "missing.txt" + "': No such file or directory", ivkit::IoError);

  std::string_view f[3];
  CHECK(ivkit::detail::split_fields_into(" a\tbb  c \r", f, 3) == 3);
  CHECK(f[2] == "c");
  CHECK(ivkit::detail::split_fields_into("a b c d e", f, 3) == 5);
  CHECK(ivkit::detail::split_fields_into(" \t\r", f, 3) == 0);
}

TEST_CASE("join_trial_scores equals a naive join by key, in order and shuffled") {
  ivkit_test::TempDir dir("trial_scores");
  ivkit::Random rng(11);
  const std::vector<Trial> trials = make_trials(5000, rng);
  dir.write("trials", trial_text(trials));
  dir.write("scores", score_text(trials));
  // The naive reference: every trial's score, in trial order.
  std::vector<std::pair<double, bool>> expected;
  for (const auto& t : trials) expected.emplace_back(t.score, t.target);

  const Joined in_order = join(dir / "trials", dir / "scores");
  CHECK(in_order.pairs == expected);
  CHECK(in_order.report.same_order);
  CHECK(in_order.report.indexed_scores == 0);
  CHECK(in_order.report.trials == 5000);
  CHECK(in_order.report.scores == 5000);
  CHECK(in_order.report.format == ivkit::TrialFormat::Kaldi);

  // Scores shuffled from position 100 on: in step until then, looked up after.
  std::vector<Trial> shuffled = trials;
  for (std::size_t i = shuffled.size() - 1; i > 100; --i) std::swap(shuffled[i], shuffled[100 + rng.uniform_index(i - 99)]);
  dir.write("scores_shuffled", score_text(shuffled));
  const Joined j = join(dir / "trials", dir / "scores_shuffled");
  CHECK(j.pairs == expected);
  CHECK_FALSE(j.report.same_order);
  CHECK(j.report.scores == 5000);
  CHECK(j.report.indexed_scores <= 4900);
  CHECK(j.report.unused_scores == 0);

  // stklia's format, blank lines and CRLF line ends.
  std::string stklia;
  for (const auto& t : trials) stklia += std::string(t.target ? "1 " : "0 ") + t.enrol + " " + t.test + "\r\n\n";
  dir.write("trials_stklia", stklia);
  const Joined k = join(dir / "trials_stklia", dir / "scores_shuffled");
  CHECK(k.pairs == expected);
  CHECK(k.report.format == ivkit::TrialFormat::Stklia);
}

TEST_CASE("join_trial_scores: missing and extra scores") {
  ivkit_test::TempDir dir("trial_scores");
  ivkit::Random rng(12);
  const std::vector<Trial> trials = make_trials(300, rng);
  dir.write("trials", trial_text(trials));
  // Trial 150 has no score; two scores are of pairs that are not trials.
  std::vector<Trial> scored = trials;
  scored.erase(scored.begin() + 150);
  scored.push_back({"x", "y", false, 1.0});
  scored.insert(scored.begin() + 10, Trial{"p", "q", false, 2.0});
  dir.write("scores", score_text(scored));
  CHECK_THROWS_MSG(join(dir / "trials", dir / "scores"), "'" + dir / "scores" + "' has no score for the trial '" + trials[150].enrol + " " + trials[150].test + "' ('" +
                       dir / "trials" + "' line 151); score every trial, or skip the missing ones", ivkit::FormatError);
  ivkit::TrialScoreJoinOptions skip;
  skip.skip_missing = true;
  const Joined j = join(dir / "trials", dir / "scores", skip);
  CHECK(j.report.missing == 1);
  CHECK(j.report.first_missing.find("line 151") != std::string::npos);
  CHECK(j.report.unused_scores == 2);
  CHECK(j.pairs.size() == 299);
  // Scores beyond the trials, in order, are unused too.
  std::vector<Trial> more = trials;
  more.push_back({"z", "w", false, 0.5});
  dir.write("scores_more", score_text(more));
  const Joined m = join(dir / "trials", dir / "scores_more");
  CHECK(m.report.same_order);
  CHECK(m.report.unused_scores == 1);
}

TEST_CASE("join_trial_scores: malformed input names the file and the line") {
  ivkit_test::TempDir dir("trial_scores");
  dir.write("trials", "a b target\nc d nontarget\n");
  dir.write("scores", "a b 1.5\nc d 0.5\n");
  // `what` follows the quoted path of `file` (t2: the trials, s2: the scores).
  auto fails = [&](const std::string& trials, const std::string& scores, const std::string& file, const std::string& what) {
    dir.write("t2", trials);
    dir.write("s2", scores);
    CHECK_THROWS_MSG(join(dir / "t2", dir / "s2"), "'" + dir / file + "'" + what, ivkit::FormatError);
  };
  fails("a b target\nc d maybe\n", "a b 1\nc d 2\n", "t2", " line 2: the third field must be 'target' or 'nontarget', got 'maybe'");
  fails("a b target\nc d\n", "a b 1\nc d 2\n", "t2", " line 2: expected 3 fields 'enrol test target|nontarget', got 2");
  fails("a b c d\n", "a b 1\n", "t2", " line 1: not a trial in either format ('enrol test target|nontarget' or '1|0 enrol test')");
  fails("a b target\nc d nontarget\n", "a b 1\nc d x\n", "s2", " line 2: the score 'x' is not a number");
  fails("a b target\nc d nontarget\n", "a b 1\nc d nan\n", "s2", " line 2: the score 'nan' is not a number");
  fails("a b target\nc d nontarget\n", "a b 1\nc d 2 3\n", "s2", " line 2: expected 3 fields 'enrol test score', got 4");
  fails("a b target\nc d nontarget\n", "c d 1\nc d 2\na b 3\n", "s2", " line 2: the pair 'c d' already has a score (line 1)");
  fails("a b target\nc d nontarget\n", "a b 1\nc d 2\na b 3\n", "s2", " line 3: the pair 'a b' already has a score (line 1)");
  fails("\n\n", "a b 1\n", "t2", " holds no trials");
  fails("a b target\n", "", "s2", " has no score for the trial 'a b' ('" + dir / "t2" + "' line 1); score every trial, or skip the missing ones");
  ivkit::TrialScoreJoinOptions skip;
  skip.skip_missing = true;
  dir.write("s3", "\n");
  CHECK_THROWS_MSG(join(dir / "trials", dir / "s3", skip), "'" + dir / "s3" + "' holds no scores", ivkit::FormatError);
  const Joined ok = join(dir / "trials", dir / "scores");
  CHECK(ok.report.targets == 1);
  CHECK(ok.report.nontargets == 1);
}
