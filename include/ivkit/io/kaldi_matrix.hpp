/// @file
/// Kaldi's matrices, vectors and packed symmetric matrices, float and double, binary and text
/// (Kaldi `matrix/kaldi-matrix.cc`, `kaldi-vector.cc`, `packed-matrix.cc`, Read and Write):
///
///   binary matrix   `FM ` (float) or `DM ` (double), int32 rows, int32 cols (each with its size byte
///                   4), then rows*cols values row by row; or a compressed matrix (`CM`, `CM2`, `CM3`,
///                   see kaldi_compressed.hpp)
///   binary vector   `FV ` or `DV `, int32 dim (size byte 4), then the values
///   binary packed   `FP ` or `DP `, int32 n, then the n(n+1)/2 values of the lower triangle, row by row
///   text matrix     ` [` then each row as "\n  " followed by "v " per value, then `]` and a newline;
///                   ` [ ]` for the empty matrix. Readers take rows as separated by newlines or `;`.
///   text vector     ` [ v v v ]` and a newline (a newline inside is an error: it would be a matrix)
///   text packed     `[` newline, row i with its i+1 values, rows separated by newlines, `]` newline
///
/// A reader of either scalar type reads both (float data into double and back), and a matrix reader
/// also reads compressed matrices, as Kaldi's Matrix::Read does. Kaldi has no 0 x n matrices: an
/// empty matrix is written 0 x 0, and a stored 0 x n or n x 0 is an error on reading.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/kaldi_compressed.hpp"
#include "ivkit/io/kaldi_io.hpp"

namespace ivkit {

namespace detail {

/// Reads `count` binary values of size `elem` (4 or 8) and stores them, converted to S, at `out`.
template <class S>
void kaldi_read_reals(KaldiInput& in, S* out, std::uint64_t count, int elem, const std::string& what) {
  in.require_array(count, static_cast<std::uint64_t>(elem), what);
  if (elem == int(sizeof(S))) {
    in.read_bytes(out, static_cast<std::size_t>(count) * sizeof(S), what);
    return;
  }
  constexpr std::size_t kBlock = 4096;
  if (elem == 4) {
    float buf[kBlock];
    for (std::uint64_t i = 0; i < count; i += kBlock) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, count - i));
      in.read_bytes(buf, n * 4, what);
      for (std::size_t j = 0; j < n; ++j) out[i + j] = static_cast<S>(buf[j]);
    }
  } else {
    double buf[kBlock];
    for (std::uint64_t i = 0; i < count; i += kBlock) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, count - i));
      in.read_bytes(buf, n * 8, what);
      for (std::size_t j = 0; j < n; ++j) out[i + j] = static_cast<S>(buf[j]);
    }
  }
}

/// Reads the `[`, or `[]`, that opens a text object. Returns false for `[]` (the empty object).
inline bool kaldi_open_bracket(KaldiInput& in, const char* what) {
  const std::uint64_t at = (in.skip_space(), in.offset());
  const std::string w = in.read_word(what, 64);
  if (w == "[]") return false;
  if (w != "[") in.fail_at(at, detail::message("expected '[' at the start of ", what, ", found '", kaldi_printable(w), "'"));
  return true;
}

/// After the closing `]`: consumes one newline ("\n" or "\r\n") if present.
inline void kaldi_eat_newline(KaldiInput& in) {
  if (in.peek() == '\r' && in.peek_at(1) == '\n') {
    in.get();
    in.get();
  } else if (in.peek() == '\n') {
    in.get();
  }
}

/// Reads one number of a text object (the word ends at white space, `]` or, in matrices, `;`).
template <class S>
S kaldi_text_number(KaldiInput& in, const char* what, bool semicolon_ends) {
  const std::uint64_t at = in.offset();
  std::string w;
  for (int c = in.peek(); c >= 0 && !kaldi_is_space(c) && c != ']' && !(semicolon_ends && c == ';'); c = in.peek()) {
    if (w.size() >= 128) in.fail_at(at, detail::message("expected a number in ", what, ", found '", kaldi_printable(w), "'"));
    w += static_cast<char>(c);
    in.get();
  }
  S v;
  if (!kaldi_parse_real(w, v)) in.fail_at(at, detail::message("expected a number in ", what, ", found '", kaldi_printable(w), "'"));
  return v;
}

template <class S>
Matrix<S> kaldi_read_text_matrix(KaldiInput& in) {
  const char* what = "a text matrix";
  if (!kaldi_open_bracket(in, what)) return Matrix<S>(0, 0);
  std::vector<S> values;
  std::size_t cols = 0, rows = 0, cur = 0;
  auto end_row = [&] {
    if (cur == 0) return;
    if (rows == 0) cols = cur;
    else if (cur != cols)
      in.fail(detail::message("row ", rows, " of the text matrix has ", cur, " values but row 0 has ", cols));
    ++rows;
    cur = 0;
  };
  for (;;) {
    const int c = in.peek();
    if (c < 0) in.fail("the text matrix ends before its closing ']'");
    if (c == ']') {
      in.get();
      kaldi_eat_newline(in);
      end_row();
      break;
    }
    if (c == '\n' || c == ';') {
      in.get();
      end_row();
    } else if (kaldi_is_space(c)) {
      in.get();
    } else {
      values.push_back(kaldi_text_number<S>(in, what, true));
      ++cur;
    }
  }
  Matrix<S> m(static_cast<Index>(rows), static_cast<Index>(cols));
  if (!values.empty()) std::memcpy(m.data(), values.data(), values.size() * sizeof(S));
  return m;
}

template <class S>
Vector<S> kaldi_read_text_vector(KaldiInput& in) {
  const char* what = "a text vector";
  if (!kaldi_open_bracket(in, what)) return Vector<S>(0);
  std::vector<S> values;
  for (;;) {
    const int c = in.peek();
    if (c < 0) in.fail("the text vector ends before its closing ']'");
    if (c == ']') {
      in.get();
      kaldi_eat_newline(in);
      break;
    }
    if (c == '\n' || c == '\r') in.fail("a line break inside a text vector (is it a matrix?)");
    if (kaldi_is_space(c)) {
      in.get();
    } else {
      values.push_back(kaldi_text_number<S>(in, what, false));
    }
  }
  Vector<S> v(static_cast<Index>(values.size()));
  if (!values.empty()) std::memcpy(v.data(), values.data(), values.size() * sizeof(S));
  return v;
}

/// The binary type token (FM, DM, FV, DV, FP, DP, CM, CM2, CM3): checks it is one of `allowed`
/// and returns it; the message for another object type names what was found.
inline std::string kaldi_binary_type_token(KaldiInput& in, std::initializer_list<const char*> allowed, const char* expected) {
  const std::uint64_t at = (in.skip_space(), in.offset());
  if (in.peek() < 0) in.fail(detail::message("expected ", expected, ", found the end of the data"));
  const std::string tok = in.read_token();
  for (const char* a : allowed)
    if (tok == a) return tok;
  std::string found = "'" + kaldi_printable(tok) + "'";
  if (tok == "FM" || tok == "DM" || tok == "CM" || tok == "CM2" || tok == "CM3") found += " (a matrix)";
  else if (tok == "FV" || tok == "DV") found += " (a vector)";
  else if (tok == "FP" || tok == "DP") found += " (a packed symmetric matrix)";
  in.fail_at(at, detail::message("expected ", expected, ", found ", found));
}

/// Reads a binary int32 size field (with its size byte) and checks it is not negative.
inline std::int64_t kaldi_read_size(KaldiInput& in, const char* what) {
  const std::uint64_t at = in.offset();
  const std::int32_t n = in.read_int<std::int32_t>();
  if (n < 0) in.fail_at(at, detail::message("negative ", what, " ", n));
  return n;
}

inline void kaldi_check_matrix_dims(KaldiInput& in, std::uint64_t at, std::int64_t rows, std::int64_t cols) {
  if ((rows == 0) != (cols == 0))
    in.fail_at(at, detail::message("a ", rows, " x ", cols, " matrix (Kaldi stores empty matrices as 0 x 0)"));
}

}  // namespace detail

/// Reads a matrix in the mode of `in` (set it with in.read_binary_marker() first). Binary: FM, DM
/// or a compressed matrix; text: `[ ... ]`. Values are converted to S.
/// @throws FormatError naming the source, key and offset
template <class S>
Matrix<S> read_kaldi_matrix(KaldiInput& in) {
  IVKIT_CHECK_SCALAR(S);
  if (!in.binary()) return detail::kaldi_read_text_matrix<S>(in);
  in.skip_space();
  if (in.peek() == 'C') return decompress_kaldi_matrix<S>(read_kaldi_compressed(in));
  const std::string tok = detail::kaldi_binary_type_token(in, {"FM", "DM"}, "a matrix (FM, DM, CM, CM2 or CM3)");
  const std::uint64_t dims_at = in.offset();
  const std::int64_t rows = detail::kaldi_read_size(in, "row count");
  const std::int64_t cols = detail::kaldi_read_size(in, "column count");
  detail::kaldi_check_matrix_dims(in, dims_at, rows, cols);
  const int elem = tok[0] == 'F' ? 4 : 8;
  const std::string what = detail::message("a ", rows, " x ", cols, " ", tok, " matrix");
  in.require_array(std::uint64_t(rows) * std::uint64_t(cols), std::uint64_t(elem), what);
  Matrix<S> m(static_cast<Index>(rows), static_cast<Index>(cols));
  detail::kaldi_read_reals(in, m.data(), std::uint64_t(rows) * std::uint64_t(cols), elem, what);
  return m;
}

/// Reads a vector in the mode of `in`. Binary: FV or DV; text: `[ ... ]` on one line.
/// @throws FormatError naming the source, key and offset
template <class S>
Vector<S> read_kaldi_vector(KaldiInput& in) {
  IVKIT_CHECK_SCALAR(S);
  if (!in.binary()) return detail::kaldi_read_text_vector<S>(in);
  const std::string tok = detail::kaldi_binary_type_token(in, {"FV", "DV"}, "a vector (FV or DV)");
  const std::int64_t dim = detail::kaldi_read_size(in, "vector dimension");
  const int elem = tok[0] == 'F' ? 4 : 8;
  const std::string what = detail::message("a ", tok, " vector of dimension ", dim);
  in.require_array(std::uint64_t(dim), std::uint64_t(elem), what);
  Vector<S> v(static_cast<Index>(dim));
  detail::kaldi_read_reals(in, v.data(), std::uint64_t(dim), elem, what);
  return v;
}

/// Reads a packed symmetric matrix (Kaldi's SpMatrix) into a full symmetric n x n matrix.
/// @throws FormatError naming the source, key and offset (also for a text value count that is not
///         triangular)
template <class S>
ColMatrix<S> read_kaldi_sp_matrix(KaldiInput& in) {
  IVKIT_CHECK_SCALAR(S);
  std::vector<S> packed;
  Index n = 0;
  if (in.binary()) {
    const std::string tok = detail::kaldi_binary_type_token(in, {"FP", "DP"}, "a packed symmetric matrix (FP or DP)");
    const std::int64_t size = detail::kaldi_read_size(in, "packed matrix size");
    const std::uint64_t count = std::uint64_t(size) * std::uint64_t(size + 1) / 2;
    const int elem = tok[0] == 'F' ? 4 : 8;
    const std::string what = detail::message("a ", tok, " packed matrix of size ", size);
    in.require_array(count, std::uint64_t(elem), what);
    packed.resize(static_cast<std::size_t>(count));
    detail::kaldi_read_reals(in, packed.data(), count, elem, what);
    n = static_cast<Index>(size);
  } else {
    const char* what = "a text packed matrix";
    const std::uint64_t start = (in.skip_space(), in.offset());
    const std::string open = in.read_token();
    if (open != "[")
      in.fail_at(start, detail::message("expected '[' at the start of ", what, ", found '", detail::kaldi_printable(open), "'"));
    for (;;) {
      const int c = in.peek();
      if (c < 0) in.fail("the text packed matrix ends before its closing ']'");
      if (c == ']') {
        in.get();
        detail::kaldi_eat_newline(in);
        break;
      }
      if (detail::kaldi_is_space(c)) in.get();
      else packed.push_back(detail::kaldi_text_number<S>(in, what, false));
    }
    while (static_cast<std::size_t>(n) * static_cast<std::size_t>(n + 1) / 2 < packed.size()) ++n;
    if (static_cast<std::size_t>(n) * static_cast<std::size_t>(n + 1) / 2 != packed.size())
      in.fail_at(start, detail::message("a text packed matrix holds ", packed.size(), " values, which is not n(n+1)/2 for any n"));
  }
  ColMatrix<S> m(n, n);
  std::size_t k = 0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j <= i; ++j, ++k) m(i, j) = m(j, i) = packed[k];
  return m;
}

/// Skips a matrix (binary: without reading its values when the source can seek; text: parsed).
inline void skip_kaldi_matrix(KaldiInput& in) {
  if (!in.binary()) {
    (void)detail::kaldi_read_text_matrix<float>(in);
    return;
  }
  in.skip_space();
  if (in.peek() == 'C') {
    const std::string tok = in.read_token();
    const std::uint64_t head_at = in.offset();
    unsigned char raw[16];
    in.read_bytes(raw, 16, detail::message("the header of a ", tok, " matrix"));
    KaldiCompressedHeader h;
    if (tok == "CM") h.format = KaldiCompressedFormat::ColumnQuantiles;
    else if (tok == "CM2") h.format = KaldiCompressedFormat::TwoByte;
    else if (tok == "CM3") h.format = KaldiCompressedFormat::OneByte;
    else in.fail_at(head_at - tok.size() - 1, detail::message("expected a compressed matrix (CM, CM2 or CM3), found '", detail::kaldi_printable(tok), "'"));
    std::memcpy(&h.rows, raw + 8, 4);
    std::memcpy(&h.cols, raw + 12, 4);
    if (h.cols == 0) return;
    if (h.rows <= 0 || h.cols < 0) in.fail_at(head_at, detail::message("a ", tok, " matrix of impossible size ", h.rows, " x ", h.cols));
    in.skip_bytes(kaldi_compressed_payload_size(h), detail::message("a ", h.rows, " x ", h.cols, " ", tok, " matrix"));
    return;
  }
  const std::string tok = detail::kaldi_binary_type_token(in, {"FM", "DM"}, "a matrix (FM, DM, CM, CM2 or CM3)");
  const std::uint64_t dims_at = in.offset();
  const std::int64_t rows = detail::kaldi_read_size(in, "row count");
  const std::int64_t cols = detail::kaldi_read_size(in, "column count");
  detail::kaldi_check_matrix_dims(in, dims_at, rows, cols);
  const std::string what = detail::message("a ", rows, " x ", cols, " ", tok, " matrix");
  in.skip_bytes(in.require_array(std::uint64_t(rows) * std::uint64_t(cols), tok[0] == 'F' ? 4u : 8u, what), what);
}

/// Skips a vector (binary: without reading its values when the source can seek).
inline void skip_kaldi_vector(KaldiInput& in) {
  if (!in.binary()) {
    (void)detail::kaldi_read_text_vector<float>(in);
    return;
  }
  const std::string tok = detail::kaldi_binary_type_token(in, {"FV", "DV"}, "a vector (FV or DV)");
  const std::int64_t dim = detail::kaldi_read_size(in, "vector dimension");
  const std::string what = detail::message("a ", tok, " vector of dimension ", dim);
  in.skip_bytes(in.require_array(std::uint64_t(dim), tok[0] == 'F' ? 4u : 8u, what), what);
}

namespace detail {

template <class Derived>
void kaldi_check_int32_dims(const KaldiOutput& out, const Eigen::MatrixBase<Derived>& m) {
  if (m.rows() > std::numeric_limits<std::int32_t>::max() || m.cols() > std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument(detail::message(out.function(), ": a ", m.rows(), " x ", m.cols(), " object is too large for Kaldi's format (int32 sizes)"));
}

}  // namespace detail

/// Writes a matrix in the mode of `out`: `FM` for float, `DM` for double (the scalar of the
/// expression decides; cast first to write the other). Any Eigen matrix or expression; an empty one
/// (0 rows or 0 columns) is written as Kaldi's 0 x 0. Call out.write_binary_marker() first when the
/// matrix starts an object (tables do).
template <class Derived>
void write_kaldi_matrix(KaldiOutput& out, const Eigen::MatrixBase<Derived>& m) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(S);
  detail::kaldi_check_int32_dims(out, m);
  const bool empty = m.rows() == 0 || m.cols() == 0;
  const Index rows = empty ? 0 : m.rows(), cols = empty ? 0 : m.cols();
  if (out.binary()) {
    out.write_token(std::is_same_v<S, float> ? "FM" : "DM");
    out.write_int(static_cast<std::int32_t>(rows));
    out.write_int(static_cast<std::int32_t>(cols));
    if (empty) return;
    if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit) && bool(Derived::Flags & Eigen::RowMajorBit)) {
      if (m.derived().outerStride() == cols && m.derived().innerStride() == 1) {
        out.write_bytes(m.derived().data(), static_cast<std::size_t>(rows * cols) * sizeof(S));
        return;
      }
    }
    std::vector<S> row(static_cast<std::size_t>(cols));
    for (Index r = 0; r < rows; ++r) {
      for (Index c = 0; c < cols; ++c) row[static_cast<std::size_t>(c)] = m(r, c);
      out.write_bytes(row.data(), row.size() * sizeof(S));
    }
    return;
  }
  if (empty) {
    out.write_text(" [ ]\n");
    return;
  }
  std::string s = " [";
  for (Index r = 0; r < rows; ++r) {
    s += "\n  ";
    for (Index c = 0; c < cols; ++c) {
      detail::kaldi_append_real(s, static_cast<S>(m(r, c)));
      s += ' ';
    }
    if (s.size() > (1u << 16)) {
      out.write_text(s);
      s.clear();
    }
  }
  s += "]\n";
  out.write_text(s);
}

/// Writes a vector (any Eigen expression with one row or one column) in the mode of `out`: `FV` for
/// float, `DV` for double. @throws DimensionMismatch for a matrix that is not a vector
template <class Derived>
void write_kaldi_vector(KaldiOutput& out, const Eigen::MatrixBase<Derived>& v) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(S);
  if (v.rows() != 1 && v.cols() != 1 && v.size() != 0)
    throw DimensionMismatch(detail::message(out.function(), ": expected a vector, got a ", v.rows(), " x ", v.cols(), " matrix"));
  detail::kaldi_check_int32_dims(out, v);
  const Index n = v.size();
  if (out.binary()) {
    out.write_token(std::is_same_v<S, float> ? "FV" : "DV");
    out.write_int(static_cast<std::int32_t>(n));
    std::vector<S> buf(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) buf[static_cast<std::size_t>(i)] = v.cols() == 1 ? v(i, 0) : v(0, i);
    out.write_bytes(buf.data(), buf.size() * sizeof(S));
    return;
  }
  std::string s = " [ ";
  for (Index i = 0; i < n; ++i) {
    detail::kaldi_append_real(s, static_cast<S>(v.cols() == 1 ? v(i, 0) : v(0, i)));
    s += ' ';
  }
  s += "]\n";
  out.write_text(s);
}

/// Writes the lower triangle of a square matrix as Kaldi's packed symmetric matrix (`FP`/`DP`).
/// @throws DimensionMismatch for a matrix that is not square
template <class Derived>
void write_kaldi_sp_matrix(KaldiOutput& out, const Eigen::MatrixBase<Derived>& m) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_SCALAR(S);
  if (m.rows() != m.cols())
    throw DimensionMismatch(detail::message(out.function(), ": a packed symmetric matrix must be square, got ", m.rows(), " x ", m.cols()));
  detail::kaldi_check_int32_dims(out, m);
  const Index n = m.rows();
  if (out.binary()) {
    out.write_token(std::is_same_v<S, float> ? "FP" : "DP");
    out.write_int(static_cast<std::int32_t>(n));
    std::vector<S> buf;
    buf.reserve(static_cast<std::size_t>(n * (n + 1) / 2));
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j <= i; ++j) buf.push_back(m(i, j));
    out.write_bytes(buf.data(), buf.size() * sizeof(S));
    return;
  }
  if (n == 0) {
    out.write_text("[ ]\n");
    return;
  }
  std::string s = "[\n";
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j <= i; ++j) {
      detail::kaldi_append_real(s, static_cast<S>(m(i, j)));
      s += ' ';
    }
    s += i + 1 == n ? "]\n" : "\n";
  }
  out.write_text(s);
}

// ---- single objects in files (rxfilename / wxfilename) -------------------------------------

/// Reads the one matrix held by a file (`path`, `path:offset` into an archive, or `-` for stdin),
/// binary or text: e.g. an LDA transform written by Kaldi's `est-lda`.
/// @throws IoError when the file cannot be opened, FormatError for its content
template <class S>
Matrix<S> read_kaldi_matrix(const std::string& rxfilename) {
  return read_kaldi_object("read_kaldi_matrix", rxfilename, [](KaldiInput& in) { return read_kaldi_matrix<S>(in); });
}

/// Reads the one vector held by a file (e.g. the `mean.vec` of Kaldi's `ivector-mean`).
template <class S>
Vector<S> read_kaldi_vector(const std::string& rxfilename) {
  return read_kaldi_object("read_kaldi_vector", rxfilename, [](KaldiInput& in) { return read_kaldi_vector<S>(in); });
}

/// Writes one matrix to a file (atomically: temporary file, then rename) or to stdout ("-").
template <class Derived>
void write_kaldi_matrix(const std::string& wxfilename, const Eigen::MatrixBase<Derived>& m, bool binary = true) {
  write_kaldi_object("write_kaldi_matrix", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_matrix(out, m); });
}

/// Writes one vector to a file (atomically) or to stdout ("-").
template <class Derived>
void write_kaldi_vector(const std::string& wxfilename, const Eigen::MatrixBase<Derived>& v, bool binary = true) {
  write_kaldi_object("write_kaldi_vector", wxfilename, binary, [&](KaldiOutput& out) { write_kaldi_vector(out, v); });
}

}  // namespace ivkit
