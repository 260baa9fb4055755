// NumPy .npy files: the exact bytes np.save writes (built here by hand from numpy/lib/format.py's
// description), the header grammar Python accepts, every dtype and order ivkit reads, round trips,
// and a FormatError naming the file and the offset for every way a file can be wrong.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ivkit/io/npy.hpp"
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

std::string swapped(std::string s) { return std::string(s.rbegin(), s.rend()); }

/// A version 1.0 .npy file with the header text as given (no padding added) and the data.
std::string npy_v1(const std::string& header, const std::string& data) {
  return std::string("\x93NUMPY\x01\x00", 8) + le16(static_cast<unsigned>(header.size())) + header + data;
}
std::string npy_v(int major, const std::string& header, const std::string& data) {
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' + le32(static_cast<std::uint32_t>(header.size())) + header + data;
}

// 2 x 3 float32 [[1, -2.5, 0.15625], [1024, -0, 3]]: np.save's file, byte for byte. The header is
// the dict with keys sorted and ", " after each value, 20 spaces of room for the first axis to grow
// to 21 digits, 38 spaces of padding and '\n': 10 + 79 + 38 + 1 = 128 bytes, HEADER_LEN 118 (0x76).
const char kDict23f4[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
std::string data23f4() { return f32(1.f) + f32(-2.5f) + f32(0.15625f) + f32(1024.f) + f32(-0.f) + f32(3.f); }
std::string file23f4() {
  return std::string("\x93NUMPY\x01\x00\x76\x00", 10) + kDict23f4 + std::string(20 + 38, ' ') + "\n" + data23f4();
}

ivkit::Matrix<float> mat23f() {
  ivkit::Matrix<float> m(2, 3);
  m << 1.f, -2.5f, 0.15625f, 1024.f, -0.f, 3.f;
  return m;
}


using ivkit_test::TempDir;

}  // namespace

TEST_CASE("npy_bytes writes exactly what np.save writes") {
  const std::string expect = file23f4();
  REQUIRE(expect.size() == 128 + 24);
  CHECK(ivkit::npy_bytes(mat23f()) == expect);
  // The same from a column-major matrix and from an expression.
  const Eigen::MatrixXf col = mat23f();
  CHECK(ivkit::npy_bytes(col) == expect);
  CHECK(ivkit::npy_bytes(2.0f * col * 0.5f) == expect);

  // 1-D float64 (3,): the dict is 57 characters, + 20 + 40 spaces + '\n' = 118.
  Eigen::VectorXd v(3);
  v << 0.5, -1.0, 1e300;
  CHECK(ivkit::npy_bytes(v) == std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" +
                                   std::string(60, ' ') + "\n" + f64(0.5) + f64(-1.0) + f64(1e300));

  // Fortran order: 'fortran_order': True, the data column by column, room for the last axis.
  const auto fortran = ivkit::npy_bytes(mat23f().cast<double>(), {ivkit::NpyOrder::Fortran});
  CHECK(fortran == std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }" +
                       std::string(59, ' ') + "\n" + f64(1) + f64(1024) + f64(-2.5) + f64(-0.0) + f64(0.15625) + f64(3));

  // A row of a matrix is a 1-D array; an empty 0 x 3 matrix keeps its shape.
  CHECK(ivkit::npy_bytes(mat23f().row(1)) == std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                                 "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" + std::string(60, ' ') + "\n" +
                                                 f32(1024.f) + f32(-0.f) + f32(3.f));
  CHECK(ivkit::npy_bytes(ivkit::Matrix<float>(0, 3)) == std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                                           "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }" +
                                                           std::string(58, ' ') + "\n");

  TempDir tmp("ivkit_test_npy_exact");
  ivkit::write_npy(tmp / "m.npy", mat23f());
  CHECK(slurp(tmp / "m.npy") == expect);
}

TEST_CASE("the header is padded to 64 bytes as NumPy pads it, and a long header takes format version 2.0") {
  namespace npio = ivkit::detail::npio;
  // 10 + 52 + 1 = 63: one space. 10 + 53 + 1 = 64: NumPy still adds a full 64 spaces.
  const std::string a = npio::wrap_header(std::string(52, 'x'));
  CHECK(a == std::string("\x93NUMPY\x01\x00\x36\x00", 10) + std::string(52, 'x') + " \n");
  const std::string b = npio::wrap_header(std::string(53, 'x'));
  CHECK(b.size() == 128);
  CHECK(b == std::string("\x93NUMPY\x01\x00\x76\x00", 10) + std::string(53, 'x') + std::string(64, ' ') + "\n");
  // 70000 + 1 > 65535: version 2.0 with a u32 length; 12 + 70001 = 70013 = 64 * 1093 + 61: 3 spaces.
  const std::string c = npio::wrap_header(std::string(70000, 'x'));
  CHECK(c.size() == 70016);
  CHECK(c.substr(0, 12) == std::string("\x93NUMPY\x02\x00", 8) + le32(70016 - 12));
  CHECK(c.substr(12 + 70000) == std::string(3, ' ') + "\n");
}

TEST_CASE_TEMPLATE("np.save's file reads back into float and double", S, float, double) {
  const auto a = ivkit::parse_npy<S>(file23f4(), "m.npy");
  CHECK(a.ndim == 2);
  CHECK(a.descr == "<f4");
  CHECK_FALSE(a.fortran_order);
  REQUIRE(a.values.rows() == 2);
  REQUIRE(a.values.cols() == 3);
  CHECK(a.values == mat23f().cast<S>());
  CHECK(std::signbit(a.values(1, 1)));  // -0 stays -0
}

TEST_CASE("the header parser accepts what Python's literal_eval accepts") {
  const std::string data = data23f4();
  const std::vector<std::string> headers = {
      kDict23f4,
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
      "{ 'descr' : '<f4' ,\n\t'fortran_order':False,'shape':( 2 , 3 , ) }   \n",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",  // Python 2
      "\n{'descr':'<f4','fortran_order':False,'shape':(2,3),}\r\n",
  };
  for (const auto& h : headers) {
    CAPTURE(h);
    const auto a = ivkit::parse_npy<float>(npy_v1(h, data), "h.npy");
    CHECK(a.values == mat23f());
  }
  // Versions 2.0 and 3.0 have a u32 header length.
  for (int major : {2, 3}) {
    CAPTURE(major);
    CHECK(ivkit::parse_npy<float>(npy_v(major, kDict23f4, data), "h.npy").values == mat23f());
  }
  // 1-D shapes: (6,) with or without spaces; a vector reads as n x 1.
  for (const char* shape : {"(6,)", "( 6 , )", "(6, )"}) {
    const auto a = ivkit::parse_npy<double>(npy_v1(std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + "}", data), "v.npy");
    CHECK(a.ndim == 1);
    REQUIRE(a.values.rows() == 6);
    CHECK(a.values.cols() == 1);
    CHECK(a.values(3, 0) == 1024.0);
    CHECK(a.vector()(5) == 3.0);
  }
}

TEST_CASE("a malformed header is a FormatError naming the file and the byte offset") {
  const std::string data = data23f4();
  auto bad = [&](const std::string& header) { return ivkit::parse_npy<float>(npy_v1(header, data), "bad.npy"); };
  const std::string pre = "parse_npy: 'bad.npy' ";
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False}"),
                       (pre + "(offset 10) lacks the key 'shape' (a .npy header holds 'descr', 'fortran_order' and 'shape')").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f4'}"),
                       (pre + "(offset 68) has the key 'descr' twice").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(
      bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'align': 1}"),
      (pre + "(offset 68) has an unexpected key 'align' (a .npy header holds exactly 'descr', 'fortran_order' and 'shape')").c_str(),
      ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}"),
                       (pre + "(offset 62) 'shape' is (6), an integer, not a tuple (a 1-D shape is written (6,))").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}"),
                       (pre + "(offset 61) has a negative dimension in 'shape'").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}"),
                       (pre + "(offset 44) 'fortran_order' must be True or False, not '0'").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}"),
                       (pre + "(offset 27) expected ',' or '}' in the header dict").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x"),
                       (pre + "(offset 68) has unexpected text after the header dict").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("['descr', '<f4']"), (pre + "(offset 10) the header is not a Python dict literal (it does not start with '{')").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,)}"),
                       (pre + "(offset 20) has a structured dtype (a list of fields); ivkit reads plain numeric arrays").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}"),
                       (pre + "(offset 61) has the dimension 99999999999999999999 in 'shape', beyond 2^63 - 1").c_str(), ivkit::FormatError);
  // More that Python rejects, checked by type only.
  for (const char* h : {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,, 3)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
                        "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3)}", "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),,}",
                        "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3)}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3)}", "{'descr': '<\\f4', 'fortran_order': False, 'shape': (2, 3)}",
                        "{descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}", "", "{", "{'descr'", "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\t\v"}) {
    CAPTURE(h);
    CHECK_THROWS_AS(bad(h), ivkit::FormatError);
  }
  CHECK_THROWS_AS(bad(std::string(kDict23f4) + std::string(1, '\0')), ivkit::FormatError);
  // 'L' suffixes belong to Python 2 files (format 1.0 and 2.0); version 3.0 is Python 3 only.
  CHECK_THROWS_AS(ivkit::parse_npy<float>(npy_v(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data), "v3.npy"),
                  ivkit::FormatError);
  // Magic and version.
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>("PK\x03\x04 not numpy", "bad.npy"),
                       (pre + "(offset 0) is not a NumPy .npy file (it does not start with \"\\x93NUMPY\")").c_str(), ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(npy_v(4, kDict23f4, data), "bad.npy"),
                       (pre + "(offset 6) has .npy format version 4.0; ivkit reads versions 1.0, 2.0 and 3.0").c_str(), ivkit::FormatError);
}

TEST_CASE("0-d, 3-D, wrongly typed and wrongly shaped arrays are rejected clearly") {
  const std::string pre = "parse_npy: 'x.npy' ";
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32(1.f)), "x.npy"),
                       (pre + "(offset 10) holds a 0-d array (a scalar, shape ()); ivkit reads 1-D arrays (vectors) and 2-D arrays (matrices)").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(
      ivkit::parse_npy<float>(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", data23f4()), "x.npy"),
      (pre + "(offset 10) holds a 3-D array of shape (1, 2, 3); ivkit reads 1-D arrays (vectors) and 2-D arrays (matrices)").c_str(),
      ivkit::FormatError);
  for (const char* descr : {"<c16", "|O", "<U8", "<f2", "|u1", "<u4", "|b1", "f4x", ""}) {
    CAPTURE(descr);
    const std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2,), }";
    CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(npy_v1(h, std::string(32, '\0')), "x.npy"),
                         (pre + "(offset 10) has dtype '" + descr +
                          "'; ivkit reads float32 and float64 arrays ('<f4', '<f8', big-endian '>f4', '>f8'), and int32 and int64 ones "
                          "('<i4', '<i8', '>i4', '>i8') converted to floating point")
                             .c_str(),
                         ivkit::FormatError);
  }
  TempDir tmp("ivkit_test_npy_ndim");
  write_bytes(tmp / "v.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", data23f4()));
  write_bytes(tmp / "m.npy", file23f4());
  CHECK_THROWS_WITH_AS(ivkit::read_npy_matrix<float>(tmp / "v.npy"),
                       ("read_npy_matrix: '" + tmp / "v.npy" + "' (offset 10) holds a 1-D array of shape (6,); a 2-D array (matrix) was expected").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::read_npy_vector<float>(tmp / "m.npy"),
                       ("read_npy_vector: '" + tmp / "m.npy" + "' (offset 10) holds a 2-D array of shape (2, 3); a 1-D array (vector) was expected").c_str(),
                       ivkit::FormatError);
  CHECK(ivkit::read_npy_vector<double>(tmp / "v.npy")(3) == 1024.0);
}

TEST_CASE("big-endian floats are swapped; int32 and int64 convert to floating point") {
  // '>f4' 2 x 2 and '>f8' in Fortran order: the same numbers with their bytes reversed.
  const auto be4 = ivkit::parse_npy<double>(
      npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", swapped(f32(1.5f)) + swapped(f32(-2.f)) + swapped(f32(0.25f)) + swapped(f32(8.f))),
      "be.npy");
  CHECK(be4.values(0, 0) == 1.5);
  CHECK(be4.values(0, 1) == -2.0);
  CHECK(be4.values(1, 0) == 0.25);
  CHECK(be4.values(1, 1) == 8.0);
  const auto be8 = ivkit::parse_npy<float>(npy_v1("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }",
                                                  swapped(f64(1)) + swapped(f64(1024)) + swapped(f64(-2.5)) + swapped(f64(-0.0)) +
                                                      swapped(f64(0.15625)) + swapped(f64(3))),
                                           "be.npy");
  CHECK(be8.fortran_order);
  CHECK(be8.values == mat23f());
  // Integers, little- and big-endian.
  const auto i4 = ivkit::parse_npy<float>(npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", le32(7) + le32(0xfffffffdu) + le32(1u << 20)), "i.npy");
  CHECK(i4.values(0, 0) == 7.f);
  CHECK(i4.values(1, 0) == -3.f);
  CHECK(i4.values(2, 0) == 1048576.f);
  const auto i8 = ivkit::parse_npy<double>(
      npy_v1("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", le64(std::uint64_t{1} << 40) + le64(~std::uint64_t{0})), "i.npy");
  CHECK(i8.values(0, 0) == 1099511627776.0);
  CHECK(i8.values(0, 1) == -1.0);
  const auto bi4 = ivkit::parse_npy<double>(npy_v1("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", swapped(le32(0xfffffff6u))), "i.npy");
  CHECK(bi4.values(0, 0) == -10.0);
  const auto bi8 = ivkit::parse_npy<double>(npy_v1("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", swapped(le64(123456789012ull))), "i.npy");
  CHECK(bi8.values(0, 0) == 123456789012.0);
}

TEST_CASE_TEMPLATE("round trips: both dtypes, both orders, vectors and empty arrays, read into either scalar and layout", S, float, double) {
  TempDir tmp("ivkit_test_npy_round_trip");
  ivkit::Matrix<S> m(5, 4);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<S>(0.1 * static_cast<double>(i * 7 + j) - 1.3);
  for (auto order : {ivkit::NpyOrder::C, ivkit::NpyOrder::Fortran}) {
    CAPTURE(static_cast<int>(order));
    const std::string path = tmp / "m.npy";
    ivkit::write_npy(path, m, {order});
    const auto h = ivkit::read_npy_header(path);
    CHECK(h.descr == (sizeof(S) == 4 ? "<f4" : "<f8"));
    CHECK(h.fortran_order == (order == ivkit::NpyOrder::Fortran));
    CHECK(h.shape == std::vector<std::uint64_t>{5, 4});
    CHECK(h.data_offset == 128);
    CHECK(h.data_bytes == 20 * sizeof(S));
    CHECK(h.major_version == 1);
    CHECK(ivkit::read_npy_matrix<S>(path) == m);
    CHECK(ivkit::read_npy_matrix<S, Eigen::ColMajor>(path) == m);
    CHECK(ivkit::read_npy_matrix<double>(path) == m.template cast<double>());
    CHECK(ivkit::read_npy_matrix<float, Eigen::ColMajor>(path) == m.template cast<float>());
    const auto a = ivkit::read_npy<S>(path);
    CHECK(a.fortran_order == (order == ivkit::NpyOrder::Fortran));
    ivkit::write_npy(tmp / "again.npy", a);  // an NpyArray keeps its order
    CHECK(slurp(tmp / "again.npy") == slurp(path));
  }
  // A block, a transposed expression and a column: any expression.
  ivkit::write_npy(tmp / "b.npy", m.block(1, 1, 3, 2).transpose());
  CHECK(ivkit::read_npy_matrix<S>(tmp / "b.npy") == m.block(1, 1, 3, 2).transpose());
  ivkit::write_npy(tmp / "c.npy", m.col(2));
  CHECK(ivkit::read_npy_header(tmp / "c.npy").shape == std::vector<std::uint64_t>{5});
  CHECK(ivkit::read_npy_vector<S>(tmp / "c.npy") == m.col(2));
  // Empty arrays keep their shape.
  for (auto order : {ivkit::NpyOrder::C, ivkit::NpyOrder::Fortran}) {
    ivkit::write_npy(tmp / "e.npy", ivkit::Matrix<S>(0, 3), {order});
    const auto e = ivkit::read_npy_matrix<S>(tmp / "e.npy");
    CHECK(e.rows() == 0);
    CHECK(e.cols() == 3);
    ivkit::write_npy(tmp / "e.npy", ivkit::Matrix<S>(3, 0), {order});
    CHECK(ivkit::read_npy_matrix<S>(tmp / "e.npy").rows() == 3);
  }
  ivkit::write_npy(tmp / "ev.npy", ivkit::Vector<S>());
  CHECK(ivkit::read_npy_vector<S>(tmp / "ev.npy").size() == 0);
}

TEST_CASE("every truncation, an extra byte and a huge claimed shape are FormatErrors, never a crash") {
  for (const std::string& file :
       {file23f4(), ivkit::npy_bytes(mat23f().cast<double>(), {ivkit::NpyOrder::Fortran}), npy_v(2, kDict23f4, data23f4())}) {
    for (std::size_t n = 0; n < file.size(); ++n) {
      CAPTURE(n);
      CHECK_THROWS_AS(ivkit::parse_npy<float>(file.substr(0, n), "t.npy"), ivkit::FormatError);
    }
  }
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(file23f4().substr(0, 140), "t.npy"),
                       "parse_npy: 't.npy' (offset 140) ends inside the array data: shape (2, 3) of '<f4' needs 24 bytes from offset 128, 12 are there",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(file23f4().substr(0, 100), "t.npy"),
                       "parse_npy: 't.npy' (offset 100) is truncated inside the header (118 header bytes from offset 10, 90 are there)",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(ivkit::parse_npy<float>(file23f4() + "x", "t.npy"),
                       "parse_npy: 't.npy' (offset 152) has 1 bytes after the array data (shape (2, 3) of '<f4' needs 24 bytes from offset 128)",
                       ivkit::FormatError);
  // Shapes whose data would not fit in memory are refused from the file size alone.
  CHECK_THROWS_WITH_AS(
      ivkit::parse_npy<float>(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 100000), }", data23f4()), "t.npy"),
      "parse_npy: 't.npy' (offset 106) ends inside the array data: shape (100000000, 100000) of '<f4' needs 40000000000000 bytes from offset 82, 24 are there",
      ivkit::FormatError);
  CHECK_THROWS_WITH_AS(
      ivkit::parse_npy<double>(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (576460752303423488, 576460752303423488), }", ""), "t.npy"),
      "parse_npy: 't.npy' (offset 103) ends inside the array data: shape (576460752303423488, 576460752303423488) of '<f8' needs more than "
      "2^64 bytes from offset 103, 0 are there",
      ivkit::FormatError);
  CHECK_THROWS_AS(ivkit::parse_npy<double>(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", ""), "t.npy"),
                  ivkit::FormatError);
  // An empty array may not claim an absurd other dimension either: every size computed from it
  // would overflow.
  CHECK_THROWS_WITH_AS(
      ivkit::parse_npy<float>(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", ""), "z.npy"),
      doctest::Contains("has the dimension 9223372036854775807 in 'shape' ((0, 9223372036854775807)): 9223372036854775807 items of 4 bytes "
                        "pass 2^62 bytes"),
      ivkit::FormatError);
  // ... while an ordinary empty matrix is read.
  const auto z = ivkit::parse_npy<float>(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 60), }", ""), "z.npy");
  CHECK(z.values.size() == 0);
  CHECK(z.values.cols() == 60);
}

TEST_CASE("a corrupted byte anywhere in the header is a FormatError or a valid file, never a crash") {
  const std::string file = file23f4();
  for (std::size_t i = 0; i < 128; ++i)
    for (char c : {'\0', '}', '(', ')', ',', '\'', 'x', '9', ' ', '\xff'}) {
      std::string f = file;
      f[i] = c;
      try {
        const auto a = ivkit::parse_npy<float>(f, "c.npy");
        CHECK(a.values.size() <= 6);
      } catch (const ivkit::FormatError&) {
      }
    }
}

TEST_CASE("files are written atomically; unreadable and unwritable paths are IoErrors") {
  TempDir tmp("ivkit_test_npy_files");
  const std::string path = tmp / "m.npy";
  ivkit::write_npy(path, mat23f());
  ivkit::write_npy(path, mat23f().cast<double>());  // replaces the file
  CHECK(ivkit::read_npy_header(path).descr == "<f8");
  CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator{}) == 1);  // no temporary left
  CHECK_THROWS_AS(ivkit::write_npy(tmp / "no_such_dir/m.npy", mat23f()), ivkit::IoError);
  CHECK(ivkit::read_npy_header(path).descr == "<f8");
  CHECK_THROWS_WITH_AS(ivkit::read_npy_matrix<float>(tmp / "absent.npy"), ("read_npy_matrix: cannot open '" + tmp / "absent.npy" + "'").c_str(),
                       ivkit::IoError);
  // A file cut short on disk names the file and the offset.
  write_bytes(tmp / "short.npy", file23f4().substr(0, 150));
  CHECK_THROWS_WITH_AS(ivkit::read_npy_matrix<float>(tmp / "short.npy"),
                       ("read_npy_matrix: '" + tmp / "short.npy" +
                        "' (offset 150) ends inside the array data: shape (2, 3) of '<f4' needs 24 bytes from offset 128, 22 are there")
                           .c_str(),
                       ivkit::FormatError);
}
