// The recipes' text tables (ivkit/io/text_tables.hpp) and model-file detection
// (ivkit/io/model_probe.hpp): contents, and errors that name the file and the line. The Kaldi files
// are the ones Kaldi's binaries wrote (tests/data/kaldi_recipe).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ivkit/io/model_probe.hpp"
#include "ivkit/io/text_tables.hpp"
#include "support/files.hpp"

TEST_CASE("utt2spk, spk2utt, num_utts, scores and trials as Kaldi's recipes write them") {
  const ivkit::SpeakerMap u2s = ivkit::read_utt2spk(ivkit_test::recipe_fixture("train/utt2spk"));
  const ivkit::SpeakerMap s2u = ivkit::read_spk2utt(ivkit_test::recipe_fixture("train/spk2utt"));
  CHECK(u2s.num_utterances() == 96);
  CHECK(u2s.speakers.size() == 12);
  CHECK(s2u.speakers == u2s.speakers);
  for (const auto& [utt, spk] : u2s.utterance_speaker) CHECK(s2u.speakers[s2u.utterance_speaker.at(utt)] == u2s.speakers[spk]);

  const ivkit::ScoreList scores = ivkit::read_scores(ivkit_test::recipe_fixture("scores_plda"));
  CHECK(scores.size() == 672);
  CHECK(scores.enrol[0] == "de01-001");
  CHECK(scores.test[0] == "de01-002");
  CHECK(scores.scores[0] == doctest::Approx(0.2391559));
  const ivkit::TrialList trials = ivkit::read_trial_list(ivkit_test::recipe_fixture("eval/trials"), "auto", false);
  CHECK(trials.format == "kaldi");
  CHECK(trials.trials.size() == 672);
  CHECK(trials.trials.num_targets() == 224);

  ivkit_test::TempDir d("text_tables");
  const std::string pairs = d.write("pairs", "a b\nc d\n");
  CHECK(ivkit::read_trial_list(pairs, "auto", true).format == "pairs");
  CHECK_THROWS_AS(ivkit::read_trial_list(pairs, "pairs", false), ivkit::InvalidArgument);
  const std::string num = d.write("num_utts.ark", "spk1 3\nspk2 x\n");
  CHECK_THROWS_MSG(ivkit::read_int_table("ark,t:" + num), "'" + num + "' line 2: 'x' is not an integer", ivkit::FormatError);
  const std::string u2 = d.write("utt2spk", "u1 s1\n\nu1 s2\n");
  CHECK_THROWS_MSG(ivkit::read_utt2spk(u2), "'" + u2 + "' line 3: utterance 'u1' appears twice (first on line 1)", ivkit::FormatError);
  const std::string sc = d.write("scores", "a b 1.5\na b nan\n");
  CHECK_THROWS_MSG(ivkit::read_scores(sc), "'" + sc + "' line 2: the score 'nan' is not a number", ivkit::FormatError);
  CHECK_THROWS_AS(ivkit::read_scores(d / "missing"), ivkit::IoError);
}

TEST_CASE("segments files: Kaldi's, and bad lines named") {
  const auto segs = ivkit::read_kaldi_segments(ivkit_test::recipe_fixture("segments"));
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].utterance == "de01-001-a");
  CHECK(segs[0].recording == "de01-001");
  CHECK(segs[0].start == 0.0);
  CHECK(segs[0].end == 1.2);
  CHECK(segs[1].end == -1);
  CHECK(segs[2].line == 3);
  ivkit_test::TempDir d("text_tables");
  const std::string bad = d.write("segments", "u1 r1 0 1\nu2 r1 2 1.5\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_segments(bad),
                   "'" + bad + "' line 2: bad times '2 1.5' (need 0 <= start < end, or end -1 for the end of the recording)",
                   ivkit::FormatError);
  const std::string twice = d.write("segments2", "u1 r1 0 1\nu1 r1 1 2 0\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_segments(twice), "'" + twice + "' line 2: utterance 'u1' appears twice (first on line 1)", ivkit::FormatError);
  const std::string fields = d.write("segments3", "u1 r1 0\n");
  CHECK_THROWS_AS(ivkit::read_kaldi_segments(fields), ivkit::FormatError);
}

TEST_CASE("model files are told apart by their first bytes; read_any_gmm reads either UBM") {
  CHECK(ivkit::probe_model_file(ivkit_test::recipe_fixture("final.dubm")).type == "<DiagGMM>");
  CHECK(ivkit::probe_model_file(ivkit_test::recipe_fixture("final.ubm")).format == ivkit::ModelFileFormat::KaldiBinary);
  CHECK(ivkit::probe_model_file(ivkit_test::recipe_fixture("final.ie")).type == "<IvectorExtractor>");
  CHECK(ivkit::probe_model_file(ivkit_test::recipe_fixture("plda")).type == "<Plda>");
  CHECK(ivkit::probe_model_file(ivkit_test::recipe_fixture("transform.mat")).type == "FM");
  const auto dubm = ivkit::read_any_gmm<float>(ivkit_test::recipe_fixture("final.dubm"));
  const auto ubm = ivkit::read_any_gmm<double>(ivkit_test::recipe_fixture("final.ubm"));
  CHECK(std::holds_alternative<ivkit::DiagGmm<float>>(dubm));
  REQUIRE(std::holds_alternative<ivkit::FullGmm<double>>(ubm));
  CHECK(std::get<ivkit::FullGmm<double>>(ubm).num_components() == 64);
  ivkit_test::TempDir d("text_tables");
  ivkit::save_full_gmm(d / "ubm.ivk", std::get<ivkit::FullGmm<double>>(ubm));
  const auto info = ivkit::probe_model_file(d / "ubm.ivk");
  CHECK(info.format == ivkit::ModelFileFormat::Ivkit);
  CHECK(info.type == "FullGmm");
  CHECK(std::holds_alternative<ivkit::FullGmm<float>>(ivkit::read_any_gmm<float>(d / "ubm.ivk")));
  CHECK_THROWS_MSG(ivkit::read_any_gmm<float>(ivkit_test::recipe_fixture("plda")),
                   "read_any_gmm: '" + ivkit_test::recipe_fixture("plda") + "' holds a Kaldi binary <Plda> object, not a GMM (diagonal or full covariance)",
                   ivkit::FormatError);
  const std::string empty = d.write("empty", "");
  CHECK_THROWS_MSG(ivkit::probe_model_file(empty), "probe_model_file: '" + empty + "' is empty", ivkit::FormatError);
  CHECK_THROWS_AS(ivkit::probe_model_file(d / "missing"), ivkit::IoError);
}
