// Kaldi's primitive serialisation, matrices, vectors, packed matrices and compressed matrices:
// byte-exact against fixtures built here from Kaldi's documented layout, round trips, and a
// FormatError (never a crash) for every truncation or corruption.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/io/kaldi_compressed.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "support/bytes.hpp"

namespace {

using ivkit_test::le16;
using ivkit_test::i32;
using ivkit_test::f32;
using ivkit_test::f64;
using ivkit_test::kint;
using ivkit_test::kMarker;

using ivkit::Index;

// Little-endian encodings built with shifts, independently of the library.
// Kaldi's binary int32 with its size byte.


template <class F>
std::string emit(bool binary, F f) {
  std::ostringstream os;
  ivkit::KaldiOutput out(os, binary, "mem");
  f(out);
  return os.str();
}

struct Source {
  std::istringstream stream;
  ivkit::KaldiInput in;
  explicit Source(const std::string& bytes, bool known_size = false)
      : stream(bytes), in(stream, "mem", "KaldiInput", 0, known_size ? std::optional<std::uint64_t>(bytes.size()) : std::nullopt) {}
};

template <class S>
ivkit::Matrix<S> read_matrix(const std::string& bytes, bool known_size = false) {
  Source src(bytes, known_size);
  src.in.read_binary_marker();
  return ivkit::read_kaldi_matrix<S>(src.in);
}

template <class S>
ivkit::Vector<S> read_vector(const std::string& bytes) {
  Source src(bytes);
  src.in.read_binary_marker();
  return ivkit::read_kaldi_vector<S>(src.in);
}

ivkit::Matrix<double> sample_2x3() {
  ivkit::Matrix<double> m(2, 3);
  m << 1, 2, 3, 4, 5, 6.5;
  return m;
}

template <class S>
ivkit::Matrix<S> random_matrix(Index r, Index c, std::uint64_t seed) {
  ivkit::Random rng(seed);
  ivkit::Matrix<S> m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = static_cast<S>(rng.normal() * std::pow(10.0, rng.uniform() * 8 - 4));
  return m;
}

}  // namespace

TEST_CASE("primitives: exact bytes of integers, reals, booleans, tokens and integer vectors") {
  CHECK(emit(true, [](auto& o) { o.write_int(std::int32_t{5}); }) == std::string("\x04\x05\0\0\0", 5));
  CHECK(emit(true, [](auto& o) { o.write_int(std::uint16_t{0x0102}); }) == std::string("\xfe\x02\x01", 3));  // unsigned: -sizeof
  CHECK(emit(true, [](auto& o) { o.write_real(0.5f); }) == std::string(1, '\x04') + f32(0.5f));
  CHECK(emit(true, [](auto& o) { o.write_real(-2.25); }) == std::string(1, '\x08') + f64(-2.25));
  CHECK(emit(true, [](auto& o) { o.write_bool(true); }) == "T");
  CHECK(emit(false, [](auto& o) { o.write_bool(false); }) == "F ");
  CHECK(emit(true, [](auto& o) { o.write_token("<DiagGMM>"); }) == "<DiagGMM> ");
  CHECK(emit(false, [](auto& o) {
          o.write_int(std::int32_t{-7});
          o.write_real(0.1f);
          o.write_real(1e-5);
        }) == "-7 0.1 1e-05 ");
  CHECK(emit(true, [](auto& o) { o.write_int_vector(std::vector<std::int32_t>{3, -1}); }) == std::string(1, '\x04') + i32(2) + i32(3) + i32(-1));
  CHECK(emit(false, [](auto& o) { o.write_int_vector(std::vector<std::int32_t>{3, -1}); }) == "[ 3 -1 ]\n");
  CHECK_THROWS_WITH_AS(emit(true, [](auto& o) { o.write_token("two words"); }),
                       "KaldiOutput: 'two words' is not a valid token (empty or with white space)", ivkit::InvalidArgument);
}

TEST_CASE("primitives: reading both modes, Kaldi's tolerances, and exact errors") {
  {
    Source s(kMarker + "<Dim> " + kint(3) + "<W> " + std::string(1, '\x08') + f64(0.25) + "T" + std::string(1, '\x04') + i32(2) + i32(7) + i32(9));
    CHECK(s.in.read_binary_marker());
    CHECK(s.in.peek_token() == 'D');
    s.in.expect_token("<Dim>");
    CHECK(s.in.read_int<std::int32_t>() == 3);
    CHECK(s.in.read_token() == "<W>");
    CHECK(s.in.read_real<float>() == 0.25f);  // a double in the file, read as float
    CHECK(s.in.read_bool());
    CHECK(s.in.read_int_vector<std::int32_t>() == std::vector<std::int32_t>{7, 9});
    CHECK(s.in.at_end());
  }
  {
    Source s("  <Dim> 3\n<W>  -inf nan 1E3 +2 T [ 1 2 ]\n");
    CHECK_FALSE(s.in.read_binary_marker());
    s.in.expect_token("<Dim>");
    CHECK(s.in.read_int<std::int32_t>() == 3);
    CHECK(s.in.peek_token_string() == "<W>");
    s.in.expect_token("<W>");
    CHECK(s.in.read_real<double>() == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(s.in.read_real<float>()));
    CHECK(s.in.read_real<double>() == 1000.0);
    CHECK(s.in.read_real<double>() == 2.0);
    CHECK(s.in.read_bool());
    CHECK(s.in.read_int_vector<std::int32_t>() == std::vector<std::int32_t>{1, 2});
  }
  {
    Source s("<A> <B> ");
    s.in.set_key("utt7");
    CHECK_THROWS_WITH_AS(s.in.expect_token("<X>"), "KaldiInput: 'mem' (key 'utt7', offset 0): expected token <X>, found '<A>'", ivkit::FormatError);
  }
  {
    Source s(kMarker + std::string("\x08", 1) + f64(1));
    s.in.read_binary_marker();
    CHECK_THROWS_WITH_AS(s.in.read_int<std::int32_t>(),
                         "KaldiInput: 'mem' (offset 2): expected a 4-byte signed integer (size byte 4), found size byte 8", ivkit::FormatError);
  }
  {
    Source s(std::string("\0X", 2));
    CHECK_THROWS_WITH_AS(s.in.read_binary_marker(),
                         "KaldiInput: 'mem' (offset 0): a \\0 not followed by 'B' (the binary marker is \\0B), found 'X'", ivkit::FormatError);
  }
  {
    Source s("<Tok>");  // a token must be followed by white space
    CHECK_THROWS_WITH_AS(s.in.read_token(), "KaldiInput: 'mem' (offset 5): expected a space after token '<Tok>', found the end of the data",
                         ivkit::FormatError);
  }
  {
    Source s(kMarker + std::string(1, '\x04') + i32(1000000) + i32(1));  // corrupt length: no allocation of that size
    s.in.read_binary_marker();
    CHECK_THROWS_WITH_AS(s.in.read_int_vector<std::int32_t>(),
                         "KaldiInput: 'mem' (offset 7): truncated: an integer vector of 1000000 elements needs 4000000 bytes but only 4 remain",
                         ivkit::FormatError);
  }
}

TEST_CASE("matrices and vectors: byte-exact binary and text forms (Kaldi's layout)") {
  const auto m = sample_2x3();
  std::string floats, doubles;
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j) {
      floats += f32(static_cast<float>(m(i, j)));
      doubles += f64(m(i, j));
    }
  const std::string fm = kMarker + "FM " + kint(2) + kint(3) + floats;
  const std::string dm = kMarker + "DM " + kint(2) + kint(3) + doubles;
  auto write_obj = [](bool binary, auto f) {
    return emit(binary, [&](ivkit::KaldiOutput& o) {
      o.write_binary_marker();
      f(o);
    });
  };
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, m.cast<float>()); }) == fm);
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, m); }) == dm);
  // A column-major matrix and a non-contiguous block give the same bytes.
  const Eigen::MatrixXf colmajor = m.cast<float>();
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, colmajor); }) == fm);
  ivkit::Matrix<float> big = ivkit::Matrix<float>::Zero(4, 5);
  big.block(1, 2, 2, 3) = m.cast<float>();
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, big.block(1, 2, 2, 3)); }) == fm);
  CHECK(write_obj(false, [&](auto& o) { ivkit::write_kaldi_matrix(o, m); }) == " [\n  1 2 3 \n  4 5 6.5 ]\n");
  // Empty matrices are 0 x 0, in both modes.
  const std::string empty_fm = kMarker + "FM " + kint(0) + kint(0);
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, ivkit::Matrix<float>(0, 0)); }) == empty_fm);
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, ivkit::Matrix<float>(0, 7)); }) == empty_fm);
  CHECK(write_obj(false, [&](auto& o) { ivkit::write_kaldi_matrix(o, ivkit::Matrix<float>(0, 0)); }) == " [ ]\n");

  const Eigen::Vector3d v(1.5, -2, 0.125);
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_vector(o, v.cast<float>()); }) ==
        kMarker + "FV " + kint(3) + f32(1.5f) + f32(-2.f) + f32(0.125f));
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_vector(o, v.transpose()); }) == kMarker + "DV " + kint(3) + f64(1.5) + f64(-2) + f64(0.125));
  CHECK(write_obj(false, [&](auto& o) { ivkit::write_kaldi_vector(o, v); }) == " [ 1.5 -2 0.125 ]\n");
  CHECK(write_obj(false, [&](auto& o) { ivkit::write_kaldi_vector(o, ivkit::Vector<float>(0)); }) == " [ ]\n");

  // Packed symmetric: lower triangle row by row.
  Eigen::Matrix2d sp;
  sp << 4, 1, 1, 3;
  CHECK(write_obj(true, [&](auto& o) { ivkit::write_kaldi_sp_matrix(o, sp); }) == kMarker + "DP " + kint(2) + f64(4) + f64(1) + f64(3));
  CHECK(write_obj(false, [&](auto& o) { ivkit::write_kaldi_sp_matrix(o, sp.cast<float>()); }) == "[\n4 \n1 3 ]\n");

  // Reading the fixtures, each into both scalar types (Kaldi converts float <-> double on reading).
  CHECK(read_matrix<double>(fm) == m);
  CHECK(read_matrix<float>(dm) == m.cast<float>());
  CHECK(read_matrix<double>(" [\n  1 2 3 \n  4 5 6.5 ]\n") == m);
  CHECK(read_matrix<float>(empty_fm).size() == 0);
  CHECK(read_matrix<double>(" [ ]\n").rows() == 0);
  CHECK(read_vector<double>(kMarker + "FV " + kint(3) + f32(1.5f) + f32(-2.f) + f32(0.125f)) == v);
  CHECK(read_vector<float>(" [ 1.5 -2 0.125 ]\n") == v.cast<float>());
  {
    Source s(kMarker + "FP " + kint(2) + f32(4) + f32(1) + f32(3));
    s.in.read_binary_marker();
    CHECK(ivkit::read_kaldi_sp_matrix<double>(s.in) == sp);
    Source t("[\n4 \n1 3 ]\n");
    t.in.read_binary_marker();
    CHECK(ivkit::read_kaldi_sp_matrix<float>(t.in) == sp.cast<float>());
  }
}

TEST_CASE("text matrices: Kaldi's accepted variants") {
  CHECK(read_matrix<double>("[ 1 2 ; 3 4 ]") == (ivkit::Matrix<double>(2, 2) << 1, 2, 3, 4).finished());
  CHECK(read_matrix<double>("[]").size() == 0);
  CHECK(read_matrix<double>("\n [\r\n  1\t2 \r\n  3 4 ]\r\n") == (ivkit::Matrix<double>(2, 2) << 1, 2, 3, 4).finished());
  CHECK(read_matrix<double>(" [ 1 2 3 ]\n") == (ivkit::Matrix<double>(1, 3) << 1, 2, 3).finished());  // a text vector is a 1-row matrix
  const auto special = read_matrix<float>("[ inf -Infinity NaN 1e-3 ]");
  CHECK(special(0, 0) == std::numeric_limits<float>::infinity());
  CHECK(special(0, 1) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(special(0, 2)));
  CHECK(special(0, 3) == 1e-3f);
  CHECK(read_matrix<float>("[ 1e39 -1e-50 ]")(0, 0) == std::numeric_limits<float>::infinity());  // saturates like operator>>
  CHECK_THROWS_WITH_AS(read_matrix<double>("[ 1 2\n 3 ]"), "KaldiInput: 'mem' (offset 10): row 1 of the text matrix has 1 values but row 0 has 2",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_matrix<double>("[ 1 x2 ]"), "KaldiInput: 'mem' (offset 4): expected a number in a text matrix, found 'x2'",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_matrix<double>("FM 3"), "KaldiInput: 'mem' (offset 0): expected '[' at the start of a text matrix, found 'FM'",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_vector<double>(" [ 1 2\n 3 ]"), "KaldiInput: 'mem' (offset 6): a line break inside a text vector (is it a matrix?)",
                       ivkit::FormatError);
}

TEST_CASE("matrices and vectors round-trip exactly in both modes and both scalars") {
  auto round = [](const auto& m, bool binary) {
    using S = typename std::decay_t<decltype(m)>::Scalar;
    const std::string bytes = emit(binary, [&](ivkit::KaldiOutput& o) {
      o.write_binary_marker();
      ivkit::write_kaldi_matrix(o, m);
      ivkit::write_kaldi_vector(o, m.row(0));
    });
    Source s(bytes);
    CHECK(s.in.read_binary_marker() == binary);
    CHECK(ivkit::read_kaldi_matrix<S>(s.in) == m);
    CHECK(ivkit::read_kaldi_vector<S>(s.in) == m.row(0).transpose());
    CHECK(s.in.at_end());
  };
  for (bool binary : {true, false}) {
    CAPTURE(binary);
    round(random_matrix<float>(7, 5, 1), binary);
    round(random_matrix<double>(3, 9, 2), binary);  // text uses the shortest exact form: lossless
  }
}

TEST_CASE("wrong types, corrupt sizes and every truncation are FormatErrors") {
  const std::string fv = kMarker + "FV " + kint(2) + f32(1) + f32(2);
  CHECK_THROWS_WITH_AS(read_matrix<float>(fv), "KaldiInput: 'mem' (offset 2): expected a matrix (FM, DM, CM, CM2 or CM3), found 'FV' (a vector)",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_vector<float>(kMarker + "DM " + kint(1) + kint(1) + f64(1)),
                       "KaldiInput: 'mem' (offset 2): expected a vector (FV or DV), found 'DM' (a matrix)", ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_matrix<float>(kMarker + "FM " + kint(-2) + kint(3)), "KaldiInput: 'mem' (offset 5): negative row count -2",
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_matrix<float>(kMarker + "FM " + kint(3) + kint(0)),
                       "KaldiInput: 'mem' (offset 5): a 3 x 0 matrix (Kaldi stores empty matrices as 0 x 0)", ivkit::FormatError);
  // A huge size field: refused before allocation, whether or not the source size is known.
  const std::string huge = kMarker + "FM " + kint(0x7fffffff) + kint(0x7fffffff) + f32(1);
  CHECK_THROWS_WITH_AS(read_matrix<float>(huge, true),
                       "KaldiInput: 'mem' (offset 15): implausible size: a 2147483647 x 2147483647 FM matrix (4611686014132420609 elements of 4 bytes)",
                       ivkit::FormatError);
  CHECK_THROWS_AS(read_matrix<float>(huge, false), ivkit::FormatError);
  const std::string big = kMarker + "DM " + kint(50000) + kint(1000) + f64(1);  // 400 MB claimed, 8 bytes present
  CHECK_THROWS_WITH_AS(read_matrix<double>(big, false),
                       "KaldiInput: 'mem' (offset 15): truncated: a 50000 x 1000 DM matrix needs 400000000 bytes but only 8 remain", ivkit::FormatError);

  const auto m = sample_2x3();
  for (bool binary : {true, false}) {
    const std::string bytes = emit(binary, [&](ivkit::KaldiOutput& o) {
      o.write_binary_marker();
      ivkit::write_kaldi_matrix(o, m);
    });
    for (std::size_t n = 0; n + (binary ? 0 : 1) < bytes.size(); ++n) {  // text: without its final newline it is complete
      CAPTURE(binary);
      CAPTURE(n);
      CHECK_THROWS_AS(read_matrix<double>(bytes.substr(0, n)), ivkit::FormatError);
      CHECK_THROWS_AS(read_matrix<double>(bytes.substr(0, n), true), ivkit::FormatError);
    }
  }
}

TEST_CASE("compressed matrices decode as the documented formulas (CM2, CM3, CM)") {
  // CM2: 2 x 3, value = min + u * range / 65535, row by row.
  const float min2 = -1.5f, range2 = 4.0f;
  const std::uint16_t u2[6] = {0, 65535, 12345, 32768, 1, 40000};
  std::string cm2 = kMarker + "CM2 " + f32(min2) + f32(range2) + i32(2) + i32(3);
  for (auto u : u2) cm2 += le16(u);
  // CM3: 2 x 2, value = min + u * range / 255.
  const float min3 = 0.5f, range3 = 2.0f;
  const unsigned char u3[4] = {0, 255, 128, 7};
  std::string cm3 = kMarker + "CM3 " + f32(min3) + f32(range3) + i32(2) + i32(2);
  for (auto u : u3) cm3 += static_cast<char>(u);
  // CM: 3 x 2, per-column quantiles (uint16 on the global range), bytes column by column, piecewise linear.
  const float min1 = -2.0f, range1 = 8.0f;
  const std::uint16_t q[2][4] = {{0, 16384, 49152, 65535}, {100, 200, 300, 60000}};
  const unsigned char b[2][3] = {{0, 64, 255}, {32, 150, 200}};
  std::string cm1 = kMarker + "CM " + f32(min1) + f32(range1) + i32(3) + i32(2);
  for (auto& col : q)
    for (auto v : col) cm1 += le16(v);
  for (auto& col : b)
    for (auto v : col) cm1 += static_cast<char>(v);

  auto quantile = [&](std::uint16_t v) { return double(min1) + double(range1) * v / 65535.0; };
  auto byte_value = [&](int c, const std::uint16_t* qs) {
    const double p0 = quantile(qs[0]), p25 = quantile(qs[1]), p75 = quantile(qs[2]), p100 = quantile(qs[3]);
    if (c <= 64) return p0 + (p25 - p0) * c / 64.0;
    if (c <= 192) return p25 + (p75 - p25) * (c - 64) / 128.0;
    return p75 + (p100 - p75) * (c - 192) / 63.0;
  };
  auto close = [](double got, double want) { return std::abs(got - want) <= 2e-6 * std::max(1.0, std::abs(want)); };

  const auto m2 = read_matrix<double>(cm2);
  REQUIRE(m2.rows() == 2);
  REQUIRE(m2.cols() == 3);
  for (int i = 0; i < 6; ++i) CHECK(close(m2(i / 3, i % 3), double(min2) + double(u2[i]) * range2 / 65535.0));
  const auto m3 = read_matrix<float>(cm3);
  REQUIRE(m3.rows() == 2);
  for (int i = 0; i < 4; ++i) CHECK(close(m3(i / 2, i % 2), double(min3) + double(u3[i]) * range3 / 255.0));
  const auto m1 = read_matrix<double>(cm1);
  REQUIRE(m1.rows() == 3);
  REQUIRE(m1.cols() == 2);
  for (int c = 0; c < 2; ++c)
    for (int r = 0; r < 3; ++r) {
      CAPTURE(r);
      CAPTURE(c);
      CHECK(close(m1(r, c), byte_value(b[c][r], q[c])));
    }
  // Decoded values are floats: reading into double gives the float values exactly.
  CHECK(read_matrix<float>(cm1).cast<double>() == m1);
  // The empty compressed matrix (num_cols 0).
  CHECK(read_matrix<float>(kMarker + "CM " + f32(0) + f32(0) + i32(0) + i32(0)).size() == 0);

  CHECK_THROWS_WITH_AS(read_matrix<float>(kMarker + "CM4 " + std::string(16, '\0')),
                       "KaldiInput: 'mem' (offset 2): expected a compressed matrix (CM, CM2 or CM3), found 'CM4'", ivkit::FormatError);
  CHECK_THROWS_WITH_AS(read_matrix<float>(kMarker + "CM2 " + f32(0) + f32(1) + i32(-3) + i32(2)),
                       "KaldiInput: 'mem' (offset 6): a CM2 matrix of impossible size -3 x 2", ivkit::FormatError);
  for (const std::string* blob : {&cm1, &cm2, &cm3})
    for (std::size_t n = 0; n < blob->size(); ++n) {
      CAPTURE(n);
      CHECK_THROWS_AS(read_matrix<float>(blob->substr(0, n)), ivkit::FormatError);
    }
}

TEST_CASE("compression: Kaldi's method choice, header and quantisation error bounds") {
  ivkit::Random rng(7);
  ivkit::Matrix<float> m(20, 4);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(3 * rng.normal());
  const double lo = m.minCoeff(), hi = m.maxCoeff();
  for (auto method : {ivkit::KaldiCompressionMethod::Auto, ivkit::KaldiCompressionMethod::TwoByteAuto, ivkit::KaldiCompressionMethod::OneByteAuto}) {
    const auto cm = ivkit::compress_kaldi_matrix(m, method);
    CHECK(cm.header.rows == 20);
    CHECK(cm.header.cols == 4);
    CHECK(cm.header.min_value == static_cast<float>(lo));
    CHECK(cm.header.range == static_cast<float>(hi) - static_cast<float>(lo));
    const auto d = ivkit::decompress_kaldi_matrix<double>(cm);
    if (method == ivkit::KaldiCompressionMethod::Auto) {  // > 8 rows: the speech-feature format
      CHECK(cm.header.format == ivkit::KaldiCompressedFormat::ColumnQuantiles);
      for (Index c = 0; c < 4; ++c) {
        std::uint16_t qs[4];
        std::memcpy(qs, cm.payload.data() + 8 * c, 8);
        CHECK(qs[0] < qs[1]);
        CHECK(qs[1] < qs[2]);
        CHECK(qs[2] < qs[3]);
        auto qv = [&](int k) { return lo + (hi - lo) * qs[k] / 65535.0; };
        const double step = std::max({(qv(1) - qv(0)) / 64, (qv(2) - qv(1)) / 128, (qv(3) - qv(2)) / 63});
        for (Index r = 0; r < 20; ++r) CHECK(std::abs(d(r, c) - m(r, c)) <= 0.51 * step + (hi - lo) / 65535.0 + 1e-5);
      }
    } else {
      const double levels = method == ivkit::KaldiCompressionMethod::TwoByteAuto ? 65535.0 : 255.0;
      CHECK(cm.header.format == (levels > 300 ? ivkit::KaldiCompressedFormat::TwoByte : ivkit::KaldiCompressedFormat::OneByte));
      CHECK((d - m.cast<double>()).cwiseAbs().maxCoeff() <= 0.51 * (hi - lo) / levels + 1e-5);
    }
    // Written and read back through the binary stream: the same decoded values.
    const std::string bytes = emit(true, [&](ivkit::KaldiOutput& o) {
      o.write_binary_marker();
      ivkit::write_kaldi_compressed(o, cm);
    });
    const std::string token = std::string(ivkit::kaldi_compressed_token(cm.header.format)) + " ";
    CHECK(bytes.substr(2, token.size()) == token);
    CHECK(read_matrix<double>(bytes) == d);
  }
  // Small matrices (<= 8 rows) use two bytes; the fixed integer ranges reproduce integers exactly.
  CHECK(ivkit::compress_kaldi_matrix(random_matrix<float>(3, 2, 1)).header.format == ivkit::KaldiCompressedFormat::TwoByte);
  ivkit::Matrix<float> pcm(2, 3);
  pcm << -32768, 0, 32767, 5, -7, 1234;
  CHECK(ivkit::decompress_kaldi_matrix<float>(ivkit::compress_kaldi_matrix(pcm, ivkit::KaldiCompressionMethod::TwoByteSignedInteger)) == pcm);
  ivkit::Matrix<double> u8(1, 3);
  u8 << 0, 17, 255;
  CHECK(ivkit::decompress_kaldi_matrix<double>(ivkit::compress_kaldi_matrix(u8, ivkit::KaldiCompressionMethod::OneByteUnsignedInteger)) == u8);
  // A constant matrix: Kaldi widens the range to 1 + |value|; the value is recovered closely.
  const ivkit::Matrix<float> flat = ivkit::Matrix<float>::Constant(10, 2, -2.5f);
  const auto cflat = ivkit::compress_kaldi_matrix(flat);
  CHECK(cflat.header.range == 3.5f);
  CHECK((ivkit::decompress_kaldi_matrix<float>(cflat) - flat).cwiseAbs().maxCoeff() <= 3.5f / 65535 * 2);
  ivkit::Matrix<float> bad = pcm;
  bad(1, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(ivkit::compress_kaldi_matrix(bad), "compress_kaldi_matrix: element (1, 2) is NaN or Inf", ivkit::NonFiniteInput);
}
