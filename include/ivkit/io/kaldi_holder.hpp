/// @file
/// The object types a Kaldi table (archive or script file) can hold in ivkit, and how each is read,
/// skipped, written and cut to a range: `Matrix<float>`, `Matrix<double>` (feature matrices; also
/// read from compressed matrices) and `Vector<float>`, `Vector<double>` (i-vectors, VAD decisions).
/// Every object in a table starts with the binary marker `\0B` or with text (Kaldi's
/// KaldiObjectHolder), so one table may mix binary and text objects.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/kaldi_compressed.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_specifier.hpp"

namespace ivkit {

/// How matrices are written to a table.
struct KaldiWriteOptions {
  bool compress = false;  ///< write matrices compressed (binary mode only; text mode writes the decoded values, as Kaldi)
  KaldiCompressionMethod compression = KaldiCompressionMethod::Auto;  ///< the method when compressing
};

/// Table traits; specialised for the supported types below.
template <class T>
struct KaldiTableTraits {
  static_assert(sizeof(T) == 0, "ivkit Kaldi tables hold Matrix<float>, Matrix<double>, Vector<float> or Vector<double>");
};

namespace detail {

/// Kaldi's range rule: first index >= 0, first <= last, and last < size + 3 (up to 3 rows past the
/// end are tolerated for segment rounding, and clipped); columns must lie inside.
inline void kaldi_range_bounds(const KaldiInput& in, std::uint64_t at, const char* what, long long size, long long first, long long& last,
                               long long tolerance, const std::string& range) {
  if (last < 0) last = size - 1;
  if (first > last || first >= size || last >= size + tolerance)
    in.fail_at(at, detail::message("range [", range, "] does not fit the ", what, " (", size, ")"));
  last = std::min(last, size - 1);
}

/// The frames [r1:r2] of a per-frame table entry (Gaussian selections, posteriors: one element per
/// frame); `what` names the entry in the message for a range with columns.
template <class Frames>
Frames kaldi_frame_range(const KaldiInput& in, std::uint64_t at, const Frames& v, const std::string& range, const char* what) {
  KaldiRange r;
  try {
    r = parse_kaldi_range(range);
  } catch (const InvalidArgument&) {
    in.fail_at(at, detail::message("malformed range [", range, "] (expected [r1:r2], inclusive)"));
  }
  if (r.has_cols) in.fail_at(at, detail::message("range [", range, "] has two parts but ", what, " has only frames"));
  kaldi_range_bounds(in, at, "number of frames", static_cast<long long>(v.size()), r.row_begin, r.row_end, 3, range);
  return Frames(v.begin() + r.row_begin, v.begin() + r.row_end + 1);
}

}  // namespace detail

template <class S>
struct KaldiTableTraits<Matrix<S>> {
  IVKIT_CHECK_SCALAR(S);
  static constexpr const char* kind = "matrix";
  static Matrix<S> read(KaldiInput& in) {
    in.read_binary_marker();
    return read_kaldi_matrix<S>(in);
  }
  static void skip(KaldiInput& in) {
    in.read_binary_marker();
    skip_kaldi_matrix(in);
  }
  template <class Derived>
  static void write(KaldiOutput& out, const Eigen::MatrixBase<Derived>& m, const KaldiWriteOptions& opts) {
    out.write_binary_marker();
    if (opts.compress && out.binary()) {
      write_kaldi_compressed(out, compress_kaldi_matrix(m, opts.compression));
    } else if (opts.compress) {
      write_kaldi_matrix(out, decompress_kaldi_matrix<S>(compress_kaldi_matrix(m, opts.compression)));
    } else if constexpr (std::is_same_v<typename Derived::Scalar, S>) {
      write_kaldi_matrix(out, m);
    } else {
      write_kaldi_matrix(out, m.template cast<S>());
    }
  }
  /// rows [r1:r2] or rows and columns [r1:r2,c1:c2], inclusive.
  /// `at`: the object's offset, named in errors.
  static Matrix<S> extract_range(const KaldiInput& in, std::uint64_t at, const Matrix<S>& m, const std::string& range) {
    KaldiRange r;
    try {
      r = parse_kaldi_range(range);
    } catch (const InvalidArgument&) {
      in.fail_at(at, detail::message("malformed range [", range, "] (expected [r1:r2] or [r1:r2,c1:c2], inclusive)"));
    }
    detail::kaldi_range_bounds(in, at, "number of rows", m.rows(), r.row_begin, r.row_end, 3, range);
    detail::kaldi_range_bounds(in, at, "number of columns", m.cols(), r.col_begin, r.col_end, 0, range);
    return m.block(static_cast<Index>(r.row_begin), static_cast<Index>(r.col_begin), static_cast<Index>(r.row_end - r.row_begin + 1),
                   static_cast<Index>(r.col_end - r.col_begin + 1));
  }
};

template <class S>
struct KaldiTableTraits<Vector<S>> {
  IVKIT_CHECK_SCALAR(S);
  static constexpr const char* kind = "vector";
  static Vector<S> read(KaldiInput& in) {
    in.read_binary_marker();
    return read_kaldi_vector<S>(in);
  }
  static void skip(KaldiInput& in) {
    in.read_binary_marker();
    skip_kaldi_vector(in);
  }
  template <class Derived>
  static void write(KaldiOutput& out, const Eigen::MatrixBase<Derived>& v, const KaldiWriteOptions&) {
    out.write_binary_marker();
    if constexpr (std::is_same_v<typename Derived::Scalar, S>) write_kaldi_vector(out, v);
    else write_kaldi_vector(out, v.template cast<S>());
  }
  /// elements [i1:i2], inclusive.
  static Vector<S> extract_range(const KaldiInput& in, std::uint64_t at, const Vector<S>& v, const std::string& range) {
    KaldiRange r;
    try {
      r = parse_kaldi_range(range);
    } catch (const InvalidArgument&) {
      in.fail_at(at, detail::message("malformed range [", range, "] (expected [i1:i2], inclusive)"));
    }
    if (r.has_cols) in.fail_at(at, detail::message("range [", range, "] has two parts but the object is a vector"));
    detail::kaldi_range_bounds(in, at, "dimension", v.size(), r.row_begin, r.row_end, 3, range);
    return v.segment(static_cast<Index>(r.row_begin), static_cast<Index>(r.row_end - r.row_begin + 1));
  }
};

}  // namespace ivkit
