// Gaussian-selection tables (ivkit/io/kaldi_gselect.hpp) against the files Kaldi's gmm-gselect and
// copy-gselect wrote (tests/data/kaldi_recipe): read both, write both back byte for byte, and the
// checks of gselect_from_table.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ivkit/io/kaldi_gselect.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"
#include "support/files.hpp"

TEST_CASE("Kaldi's gselect archives, binary and text, read and written back byte for byte") {
  ivkit_test::TempDir dir("gselect");
  std::size_t utts = 0, frames = 0;
  {
    ivkit::KaldiRandomAccessReader<ivkit::Int32VectorVector> text("ark:" + ivkit_test::recipe_fixture("gselect.txt"));
    ivkit::KaldiWriter<ivkit::Int32VectorVector> bin_out("ark:" + dir / "g.ark");
    ivkit::KaldiWriter<ivkit::Int32VectorVector> txt_out("ark,t:" + dir / "g.txt");
    for (ivkit::KaldiSequentialReader<ivkit::Int32VectorVector> bin("ark:" + ivkit_test::recipe_fixture("gselect.ark")); !bin.done(); bin.next()) {
      const auto& sel = bin.value();
      CHECK(sel == text.value(bin.key()));
      for (const auto& f : sel) CHECK(f.size() == 20);  // gmm-gselect --n=20
      const ivkit::GaussianSelection g = ivkit::gselect_from_table(sel, 64, bin.key());
      CHECK(ivkit::gselect_to_table(g) == sel);
      bin_out.write(bin.key(), sel);
      txt_out.write(bin.key(), sel);
      ++utts;
      frames += sel.size();
    }
    bin_out.close();
    txt_out.close();
  }
  CHECK(utts == 8);
  CHECK(frames == 1956);
  CHECK(ivkit_test::slurp(dir / "g.ark") == ivkit_test::slurp(ivkit_test::recipe_fixture("gselect.ark")));
  CHECK(ivkit_test::slurp(dir / "g.txt") == ivkit_test::slurp(ivkit_test::recipe_fixture("gselect.txt")));

  // Tables that are not a selection for the model are clear errors.
  CHECK_THROWS_WITH_AS(ivkit::gselect_from_table({{1, 2}, {3}}, 8, "u"), "u: frame 1 selects 1 Gaussians but frame 0 selects 2 (every frame must select the same number)",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::gselect_from_table({{1, 9}}, 8, "u"), "u: frame 0 selects Gaussian 9 but the model has 8 components", ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::gselect_from_table({{1, 1}}, 8, "u"), "u: frame 0 selects Gaussian 1 twice", ivkit::FormatError);
}
