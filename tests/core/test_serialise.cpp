// ivkit's model container: round trip, and a clear FormatError for every way a file can be wrong.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ivkit/core/serialise.hpp"

namespace {

ivkit::ModelWriter sample_model() {
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6.5;
  Eigen::VectorXf v(4);
  v << 0.25f, -1.f, 3.f, 1e-30f;
  ivkit::ModelWriter w("Thing", 2);
  w.integer("dim", 3).real("scale", -0.125).text("note", "hello\nworld").matrix("m", m).matrix("v", v);
  return w;
}

}  // namespace

TEST_CASE("ModelWriter and ModelReader round-trip every record type, converting scalars on load") {
  const std::string bytes = sample_model().bytes();
  ivkit::ModelReader r(bytes, "mem", "Thing", 2);
  CHECK(r.kind() == "Thing");
  CHECK(r.version() == 2);
  CHECK(r.integer("dim") == 3);
  CHECK(r.real("scale") == -0.125);
  CHECK(r.text("note") == "hello\nworld");
  const auto m = r.matrix<float>("m", 2, 3);
  CHECK(m(1, 2) == 6.5f);
  CHECK(m(0, 1) == 2.f);
  const auto v = r.vector<double>("v", 4);
  CHECK(v(3) == static_cast<double>(1e-30f));
  CHECK(r.has("m"));
  CHECK_FALSE(r.has("w"));
  CHECK(r.offset_of("dim") == 37);  // 8 magic + 4 container version + 8 + 5 kind + 4 version + 8 count
  CHECK_THROWS_WITH_AS(r.offset_of("w"), doctest::Contains("has no record 'w'"), ivkit::FormatError);
}

TEST_CASE("a matrix large enough to be a piece of its own, between small records, saves as bytes() gives it") {
  // 2.4 MB of doubles (over the 1 MiB a piece), a column-major expression, then more records.
  Eigen::MatrixXd big(300, 1000);
  for (Eigen::Index i = 0; i < big.rows(); ++i)
    for (Eigen::Index j = 0; j < big.cols(); ++j) big(i, j) = static_cast<double>(i) - 0.001 * static_cast<double>(j);
  ivkit::ModelWriter w("Thing", 1);
  w.integer("before", 7).matrix("big", big.transpose()).real("after", 2.5).matrix("small", Eigen::Vector2f(1.f, 2.f));
  const std::string bytes = w.bytes();
  const std::string path = (std::filesystem::temp_directory_path() / "ivkit_test_serialise_pieces.bin").string();
  w.save(path);
  std::ifstream in(path, std::ios::binary);
  const std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  CHECK(saved == bytes);
  ivkit::ModelReader r(bytes, "mem", "Thing", 1);
  CHECK(r.integer("before") == 7);
  CHECK(r.real("after") == 2.5);
  CHECK(r.matrix<double>("big", 1000, 300) == big.transpose());
  CHECK(r.vector<float>("small", 2)(1) == 2.f);
}

TEST_CASE("ModelReader names the file, the offset and the problem") {
  const std::string bytes = sample_model().bytes();
  CHECK_THROWS_WITH_AS(ivkit::ModelReader("plain text", "f.txt", "Thing", 2),
                       "ModelReader: 'f.txt' (offset 0) is not an ivkit model file (no IVKITMDL header)", ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::ModelReader(bytes, "f", "Other", 2), "ModelReader: 'f' (offset 12) holds a 'Thing', not a 'Other'",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::ModelReader(bytes, "f", "Thing", 1),
                       "ModelReader: 'f' (offset 25) is a 'Thing' of format version 2; this ivkit reads up to version 1",
                       ivkit::FormatError);
  ivkit::ModelReader r(bytes, "f", "Thing", 2);
  CHECK_THROWS_AS(r.integer("missing"), ivkit::FormatError);
  CHECK_THROWS_AS(r.real("dim"), ivkit::FormatError);  // wrong type
  CHECK_THROWS_WITH_AS(r.matrix<double>("m", 3, 2), doctest::Contains("record 'm' is 2 x 3; 3 x 2 was expected"), ivkit::FormatError);
  CHECK_THROWS_AS(r.vector<double>("v", 5), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::ModelReader(bytes + "x", "f", "Thing", 2), doctest::Contains("1 unexpected bytes after the last record"),
                       ivkit::FormatError);
}

TEST_CASE("every truncation of a model file is a FormatError, never a crash") {
  const std::string bytes = sample_model().bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(ivkit::ModelReader(bytes.substr(0, n), "f", "Thing", 2), ivkit::FormatError);
  }
  // A corrupt length field (a huge string length) is caught before any allocation of that size.
  std::string bad = bytes;
  bad[13] = '\x7f';
  CHECK_THROWS_AS(ivkit::ModelReader(bad, "f", "Thing", 2), ivkit::FormatError);
}

TEST_CASE("save writes atomically and leaves the old file when it cannot write") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "ivkit_test_serialize";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "model.ivk").string();
  sample_model().save(path);
  ivkit::ModelReader r(path, "Thing", 2);
  CHECK(r.integer("dim") == 3);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);  // no temporary left
  CHECK_THROWS_AS(sample_model().save((dir / "no_such_dir" / "m.ivk").string()), ivkit::IoError);
  CHECK_THROWS_WITH_AS(ivkit::ModelReader((dir / "absent").string(), "Thing", 2), doctest::Contains("cannot open"), ivkit::IoError);
  fs::remove_all(dir);
}
