// Kaldi data folders: the speaker maps and tables, and an error naming the file and line for every
// kind of inconsistency.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ivkit/io/data_dir.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"

namespace fs = std::filesystem;

#define CHECK_THROWS_MSG(expr, msg, type)                              \
  do {                                                                 \
    const std::string ivkit_expected_message_ = (msg);                 \
    CHECK_THROWS_WITH_AS(expr, ivkit_expected_message_.c_str(), type); \
  } while (0)

namespace {

struct DataFolder {
  fs::path path;
  DataFolder() {
    path = fs::temp_directory_path() / ("ivkit_test_data_dir_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~DataFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(file(name), std::ios::binary | std::ios::trunc);
    out << text;
  }
  void remove(const std::string& name) const { fs::remove(file(name)); }
  std::string dir() const { return path.string(); }
};

const char* kUtt2spk = "spkA-u1 spkA\nspkA-u2 spkA\nspkB-u1 spkB\n";
const char* kSpk2utt = "spkB spkB-u1\nspkA spkA-u2 spkA-u1\n";

}  // namespace

TEST_CASE("a complete data folder: maps, tables, trials, and features read through feats.scp") {
  DataFolder d;
  d.write("utt2spk", kUtt2spk);
  d.write("spk2utt", kSpk2utt);
  {
    ivkit::KaldiWriter<ivkit::Matrix<float>> w("ark,scp:" + d.file("feats.ark") + "," + d.file("feats.scp"));
    w.write("spkA-u1", ivkit::Matrix<float>::Constant(3, 2, 1.f));
    w.write("spkA-u2", ivkit::Matrix<float>::Constant(2, 2, 2.f));
    w.write("spkB-u1", ivkit::Matrix<float>(0, 0));
    w.close();
  }
  d.write("wav.scp", "spkA-u1 /corpus/a1.wav\nspkA-u2 sox /corpus/a2.flac -t wav - |\n\nspkB-u1 /corpus/b1.wav\n");
  d.write("trials", "spkA spkB-u1 nontarget\nspkB spkB-u1 target\n");
  const auto dd = ivkit::read_kaldi_data_dir(d.dir());
  CHECK(dd.utterances == std::vector<std::string>{"spkA-u1", "spkA-u2", "spkB-u1"});
  CHECK(dd.speakers == std::vector<std::string>{"spkB", "spkA"});  // spk2utt order
  CHECK(dd.utterance_speaker == std::vector<ivkit::Index>{1, 1, 0});
  CHECK(dd.speaker_utterances[1] == std::vector<ivkit::Index>{1, 0});
  CHECK(dd.speaker_of("spkB-u1") == "spkB");
  CHECK(dd.speaker_index("spkA") == 1);
  CHECK(dd.utterance_index("nobody") == -1);
  CHECK(dd.feats.size() == 3);
  REQUIRE(dd.wav.size() == 3);
  CHECK(dd.wav[1].location == "sox /corpus/a2.flac -t wav - |");
  CHECK(dd.wav[2].line == 4);
  REQUIRE(dd.trials);
  CHECK(dd.trials->num_targets() == 1);
  CHECK(dd.has("spk2utt"));
  CHECK_FALSE(dd.has("segments"));
  std::size_t rows = 0, n = 0;
  for (auto&& [utt, m] : ivkit::KaldiSequentialReader<ivkit::Matrix<double>>(dd.feats_rspecifier())) {
    CHECK(dd.utterance_index(utt) >= 0);
    rows += static_cast<std::size_t>(m.rows());
    ++n;
  }
  CHECK(n == 3);
  CHECK(rows == 5);

  // Without spk2utt the speakers come from utt2spk in order of first appearance.
  d.remove("spk2utt");
  const auto d2 = ivkit::read_kaldi_data_dir(d.dir());
  CHECK(d2.speakers == std::vector<std::string>{"spkA", "spkB"});
  CHECK(d2.speaker_utterances[0] == std::vector<ivkit::Index>{0, 1});

  // segments: wav.scp is then keyed by recording.
  d.write("segments", "spkA-u1 rec1 0 1.5\nspkA-u2 rec1 1.5 -1\nspkB-u1 rec2 0.25 3\n");
  d.write("wav.scp", "rec1 /corpus/rec1.wav\nrec2 /corpus/rec2.wav\n");
  const auto d3 = ivkit::read_kaldi_data_dir(d.dir());
  REQUIRE(d3.segments.size() == 3);
  CHECK(d3.segments[1].end == -1);
  CHECK(d3.segments[2].start == 0.25);
}

TEST_CASE("data folder errors name the file and the line") {
  DataFolder d;
  const std::string dir = d.dir();
  auto f = [&](const std::string& name) { return d.file(name); };
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(f("nothing")), "read_kaldi_data_dir: '" + f("nothing") + "' is not a directory", ivkit::FormatError);
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("utt2spk") + "' is missing", ivkit::FormatError);

  d.write("utt2spk", "u1 s1\nu2 s1 extra\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("utt2spk") + "' line 2: expected 2 fields 'utterance speaker', got 3",
                   ivkit::FormatError);
  d.write("utt2spk", "u1 s1\nu2 s1\n\nu1 s2\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("utt2spk") + "' line 4: utterance 'u1' appears twice (first on line 1)",
                   ivkit::FormatError);
  d.write("utt2spk", "u1 s1\nu2 s1\nu3 s2\n");
  CHECK_NOTHROW(ivkit::read_kaldi_data_dir(dir));
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir, ivkit::KaldiDataDirOptions{true}), "read_kaldi_data_dir: '" + f("feats.scp") + "' is missing",
                   ivkit::FormatError);

  // spk2utt against utt2spk
  d.write("spk2utt", "s1 u1 u2\ns2 u3 u1\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("spk2utt") + "' line 2: utterance 'u1' appears twice (first on line 1)",
                   ivkit::FormatError);
  d.write("spk2utt", "s1 u1\ns2 u3 u2\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_kaldi_data_dir: '" + f("spk2utt") + "' line 2: utterance 'u2' is listed under speaker 's2' but '" + f("utt2spk") +
                       "' line 2 gives speaker 's1'",
                   ivkit::FormatError);
  d.write("spk2utt", "s1 u1\ns2 u3\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_kaldi_data_dir: '" + f("utt2spk") + "' line 2: utterance 'u2' (speaker 's1') is missing from '" + f("spk2utt") + "'",
                   ivkit::FormatError);
  d.write("spk2utt", "s1 u1 u2 u9\ns2 u3\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("spk2utt") + "' line 1: utterance 'u9' is not in '" + f("utt2spk") + "'",
                   ivkit::FormatError);
  d.write("spk2utt", "s1 u1 u2\ns3 u3\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("spk2utt") + "' line 2: speaker 's3' has no utterance in '" + f("utt2spk") + "'",
                   ivkit::FormatError);
  d.write("spk2utt", "s1 u1 u2\ns2 u3\n");
  CHECK_NOTHROW(ivkit::read_kaldi_data_dir(dir));

  // feats.scp against utt2spk
  d.write("feats.scp", "u1 a.ark:3\nu4 a.ark:50\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("feats.scp") + "' line 2: utterance 'u4' is not in '" + f("utt2spk") + "'",
                   ivkit::FormatError);
  d.write("feats.scp", "u1 a.ark:3\nu2 a.ark:50\nu1 a.ark:90\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("feats.scp") + "' line 3: utterance 'u1' appears twice (first on line 1)",
                   ivkit::FormatError);
  d.write("feats.scp", "u1 a.ark:3\nu3\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("feats.scp") + "' line 2: expected 'utterance location', got only 'u3'",
                   ivkit::FormatError);
  d.write("feats.scp", "u1 a.ark:3\nu3 a.ark:90\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("utt2spk") + "' line 2: utterance 'u2' has no entry in '" + f("feats.scp") + "'",
                   ivkit::FormatError);
  ivkit::KaldiDataDirOptions lenient;
  lenient.all_utterances_have_features = false;
  CHECK(ivkit::read_kaldi_data_dir(dir, lenient).feats.size() == 2);
  d.write("feats.scp", "u1 a.ark:3\nu2 gunzip -c a.gz |\nu3 a.ark:90\n");
  CHECK(ivkit::read_kaldi_data_dir(dir).feats[1].location == "gunzip -c a.gz |");  // a command, run when read
  d.write("feats.scp", "u1 a.ark:3\nu2 | gzip -c\nu3 a.ark:90\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_kaldi_data_dir: '" + f("feats.scp") + "' line 2: utterance 'u2': parse_kaldi_location: '| gzip -c' writes to a command ('| cmd'), but a file is read here: use 'cmd |'",
                   ivkit::FormatError);
  d.write("feats.scp", "u1 a.ark:3\nu2 a.ark:50\nu3 a.ark:90\n");
  CHECK(ivkit::read_kaldi_data_dir(dir).feats[2].location == "a.ark:90");

  // vad.scp, wav.scp and segments
  d.write("vad.scp", "u1 v.ark:3\nu7 v.ark:9\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("vad.scp") + "' line 2: utterance 'u7' is not in '" + f("utt2spk") + "'",
                   ivkit::FormatError);
  d.write("vad.scp", "u1 v.ark:3\n");
  d.write("wav.scp", "u1 a.wav\nrecX b.wav\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_kaldi_data_dir: '" + f("wav.scp") + "' line 2: 'recX' is not an utterance of '" + f("utt2spk") + "' (and there is no segments file)",
                   ivkit::FormatError);
  d.write("segments", "u1 recX 0 1\nu2 recY 2 1\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_kaldi_data_dir: '" + f("segments") + "' line 2: bad times '2 1' (expected 0 <= start < end, or end -1)", ivkit::FormatError);
  d.write("segments", "u1 recX 0 1\nu2 recY 1 2\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("segments") + "' line 2: recording 'recY' is not in '" + f("wav.scp") + "'",
                   ivkit::FormatError);
  d.write("wav.scp", "recX b.wav\nrecY c.wav\nrecX d.wav\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir), "read_kaldi_data_dir: '" + f("wav.scp") + "' line 3: 'recX' appears twice (first on line 1)",
                   ivkit::FormatError);
  d.write("wav.scp", "recX b.wav\nrecY c.wav\n");
  CHECK(ivkit::read_kaldi_data_dir(dir).segments.size() == 2);

  // trials: the errors of read_trials, which names the file and line.
  d.write("trials", "s1 u3 target\ns2 u1 maybe\n");
  CHECK_THROWS_MSG(ivkit::read_kaldi_data_dir(dir),
                   "read_trials: " + f("trials") + ":2: the third field must be 'target' or 'nontarget', got 'maybe'", ivkit::FormatError);
}
