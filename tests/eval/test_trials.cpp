// Trial lists: both formats from streams and files, auto-detection, malformed lines and unknown ids
// with their exact messages, the id-to-index mapping and score gathering.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ivkit/eval/trials.hpp>

using namespace ivkit;

namespace {

Trials parse(const std::string& text, TrialFormat format = TrialFormat::Auto, const std::string& name = "<stream>") {
  std::istringstream in(text);
  return read_trials(in, format, name);
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "ivkit_test_trials";
  std::filesystem::create_directories(dir);
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST_CASE("Kaldi trial lists: fields, labels, blank lines, CRLF, line numbers") {
  const Trials t = parse("spk1 utt1 target\nspk1\tutt2   nontarget\n\n   \nspk2 utt1 nontarget\r\n");
  CHECK(t.format == TrialFormat::Kaldi);
  REQUIRE(t.size() == 3);
  CHECK(t.enrol == std::vector<std::string>{"spk1", "spk1", "spk2"});
  CHECK(t.test == std::vector<std::string>{"utt1", "utt2", "utt1"});
  CHECK(t.labels == std::vector<bool>{true, false, false});
  CHECK(t.lines == std::vector<std::size_t>{1, 2, 5});
  CHECK(t.num_targets() == 1);
  CHECK(t.num_nontargets() == 2);
  CHECK(t.source == "<stream>");
  // The explicit format reads the same.
  CHECK(parse("spk1 utt1 target\n", TrialFormat::Kaldi).labels == std::vector<bool>{true});
}

TEST_CASE("stklia / VoxCeleb trial lists") {
  const Trials t = parse("1 id10270/x.wav id10270/y.wav\n0 id10270/x.wav id10300/z.wav\n");
  CHECK(t.format == TrialFormat::Stklia);
  REQUIRE(t.size() == 2);
  CHECK(t.enrol == std::vector<std::string>{"id10270/x.wav", "id10270/x.wav"});
  CHECK(t.test == std::vector<std::string>{"id10270/y.wav", "id10300/z.wav"});
  CHECK(t.labels == std::vector<bool>{true, false});
  // A Kaldi line whose ids are 1 and 0 is still Kaldi: the label word decides first.
  CHECK(parse("1 0 target\n").format == TrialFormat::Kaldi);
  CHECK(parse("1 0 target\n").enrol[0] == "1");
}

TEST_CASE("Trial files: path in messages, round trip through write_trials") {
  const auto p = write_temp("kaldi.trials", "a x target\nb y nontarget\nb x\n");
  const std::string path = p.string();
  CHECK_THROWS_WITH_AS(read_trials(path), ("read_trials: " + path + ":3: expected 3 fields 'enrol test target|nontarget', got 2").c_str(),
                       FormatError);
  const auto q = write_temp("ok.trials", "a x target\nb y nontarget\n");
  const Trials t = read_trials(q.string());
  CHECK(t.source == q.string());
  CHECK(t.size() == 2);
  for (TrialFormat f : {TrialFormat::Kaldi, TrialFormat::Stklia}) {
    std::ostringstream out;
    write_trials(out, t, f);
    const Trials back = parse(out.str());
    CHECK(back.format == f);
    CHECK(back.enrol == t.enrol);
    CHECK(back.test == t.test);
    CHECK(back.labels == t.labels);
  }
  std::ostringstream k;
  write_trials(k, t, TrialFormat::Kaldi);
  CHECK(k.str() == "a x target\nb y nontarget\n");
  std::ostringstream s;
  write_trials(s, t, TrialFormat::Stklia);
  CHECK(s.str() == "1 a x\n0 b y\n");
  CHECK_THROWS_WITH_AS(write_trials(s, t, TrialFormat::Auto), "write_trials: choose the kaldi or stklia format", InvalidArgument);
  CHECK_THROWS_WITH_AS(read_trials(std::string("/nonexistent-ivkit-dir/trials")), "read_trials: cannot open '/nonexistent-ivkit-dir/trials'",
                       IoError);
  std::filesystem::remove_all(p.parent_path());
}

TEST_CASE("Malformed trial lines: exact messages with source and line") {
  CHECK_THROWS_WITH_AS(parse("a b target\na b maybe\n", TrialFormat::Auto, "t.txt"),
                       "read_trials: t.txt:2: the third field must be 'target' or 'nontarget', got 'maybe'", FormatError);
  CHECK_THROWS_WITH_AS(parse("a b target\n\na b target extra\n", TrialFormat::Auto, "t.txt"),
                       "read_trials: t.txt:3: expected 3 fields 'enrol test target|nontarget', got 4", FormatError);
  CHECK_THROWS_WITH_AS(parse("1 a b\n2 a b\n"), "read_trials: <stream>:2: the first field must be 1 or 0, got '2'", FormatError);
  CHECK_THROWS_WITH_AS(parse("1 a b\n0 a\n"), "read_trials: <stream>:2: expected 3 fields '1|0 enrol test', got 2", FormatError);
  // A line of the other format after detection is malformed.
  CHECK_THROWS_WITH_AS(parse("1 a b\na b target\n"), "read_trials: <stream>:2: the first field must be 1 or 0, got 'a'", FormatError);
  // An explicit format does not guess.
  CHECK_THROWS_WITH_AS(parse("1 a b\n", TrialFormat::Kaldi), "read_trials: <stream>:1: the third field must be 'target' or 'nontarget', got 'b'",
                       FormatError);
  CHECK_THROWS_WITH_AS(parse("a b target\n", TrialFormat::Stklia), "read_trials: <stream>:1: the first field must be 1 or 0, got 'a'",
                       FormatError);
  CHECK_THROWS_WITH_AS(parse("\na b c d\n"),
                       "read_trials: <stream>:2: not a trial in either format ('enrol test target|nontarget' or '1|0 enrol test'): 'a b c d'",
                       FormatError);
  CHECK_THROWS_WITH_AS(parse("x y z\n"),
                       "read_trials: <stream>:1: not a trial in either format ('enrol test target|nontarget' or '1|0 enrol test'): 'x y z'",
                       FormatError);
  CHECK_THROWS_WITH_AS(parse("\n  \n"), "read_trials: <stream> holds no trials", FormatError);
  CHECK_THROWS_WITH_AS(parse(""), "read_trials: <stream> holds no trials", FormatError);
}

TEST_CASE("trial_indices maps ids to positions; unknown and duplicate ids are named") {
  const Trials t = parse("spkA u2 target\nspkB u1 nontarget\nspkA u1 nontarget\n", TrialFormat::Auto, "list.txt");
  const std::vector<std::string> enrol_ids{"spkB", "spkA"}, test_ids{"u1", "u2", "u3"};
  const TrialIndices idx = trial_indices(t, enrol_ids, test_ids);
  CHECK(idx.enrol == std::vector<Index>{1, 0, 1});
  CHECK(idx.test == std::vector<Index>{1, 0, 0});

  // Scores of the trials from the enrolment x test matrix.
  Matrix<float> scores(2, 3);
  scores << 0.f, 1.f, 2.f, 10.f, 11.f, 12.f;
  const Vector<double> s = trial_scores(scores, idx);
  REQUIRE(s.size() == 3);
  CHECK(s(0) == 11.0);
  CHECK(s(1) == 0.0);
  CHECK(s(2) == 10.0);
  TrialIndices bad = idx;
  bad.test[2] = 3;
  CHECK_THROWS_WITH_AS(trial_scores(scores, bad), "trial_scores: trial 2 needs entry (1, 3) of a 2 x 3 score matrix", DimensionMismatch);
  bad.test.pop_back();
  CHECK_THROWS_WITH_AS(trial_scores(scores, bad), "trial_scores: 3 enrolment indices but 2 test indices", DimensionMismatch);

  CHECK_THROWS_WITH_AS(trial_indices(t, enrol_ids, {"u1", "u3"}),
                       "trial_indices: test id 'u2' of trial 0 (list.txt:1) is not among the 2 test ids", InvalidArgument);
  CHECK_THROWS_WITH_AS(trial_indices(t, {"spkA"}, test_ids),
                       "trial_indices: enrolment id 'spkB' of trial 1 (list.txt:2) is not among the 1 enrolment ids", InvalidArgument);
  CHECK_THROWS_WITH_AS(trial_indices(t, {"spkA", "spkB", "spkA"}, test_ids),
                       "trial_indices: enrolment id 'spkA' appears twice in the id list (positions 0 and 2)", InvalidArgument);
  Trials hand;
  hand.add("e1", "t1", true);
  hand.add("e2", "t1", false);
  CHECK(hand.lines.empty());
  CHECK_THROWS_WITH_AS(trial_indices(hand, {"e1"}, {"t1"}), "trial_indices: enrolment id 'e2' of trial 1 is not among the 1 enrolment ids",
                       InvalidArgument);
  hand.labels.pop_back();
  CHECK_THROWS_WITH_AS(trial_indices(hand, {"e1", "e2"}, {"t1"}),
                       "trial_indices: the trial list has 2 enrolment ids, 2 test ids and 1 labels", DimensionMismatch);
}

TEST_CASE("A large trial list reads quickly and keeps every trial") {
  std::string text;
  const int n = 200000;
  text.reserve(static_cast<std::size_t>(n) * 24);
  for (int i = 0; i < n; ++i)
    text += (i % 10 == 0 ? "1 spk" : "0 spk") + std::to_string(i % 1000) + " utt" + std::to_string(i) + "\n";
  const Trials t = parse(text);
  CHECK(t.size() == static_cast<std::size_t>(n));
  CHECK(t.num_targets() == static_cast<std::size_t>(n / 10));
  CHECK(t.lines.back() == static_cast<std::size_t>(n));
  CHECK(t.test.back() == "utt199999");
}
