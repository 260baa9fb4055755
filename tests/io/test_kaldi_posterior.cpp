// Posterior tables (ivkit/io/kaldi_posterior.hpp) against the archive Kaldi's
// fgmm-global-gselect-to-post wrote (tests/data/kaldi_recipe/post.ark): read, written back byte for
// byte, text round trip, the checks of posterior_from_table; and FullGmm::selected_posteriors on
// the same features, selections and model compared with Kaldi's posteriors entry by entry.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_gselect.hpp"
#include "ivkit/io/kaldi_posterior.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"
#include "support/files.hpp"

using ivkit::Index;
using ivkit::KaldiPosterior;

TEST_CASE("Kaldi's posterior archive read and written back byte for byte; text written and read back") {
  ivkit_test::TempDir dir("posterior");
  std::size_t utts = 0, frames = 0, entries = 0;
  {
    ivkit::KaldiWriter<KaldiPosterior> bin_out("ark:" + dir / "p.ark");
    ivkit::KaldiWriter<KaldiPosterior> txt_out("ark,t:" + dir / "p.txt");
    for (ivkit::KaldiSequentialReader<KaldiPosterior> in("ark:" + ivkit_test::recipe_fixture("post.ark")); !in.done(); in.next()) {
      for (const auto& f : in.value()) {
        CHECK(!f.empty());
        CHECK(f.size() <= 20);  // from a selection of 20
        double sum = 0;
        for (const auto& [c, p] : f) {
          CHECK(p >= 0.025f);  // --min-post=0.025 (then renormalised: only larger)
          sum += p;
        }
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
        entries += f.size();
      }
      bin_out.write(in.key(), in.value());
      txt_out.write(in.key(), in.value());
      ++utts;
      frames += in.value().size();
    }
    bin_out.close();
    txt_out.close();
  }
  CHECK(utts == 8);
  CHECK(frames == 1956);  // as gselect.ark
  CHECK(entries > frames);
  CHECK(ivkit_test::slurp(dir / "p.ark") == ivkit_test::slurp(ivkit_test::recipe_fixture("post.ark")));
  // Text holds the shortest decimal of each float: it reads back to the same values.
  ivkit::KaldiRandomAccessReader<KaldiPosterior> text("ark:" + dir / "p.txt");
  for (ivkit::KaldiSequentialReader<KaldiPosterior> in("ark:" + ivkit_test::recipe_fixture("post.ark")); !in.done(); in.next())
    CHECK(text.value(in.key()) == in.value());
  // Kaldi's own text layout, with an empty frame, and a range of frames.
  ivkit_test::write_bytes(dir / "k.txt", "u1 [ 3 0.75 1 0.25 ] [ ] [ 2 1 ] \nu2 [ 0 1 ] \n");
  ivkit::KaldiRandomAccessReader<KaldiPosterior> k("ark:" + dir / "k.txt");
  CHECK(k.value("u1") == KaldiPosterior{{{3, 0.75f}, {1, 0.25f}}, {}, {{2, 1.0f}}});
  CHECK(k.value("u2") == KaldiPosterior{{{0, 1.0f}}});
  ivkit_test::write_bytes(dir / "k.scp", "u1 " + dir / "k.txt:3[1:2]\n");
  CHECK(ivkit::KaldiRandomAccessReader<KaldiPosterior>("scp:" + dir / "k.scp").value("u1") == KaldiPosterior{{}, {{2, 1.0f}}});

  // Corrupt files are errors that say what is wrong.
  ivkit_test::write_bytes(dir / "bad1.txt", "u [ 3 0.75 1 ] \n");
  CHECK_THROWS_WITH_AS(ivkit::KaldiSequentialReader<KaldiPosterior>("ark:" + dir / "bad1.txt").value(),
                       doctest::Contains("component 1 has no posterior"), ivkit::FormatError);
  ivkit_test::write_bytes(dir / "bad2.txt", "u [ 3 0.75 \n");
  CHECK_THROWS_WITH_AS(ivkit::KaldiSequentialReader<KaldiPosterior>("ark:" + dir / "bad2.txt").value(),
                       doctest::Contains("before their closing ']'"), ivkit::FormatError);
  const std::string bytes = ivkit_test::slurp(ivkit_test::recipe_fixture("post.ark"));
  ivkit_test::write_bytes(dir / "cut.ark", bytes.substr(0, bytes.size() - 7));
  CHECK_THROWS_AS(
      [&] {
        for (ivkit::KaldiSequentialReader<KaldiPosterior> in("ark:" + dir / "cut.ark"); !in.done(); in.next()) (void)in.value();
      }(),
      ivkit::FormatError);

  // posterior_from_table's checks name the utterance, frame and entry.
  CHECK_THROWS_WITH_AS(ivkit::posterior_from_table({{{1, 0.5f}}, {{9, 1.0f}}}, 8, "u"),
                       "u: frame 1 has a posterior for component 9 but the model has 8 components", ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::posterior_from_table({{{1, 0.5f}, {1, 0.5f}}}, 8, "u"), "u: frame 0 has two posteriors for component 1",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::posterior_from_table({{{1, std::nanf("")}}}, 8, "u"),
                       doctest::Contains("u: frame 0 has the posterior nan for component 1"), ivkit::FormatError);
  const auto p = ivkit::posterior_from_table({{{3, 0.75f}, {1, 0.25f}}, {}, {{2, 1.0f}}}, 4, "u");
  CHECK(p.offsets == std::vector<Index>{0, 2, 2, 3});
  CHECK(ivkit::posterior_to_table(p) == KaldiPosterior{{{3, 0.75f}, {1, 0.25f}}, {}, {{2, 1.0f}}});
}

// Kaldi: gmm-gselect --n=20 on the diagonal form of final.ubm, then fgmm-global-gselect-to-post
// --min-post=0.025 (log-likelihoods of the selected components in float, softmax, entries below
// 0.025 dropped, renormalised). ivkit: the same selections read from gselect.ark, the full model
// read from final.ubm, selected_posteriors in float and in double.
template <class Scalar>
void compare_with_kaldi_posteriors() {
  const auto ubm = ivkit::read_kaldi_full_gmm<Scalar>(ivkit_test::recipe_fixture("final.ubm"));
  const Index C = ubm.num_components();
  ivkit::KaldiRandomAccessReader<ivkit::Int32VectorVector> gselect("ark:" + ivkit_test::recipe_fixture("gselect.ark"));
  ivkit::KaldiRandomAccessReader<KaldiPosterior> kaldi("ark:" + ivkit_test::recipe_fixture("post.ark"));
  std::size_t frames = 0, entries = 0, borderline = 0;
  double largest = 0;
  for (ivkit::KaldiSequentialReader<ivkit::Matrix<float>> feats("ark:" + ivkit_test::recipe_fixture("feats_sid.ark")); !feats.done();
       feats.next()) {
    const std::string& utt = feats.key();
    const ivkit::GaussianSelection sel = ivkit::gselect_from_table(gselect.value(utt), C, utt);
    const auto ours = ubm.selected_posteriors(feats.value().template cast<Scalar>(), sel, 0.025);
    const auto theirs = ivkit::posterior_from_table(kaldi.value(utt), C, utt);
    REQUIRE(ours.num_frames() == theirs.num_frames());
    for (Index t = 0; t < ours.num_frames(); ++t) {
      // Entry by entry, matched by component; one kept by one side only must sit at the pruning
      // threshold (float rounding decides it), and then the frame's other values differ by the
      // renormalisation, at most that entry's share.
      std::vector<std::pair<std::int32_t, double>> a, b;
      for (Index k = ours.begin(t); k < ours.end(t); ++k)
        a.emplace_back(ours.components[static_cast<std::size_t>(k)], ours.values[static_cast<std::size_t>(k)]);
      for (Index k = theirs.begin(t); k < theirs.end(t); ++k)
        b.emplace_back(theirs.components[static_cast<std::size_t>(k)], theirs.values[static_cast<std::size_t>(k)]);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a.size() != b.size()) {
        ++borderline;
        std::vector<std::pair<std::int32_t, double>>& longer = a.size() > b.size() ? a : b;
        const std::vector<std::pair<std::int32_t, double>>& shorter = a.size() > b.size() ? b : a;
        REQUIRE(longer.size() == shorter.size() + 1);
        for (std::size_t i = 0; i < longer.size(); ++i)
          if (i == shorter.size() || longer[i].first != shorter[i].first) {
            INFO(utt << " frame " << t << ": component " << longer[i].first << " kept by one side only, posterior " << longer[i].second);
            CHECK(std::abs(longer[i].second - 0.025) < 2e-4);
            longer.erase(longer.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
        for (std::size_t i = 0; i < shorter.size(); ++i) {
          REQUIRE(longer[i].first == shorter[i].first);
          CHECK(std::abs(longer[i].second - shorter[i].second) < 0.03);
        }
        continue;
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        INFO(utt << " frame " << t << " component " << b[i].first);
        REQUIRE(a[i].first == b[i].first);
        CHECK(std::abs(a[i].second - b[i].second) <= 5e-5);  // Kaldi's float log-likelihoods: 2.2e-5 at most here
        largest = std::max(largest, std::abs(a[i].second - b[i].second));
      }
      ++frames;
      entries += a.size();
    }
  }
  MESSAGE("frames with the same entries: " << frames << " (" << entries << " entries, largest difference " << largest
                                           << "); frames with an entry at the threshold: " << borderline);
  CHECK(frames >= 1954);  // all 1,956 here: the same components kept on every frame
  CHECK(borderline <= 2);
}

TEST_CASE("FullGmm selected posteriors match Kaldi's fgmm-global-gselect-to-post entry by entry") {
  SUBCASE("float") { compare_with_kaldi_posteriors<float>(); }
  SUBCASE("double") { compare_with_kaldi_posteriors<double>(); }
}
