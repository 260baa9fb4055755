// RTTM reading and writing (a round trip, other line types skipped, errors naming the line) and the
// turns of labelled windows (Kaldi's make_rttm.py rule), worked by hand.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ivkit/diar/rttm.hpp"
#include "support/files.hpp"

using ivkit::SpeakerTurn;
using ivkit::TimeWindow;

TEST_CASE("RTTM: round trip; other types, comments and blank lines skipped") {
  ivkit_test::TempDir dir("rttm");
  const std::string path = dir.write("a.rttm",
                                     ";; a comment\n"
                                     "SPKR-INFO rec1 1 <NA> <NA> <NA> unknown A <NA>\n"
                                     "SPEAKER rec1 1 0.00 1.50 <NA> <NA> A <NA> <NA>\n"
                                     "\n"
                                     "SPEAKER rec1 1 1.25 2.000 <NA> <NA> B <NA> <NA>\n"
                                     "SPEAKER rec2\t1 3.5 0.5 <NA> <NA> A <NA>\n");
  const auto turns = ivkit::read_rttm(path);
  REQUIRE(turns.size() == 3);
  CHECK(turns[1].recording == "rec1");
  CHECK(turns[1].start == 1.25);
  CHECK(turns[1].end() == 3.25);
  CHECK(turns[1].speaker == "B");
  CHECK(turns[1].line == 5);
  CHECK(turns[2].recording == "rec2");
  ivkit::write_rttm(dir / "b.rttm", turns);
  CHECK(ivkit_test::slurp(dir / "b.rttm") ==
        "SPEAKER rec1 1 0.000 1.500 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER rec1 1 1.250 2.000 <NA> <NA> B <NA> <NA>\n"
        "SPEAKER rec2 1 3.500 0.500 <NA> <NA> A <NA> <NA>\n");
  const auto again = ivkit::read_rttm(dir / "b.rttm");
  REQUIRE(again.size() == 3);
  CHECK(again[2].duration == 0.5);
  const auto by = ivkit::turns_by_recording(turns);
  CHECK(by.size() == 2);
  CHECK(by.at("rec1").size() == 2);
}

TEST_CASE("RTTM: bad lines are errors naming the line") {
  ivkit_test::TempDir dir("rttm_bad");
  auto fails = [&](const std::string& text, const std::string& what) {
    const std::string p = dir.write("x.rttm", text);
    CHECK_THROWS_MSG(ivkit::read_rttm(p), "'" + p + "' line 2: " + what, ivkit::FormatError);
  };
  const std::string ok = "SPEAKER r 1 0 1 <NA> <NA> A <NA> <NA>\n";
  fails(ok + "SPEAKER r 1 0 1 <NA>\n", "expected 'SPEAKER recording channel start duration <NA> <NA> speaker ...', got 6 fields");
  fails(ok + "SPEAKER r 1 x 1 <NA> <NA> A <NA> <NA>\n", "bad start or duration 'x 1'");
  fails(ok + "SPEAKER r 1 -1 1 <NA> <NA> A <NA> <NA>\n", "negative start -1");
  fails(ok + "SPEAKER r 1 2 0 <NA> <NA> A <NA> <NA>\n", "the duration must be positive, got 0");
  fails(ok + "SPEAKER r 1 2 -0.5 <NA> <NA> A <NA> <NA>\n", "the duration must be positive, got -0.5");
  fails(ok + "SPEAKER r 1 nan 1 <NA> <NA> A <NA> <NA>\n", "bad start or duration 'nan 1'");
}

TEST_CASE("turns from labelled windows: overlaps cut at the middle, touching windows of one label joined") {
  // 1.5 s windows every 0.75 s, labels 0 0 1 1 0.
  std::vector<TimeWindow> w;
  for (int i = 0; i < 5; ++i) w.push_back({0.75 * i, 0.75 * i + 1.5});
  const auto turns = ivkit::turns_from_windows("rec", w, {0, 0, 1, 1, 0});
  // Cuts at the middle of each overlap: 1.125, 1.875, 2.625, 3.375.
  REQUIRE(turns.size() == 3);
  CHECK(turns[0].speaker == "spk0");
  CHECK(turns[0].start == 0.0);
  CHECK(std::abs(turns[0].end() - 1.875) < 1e-12);
  CHECK(turns[1].speaker == "spk1");
  CHECK(std::abs(turns[1].start - 1.875) < 1e-12);
  CHECK(std::abs(turns[1].end() - 3.375) < 1e-12);
  CHECK(turns[2].speaker == "spk0");
  CHECK(std::abs(turns[2].end() - 4.5) < 1e-12);
  // A gap between windows keeps two turns of one speaker apart.
  const auto gap = ivkit::turns_from_windows("rec", {{0, 1}, {2, 3}}, {0, 0}, "S");
  REQUIRE(gap.size() == 2);
  CHECK(gap[1].speaker == "S0");
  // One window; bad input.
  CHECK(ivkit::turns_from_windows("rec", {{0, 1.5}}, {3}).size() == 1);
  CHECK_THROWS_AS(ivkit::turns_from_windows("rec", {{0, 1}}, {0, 1}), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::turns_from_windows("rec", {{1, 2}, {0, 1}}, {0, 1}), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::turns_from_windows("rec", {{1, 1}}, {0}), ivkit::InvalidArgument);
}
