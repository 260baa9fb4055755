// Kaldi tables: specifiers, archives (binary, text, mixed), script files pointing into several
// archives, ranges, random access, atomic writers, stdin/stdout, and truncation or corruption of
// archives (always a FormatError naming file, key and offset).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_specifier.hpp"
#include "ivkit/io/kaldi_writer.hpp"
#include "support/bytes.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;

// CHECK_THROWS_WITH_AS with a message built at run time (doctest keeps a const char*).
#define CHECK_THROWS_MSG(expr, msg, type)                  \
  do {                                                     \
    const std::string ivkit_expected_message_ = (msg);     \
    CHECK_THROWS_WITH_AS(expr, ivkit_expected_message_.c_str(), type); \
  } while (0)

namespace {

using ivkit_test::i32;
using ivkit_test::f32;
using ivkit_test::kint;
using ivkit_test::kMarker;
using ivkit_test::slurp;
using ivkit_test::write_bytes;

using ivkit::Index;
using MatF = ivkit::Matrix<float>;
using MatD = ivkit::Matrix<double>;
using VecF = ivkit::Vector<float>;


/// Kaldi's binary float matrix object, built from the documented layout.
std::string fm_object(const MatD& m) {
  std::string s = kMarker + "FM " + kint(static_cast<std::int32_t>(m.rows())) + kint(static_cast<std::int32_t>(m.cols()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) s += f32(static_cast<float>(m(i, j)));
  return s;
}

using ivkit_test::TempDir;


MatD mat(Index r, Index c, double start) {
  MatD m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = start + 0.5 * static_cast<double>(i);
  return m;
}

template <class T>
std::vector<std::pair<std::string, T>> read_all(const std::string& rspecifier) {
  std::vector<std::pair<std::string, T>> out;
  for (auto&& [key, value] : ivkit::KaldiSequentialReader<T>(rspecifier)) out.emplace_back(key, std::move(value));
  return out;
}

/// The offsets a script file written by KaldiWriter records, by key.
std::vector<std::pair<std::string, std::string>> scp_lines(const std::string& p) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(slurp(p));
  std::string k, loc;
  while (in >> k >> loc) out.emplace_back(k, loc);
  return out;
}

std::uint64_t offset_of(const std::string& location) { return std::stoull(location.substr(location.rfind(':') + 1)); }

}  // namespace

TEST_CASE("specifiers, locations and ranges parse as Kaldi's") {
  auto r = ivkit::parse_kaldi_rspecifier("ark,s,cs:-");
  CHECK(r.kind == ivkit::KaldiTableKind::Archive);
  CHECK(r.is_stdin());
  CHECK(r.sorted);
  CHECK(r.called_sorted);
  r = ivkit::parse_kaldi_rspecifier("scp,p:data/feats.scp");
  CHECK(r.kind == ivkit::KaldiTableKind::Script);
  CHECK(r.permissive);
  CHECK(r.path == "data/feats.scp");
  CHECK(ivkit::parse_kaldi_rspecifier("b,o,ns,bg,ark:x.ark").path == "x.ark");
  CHECK_THROWS_MSG(ivkit::parse_kaldi_rspecifier("foo:x"),
                       "parse_kaldi_rspecifier: 'foo:x' has the unknown option 'foo' (known: ark, scp, b, t, o, no, s, ns, cs, ncs, p, np, bg)",
                       ivkit::InvalidArgument);
  CHECK_THROWS_MSG(ivkit::parse_kaldi_rspecifier("ark,scp:x"), "parse_kaldi_rspecifier: 'ark,scp:x' names ark or scp twice", ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::parse_kaldi_rspecifier("feats.ark"), ivkit::InvalidArgument);
  r = ivkit::parse_kaldi_rspecifier("ark,s,cs:gunzip -c a.gz |");
  CHECK(r.is_pipe());
  CHECK(r.path == "gunzip -c a.gz |");
  CHECK_THROWS_MSG(ivkit::parse_kaldi_rspecifier("ark:| gzip -c"),
                   "parse_kaldi_rspecifier: 'ark:| gzip -c' writes to a command ('| cmd'), but an rspecifier is read: use 'cmd |'",
                   ivkit::InvalidArgument);
  CHECK_THROWS_MSG(ivkit::parse_kaldi_rspecifier("ark: |"), "parse_kaldi_rspecifier: 'ark: |' has an empty command before '|'", ivkit::InvalidArgument);

  auto w = ivkit::parse_kaldi_wspecifier("ark,scp:a.ark,a.scp");
  CHECK(w.has_archive);
  CHECK(w.has_script);
  CHECK(w.archive == "a.ark");
  CHECK(w.script == "a.scp");
  CHECK(w.binary);
  w = ivkit::parse_kaldi_wspecifier("ark,t,f:-");
  CHECK_FALSE(w.binary);
  CHECK(w.flush);
  CHECK(w.archive == "-");
  CHECK_THROWS_MSG(ivkit::parse_kaldi_wspecifier("scp,ark:a,b"), "parse_kaldi_wspecifier: 'scp,ark:a,b': ark must come once, before scp",
                       ivkit::InvalidArgument);
  CHECK_THROWS_MSG(ivkit::parse_kaldi_wspecifier("ark,scp:a.ark"),
                       "parse_kaldi_wspecifier: 'ark,scp:a.ark' needs two file names, ark,scp:<archive>,<script>", ivkit::InvalidArgument);
  w = ivkit::parse_kaldi_wspecifier("ark:| gzip -c > a.gz");
  CHECK(w.archive_is_pipe());
  CHECK_THROWS_MSG(ivkit::parse_kaldi_wspecifier("ark,scp:| gzip -c > a.gz,a.scp"),
                   "parse_kaldi_wspecifier: 'ark,scp:| gzip -c > a.gz,a.scp' sends the archive to a command, so a script file could not point into it",
                   ivkit::InvalidArgument);
  CHECK_THROWS_MSG(ivkit::parse_kaldi_wspecifier("ark:cat a |"),
                   "parse_kaldi_wspecifier: 'ark:cat a |' reads from a command ('cmd |'), but a wspecifier is written: use '| cmd'",
                   ivkit::InvalidArgument);

  auto loc = ivkit::parse_kaldi_location("/d/raw_mfcc.1.ark:123");
  CHECK(loc.path == "/d/raw_mfcc.1.ark");
  CHECK(*loc.offset == 123);
  CHECK(loc.range.empty());
  loc = ivkit::parse_kaldi_location("a.ark:0[3:5,0:1]");
  CHECK(loc.path == "a.ark");
  CHECK(*loc.offset == 0);
  CHECK(loc.range == "3:5,0:1");
  CHECK_FALSE(ivkit::parse_kaldi_location("transform.mat").offset);
  CHECK(ivkit::parse_kaldi_location("odd:name").path == "odd:name");
  CHECK(ivkit::parse_kaldi_location("f:1:2").path == "f:1");
  CHECK_THROWS_AS(ivkit::parse_kaldi_location("a.ark[]"), ivkit::InvalidArgument);
  // A command: kept whole (no offset is parsed out of it), run when the object is read.
  loc = ivkit::parse_kaldi_location("sox a.wav:3 -t wav - |");
  CHECK(loc.path == "sox a.wav:3 -t wav - |");
  CHECK_FALSE(loc.offset);
  loc = ivkit::parse_kaldi_location("copy-feats ark:a.ark ark:- |[0:9]");
  CHECK(loc.path == "copy-feats ark:a.ark ark:- |");
  CHECK(loc.range == "0:9");
  CHECK_THROWS_AS(ivkit::parse_kaldi_location("| gzip -c"), ivkit::InvalidArgument);

  auto range = ivkit::parse_kaldi_range("0:9,3:5");
  CHECK(range.row_begin == 0);
  CHECK(range.row_end == 9);
  CHECK(range.col_begin == 3);
  CHECK(range.col_end == 5);
  range = ivkit::parse_kaldi_range(":,1:2");
  CHECK(range.row_end == -1);
  CHECK(range.col_begin == 1);
  for (const char* bad : {"5:2", "a:b", "1:2,", "1", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(ivkit::parse_kaldi_range(bad), ivkit::InvalidArgument);
  }
}

TEST_CASE("archives and script files are byte-exact: binary, text, empty matrices, offsets") {
  TempDir d("exact");
  const MatD u1 = mat(2, 3, 1), u3 = mat(1, 2, -4);
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "a.ark") + "," + (d / "a.scp"));
    w.write("u1", u1);  // double data into a float table
    w.write("u2", MatF(0, 0));
    w.write("u3", u3);
    CHECK(w.size() == 3);
    w.close();
  }
  const std::string o1 = fm_object(u1), o2 = fm_object(MatD(0, 0)), o3 = fm_object(u3);
  CHECK(slurp(d / "a.ark") == "u1 " + o1 + "u2 " + o2 + "u3 " + o3);
  const std::size_t off1 = 3, off2 = off1 + o1.size() + 3, off3 = off2 + o2.size() + 3;
  CHECK(slurp(d / "a.scp") == "u1 " + (d / "a.ark") + ":" + std::to_string(off1) + "\nu2 " + (d / "a.ark") + ":" + std::to_string(off2) +
                                  "\nu3 " + (d / "a.ark") + ":" + std::to_string(off3) + "\n");
  {
    ivkit::KaldiWriter<MatD> w("ark,t:" + (d / "t.ark"));
    w.write("u1", u1);
    w.write("u2", MatD(0, 0));
    w.write("u3", u3);
    w.close();
  }
  CHECK(slurp(d / "t.ark") == "u1  [\n  1 1.5 2 \n  2.5 3 3.5 ]\nu2  [ ]\nu3  [\n  -4 -3.5 ]\n");
  {
    ivkit::KaldiWriter<VecF> w("ark:" + (d / "v.ark"));
    w.write("s1", Eigen::Vector2d(0.5, -1));
    w.close();
  }
  CHECK(slurp(d / "v.ark") == "s1 " + kMarker + "FV " + kint(2) + f32(0.5f) + f32(-1.f));

  // Read back: archives and the script file, into either scalar type.
  for (const std::string& spec : {"ark:" + (d / "a.ark"), "ark:" + (d / "t.ark"), "scp:" + (d / "a.scp")}) {
    CAPTURE(spec);
    const auto all = read_all<MatD>(spec);
    REQUIRE(all.size() == 3);
    CHECK(all[0].first == "u1");
    CHECK(all[0].second == u1);
    CHECK(all[1].first == "u2");
    CHECK(all[1].second.size() == 0);
    CHECK(all[2].first == "u3");
    CHECK(all[2].second == u3);
  }
  ivkit::KaldiSequentialReader<VecF> v("ark:" + (d / "v.ark"));
  CHECK(v.key() == "s1");
  CHECK(v.value() == Eigen::Vector2f(0.5f, -1.f));
  v.next();
  CHECK(v.done());
  CHECK_THROWS_AS(v.key(), ivkit::InvalidArgument);
}

TEST_CASE("one script file pointing into binary and text archives, single-object files, compressed data and ranges") {
  TempDir d("mixed");
  const MatD a1 = mat(3, 2, 0), a2 = mat(2, 2, 10), t1 = mat(2, 4, -1), t2 = mat(1, 1, 7), single = mat(2, 2, 100);
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "b.ark") + "," + (d / "b.scp"));
    w.write("a1", a1);
    w.write("a2", a2);
    w.close();
    ivkit::KaldiWriter<MatD> t("ark,t,scp:" + (d / "t.ark") + "," + (d / "t.scp"));
    t.write("t1", t1);
    t.write("t2", t2);
    t.close();
  }
  ivkit::write_kaldi_matrix(d / "single.mat", single);  // a file holding one binary double matrix
  // A compressed (CM3) archive entry built by hand: 1 x 2, min 1, range 2, bytes 0 and 255.
  write_bytes(d / "c.ark", "c1 " + kMarker + "CM3 " + f32(1) + f32(2) + i32(1) + i32(2) + std::string("\x00\xff", 2));
  const auto b = scp_lines(d / "b.scp"), t = scp_lines(d / "t.scp");
  const std::string scp = "t2 " + t[1].second + "\n" + "a1 " + b[0].second + "\n" + "s " + (d / "single.mat") + "\n\n" + "c1 " + (d / "c.ark") +
                          ":3\n" + "t1 " + t[0].second + "\n" + "a2 " + b[1].second + "\n" + "r " + b[0].second + "[1:2,1:1]\n" + "rr " +
                          t[0].second + "[1:4]\n";
  write_bytes(d / "mixed.scp", scp);
  const std::vector<std::string> keys{"t2", "a1", "s", "c1", "t1", "a2", "r", "rr"};
  const std::vector<MatD> values{t2, a1, single, (MatD(1, 2) << 1, 3).finished(), t1, a2, a1.block(1, 1, 2, 1), t1.bottomRows(1)};
  ivkit::KaldiSequentialReader<MatD> seq("scp:" + (d / "mixed.scp"));
  std::size_t i = 0;
  for (; !seq.done(); seq.next(), ++i) {
    REQUIRE(i < keys.size());
    CAPTURE(i);
    CHECK(seq.key() == keys[i]);
    CHECK(seq.value() == values[i]);
  }
  CHECK(i == keys.size());

  ivkit::KaldiRandomAccessReader<MatF> ra("scp:" + (d / "mixed.scp"));
  CHECK(ra.keys() == keys);
  for (std::size_t k = keys.size(); k-- > 0;) CHECK(ra.value(keys[k]) == values[k].cast<float>());
  CHECK(ra.has_key("a2"));
  CHECK_FALSE(ra.has_key("zz"));
  CHECK_THROWS_MSG(ra.value("zz"), "KaldiRandomAccessReader: key 'zz' is not in 'scp:" + (d / "mixed.scp") + "'", ivkit::InvalidArgument);

  // A vector table over matrix data: the type error names the data file, key, offset and script line.
  CHECK_THROWS_MSG(ivkit::KaldiSequentialReader<VecF>("scp:" + (d / "mixed.scp")),
                       "KaldiSequentialReader: '" + (d / "t.ark") + "' (key 't2', offset " + std::to_string(offset_of(t[1].second) + 2) + ", from '" + (d / "mixed.scp") +
                           "' line 1): a line break inside a text vector (is it a matrix?)",
                       ivkit::FormatError);
  write_bytes(d / "bad_range.scp", "a1 " + b[0].second + "[0:9]\n");
  CHECK_THROWS_MSG(read_all<MatF>("scp:" + (d / "bad_range.scp")),
                       "KaldiSequentialReader: '" + (d / "b.ark") + "' (key 'a1', offset 3, from '" + (d / "bad_range.scp") +
                           "' line 1): range [0:9] does not fit the number of rows (3)",
                       ivkit::FormatError);
  write_bytes(d / "dup.scp", "a1 " + b[0].second + "\nt1 " + t[0].second + "\na1 " + b[1].second + "\n");
  CHECK_THROWS_MSG(ivkit::KaldiRandomAccessReader<MatF>("scp:" + (d / "dup.scp")),
                       "KaldiRandomAccessReader: '" + (d / "dup.scp") + "' line 3: key 'a1' appears twice (first on line 1)", ivkit::FormatError);
}

TEST_CASE("an archive mixing binary and text objects, read sequentially and by key") {
  TempDir d("mixark");
  const MatD m1 = mat(2, 2, 1), m2 = mat(3, 1, 4), m3 = mat(1, 3, -2);
  const std::string bytes = "m1 " + fm_object(m1) + "m2\n [\n  5 \n  6 ]\nm3\t" + fm_object(m3) + "\n";  // newline and tab after keys, as Kaldi accepts
  write_bytes(d / "m.ark", bytes);
  const auto all = read_all<MatD>("ark:" + (d / "m.ark"));
  REQUIRE(all.size() == 3);
  CHECK(all[1].first == "m2");
  CHECK(all[1].second == (MatD(2, 1) << 5, 6).finished());
  CHECK(all[2].second == m3);
  ivkit::KaldiRandomAccessReader<MatD> ra("ark:" + (d / "m.ark"));
  CHECK(ra.size() == 3);
  CHECK(ra.value("m3") == m3);
  CHECK(ra.value("m1") == m1);
  CHECK(ra.value("m2")(1, 0) == 6);
  write_bytes(d / "dup.ark", "m1 " + fm_object(m1) + "m1 " + fm_object(m2));
  CHECK_THROWS_MSG(ivkit::KaldiRandomAccessReader<MatD>("ark:" + (d / "dup.ark")),
                       "KaldiRandomAccessReader: '" + (d / "dup.ark") + "' (offset " + std::to_string(3 + fm_object(m1).size()) +
                           "): key 'm1' appears twice (first at offset 0)",
                       ivkit::FormatError);
  CHECK_THROWS_AS(ivkit::KaldiRandomAccessReader<MatD>("ark:-"), ivkit::InvalidArgument);
}

TEST_CASE("every truncation of an archive is a FormatError or a complete shorter archive") {
  TempDir d("trunc");
  const std::vector<std::pair<std::string, MatD>> entries{{"u1", mat(2, 3, 1)}, {"u2", MatD(0, 0)}, {"u3", mat(1, 2, 9)}};
  for (bool binary : {true, false}) {
    CAPTURE(binary);
    {
      ivkit::KaldiWriter<MatF> w(std::string(binary ? "ark:" : "ark,t:") + (d / "full.ark"));
      for (const auto& [k, m] : entries) w.write(k, m);
      w.close();
    }
    const std::string bytes = slurp(d / "full.ark");
    std::size_t failures = 0;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      CAPTURE(n);
      const std::string prefix = bytes.substr(0, n);
      write_bytes(d / "p.ark", prefix);
      for (int source = 0; source < 2; ++source) {  // a file (size known) and a stream (size unknown)
        std::vector<std::pair<std::string, MatD>> got;
        try {
          if (source == 0) {
            got = read_all<MatD>("ark:" + (d / "p.ark"));
          } else {
            std::istringstream in(prefix);
            for (ivkit::KaldiSequentialReader<MatD> r(in, "prefix"); !r.done(); r.next()) got.emplace_back(r.key(), r.value());
          }
        } catch (const ivkit::FormatError&) {
          ++failures;
          continue;
        }
        // Success only for a whole number of complete entries.
        REQUIRE(got.size() <= entries.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
          CHECK(got[k].first == entries[k].first);
          CHECK(got[k].second == entries[k].second);
        }
      }
    }
    // Binary: only the 3 entry boundaries (0, end of u1, end of u2) read; text: also each entry without its final newline.
    CHECK(failures == 2 * (bytes.size() - (binary ? 3 : 6)));
  }
  // The exact message for data cut inside a matrix, read directly and through a script file.
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "full.ark") + "," + (d / "full.scp"));
    for (const auto& [k, m] : entries) w.write(k, m);
    w.close();
  }
  write_bytes(d / "full.ark", slurp(d / "full.ark").substr(0, 28));  // u1's 24 data bytes start at offset 18
  CHECK_THROWS_MSG(read_all<MatF>("ark:" + (d / "full.ark")),
                       "KaldiSequentialReader: '" + (d / "full.ark") + "' (key 'u1', offset 18): truncated: a 2 x 3 FM matrix needs 24 bytes but only 10 remain",
                       ivkit::FormatError);
  CHECK_THROWS_MSG(read_all<MatF>("scp:" + (d / "full.scp")),
                       "KaldiSequentialReader: '" + (d / "full.ark") + "' (key 'u1', offset 18, from '" + (d / "full.scp") +
                           "' line 1): truncated: a 2 x 3 FM matrix needs 24 bytes but only 10 remain",
                       ivkit::FormatError);
  write_bytes(d / "x.ark", "u1");
  CHECK_THROWS_MSG(read_all<MatF>("ark:" + (d / "x.ark")), "KaldiSequentialReader: '" + (d / "x.ark") + "' (offset 2): the archive ends after key 'u1'",
                       ivkit::FormatError);
  write_bytes(d / "x.ark", "u1 " + kMarker + "FX " + kint(1));
  CHECK_THROWS_MSG(read_all<MatF>("ark:" + (d / "x.ark")),
                       "KaldiSequentialReader: '" + (d / "x.ark") + "' (key 'u1', offset 5): expected a matrix (FM, DM, CM, CM2 or CM3), found 'FX'",
                       ivkit::FormatError);
}

TEST_CASE("permissive reading skips unreadable script entries; otherwise they are errors") {
  TempDir d("perm");
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "a.ark") + "," + (d / "a.scp"));
    w.write("u1", mat(1, 2, 0));
    w.write("u2", mat(1, 2, 5));
    w.close();
  }
  const auto a = scp_lines(d / "a.scp");
  write_bytes(d / "bad.ark", "x " + kMarker + "FM " + kint(5) + kint(5));
  write_bytes(d / "p.scp", "u1 " + a[0].second + "\nu9 " + (d / "missing.ark") + ":3\nbad " + (d / "bad.ark") + ":2\nu2 " + a[1].second + "\n");
  CHECK_THROWS_MSG(read_all<MatF>("scp:" + (d / "p.scp")),
                       "KaldiSequentialReader: cannot open '" + (d / "missing.ark") + "' (key 'u9', from '" + (d / "p.scp") + "' line 2): no such file",
                       ivkit::IoError);
  ivkit::KaldiSequentialReader<MatF> r("scp,p:" + (d / "p.scp"));
  std::vector<std::string> keys;
  for (; !r.done(); r.next()) keys.push_back(r.key());
  CHECK(keys == std::vector<std::string>{"u1", "u2"});
  CHECK(r.num_skipped() == 2);
  ivkit::KaldiRandomAccessReader<MatF> ra("scp,p:" + (d / "p.scp"));
  CHECK(ra.has_key("u2"));
  CHECK_FALSE(ra.has_key("bad"));
  // An archive stops at its first unreadable object under p.
  write_bytes(d / "c.ark", slurp(d / "a.ark") + "u3 " + kMarker + "FM " + kint(9));
  ivkit::KaldiSequentialReader<MatF> c("ark,p:" + (d / "c.ark"));
  std::size_t n = 0;
  for (; !c.done(); c.next()) ++n;
  CHECK(n == 2);
  CHECK(c.num_skipped() == 1);
}

TEST_CASE("writers are atomic: nothing under the target name before close(), no temporary files left") {
  TempDir d("atomic");
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "w.ark") + "," + (d / "w.scp"));
    w.write("u1", mat(2, 2, 0));
    CHECK_FALSE(fs::exists(d / "w.ark"));
  }  // destroyed without close(): an interrupted run
  CHECK(d.count() == 0);

  write_bytes(d / "w.ark", "old");
  {
    ivkit::KaldiWriter<VecF> w("ark:" + (d / "w.ark"));
    w.write("u1", Eigen::Vector3f(1, 2, 3));
    CHECK_THROWS_MSG(w.write("a b", Eigen::Vector3f(1, 2, 3)),
                         "KaldiWriter: 'a b' is not a valid key (keys are non-empty, without white space or control characters)", ivkit::InvalidArgument);
    CHECK_THROWS_MSG(w.write("u2", Eigen::Matrix2f::Identity()), "KaldiWriter: expected a vector, got a 2 x 2 matrix", ivkit::DimensionMismatch);
    w.write("u3", Eigen::Vector2d(4, 5));
    CHECK(slurp(d / "w.ark") == "old");
    w.close();
    CHECK_THROWS_MSG(w.write("u4", Eigen::Vector2d(4, 5)), "KaldiWriter: write('u4') after close()", ivkit::InvalidArgument);
  }
  CHECK(d.count() == 1);
  const auto all = read_all<VecF>("ark:" + (d / "w.ark"));
  REQUIRE(all.size() == 2);  // the failed writes left nothing behind
  CHECK(all[1].first == "u3");
  CHECK(all[1].second == Eigen::Vector2f(4, 5));

  CHECK_THROWS_MSG(ivkit::KaldiWriter<MatF>("ark,scp:-," + (d / "x.scp")),
                       "KaldiWriter: 'ark,scp:-," + (d / "x.scp") + "': a script file needs the archive in a file (offsets into stdout mean nothing)",
                       ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::KaldiWriter<MatF>("scp:" + (d / "x.scp")), ivkit::InvalidArgument);

  // Compressed output: Kaldi's CM token in the file, and the decoded values on reading.
  MatF feats(12, 3);
  for (Index i = 0; i < feats.size(); ++i) feats.data()[i] = static_cast<float>((i * 37) % 11) - 3.5f;
  {
    ivkit::KaldiWriter<MatF> w("ark:" + (d / "c.ark"), ivkit::KaldiWriteOptions{true});
    w.write("f", feats);
    w.close();
  }
  CHECK(slurp(d / "c.ark").substr(0, 7) == "f " + kMarker + "CM ");
  const auto back = read_all<MatF>("ark:" + (d / "c.ark"));
  REQUIRE(back.size() == 1);
  CHECK(back[0].second == ivkit::decompress_kaldi_matrix<float>(ivkit::compress_kaldi_matrix(feats)));
  CHECK((back[0].second - feats).cwiseAbs().maxCoeff() < 0.1f);
}

TEST_CASE("single-object files and model-style objects through the primitive layer") {
  TempDir d("object");
  const Eigen::Vector3d w(0.5, 0.25, 0.25);
  Eigen::Matrix2f cov;
  cov << 2, -1, -1, 3;
  auto write_model = [&](ivkit::KaldiOutput& o) {
    o.write_token("<Model>");
    o.write_token("<Dim>");
    o.write_int(std::int32_t{3});
    o.write_token("<W>");
    ivkit::write_kaldi_vector(o, w.cast<float>());
    o.write_token("<Cov>");
    ivkit::write_kaldi_sp_matrix(o, cov);
    o.write_token("</Model>");
  };
  auto read_model = [&](ivkit::KaldiInput& in) {
    in.expect_token("<Model>");
    in.expect_token("<Dim>");
    CHECK(in.read_int<std::int32_t>() == 3);
    in.expect_token("<W>");
    CHECK(ivkit::read_kaldi_vector<double>(in) == w);
    CHECK(in.peek_token() == 'C');
    in.expect_token("<Cov>");
    CHECK(ivkit::read_kaldi_sp_matrix<float>(in) == cov);
    in.expect_token("</Model>");
    return in.binary();
  };
  ivkit::write_kaldi_object("write_model", d / "m.bin", true, write_model);
  CHECK(slurp(d / "m.bin") == kMarker + "<Model> <Dim> " + kint(3) + "<W> FV " + kint(3) + f32(0.5f) + f32(0.25f) + f32(0.25f) + "<Cov> FP " + kint(2) +
                                  f32(2) + f32(-1) + f32(3) + "</Model> ");
  ivkit::write_kaldi_object("write_model", d / "m.txt", false, write_model);
  CHECK(slurp(d / "m.txt") == "<Model> <Dim> 3 <W>  [ 0.5 0.25 0.25 ]\n<Cov> [\n2 \n-1 3 ]\n</Model> ");
  CHECK(ivkit::read_kaldi_object("read_model", d / "m.bin", read_model));
  CHECK_FALSE(ivkit::read_kaldi_object("read_model", d / "m.txt", read_model));
  CHECK(d.count() == 2);  // atomic writes leave no temporary files
  CHECK_THROWS_MSG(ivkit::read_kaldi_object("read_model", d / "m.txt", [](ivkit::KaldiInput& in) {
                     in.expect_token("<Model>");
                     in.expect_token("<W>");
                     return 0;
                   }),
                   "read_model: '" + (d / "m.txt") + "' (offset 8): expected token <W>, found '<Dim>'", ivkit::FormatError);
  CHECK_THROWS_MSG(ivkit::read_kaldi_object("read_model", d / "none.bin", read_model),
                   "read_model: cannot open '" + (d / "none.bin") + "': no such file", ivkit::IoError);

  // One matrix in a file, and one matrix inside an archive by offset (rxfilename path:offset).
  const MatD m = mat(2, 3, 1);
  ivkit::write_kaldi_matrix(d / "t.mat", m, false);
  CHECK(slurp(d / "t.mat") == " [\n  1 1.5 2 \n  2.5 3 3.5 ]\n");
  CHECK(ivkit::read_kaldi_matrix<double>(d / "t.mat") == m);
  write_bytes(d / "a.ark", "x " + fm_object(mat(1, 1, 0)) + "y " + fm_object(m));
  CHECK(ivkit::read_kaldi_matrix<float>((d / "a.ark") + ":" + std::to_string(4 + fm_object(mat(1, 1, 0)).size())) == m.cast<float>());
  ivkit::write_kaldi_vector(d / "v.vec", Eigen::Vector2f(1, 2));
  CHECK(ivkit::read_kaldi_vector<double>(d / "v.vec") == Eigen::Vector2d(1, 2));
  CHECK_THROWS_MSG(ivkit::read_kaldi_vector<double>(d / "t.mat"),
                   "read_kaldi_vector: '" + (d / "t.mat") + "' (offset 2): a line break inside a text vector (is it a matrix?)", ivkit::FormatError);
}

namespace {

/// Points file descriptor 0 or 1 at a file for the lifetime of the object.
struct Redirect {
  int fd, saved;
  Redirect(int which, const std::string& path) : fd(which) {
    std::cout.flush();
    std::fflush(stdout);
    saved = ::dup(fd);
    const int f = which == 0 ? ::open(path.c_str(), O_RDONLY) : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(f >= 0);
    ::dup2(f, fd);
    ::close(f);
    std::cin.clear();
    std::clearerr(stdin);
  }
  ~Redirect() {
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved, fd);
    ::close(saved);
    std::cin.clear();
    std::clearerr(stdin);
  }
};

}  // namespace

TEST_CASE("ark:- and scp:- read stdin; ark:- and ark,t:- write stdout") {
  TempDir d("std");
  const MatD m1 = mat(2, 2, 3), m2 = mat(1, 3, -1);
  {
    Redirect out(1, d / "out.txt");
    ivkit::KaldiWriter<MatD> w("ark,t:-");
    w.write("k1", m1);
    w.write("k2", m2);
    w.close();
  }
  CHECK(slurp(d / "out.txt") == "k1  [\n  3 3.5 \n  4 4.5 ]\nk2  [\n  -1 -0.5 0 ]\n");
  {
    Redirect out(1, d / "out.ark");
    ivkit::KaldiWriter<MatF> w("ark:-");
    w.write("k1", m1);
    w.close();
  }
  CHECK(slurp(d / "out.ark") == "k1 " + fm_object(m1));

  std::vector<std::pair<std::string, MatD>> got;
  {
    Redirect in(0, d / "out.txt");
    got = read_all<MatD>("ark:-");
  }
  REQUIRE(got.size() == 2);
  CHECK(got[1].second == m2);
  {
    ivkit::KaldiWriter<MatF> w("ark,scp:" + (d / "s.ark") + "," + (d / "s.scp"));
    w.write("k2", m2);
    w.close();
  }
  {
    Redirect in(0, d / "s.scp");
    got = read_all<MatD>("scp:-");
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == "k2");
  CHECK(got[0].second == m2);
  {
    write_bytes(d / "bad.ark", "k1 " + kMarker + "FM " + kint(2));
    Redirect in(0, d / "bad.ark");
    CHECK_THROWS_MSG(read_all<MatD>("ark:-"),
                         "KaldiSequentialReader: stdin (key 'k1', offset 13): expected an integer, found the end of the data",
                         ivkit::FormatError);
  }
}
