/// @file
/// NumPy .npy files: read 1-D and 2-D arrays into Eigen vectors and matrices (float or double,
/// converting), write any Eigen expression exactly as np.save does.
///
/// Reading accepts format versions 1.0, 2.0 and 3.0; dtypes '<f4' and '<f8' (float32, float64),
/// big-endian '>f4' and '>f8' (byte-swapped), and int32/int64 ('<i4', '<i8', '>i4', '>i8')
/// converted to the requested floating-point type; C (row-major) and Fortran (column-major) order.
/// The header (a Python dict literal) is parsed as Python would parse it, and the data must be
/// exactly as long as the shape says: anything else is a FormatError naming the file and the byte
/// offset. A header that claims a huge shape is refused before anything of that size is allocated.
///
/// Writing produces the bytes np.save (NumPy >= 1.24) writes: format version 1.0 (2.0 when the header
/// needs it), dtype '<f4' for float and '<f8' for double, C order unless asked for Fortran order,
/// the header padded so that the data start at a multiple of 64 bytes. Files are written atomically.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/file_io.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/detail/npy_format.hpp"

namespace ivkit {

/// What the preamble and header of a .npy file say.
struct NpyHeader {
  int major_version = 1;                ///< 1, 2 or 3
  int minor_version = 0;                ///< 0
  std::string descr;                    ///< the dtype as written, e.g. "<f4"
  bool fortran_order = false;           ///< data stored column-major
  std::vector<std::uint64_t> shape;     ///< () for a scalar, (n,) for a vector, (rows, cols) for a matrix
  std::uint64_t data_offset = 0;        ///< byte offset of the first element (a multiple of 64 for np.save files)
  std::uint64_t data_bytes = 0;         ///< length of the array data

  int ndim() const { return static_cast<int>(shape.size()); }
};

/// Storage order of a 2-D array in a .npy file.
enum class NpyOrder {
  C,        ///< row-major ('fortran_order': False), NumPy's default
  Fortran,  ///< column-major ('fortran_order': True)
};

/// Options of write_npy and npy_bytes.
struct NpyWriteOptions {
  NpyOrder order = NpyOrder::C;  ///< 2-D arrays only; a 1-D array is always written as NumPy does (False)
};

/// A 1-D or 2-D array read from a .npy file (or an .npz member), converted to S.
template <class S>
struct NpyArray {
  IVKIT_CHECK_SCALAR(S);
  Matrix<S> values;            ///< rows x cols for a 2-D array; n x 1 for a 1-D array of n elements
  int ndim = 2;                ///< 1 or 2
  std::string descr;           ///< the stored dtype, e.g. "<f4" (empty for arrays not read from a file)
  bool fortran_order = false;  ///< the stored order (written back the same way by NpzWriter)

  /// The values of a 1-D array (or of a 2-D array with one column) as a vector.
  /// @throws DimensionMismatch for a 2-D array with more than one column
  Vector<S> vector() const {
    if (values.cols() != 1)
      throw DimensionMismatch(detail::message("NpyArray::vector: the array is ", values.rows(), " x ", values.cols(), ", not a vector"));
    return values.col(0);
  }
};

namespace detail {
namespace npio {

inline NpyHeader public_header(const Header& h) {
  NpyHeader p;
  p.major_version = h.major;
  p.minor_version = h.minor;
  p.descr = h.descr;
  p.fortran_order = h.fortran_order;
  p.shape = h.shape;
  p.data_offset = h.data_offset;
  p.data_bytes = h.data_bytes;
  return p;
}

/// Checks the number of dimensions: `want` 1, 2, or 0 for "1 or 2". @throws FormatError
inline void check_ndim(const Header& h, int want, const Where& w) {
  const auto nd = static_cast<int>(h.shape.size());
  if (nd == 0)
    w.fail(h.header_offset, "holds a 0-d array (a scalar, shape ()); ivkit reads 1-D arrays (vectors) and 2-D arrays (matrices)");
  if (nd > 2)
    w.fail(h.header_offset, message("holds a ", nd, "-D array of shape ", shape_string(h.shape),
                                    "; ivkit reads 1-D arrays (vectors) and 2-D arrays (matrices)"));
  if (want == 2 && nd == 1)
    w.fail(h.header_offset, message("holds a 1-D array of shape ", shape_string(h.shape), "; a 2-D array (matrix) was expected"));
  if (want == 1 && nd == 2)
    w.fail(h.header_offset, message("holds a 2-D array of shape ", shape_string(h.shape), "; a 1-D array (vector) was expected"));
}

/// Resizes `out` (any plain Eigen matrix or vector) to the array's shape and reads the data into it.
template <class Plain>
void read_into(const ByteSource& src, const Header& h, Plain& out) {
  using S = typename Plain::Scalar;
  const std::uint64_t rows = h.shape[0];
  const std::uint64_t cols = h.shape.size() == 2 ? h.shape[1] : 1;
  out.resize(static_cast<Index>(rows), static_cast<Index>(cols));
  const std::ptrdiff_t outer = out.outerStride();
  const std::ptrdiff_t rs = Plain::IsRowMajor ? outer : 1;
  const std::ptrdiff_t cs = Plain::IsRowMajor ? 1 : outer;
  read_data<S>(src, h, rows, cols, out.data(), rs, cs);
}

template <class S>
NpyArray<S> read_array(const ByteSource& src, const Where& w, int want_ndim) {
  const Header h = read_header(src, w);
  check_ndim(h, want_ndim, w);
  NpyArray<S> a;
  read_into(src, h, a.values);
  a.ndim = static_cast<int>(h.shape.size());
  a.descr = h.descr;
  a.fortran_order = h.fortran_order;
  return a;
}

inline std::string file_where(const std::string& path) { return "'" + path + "'"; }

}  // namespace npio
}  // namespace detail

/// The preamble and header of the .npy file at `path` (the data are not read, but their length is
/// checked against the file size). @throws IoError, FormatError naming the file and the offset
inline NpyHeader read_npy_header(const std::string& path) {
  const detail::npio::ByteSource src(detail::npio::ByteSource::File{}, "read_npy_header", path);
  return detail::npio::public_header(detail::npio::read_header(src, {"read_npy_header", detail::npio::file_where(path)}));
}

/// A 2-D array from the .npy file at `path`, converted to S, as a row-major ivkit::Matrix (or with
/// `StorageOrder = Eigen::ColMajor` a column-major one: a Fortran-order file then reads without
/// reordering). @throws IoError; FormatError naming the file and the offset for a malformed or
/// truncated file, an unsupported dtype, or an array that is not 2-D
template <class S, int StorageOrder = Eigen::RowMajor>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, StorageOrder> read_npy_matrix(const std::string& path) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::ByteSource src(detail::npio::ByteSource::File{}, "read_npy_matrix", path);
  const detail::npio::Where w{"read_npy_matrix", detail::npio::file_where(path)};
  const auto h = detail::npio::read_header(src, w);
  detail::npio::check_ndim(h, 2, w);
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, StorageOrder> m;
  detail::npio::read_into(src, h, m);
  return m;
}

/// A 1-D array from the .npy file at `path`, converted to S. @throws as read_npy_matrix (the array
/// must be 1-D)
template <class S>
Vector<S> read_npy_vector(const std::string& path) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::ByteSource src(detail::npio::ByteSource::File{}, "read_npy_vector", path);
  const detail::npio::Where w{"read_npy_vector", detail::npio::file_where(path)};
  const auto h = detail::npio::read_header(src, w);
  detail::npio::check_ndim(h, 1, w);
  Vector<S> v;
  detail::npio::read_into(src, h, v);
  return v;
}

/// A 1-D or 2-D array from the .npy file at `path`, converted to S, with its stored dtype and
/// order. @throws as read_npy_matrix
template <class S>
NpyArray<S> read_npy(const std::string& path) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::ByteSource src(detail::npio::ByteSource::File{}, "read_npy", path);
  return detail::npio::read_array<S>(src, {"read_npy", detail::npio::file_where(path)}, 0);
}

/// As read_npy, from the bytes of a .npy file already in memory; `source` names them in errors.
template <class S>
NpyArray<S> parse_npy(const std::string& bytes, const std::string& source) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::ByteSource src(bytes.data(), bytes.size());
  return detail::npio::read_array<S>(src, {"parse_npy", detail::npio::file_where(source)}, 0);
}

/// The bytes of the .npy file np.save would write for `a` (float or double; use .cast<>() for
/// others). An expression whose type is a vector at compile time (Eigen::VectorXf, m.row(i),
/// m.col(j), ...) becomes a 1-D array; anything else a 2-D array (rows, cols) in the requested order.
template <class Derived>
std::string npy_bytes(const Eigen::MatrixBase<Derived>& a, const NpyWriteOptions& options = {}) {
  constexpr bool one_d = Derived::RowsAtCompileTime == 1 || Derived::ColsAtCompileTime == 1;
  return detail::npio::npy_file_bytes(a, one_d, options.order == NpyOrder::Fortran);
}

/// The bytes of the .npy file for an NpyArray: 1-D or 2-D as its `ndim`, in its stored order.
/// @throws DimensionMismatch when ndim is 1 but the values have more than one column
template <class S>
std::string npy_bytes(const NpyArray<S>& a) {
  if (a.ndim == 1) {
    if (a.values.cols() != 1)
      throw DimensionMismatch(detail::message("npy_bytes: a 1-D NpyArray holds ", a.values.rows(), " x ", a.values.cols(), " values"));
    return detail::npio::npy_file_bytes(a.values.col(0), true, false);
  }
  if (a.ndim != 2) throw InvalidArgument(detail::message("npy_bytes: an NpyArray has 1 or 2 dimensions, not ", a.ndim));
  return detail::npio::npy_file_bytes(a.values, false, a.fortran_order);
}

/// Writes `a` to the .npy file at `path` (atomically: temporary file, then rename) as npy_bytes
/// describes. The path is used as given (np.save would append ".npy"). @throws IoError
template <class Derived>
void write_npy(const std::string& path, const Eigen::MatrixBase<Derived>& a, const NpyWriteOptions& options = {}) {
  write_file_atomically("write_npy", path, npy_bytes(a, options));
}

/// Writes an NpyArray (1-D or 2-D as its `ndim`, in its stored order). @throws IoError
template <class S>
void write_npy(const std::string& path, const NpyArray<S>& a) {
  write_file_atomically("write_npy", path, npy_bytes(a));
}

}  // namespace ivkit
