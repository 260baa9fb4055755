/// @file
/// Kaldi's lossily compressed matrices (`CompressedMatrix`, written by `copy-feats --compress=true`
/// and by most feature-extraction recipes): decoding of the three stored formats to float or double,
/// bit-identical to Kaldi's own decompression, and compression with Kaldi's methods.
///
/// Layout (Kaldi `matrix/compressed-matrix.{h,cc}`), binary mode only, after the token:
///   token `CM` (format 1), `CM2` (format 2) or `CM3` (format 3), then a 16-byte header
///   float min_value | float range | int32 num_rows | int32 num_cols, then the payload:
///  - CM:  num_cols column headers of four uint16 quantiles (p0, p25, p75, p100), then one byte per
///         element, column by column. A uint16 q stands for min_value + range * q / 65535; a byte
///         c of a column with quantiles P0 <= P25 <= P75 <= P100 decodes piecewise linearly:
///           c in [0, 64]:    P0  + (P25 - P0)  * c / 64
///           c in [64, 192]:  P25 + (P75 - P25) * (c - 64) / 128
///           c in [192, 255]: P75 + (P100 - P75) * (c - 192) / 63
///  - CM2: one uint16 u per element, row by row: min_value + u * range / 65535.
///  - CM3: one byte u per element, row by row:   min_value + u * range / 255.
/// A header with num_cols == 0 is the empty matrix. In text mode Kaldi writes a compressed matrix
/// as an ordinary text matrix.
///
/// Decoding and encoding use the same float operations in the same order as Kaldi, so the values
/// are the ones Kaldi's readers produce (float values, also when read into double), up to the
/// compiler's contraction of multiply-adds, which may change the last bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/kaldi_io.hpp"

namespace ivkit {

/// The stored format of a compressed matrix (the number Kaldi keeps in memory; the token on disk).
enum class KaldiCompressedFormat : std::int32_t {
  ColumnQuantiles = 1,  ///< `CM`: per-column quantile headers, one byte per element
  TwoByte = 2,          ///< `CM2`: one uint16 per element, global range
  OneByte = 3,          ///< `CM3`: one byte per element, global range
};

/// "CM", "CM2", "CM3"
inline const char* kaldi_compressed_token(KaldiCompressedFormat f) {
  switch (f) {
    case KaldiCompressedFormat::ColumnQuantiles: return "CM";
    case KaldiCompressedFormat::TwoByte: return "CM2";
    case KaldiCompressedFormat::OneByte: return "CM3";
  }
  return "CM?";
}

/// Kaldi's compression methods (`CompressionMethod`; same numbers): how the format and the range
/// are chosen.
enum class KaldiCompressionMethod {
  Auto = 1,                    ///< SpeechFeature for more than 8 rows, else TwoByteAuto (Kaldi's default)
  SpeechFeature = 2,           ///< CM, range from the matrix minimum and maximum
  TwoByteAuto = 3,             ///< CM2, range from the minimum and maximum
  TwoByteSignedInteger = 4,    ///< CM2, range [-32768, 32767]
  OneByteAuto = 5,             ///< CM3, range from the minimum and maximum
  OneByteUnsignedInteger = 6,  ///< CM3, range [0, 255]
  OneByteZeroOne = 7,          ///< CM3, range [0, 1]
};

/// The 16 bytes after the token, and the format the token names.
struct KaldiCompressedHeader {
  KaldiCompressedFormat format = KaldiCompressedFormat::ColumnQuantiles;
  float min_value = 0;
  float range = 0;
  std::int32_t rows = 0;
  std::int32_t cols = 0;
};

/// A compressed matrix as stored: header and payload bytes.
struct KaldiCompressedMatrix {
  KaldiCompressedHeader header;
  std::vector<unsigned char> payload;
};

/// Number of payload bytes after the 16-byte header (0 for the empty matrix).
inline std::uint64_t kaldi_compressed_payload_size(const KaldiCompressedHeader& h) {
  if (h.cols <= 0 || h.rows <= 0) return 0;
  const auto r = static_cast<std::uint64_t>(h.rows), c = static_cast<std::uint64_t>(h.cols);
  switch (h.format) {
    case KaldiCompressedFormat::ColumnQuantiles: return c * (8 + r);
    case KaldiCompressedFormat::TwoByte: return 2 * r * c;
    case KaldiCompressedFormat::OneByte: return r * c;
  }
  return 0;
}

namespace detail {

inline std::uint16_t kaldi_load_u16(const unsigned char* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// The arithmetic below follows Kaldi's decoding expression by expression (float products, the
// double constants where Kaldi has them), so that the decoded values are bit-identical.
inline float kaldi_quantile_value(const KaldiCompressedHeader& h, std::uint16_t q) {
  return h.min_value + h.range * 1.52590218966964e-05F * static_cast<float>(q);
}

inline float kaldi_byte_value(float p0, float p25, float p75, float p100, unsigned char c) {
  if (c <= 64) return static_cast<float>(p0 + (p25 - p0) * static_cast<float>(c) * (1 / 64.0));
  if (c <= 192) return static_cast<float>(p25 + (p75 - p25) * static_cast<float>(c - 64) * (1 / 128.0));
  return static_cast<float>(p75 + (p100 - p75) * static_cast<float>(c - 192) * (1 / 63.0));
}

inline std::uint16_t kaldi_float_to_u16(const KaldiCompressedHeader& h, float value) {
  float f = (value - h.min_value) / h.range;
  f = f > 1.0f ? 1.0f : (f >= 0.0f ? f : 0.0f);  // NaN -> 0
  return static_cast<std::uint16_t>(static_cast<int>(f * 65535 + 0.499));
}

inline unsigned char kaldi_float_to_u8(const KaldiCompressedHeader& h, float value) {
  float f = (value - h.min_value) / h.range;
  f = f > 1.0f ? 1.0f : (f >= 0.0f ? f : 0.0f);  // NaN -> 0
  return static_cast<unsigned char>(static_cast<int>(f * 255 + 0.499));
}

inline unsigned char kaldi_float_to_byte(float p0, float p25, float p75, float p100, float value) {
  // The fraction within the segment, kept in [0, 1] (Kaldi clamps the code afterwards; clamping the
  // fraction first gives the same code and keeps a 0/0 of coinciding quantiles well defined).
  auto fraction = [](float num, float den) {
    const float f = num / den;
    return f > 1.0f ? 1.0f : (f >= 0.0f ? f : 0.0f);  // NaN -> 0
  };
  if (value < p25) return static_cast<unsigned char>(static_cast<int>(fraction(value - p0, p25 - p0) * 64 + 0.5));
  if (value < p75) return static_cast<unsigned char>(64 + static_cast<int>(fraction(value - p25, p75 - p25) * 128 + 0.5));
  return static_cast<unsigned char>(192 + static_cast<int>(fraction(value - p75, p100 - p75) * 63 + 0.5));
}

}  // namespace detail

/// Decodes a compressed matrix to float or double (rows x cols, row-major).
/// @throws FormatError when the payload does not have kaldi_compressed_payload_size bytes, or the
///         header has negative sizes or rows without columns
template <class S>
Matrix<S> decompress_kaldi_matrix(const KaldiCompressedMatrix& cm) {
  IVKIT_CHECK_SCALAR(S);
  const KaldiCompressedHeader& h = cm.header;
  if (h.rows < 0 || h.cols < 0)
    throw FormatError(detail::message("decompress_kaldi_matrix: negative size ", h.rows, " x ", h.cols));
  if (h.cols == 0) return Matrix<S>(0, 0);
  if (h.rows == 0)
    throw FormatError(detail::message("decompress_kaldi_matrix: a compressed matrix of 0 rows and ", h.cols, " columns"));
  const std::uint64_t need = kaldi_compressed_payload_size(h);
  if (cm.payload.size() != need)
    throw FormatError(detail::message("decompress_kaldi_matrix: a ", h.rows, " x ", h.cols, " ", kaldi_compressed_token(h.format),
                                      " matrix has ", need, " payload bytes, got ", cm.payload.size()));
  const Index rows = h.rows, cols = h.cols;
  Matrix<S> m(rows, cols);
  const unsigned char* p = cm.payload.data();
  switch (h.format) {
    case KaldiCompressedFormat::ColumnQuantiles: {
      const unsigned char* bytes = p + 8 * cols;
      for (Index c = 0; c < cols; ++c) {
        const unsigned char* q = p + 8 * c;
        const float p0 = detail::kaldi_quantile_value(h, detail::kaldi_load_u16(q));
        const float p25 = detail::kaldi_quantile_value(h, detail::kaldi_load_u16(q + 2));
        const float p75 = detail::kaldi_quantile_value(h, detail::kaldi_load_u16(q + 4));
        const float p100 = detail::kaldi_quantile_value(h, detail::kaldi_load_u16(q + 6));
        for (Index r = 0; r < rows; ++r) m(r, c) = static_cast<S>(detail::kaldi_byte_value(p0, p25, p75, p100, *bytes++));
      }
      break;
    }
    case KaldiCompressedFormat::TwoByte: {
      const float step = static_cast<float>(h.range * (1.0 / 65535.0));
      for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < cols; ++c, p += 2) m(r, c) = static_cast<S>(h.min_value + static_cast<float>(detail::kaldi_load_u16(p)) * step);
      break;
    }
    case KaldiCompressedFormat::OneByte: {
      const float step = static_cast<float>(h.range * (1.0 / 255.0));
      for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < cols; ++c, ++p) m(r, c) = static_cast<S>(h.min_value + static_cast<float>(*p) * step);
      break;
    }
    default:
      throw FormatError(detail::message("decompress_kaldi_matrix: unknown format ", static_cast<int>(h.format)));
  }
  return m;
}

/// Compresses a matrix as Kaldi does (same format choice, range, quantiles and rounding). An empty matrix gives the empty CM header.
/// @throws NonFiniteInput for NaN or Inf (Kaldi cannot compress them), InvalidArgument for a
///         matrix with more than 2^31 - 1 rows or columns
template <class Derived>
KaldiCompressedMatrix compress_kaldi_matrix(const Eigen::MatrixBase<Derived>& m,
                                            KaldiCompressionMethod method = KaldiCompressionMethod::Auto) {
  constexpr const char* fn = "compress_kaldi_matrix";
  KaldiCompressedMatrix out;
  KaldiCompressedHeader& h = out.header;
  if (m.rows() == 0 || m.cols() == 0) return out;  // Kaldi's empty compressed matrix
  if (m.rows() > std::numeric_limits<std::int32_t>::max() || m.cols() > std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument(detail::message(fn, ": a ", m.rows(), " x ", m.cols(), " matrix is too large for Kaldi's format"));
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c)
      if (!std::isfinite(static_cast<double>(m(r, c))))
        throw NonFiniteInput(detail::message(fn, ": element (", r, ", ", c, ") is NaN or Inf"));
  if (method == KaldiCompressionMethod::Auto)
    method = m.rows() > 8 ? KaldiCompressionMethod::SpeechFeature : KaldiCompressionMethod::TwoByteAuto;
  switch (method) {
    case KaldiCompressionMethod::SpeechFeature: h.format = KaldiCompressedFormat::ColumnQuantiles; break;
    case KaldiCompressionMethod::TwoByteAuto:
    case KaldiCompressionMethod::TwoByteSignedInteger: h.format = KaldiCompressedFormat::TwoByte; break;
    case KaldiCompressionMethod::OneByteAuto:
    case KaldiCompressionMethod::OneByteUnsignedInteger:
    case KaldiCompressionMethod::OneByteZeroOne: h.format = KaldiCompressedFormat::OneByte; break;
    default: throw InvalidArgument(detail::message(fn, ": unknown compression method ", static_cast<int>(method)));
  }
  h.rows = static_cast<std::int32_t>(m.rows());
  h.cols = static_cast<std::int32_t>(m.cols());
  switch (method) {
    case KaldiCompressionMethod::TwoByteSignedInteger: h.min_value = -32768.0f; h.range = 65535.0f; break;
    case KaldiCompressionMethod::OneByteUnsignedInteger: h.min_value = 0.0f; h.range = 255.0f; break;
    case KaldiCompressionMethod::OneByteZeroOne: h.min_value = 0.0f; h.range = 1.0f; break;
    default: {
      float lo = static_cast<float>(m.minCoeff()), hi = static_cast<float>(m.maxCoeff());
      if (hi == lo) hi = static_cast<float>(lo + (1.0 + std::fabs(lo)));
      h.min_value = lo;
      h.range = hi - lo;
    }
  }
  const Index rows = m.rows(), cols = m.cols();
  out.payload.resize(static_cast<std::size_t>(kaldi_compressed_payload_size(h)));
  unsigned char* p = out.payload.data();
  if (h.format == KaldiCompressedFormat::TwoByte) {
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c, p += 2) {
        const std::uint16_t u = detail::kaldi_float_to_u16(h, static_cast<float>(m(r, c)));
        std::memcpy(p, &u, 2);
      }
  } else if (h.format == KaldiCompressedFormat::OneByte) {
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) *p++ = detail::kaldi_float_to_u8(h, static_cast<float>(m(r, c)));
  } else {
    unsigned char* bytes = p + 8 * cols;
    std::vector<typename Derived::Scalar> col(static_cast<std::size_t>(rows));
    for (Index c = 0; c < cols; ++c) {
      for (Index r = 0; r < rows; ++r) col[static_cast<std::size_t>(r)] = m(r, c);
      std::sort(col.begin(), col.end());
      // Quantile positions and the strict ordering p0 < p25 < p75 < p100 of the stored uint16s as Kaldi
      // chooses them (ComputeColHeader); the order statistics equal those of its partial sorts.
      auto q16 = [&](std::size_t i) { return static_cast<int>(detail::kaldi_float_to_u16(h, static_cast<float>(col[i]))); };
      int q0, q25, q75, q100;
      const auto n = static_cast<std::size_t>(rows);
      if (n >= 5) {
        const std::size_t quarter = n / 4;
        q0 = std::min(q16(0), 65532);
        q25 = std::min(std::max(q16(quarter), q0 + 1), 65533);
        q75 = std::min(std::max(q16(3 * quarter), q25 + 1), 65534);
        q100 = std::max(q16(n - 1), q75 + 1);
      } else {
        q0 = std::min(q16(0), 65532);
        q25 = n > 1 ? std::min(std::max(q16(1), q0 + 1), 65533) : q0 + 1;
        q75 = n > 2 ? std::min(std::max(q16(2), q25 + 1), 65534) : q25 + 1;
        q100 = n > 3 ? std::max(q16(3), q75 + 1) : q75 + 1;
      }
      const std::uint16_t qs[4] = {static_cast<std::uint16_t>(q0), static_cast<std::uint16_t>(q25), static_cast<std::uint16_t>(q75),
                                   static_cast<std::uint16_t>(q100)};
      std::memcpy(p + 8 * c, qs, 8);
      const float p0 = detail::kaldi_quantile_value(h, qs[0]), p25 = detail::kaldi_quantile_value(h, qs[1]),
                  p75 = detail::kaldi_quantile_value(h, qs[2]), p100 = detail::kaldi_quantile_value(h, qs[3]);
      for (Index r = 0; r < rows; ++r) *bytes++ = detail::kaldi_float_to_byte(p0, p25, p75, p100, static_cast<float>(m(r, c)));
    }
  }
  return out;
}

/// Reads a compressed matrix in binary mode, at its token (`CM`, `CM2` or `CM3`).
/// @throws FormatError (unknown token, bad sizes, truncated payload; naming source, key and offset)
inline KaldiCompressedMatrix read_kaldi_compressed(KaldiInput& in) {
  const std::uint64_t at = (in.skip_space(), in.offset());
  const std::string tok = in.read_token();
  KaldiCompressedMatrix cm;
  KaldiCompressedHeader& h = cm.header;
  if (tok == "CM") h.format = KaldiCompressedFormat::ColumnQuantiles;
  else if (tok == "CM2") h.format = KaldiCompressedFormat::TwoByte;
  else if (tok == "CM3") h.format = KaldiCompressedFormat::OneByte;
  else in.fail_at(at, detail::message("expected a compressed matrix (CM, CM2 or CM3), found '", detail::kaldi_printable(tok), "'"));
  const std::uint64_t head_at = in.offset();
  unsigned char raw[16];
  in.read_bytes(raw, 16, detail::message("the header of a ", tok, " matrix"));
  std::memcpy(&h.min_value, raw, 4);
  std::memcpy(&h.range, raw + 4, 4);
  std::memcpy(&h.rows, raw + 8, 4);
  std::memcpy(&h.cols, raw + 12, 4);
  if (h.cols == 0) {  // Kaldi's empty compressed matrix (whatever the other fields hold)
    h.rows = 0;
    return cm;
  }
  if (h.rows <= 0 || h.cols < 0)
    in.fail_at(head_at, detail::message("a ", tok, " matrix of impossible size ", h.rows, " x ", h.cols));
  const std::uint64_t bytes = kaldi_compressed_payload_size(h);
  const std::string what = detail::message("a ", h.rows, " x ", h.cols, " ", tok, " matrix");
  in.require(bytes, what);
  cm.payload.resize(static_cast<std::size_t>(bytes));
  in.read_bytes(cm.payload.data(), cm.payload.size(), what);
  return cm;
}

/// Writes a compressed matrix (binary mode only; in text mode Kaldi writes the decoded values as an
/// ordinary text matrix, and so does write_kaldi_matrix).
inline void write_kaldi_compressed(KaldiOutput& out, const KaldiCompressedMatrix& cm) {
  if (!out.binary()) throw InvalidArgument(detail::message(out.function(), ": compressed matrices exist in binary mode only"));
  out.write_token(kaldi_compressed_token(cm.header.format));
  unsigned char raw[16];
  std::memcpy(raw, &cm.header.min_value, 4);
  std::memcpy(raw + 4, &cm.header.range, 4);
  std::memcpy(raw + 8, &cm.header.rows, 4);
  std::memcpy(raw + 12, &cm.header.cols, 4);
  out.write_bytes(raw, 16);
  out.write_bytes(cm.payload.data(), cm.payload.size());
}

}  // namespace ivkit
