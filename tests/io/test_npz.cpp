// NumPy .npz archives: archives built here by hand from the zip format (PKWARE APPNOTE) exactly as
// np.savez writes them through Python's zipfile (every local header forced to zip64), with a CRC-32
// computed bit by bit here; stored and deflated members, zip64 end records, the writer's exact
// bytes, round trips, ESPnet-style embedding files, and a FormatError for every corruption.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/io/npz.hpp"
#include "support/bytes.hpp"
#include "support/files.hpp"

namespace {

using ivkit_test::le16;
using ivkit_test::le32;
using ivkit_test::le64;
using ivkit_test::f32;
using ivkit_test::f64;
using ivkit_test::slurp;
using ivkit_test::write_bytes;

namespace fs = std::filesystem;

std::string hex32(std::uint32_t v) {
  char b[11];
  std::snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(v));
  return b;
}

/// CRC-32 of the zip format (reflected polynomial 0xEDB88320), bit by bit.
std::uint32_t crc32_ref(const std::string& s) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xedb88320u : c >> 1;
  }
  return ~c;
}

/// A deflate stream of one stored block (RFC 1951 3.2.4: BFINAL=1, BTYPE=00, LEN, NLEN, bytes).
std::string deflate_stored_block(const std::string& data) {
  return std::string(1, '\x01') + le16(static_cast<unsigned>(data.size())) + le16(static_cast<unsigned>(~data.size() & 0xffff)) + data;
}

/// The .npy files np.save writes (header: the dict, room for the growth axis, padding to 128).
std::string npy(const std::string& dict, std::size_t spaces, const std::string& data) {
  return std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(spaces, ' ') + "\n" + data;
}
std::string npy_a() {  // 2 x 2 float32 [[1, 2], [3, -4.5]]
  return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 58, f32(1) + f32(2) + f32(3) + f32(-4.5f));
}
std::string npy_b() {  // (3,) float64 [0.25, -8, 1e-300]
  return npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 60, f64(0.25) + f64(-8) + f64(1e-300));
}
std::string npy_row(float a, float b, float c) {  // (3,) float32
  return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 60, f32(a) + f32(b) + f32(c));
}
std::string npy_1x3(float a, float b, float c) {  // (1, 3) float32
  return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", 58, f32(a) + f32(b) + f32(c));
}

struct Member {
  std::string name;
  std::string data;    // the .npy file
  bool deflate = false;
  std::string body() const { return deflate ? deflate_stored_block(data) : data; }
};

/// An archive as np.savez writes it (Python's zipfile, ZipFile.open(name, 'w', force_zip64=True)
/// on a seekable file): local header with version 45, sizes 0xffffffff and a zip64 extra field
/// (0x0001, 16 bytes: size, compressed size); central directory entry without zip64 (made by Unix,
/// version 45, permissions 0600); end record. Timestamps 1980-01-01 00:00 (ZipInfo's default).
std::string numpy_zip(const std::vector<Member>& members) {
  std::string out, cd;
  for (const auto& m : members) {
    const std::string body = m.body();
    const std::uint32_t crc = crc32_ref(m.data);
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    const unsigned method = m.deflate ? 8 : 0;
    out += "PK\x03\x04" + le16(45) + le16(0) + le16(method) + le16(0) + le16(0x21) + le32(crc) + le32(0xffffffffu) + le32(0xffffffffu) +
           le16(static_cast<unsigned>(m.name.size())) + le16(20) + m.name + le16(1) + le16(16) + le64(m.data.size()) + le64(body.size()) + body;
    cd += "PK\x01\x02" + le16(0x0300 | 45) + le16(45) + le16(0) + le16(method) + le16(0) + le16(0x21) + le32(crc) +
          le32(static_cast<std::uint32_t>(body.size())) + le32(static_cast<std::uint32_t>(m.data.size())) +
          le16(static_cast<unsigned>(m.name.size())) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0600u << 16) + le32(offset) + m.name;
  }
  const auto n = static_cast<unsigned>(members.size());
  return out + cd + "PK\x05\x06" + le16(0) + le16(0) + le16(n) + le16(n) + le32(static_cast<std::uint32_t>(cd.size())) +
         le32(static_cast<std::uint32_t>(out.size())) + le16(0);
}


using ivkit_test::TempDir;

void check_a(const ivkit::NpyArray<double>& a) {
  CHECK(a.ndim == 2);
  REQUIRE(a.values.rows() == 2);
  REQUIRE(a.values.cols() == 2);
  CHECK(a.values(0, 0) == 1.0);
  CHECK(a.values(0, 1) == 2.0);
  CHECK(a.values(1, 0) == 3.0);
  CHECK(a.values(1, 1) == -4.5);
}
void check_b(const ivkit::NpyArray<double>& b) {
  CHECK(b.ndim == 1);
  REQUIRE(b.values.rows() == 3);
  CHECK(b.values(0, 0) == 0.25);
  CHECK(b.values(1, 0) == -8.0);
  CHECK(b.values(2, 0) == 1e-300);
}

}  // namespace

TEST_CASE("the CRC-32 of the tests is the zip CRC-32") { CHECK(crc32_ref("123456789") == 0xcbf43926u); }

TEST_CASE("reads np.savez archives: stored and deflated members, every array or one by name") {
  TempDir tmp("ivkit_test_npz_read");
  for (bool deflate : {false, true}) {
    CAPTURE(deflate);
    const std::string path = tmp / "x.npz";
    write_bytes(path, numpy_zip({{"a.npy", npy_a(), deflate}, {"b.npy", npy_b(), deflate}}));
    const auto all = ivkit::read_npz<double>(path);
    REQUIRE(all.size() == 2);
    check_a(all.at("a"));
    check_b(all.at("b"));
    check_a(ivkit::read_npz_array<double>(path, "a"));
    CHECK(ivkit::read_npz_matrix<float>(path, "a")(1, 1) == -4.5f);
    CHECK(ivkit::read_npz_matrix<float, Eigen::ColMajor>(path, "a")(0, 1) == 2.f);
    CHECK(ivkit::read_npz_vector<double>(path, "b")(2) == 1e-300);
    const auto list = ivkit::list_npz(path);
    REQUIRE(list.size() == 2);
    CHECK(list[0].name == "a");
    CHECK(list[0].file_name == "a.npy");
    CHECK(list[0].compressed == deflate);
    CHECK(list[0].size == npy_a().size());
    CHECK(list[1].compressed_size == (deflate ? npy_b().size() + 5 : npy_b().size()));
    CHECK_THROWS_WITH_AS(ivkit::read_npz_array<double>(path, "c"),
                         ("read_npz_array: '" + path + "' has no member 'c.npy' (its arrays: 'a', 'b')").c_str(), ivkit::FormatError);
    CHECK_THROWS_WITH_AS(ivkit::read_npz_matrix<double>(path, "b"),
                         ("read_npz_matrix: '" + path + "' member 'b.npy' (offset 10) holds a 1-D array of shape (3,); a 2-D array (matrix) was expected")
                             .c_str(),
                         ivkit::FormatError);
  }
}

TEST_CASE("reads zip64 archives: 64-bit sizes and offset in the directory, zip64 end record and locator") {
  // One stored member whose central entry has size, compressed size and offset all 0xffffffff and a
  // zip64 extra field with the three 64-bit values; a zip64 end record, its locator, and an end
  // record of 0xffff / 0xffffffff, as writers do for archives beyond 65,535 members or 4 GiB.
  const std::string data = npy_a();
  const std::uint32_t crc = crc32_ref(data);
  const std::string local = "PK\x03\x04" + le16(45) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) + le32(0xffffffffu) + le32(0xffffffffu) +
                            le16(5) + le16(20) + "a.npy" + le16(1) + le16(16) + le64(data.size()) + le64(data.size()) + data;
  const std::string cd = "PK\x01\x02" + le16(0x0300 | 45) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) + le32(0xffffffffu) +
                         le32(0xffffffffu) + le16(5) + le16(28) + le16(0) + le16(0) + le16(0) + le32(0600u << 16) + le32(0xffffffffu) + "a.npy" +
                         le16(1) + le16(24) + le64(data.size()) + le64(data.size()) + le64(0);
  const std::uint64_t end64_at = local.size() + cd.size();
  const std::string end64 = "PK\x06\x06" + le64(44) + le16(45) + le16(45) + le32(0) + le32(0) + le64(1) + le64(1) + le64(cd.size()) + le64(local.size());
  const std::string locator = "PK\x06\x07" + le32(0) + le64(end64_at) + le32(1);
  const std::string end = "PK\x05\x06" + le16(0) + le16(0) + le16(0xffff) + le16(0xffff) + le32(0xffffffffu) + le32(0xffffffffu) + le16(0);
  TempDir tmp("ivkit_test_npz_zip64");
  write_bytes(tmp / "z.npz", local + cd + end64 + locator + end);
  check_a(ivkit::read_npz_array<double>(tmp / "z.npz", "a"));
  // The locator pointing elsewhere is a clear error.
  const std::string bad_locator = "PK\x06\x07" + le32(0) + le64(end64_at + 1) + le32(1);
  write_bytes(tmp / "bad.npz", local + cd + end64 + bad_locator + end);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<double>(tmp / "bad.npz"),
                       ("read_npz: '" + tmp / "bad.npz" + "' (offset " + std::to_string(end64_at + 56) +
                        ") has a zip64 locator pointing to offset " + std::to_string(end64_at + 1) + ", where no zip64 end record fits")
                           .c_str(),
                       ivkit::FormatError);
}

TEST_CASE("NpzWriter writes a stored archive byte for byte as the zip format describes it") {
  ivkit::Matrix<float> a(2, 2);
  a << 1, 2, 3, -4.5f;
  ivkit::NpzWriter w;
  w.add("a", a);
  const std::string data = npy_a();
  const std::uint32_t crc = crc32_ref(data);
  const std::string local = "PK\x03\x04" + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) + le32(static_cast<std::uint32_t>(data.size())) +
                            le32(static_cast<std::uint32_t>(data.size())) + le16(5) + le16(0) + "a.npy" + data;
  const std::string cd = "PK\x01\x02" + le16(0x0300 | 20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) +
                         le32(static_cast<std::uint32_t>(data.size())) + le32(static_cast<std::uint32_t>(data.size())) + le16(5) + le16(0) + le16(0) +
                         le16(0) + le16(0) + le32(0100644u << 16) + le32(0) + "a.npy";
  const std::string end = "PK\x05\x06" + le16(0) + le16(0) + le16(1) + le16(1) + le32(static_cast<std::uint32_t>(cd.size())) +
                          le32(static_cast<std::uint32_t>(local.size())) + le16(0);
  CHECK(w.bytes() == local + cd + end);
  CHECK(w.size() == 1);
}

TEST_CASE_TEMPLATE("round trips through npz: stored and deflated, matrices in both orders, vectors, empty arrays", S, float, double) {
  TempDir tmp("ivkit_test_npz_round_trip");
  ivkit::Matrix<S> m(6, 5);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<S>(std::sin(static_cast<double>(3 * i + j)));
  const ivkit::Vector<S> v = m.col(3);
  for (bool compress : {false, true}) {
    CAPTURE(compress);
    const std::string path = tmp / "r.npz";
    ivkit::NpzWriter w({compress, 9});
    w.add("m", m).add("m_fortran", m, {ivkit::NpyOrder::Fortran}).add("v", v).add("empty", ivkit::Matrix<S>(0, 3)).add("row", m.row(2));
    w.save(path);
    const std::string bytes = slurp(path);
    CHECK(bytes == w.bytes());
    CHECK(static_cast<unsigned char>(bytes[8]) == (compress ? 8 : 0));  // the first member's method
    const auto all = ivkit::read_npz<S>(path);
    REQUIRE(all.size() == 5);
    CHECK(all.at("m").values == m);
    CHECK(all.at("m_fortran").values == m);
    CHECK(all.at("m_fortran").fortran_order);
    CHECK(all.at("v").ndim == 1);
    CHECK(all.at("v").vector() == v);
    CHECK(all.at("empty").values.rows() == 0);
    CHECK(all.at("empty").values.cols() == 3);
    CHECK(all.at("row").vector() == m.row(2).transpose());
    CHECK(ivkit::read_npz_matrix<double>(path, "m_fortran") == m.template cast<double>());
    // Members are in the order added.
    std::vector<std::string> names;
    for (const auto& e : ivkit::list_npz(path)) names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"m", "m_fortran", "v", "empty", "row"});
    // Reading a map and writing it back gives the same arrays (in the map's order).
    ivkit::write_npz(tmp / "again.npz", all, {compress});
    const auto again = ivkit::read_npz<S>(tmp / "again.npz");
    CHECK(again.at("m_fortran").fortran_order);
    CHECK(again.at("v").ndim == 1);
    CHECK(again.at("m").values == m);
  }
  // Deflate compresses: a zero matrix shrinks.
  ivkit::NpzWriter z({true});
  z.add("zeros", ivkit::Matrix<S>::Zero(100, 100));
  CHECK(z.bytes().size() < 1000);
  CHECK(ivkit::read_npz_matrix<S>((z.save(tmp / "z.npz"), tmp / "z.npz"), "zeros").isZero(0));
  // write_npz from a vector of pairs keeps that order.
  std::vector<std::pair<std::string, ivkit::Matrix<S>>> pairs = {{"z", m}, {"a", m.transpose()}};
  ivkit::write_npz(tmp / "p.npz", pairs);
  CHECK(ivkit::list_npz(tmp / "p.npz")[0].name == "z");
  CHECK(ivkit::read_npz_matrix<S>(tmp / "p.npz", "a") == m.transpose());
}

TEST_CASE("NpzWriter refuses bad names and levels") {
  ivkit::NpzWriter w;
  const Eigen::VectorXf v = Eigen::VectorXf::Ones(2);
  w.add("x", v);
  CHECK_THROWS_WITH_AS(w.add("x", v), "NpzWriter::add: the array 'x' is added twice", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(w.add("", v), "NpzWriter::add: an empty array name", ivkit::InvalidArgument);
  CHECK_THROWS_AS(w.add(std::string(70000, 'n'), v), ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::NpzWriter({true, 10}), "NpzWriter: compression level 10 (1..9 expected)", ivkit::InvalidArgument);
  CHECK(w.size() == 1);
}

TEST_CASE("a corrupted CRC, an unsupported method, encryption and a foreign member are FormatErrors naming the member") {
  TempDir tmp("ivkit_test_npz_corrupt");
  const std::string path = tmp / "c.npz";
  const std::string good = numpy_zip({{"a.npy", npy_a()}, {"b.npy", npy_b()}});
  // Member b's data start after a's local header (30 + 5 + 20), a's data, b's local header.
  const std::size_t b_local = 55 + npy_a().size();
  const std::size_t b_data = b_local + 55;
  std::string bad = good;
  bad[b_data + 130] ^= 0x10;  // a bit of b's first value
  const std::string got = hex32(crc32_ref(bad.substr(b_data, npy_b().size())));
  write_bytes(path, bad);
  CHECK(ivkit::read_npz_array<double>(path, "a").values(0, 0) == 1.0);  // a is intact
  CHECK_THROWS_WITH_AS(ivkit::read_npz<double>(path),
                       ("read_npz: '" + path + "' (offset " + std::to_string(b_data) + ") member 'b.npy' fails its CRC-32 check: the data give " + got +
                        ", the directory says " + hex32(crc32_ref(npy_b())))
                           .c_str(),
                       ivkit::FormatError);
  // Method 12 (bzip2) and the encryption flag, set in b's central directory entry.
  const std::size_t cd = 2 * 55 + npy_a().size() + npy_b().size();
  const std::size_t b_cd = cd + 46 + 5;
  bad = good;
  bad[b_cd + 10] = 12;
  write_bytes(path, bad);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(path),
                       ("read_npz: '" + path + "' (offset " + std::to_string(b_cd) +
                        ") member 'b.npy' uses compression method 12; ivkit reads stored (0) and deflated (8) members")
                           .c_str(),
                       ivkit::FormatError);
  bad = good;
  bad[b_cd + 8] = 1;
  write_bytes(path, bad);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(path),
                       ("read_npz: '" + path + "' (offset " + std::to_string(b_cd) + ") member 'b.npy' is encrypted; ivkit reads unencrypted archives").c_str(),
                       ivkit::FormatError);
  // A member that is not a .npy file; a name that differs in the local header; a member twice.
  write_bytes(path, numpy_zip({{"notes.txt", "hello, world"}}));
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(path),
                       ("read_npz: '" + path + "' member 'notes.txt' (offset 0) is not a NumPy .npy file (it does not start with \"\\x93NUMPY\")").c_str(),
                       ivkit::FormatError);
  bad = good;
  bad[b_local + 30] = 'c';
  write_bytes(path, bad);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(path),
                       ("read_npz: '" + path + "' (offset " + std::to_string(b_local + 30) +
                        ") member 'b.npy' has another name in its local header than in the central directory")
                           .c_str(),
                       ivkit::FormatError);
  write_bytes(path, numpy_zip({{"a.npy", npy_a()}, {"a.npy", npy_a()}}));
  const std::size_t second_cd = 2 * (55 + npy_a().size()) + 46 + 5;
  CHECK_THROWS_WITH_AS(ivkit::list_npz(path), ("list_npz: '" + path + "' (offset " + std::to_string(second_cd) +
                                               ") holds the member 'a.npy' twice")
                                                  .c_str(),
                       ivkit::FormatError);
  // Not a zip file at all, and a missing file.
  write_bytes(path, std::string(40, 'x'));
  CHECK_THROWS_WITH_AS(ivkit::list_npz(path), ("list_npz: '" + path + "' (offset 0) is not a zip archive (.npz): no end of central directory record").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(tmp / "absent.npz"), ("read_npz: cannot open '" + tmp / "absent.npz" + "'").c_str(), ivkit::IoError);
  // A deflated member whose directory claims more than deflate can produce is refused before allocating.
  bad = numpy_zip({{"a.npy", npy_a(), true}});
  const std::size_t a_cd = 55 + npy_a().size() + 5;
  bad.replace(a_cd + 24, 4, le32(0x7fffffffu));
  write_bytes(path, bad);
  CHECK_THROWS_WITH_AS(ivkit::read_npz<float>(path),
                       ("read_npz: '" + path + "' (offset " + std::to_string(a_cd) + ") member 'a.npy' claims 2147483647 bytes inflated from " +
                        std::to_string(npy_a().size() + 5) + "; deflate cannot expand that much")
                           .c_str(),
                       ivkit::FormatError);
}

TEST_CASE("every truncation and every corrupted byte of an archive is a FormatError or a valid read, never a crash") {
  ivkit::Matrix<float> m(3, 2);
  m << 1, 2, 3, 4, 5, 6;
  for (bool compress : {false, true}) {
    ivkit::NpzWriter w({compress});
    w.add("m", m).add("v", m.col(1));
    for (const std::string& full : {w.bytes(), numpy_zip({{"a.npy", npy_a(), compress}, {"b.npy", npy_b(), compress}})}) {
      for (std::size_t n = 0; n < full.size(); ++n) {
        CAPTURE(n);
        CHECK_THROWS_AS(ivkit::parse_npz<float>(full.substr(0, n), "t.npz"), ivkit::FormatError);
      }
      std::size_t valid = 0;
      for (std::size_t i = 0; i < full.size(); ++i) {
        std::string bad = full;
        bad[i] = static_cast<char>(bad[i] ^ 0x5a);
        try {
          valid += ivkit::parse_npz<float>(bad, "t.npz").size() == 2;
        } catch (const ivkit::FormatError&) {
        }
      }
      CAPTURE(valid);
      CHECK(valid < full.size() / 4);  // only bytes no reader checks (timestamps, attributes, versions) are harmless
    }
  }
}

TEST_CASE("speaker embeddings as ESPnet writes them: ids in archive order, one matrix") {
  TempDir tmp("ivkit_test_npz_embeddings");
  const std::string path = tmp / "embeddings0.npz";
  // Averaged embeddings are (1, R), plain ones (R,); the archive's order is not sorted.
  write_bytes(path, numpy_zip({{"spk2-utt9.npy", npy_1x3(1, 2, 3)}, {"spk1-utt1.npy", npy_row(-1, 0.5f, 8)}, {"spk1-utt2.npy", npy_row(4, 5, 6), true}}));
  const auto e = ivkit::read_npz_embeddings<double>(path);
  CHECK(e.ids == std::vector<std::string>{"spk2-utt9", "spk1-utt1", "spk1-utt2"});
  REQUIRE(e.vectors.rows() == 3);
  REQUIRE(e.vectors.cols() == 3);
  CHECK(e.vectors(0, 2) == 3.0);
  CHECK(e.vectors(1, 0) == -1.0);
  CHECK(e.vectors(1, 1) == 0.5);
  CHECK(e.vectors(2, 1) == 5.0);
  // A member of another dimension or of several rows is named.
  write_bytes(path, numpy_zip({{"u1.npy", npy_row(1, 2, 3)}, {"u2.npy", npy_a()}}));
  CHECK_THROWS_WITH_AS(ivkit::read_npz_embeddings<float>(path),
                       ("read_npz_embeddings: '" + path + "' member 'u2.npy' (offset 10) holds an array of shape (2, 2); an embedding is 1-D (R,) or 2-D (1, R)").c_str(),
                       ivkit::FormatError);
  write_bytes(path, numpy_zip({{"u1.npy", npy_row(1, 2, 3)}, {"u2.npy", npy_b()}, {"u3.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 60, f32(1) + f32(2))}}));
  CHECK_THROWS_WITH_AS(ivkit::read_npz_embeddings<float>(path),
                       ("read_npz_embeddings: '" + path +
                        "' member 'u3.npy' (offset 10) holds an embedding of dimension 2 (shape (2,)); the archive's first member 'u1.npy' has dimension 3")
                           .c_str(),
                       ivkit::FormatError);
  // An empty archive: no ids.
  write_bytes(path, numpy_zip({}));
  CHECK(ivkit::read_npz_embeddings<float>(path).ids.empty());
  // The writer: one 1-D member per row, in the order of the ids.
  ivkit::Matrix<float> x(3, 4);
  x << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
  const std::vector<std::string> ids = {"c", "a", "b"};
  ivkit::write_npz_embeddings(path, ids, x);
  const auto back = ivkit::read_npz_embeddings<float>(path);
  CHECK(back.ids == ids);
  CHECK(back.vectors == x);
  CHECK(ivkit::read_npz_vector<float>(path, "a") == x.row(1).transpose());
  ivkit::write_npz_embeddings(path, ids, x.cast<double>() * 2.0, {true});  // an expression, compressed
  CHECK(ivkit::read_npz_embeddings<float>(path).vectors == 2 * x);
  CHECK_THROWS_WITH_AS(ivkit::write_npz_embeddings(path, {"a", "b"}, x), "write_npz_embeddings: 2 ids for 3 embeddings (matrix 3 x 4)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_AS(ivkit::write_npz_embeddings(path, {"a", "b", "a"}, x), ivkit::InvalidArgument);
  CHECK(ivkit::read_npz_embeddings<float>(path).vectors == 2 * x);  // the failed writes left the file alone
}

TEST_CASE("65,536 embeddings need zip64 end records, written and read") {
  TempDir tmp("ivkit_test_npz_many");
  const std::string path = tmp / "many.npz";
  const Eigen::Index n = 65536;
  ivkit::Matrix<float> x(n, 2);
  std::vector<std::string> ids;
  for (Eigen::Index i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(i);
    x(i, 1) = -static_cast<float>(i) / 4;
    ids.push_back("utt" + std::to_string(i));
  }
  ivkit::write_npz_embeddings(path, ids, x);
  const std::string bytes = slurp(path);
  // End record with 0xffff members, preceded by the zip64 locator and the zip64 end record.
  REQUIRE(bytes.size() > 22 + 20 + 56);
  const std::string end = bytes.substr(bytes.size() - 22);
  CHECK(end.substr(0, 4) == "PK\x05\x06");
  CHECK(end.substr(8, 4) == le16(0xffff) + le16(0xffff));
  CHECK(bytes.substr(bytes.size() - 42, 4) == "PK\x06\x07");
  CHECK(bytes.substr(bytes.size() - 98, 4) == "PK\x06\x06");
  CHECK(bytes.substr(bytes.size() - 98 + 32, 8) == le64(65536));
  const auto back = ivkit::read_npz_embeddings<float>(path);
  REQUIRE(back.ids.size() == 65536);
  CHECK(back.ids[65535] == "utt65535");
  CHECK(back.vectors == x);
}
