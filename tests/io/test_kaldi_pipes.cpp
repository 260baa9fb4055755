// Kaldi's piped specifiers run real commands: `ark:cmd |`, `scp:cmd |`, `ark:| cmd`, script entries
// `key cmd |`, single objects from `cmd |` and to `| cmd`; a command that fails is an IoError naming
// it, and nothing is silently short.
#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"
#include "support/files.hpp"

namespace {

using MatF = ivkit::Matrix<float>;
using VecF = ivkit::Vector<float>;

MatF matf(ivkit::Index r, ivkit::Index c, float start) {
  MatF m(r, c);
  for (ivkit::Index i = 0; i < m.size(); ++i) m.data()[i] = start + 0.25f * static_cast<float>(i);
  return m;
}

template <class T>
std::vector<std::pair<std::string, T>> read_table(const std::string& rspecifier) {
  std::vector<std::pair<std::string, T>> out;
  for (auto&& [key, value] : ivkit::KaldiSequentialReader<T>(rspecifier)) out.emplace_back(key, std::move(value));
  return out;
}

/// Writes a binary archive of three matrices to `path` and returns them.
std::vector<std::pair<std::string, MatF>> write_archive(const std::string& path) {
  std::vector<std::pair<std::string, MatF>> items = {{"a", matf(3, 2, 0)}, {"b", matf(1, 2, 10)}, {"c", matf(4, 2, -3)}};
  ivkit::KaldiWriter<MatF> w("ark:" + path);
  for (const auto& [k, m] : items) w.write(k, m);
  w.close();
  return items;
}

struct IgnoreSigpipe {
  void (*old)(int);
  IgnoreSigpipe() : old(std::signal(SIGPIPE, SIG_IGN)) {}
  ~IgnoreSigpipe() { std::signal(SIGPIPE, old); }
};

}  // namespace

TEST_CASE("ark:cmd | and scp:cmd | read a command's output, sequentially and by key") {
  ivkit_test::TempDir d("pipes");
  const auto items = write_archive(d / "m.ark");
  // A real pipeline: the archive through two commands.
  auto got = read_table<MatF>("ark,s,cs:cat " + (d / "m.ark") + " | cat |");
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i].first == items[i].first);
    CHECK(got[i].second == items[i].second);
  }
  ivkit::KaldiRandomAccessReader<MatF> by_key("ark:cat " + (d / "m.ark") + " |");
  CHECK(by_key.size() == 3);
  CHECK(by_key.value("c") == items[2].second);
  CHECK(by_key.value("a") == items[0].second);

  // A script file made by a command (head keeps the first two entries, as Kaldi's recipes do).
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "s.ark") + "," + (d / "s.scp"));
    for (const auto& [k, m] : items) w.write(k, m);
    w.close();
  }
  got = read_table<MatF>("scp:head -n 2 " + (d / "s.scp") + " |");
  REQUIRE(got.size() == 2);
  CHECK(got[1].first == "b");
  CHECK(got[1].second == items[1].second);
  ivkit::KaldiRandomAccessReader<MatF> scp_by_key("scp:head -n 2 " + (d / "s.scp") + " |");
  CHECK(scp_by_key.has_key("b"));
  CHECK_FALSE(scp_by_key.has_key("c"));
}

TEST_CASE("script entries that are commands, and single objects from and to commands") {
  ivkit_test::TempDir d("pipes");
  const auto items = write_archive(d / "m.ark");
  {
    ivkit::KaldiWriter<MatF> w("ark:" + (d / "one_b.ark"));
    w.write("b", items[1].second);
    w.close();
  }
  // Each entry runs its own command; the second cuts rows from the command's object.
  std::ofstream(d / "cmd.scp") << "x cat " << (d / "m.ark") << " | tail -c +3 |\n"
                               << "y cat " << (d / "m.ark") << " | tail -c +3 |[1:2]\n";
  const auto got = read_table<MatF>("scp:" + (d / "cmd.scp"));
  REQUIRE(got.size() == 2);
  CHECK(got[0].second == items[0].second);  // the archive without its first key is key a's object
  CHECK(got[1].second == items[0].second.middleRows(1, 2));

  // Single objects: a matrix read from a command, written to a command.
  const MatF m = matf(2, 3, 1);
  ivkit::write_kaldi_matrix("| cat > " + (d / "piped.mat"), m);
  CHECK(ivkit_test::slurp(d / "piped.mat").size() > 0);
  CHECK(ivkit::read_kaldi_matrix<float>("cat " + (d / "piped.mat") + " |") == m);
}

TEST_CASE("ark:| cmd writes through a command; close() waits for it") {
  ivkit_test::TempDir d("pipes");
  {
    ivkit::KaldiWriter<VecF> w("ark,t:| gzip -c > " + (d / "v.txt.gz"));
    w.write("u1", VecF::Constant(3, 1.5f));
    w.write("u2", VecF::Constant(2, -2.0f));
    w.close();
  }
  const auto back = read_table<VecF>("ark:gunzip -c " + (d / "v.txt.gz") + " |");
  REQUIRE(back.size() == 2);
  CHECK(back[0].second == VecF::Constant(3, 1.5f));
  CHECK(back[1].first == "u2");
}

TEST_CASE("a failing command is an IoError naming it, never a short table") {
  ivkit_test::TempDir d("pipes");
  write_archive(d / "m.ark");
  // The command writes a good archive, then fails: the reader must not take the table as complete.
  const std::string failing = "cat " + (d / "m.ark") + "; exit 3";
  auto read_failing = [&] { return read_table<MatF>("ark:" + failing + " |"); };
  CHECK_THROWS_MSG(read_failing(), "KaldiSequentialReader: the command '" + failing + "' failed (exit status 3)", ivkit::IoError);
  CHECK_THROWS_MSG(ivkit::KaldiRandomAccessReader<MatF>("ark:" + failing + " |"),
                   "KaldiRandomAccessReader: the command '" + failing + "' failed (exit status 3)", ivkit::IoError);
  // A command that does not exist: the shell says so on stderr and exits 127.
  CHECK_THROWS_MSG(read_table<MatF>("ark:ivkit-no-such-command-xyz |"),
                   "KaldiSequentialReader: the command 'ivkit-no-such-command-xyz' failed (exit status 127)", ivkit::IoError);
  // A script entry whose command fails names the script file and line.
  std::ofstream(d / "bad.scp") << "x cat " << (d / "m.ark") << " | tail -c +3 |\ny false |\n";
  CHECK_THROWS_MSG(read_table<MatF>("scp:" + (d / "bad.scp")),
                   "KaldiSequentialReader: the command 'false' failed (exit status 1) (key 'y', from '" + (d / "bad.scp") + "' line 2)",
                   ivkit::IoError);
  // A single object from a failing command.
  CHECK_THROWS_MSG(ivkit::read_kaldi_matrix<float>("exit 2 |"), "read_kaldi_matrix: the command 'exit 2' failed (exit status 2)", ivkit::IoError);

  // Writing to a command that fails or stops reading.
  IgnoreSigpipe ignore;
  auto write_to = [&](const std::string& cmd, int n) {
    ivkit::KaldiWriter<MatF> w("ark:| " + cmd);
    for (int i = 0; i < n; ++i) w.write("k" + std::to_string(i), matf(100, 100, static_cast<float>(i)));
    w.close();
  };
  CHECK_THROWS_MSG(write_to("cat > /dev/null; exit 4", 3), "KaldiWriter: the command 'cat > /dev/null; exit 4' failed (exit status 4)",
                   ivkit::IoError);
  CHECK_THROWS_AS(write_to("head -c 10 > /dev/null", 200), ivkit::IoError);
}
