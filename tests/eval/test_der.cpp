// DER against a naive frame-by-frame reference (1 ms frames on turns at multiples of 10 ms, the
// best mapping found by trying every one), with and without a collar and overlap; hand-worked cases
// (md-eval's collar convention, overlap, a speaker split in two); bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/eval/der.hpp"

using ivkit::DerOptions;
using ivkit::SpeakerTurn;

namespace {

SpeakerTurn turn(double start, double end, const std::string& spk) {
  SpeakerTurn t;
  t.recording = "rec";
  t.start = start;
  t.duration = end - start;
  t.speaker = spk;
  return t;
}

struct Naive {
  double scored = 0, missed = 0, fa = 0, confusion = 0;
};

/// Frame by frame (1 ms), every mapping tried; the one with the least confusion wins.
Naive naive_der(const std::vector<SpeakerTurn>& ref, const std::vector<SpeakerTurn>& hyp, const DerOptions& o) {
  std::vector<std::string> rn, hn;
  for (const auto& t : ref)
    if (std::find(rn.begin(), rn.end(), t.speaker) == rn.end()) rn.push_back(t.speaker);
  for (const auto& t : hyp)
    if (std::find(hn.begin(), hn.end(), t.speaker) == hn.end()) hn.push_back(t.speaker);
  double end = 0;
  for (const auto* l : {&ref, &hyp})
    for (const auto& t : *l) end = std::max(end, t.end());
  const long frames = static_cast<long>(std::ceil(end / 0.001)) + 1;
  struct Frame {
    std::vector<int> r, h;
  };
  std::vector<Frame> fs;
  for (long f = 0; f < frames; ++f) {
    const double c = (static_cast<double>(f) + 0.5) * 0.001;
    bool excluded = false;
    for (const auto& t : ref)
      for (double b : {t.start, t.end()})
        if (std::abs(c - b) < o.collar) excluded = true;
    if (excluded) continue;
    Frame fr;
    for (std::size_t k = 0; k < rn.size(); ++k)
      for (const auto& t : ref)
        if (t.speaker == rn[k] && c > t.start && c < t.end()) {
          fr.r.push_back(static_cast<int>(k));
          break;
        }
    for (std::size_t k = 0; k < hn.size(); ++k)
      for (const auto& t : hyp)
        if (t.speaker == hn[k] && c > t.start && c < t.end()) {
          fr.h.push_back(static_cast<int>(k));
          break;
        }
    if (o.ignore_overlap && fr.r.size() >= 2) continue;
    fs.push_back(fr);
  }
  Naive n;
  for (const auto& f : fs) {
    const double nr = static_cast<double>(f.r.size()), nh = static_cast<double>(f.h.size());
    n.scored += 0.001 * nr;
    n.missed += 0.001 * std::max(0.0, nr - nh);
    n.fa += 0.001 * std::max(0.0, nh - nr);
  }
  // Every mapping: a permutation of max(R, H) slots; ref k maps to perm[k] when < H.
  const std::size_t m = std::max(rn.size(), hn.size());
  std::vector<int> perm(m);
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double conf = 0;
    for (const auto& f : fs) {
      double correct = 0;
      for (int a : f.r)
        if (perm[static_cast<std::size_t>(a)] < static_cast<int>(hn.size()) &&
            std::find(f.h.begin(), f.h.end(), perm[static_cast<std::size_t>(a)]) != f.h.end())
          correct += 1;
      conf += 0.001 * (std::min(f.r.size(), f.h.size()) - correct);
    }
    best = std::min(best, conf);
  } while (std::next_permutation(perm.begin(), perm.end()));
  n.confusion = best;
  return n;
}

std::vector<SpeakerTurn> random_turns(ivkit::Random& rng, int speakers, const char* prefix, double length) {
  std::vector<SpeakerTurn> out;
  for (double t = 0; t < length;) {
    const double start = t + 0.01 * static_cast<double>(rng.uniform_index(80));
    const double end = start + 0.01 * static_cast<double>(10 + rng.uniform_index(200));
    out.push_back(turn(start, end, prefix + std::to_string(rng.uniform_index(static_cast<std::uint64_t>(speakers)))));
    t = end - 0.01 * static_cast<double>(rng.uniform_index(30));  // sometimes overlapping the next turn
  }
  return out;
}

}  // namespace

TEST_CASE("DER equals the frame-by-frame reference with the best mapping tried exhaustively") {
  ivkit::Random rng(17);
  for (int trial = 0; trial < 25; ++trial) {
    const auto ref = random_turns(rng, 1 + static_cast<int>(rng.uniform_index(3)), "R", 20.0);
    const auto hyp = random_turns(rng, 1 + static_cast<int>(rng.uniform_index(4)), "H", 20.0);
    for (const DerOptions o : {DerOptions{0.0, false}, DerOptions{0.25, false}, DerOptions{0.0, true}, DerOptions{0.1, true}}) {
      CAPTURE(trial);
      CAPTURE(o.collar);
      CAPTURE(o.ignore_overlap);
      const auto r = ivkit::diarization_error(ref, hyp, o);
      const Naive n = naive_der(ref, hyp, o);
      CHECK(std::abs(r.scored - n.scored) < 1e-6);
      CHECK(std::abs(r.missed - n.missed) < 1e-6);
      CHECK(std::abs(r.false_alarm - n.fa) < 1e-6);
      CHECK(std::abs(r.confusion - n.confusion) < 1e-6);
    }
  }
}

TEST_CASE("DER: hand-worked cases") {
  // Perfect hypothesis with other names: 0.
  const std::vector<SpeakerTurn> ref = {turn(0, 10, "A"), turn(10, 20, "B")};
  auto r = ivkit::diarization_error(ref, {turn(0, 10, "x"), turn(10, 20, "y")});
  CHECK(r.der() == 0.0);
  CHECK(r.mapping == std::vector<std::pair<std::string, std::string>>{{"A", "x"}, {"B", "y"}});
  // The boundary 1 s late: 1 s of confusion over 20 s.
  r = ivkit::diarization_error(ref, {turn(0, 11, "x"), turn(11, 20, "y")});
  CHECK(std::abs(r.confusion - 1.0) < 1e-12);
  CHECK(std::abs(r.der() - 0.05) < 1e-12);
  // ... and a collar of 0.5 s on each side of each reference boundary hides half of it; md-eval's
  // -c 1 hides it all. The collar also removes 0.5 s at 0 (none before), at 10 (1 s) and 20.
  r = ivkit::diarization_error(ref, {turn(0, 11, "x"), turn(11, 20, "y")}, DerOptions{0.5, false});
  CHECK(std::abs(r.confusion - 0.5) < 1e-12);
  CHECK(std::abs(r.scored - (20.0 - 0.5 - 1.0 - 0.5)) < 1e-12);
  r = ivkit::diarization_error(ref, {turn(0, 11, "x"), turn(11, 20, "y")}, DerOptions{1.0, false});
  CHECK(r.confusion == 0.0);
  // Everything one speaker: B's 10 s are confusion (the mapping pairs x with one of them).
  r = ivkit::diarization_error(ref, {turn(0, 20, "x")});
  CHECK(std::abs(r.der() - 0.5) < 1e-12);
  // Overlap: A and B both talk in [5, 10); the hypothesis has only A there: 5 s missed of 25 scored.
  const std::vector<SpeakerTurn> overlap = {turn(0, 10, "A"), turn(5, 20, "B")};
  r = ivkit::diarization_error(overlap, {turn(0, 10, "x"), turn(10, 20, "y")});
  CHECK(std::abs(r.scored - 25.0) < 1e-12);
  CHECK(std::abs(r.missed - 5.0) < 1e-12);
  CHECK(r.confusion == 0.0);
  // ... not scored with ignore_overlap.
  r = ivkit::diarization_error(overlap, {turn(0, 10, "x"), turn(10, 20, "y")}, DerOptions{0.0, true});
  CHECK(std::abs(r.scored - 15.0) < 1e-12);
  CHECK(r.der() == 0.0);
  // Speech in the hypothesis only: false alarm; nothing scored at all: NaN.
  r = ivkit::diarization_error(ref, {turn(0, 10, "x"), turn(10, 20, "y"), turn(25, 27, "x")});
  CHECK(std::abs(r.false_alarm - 2.0) < 1e-12);
  CHECK(std::isnan(ivkit::diarization_error({}, {turn(0, 1, "x")}).der()));
  // Summing recordings.
  ivkit::DerResult total = ivkit::diarization_error(ref, {turn(0, 20, "x")});
  total += ivkit::diarization_error(ref, ref);
  CHECK(std::abs(total.der() - 0.25) < 1e-12);
}

TEST_CASE("DER: bad input") {
  const std::vector<SpeakerTurn> ref = {turn(0, 10, "A")};
  CHECK_THROWS_AS(ivkit::diarization_error(ref, {turn(5, 4, "x")}), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::diarization_error(ref, ref, DerOptions{-1.0, false}), ivkit::InvalidArgument);
  SpeakerTurn other = turn(0, 1, "x");
  other.recording = "other";
  CHECK_THROWS_WITH_AS(ivkit::diarization_error(ref, {other}),
                       "diarization_error: turns of recordings 'rec' and 'other' given together; score one recording at a time",
                       ivkit::InvalidArgument);
}
