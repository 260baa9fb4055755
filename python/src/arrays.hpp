// NumPy arrays <-> Eigen without copies where the layout allows, and the checks every binding
// shares: dtype, dimensions, contiguity, finiteness. Errors are ivkit exceptions, so they reach
// Python as ivkit.InvalidArgument / ivkit.DimensionMismatch (ValueError) with the argument's name.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <Eigen/Core>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::python {

namespace py = pybind11;

enum class DType { Float32, Float64 };

inline const char* dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }

/// Python's name of an array's dtype, for messages.
inline std::string dtype_str(const py::array& a) { return a.dtype().attr("name").cast<std::string>(); }

/// float32 and float64 arrays keep their dtype; integer and boolean arrays are read as float64;
/// anything else (complex, object, strings) is refused.
inline DType float_dtype_of(const py::array& a, const char* what) {
  const char kind = a.dtype().kind();
  if (kind == 'f') {
    if (a.dtype().itemsize() == 4) return DType::Float32;
    if (a.dtype().itemsize() == 8) return DType::Float64;
  }
  if (kind == 'i' || kind == 'u' || kind == 'b') return DType::Float64;
  throw InvalidArgument(detail::message(what, ": dtype ", dtype_str(a), " is not supported (float32 or float64)"));
}

/// The precision an array argument is computed in: its own for float32/float64, float64 for
/// integers and for a list that NumPy cannot make an array of (its error then comes from the reader).
inline DType dtype_of(py::handle x, const char* what) {
  py::array a = py::array::ensure(x);
  return a ? float_dtype_of(a, what) : DType::Float64;
}

/// The array as a real array of `T` that Eigen can map: the same object when it already has that
/// dtype and is C- or Fortran-contiguous, otherwise a converted C-contiguous copy.
template <class T>
py::array_t<T> as_float_array(py::handle obj, const char* what) {
  py::array a = py::array::ensure(obj);
  if (!a) throw InvalidArgument(detail::message(what, ": expected an array-like of numbers"));
  (void)float_dtype_of(a, what);
  const bool same = a.dtype().is(py::dtype::of<T>());
  const int flags = a.flags();
  if (same && (flags & (py::array::c_style | py::array::f_style))) return py::reinterpret_borrow<py::array_t<T>>(a);
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

/// Row-major map of a 2-D array (N x D, one item per row). A Fortran-ordered array is read through
/// its transpose: `transposed` tells the caller that the map is D x N.
template <class T>
struct MatrixArg {
  py::array_t<T> array;  ///< keeps the data alive
  Eigen::Map<const Matrix<T>> map{nullptr, 0, 0};
  bool transposed = false;
  Index rows() const { return transposed ? map.cols() : map.rows(); }
  Index cols() const { return transposed ? map.rows() : map.cols(); }
};

template <class T>
MatrixArg<T> matrix_arg(py::handle obj, const char* what, bool allow_fortran = true) {
  MatrixArg<T> m;
  m.array = as_float_array<T>(obj, what);
  if (m.array.ndim() != 2)
    throw DimensionMismatch(detail::message(what, ": expected a 2-D array, got ", m.array.ndim(), " dimensions"));
  const Index r = m.array.shape(0), c = m.array.shape(1);
  const bool c_order = m.array.flags() & py::array::c_style;
  if (!c_order && !allow_fortran) m.array = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(m.array);
  if (c_order || !allow_fortran) {
    new (&m.map) Eigen::Map<const Matrix<T>>(m.array.data(), r, c);
  } else {
    new (&m.map) Eigen::Map<const Matrix<T>>(m.array.data(), c, r);
    m.transposed = true;
  }
  return m;
}

/// A 1-D array as a contiguous vector of `T`.
template <class T>
struct VectorArg {
  py::array_t<T> array;
  Eigen::Map<const Vector<T>> map{nullptr, 0};
  Index size() const { return map.size(); }
};

template <class T>
VectorArg<T> vector_arg(py::handle obj, const char* what) {
  VectorArg<T> v;
  v.array = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(as_float_array<T>(obj, what));
  if (v.array.ndim() != 1)
    throw DimensionMismatch(detail::message(what, ": expected a 1-D array, got ", v.array.ndim(), " dimensions"));
  new (&v.map) Eigen::Map<const Vector<T>>(v.array.data(), v.array.shape(0));
  return v;
}

/// Integer labels (any integer dtype, or a list) as ivkit indices.
inline std::vector<Index> index_vector(py::handle obj, const char* what) {
  py::array a = py::array::ensure(obj);
  if (!a || a.ndim() != 1) throw DimensionMismatch(detail::message(what, ": expected a 1-D array of integers"));
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u' && !(kind == 'O' && a.size() == 0) && !(kind == 'f' && a.size() == 0))
    throw InvalidArgument(detail::message(what, ": expected integers, got dtype ", dtype_str(a)));
  auto ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  return std::vector<Index>(ints.data(), ints.data() + ints.size());
}

/// Hands an Eigen object to NumPy without copying: the array owns it through a capsule.
template <class M>
py::array to_numpy(M&& m) {
  using Plain = std::decay_t<M>;
  using T = typename Plain::Scalar;
  auto* owned = new Plain(std::forward<M>(m));
  py::capsule owner(owned, [](void* p) { delete static_cast<Plain*>(p); });
  if constexpr (Plain::ColsAtCompileTime == 1) {
    return py::array_t<T>({owned->size()}, {static_cast<Index>(sizeof(T))}, owned->data(), owner);
  } else {
    const Index r = owned->rows(), c = owned->cols();
    const Index s = static_cast<Index>(sizeof(T));
    std::vector<Index> strides = Plain::IsRowMajor ? std::vector<Index>{c * s, s} : std::vector<Index>{s, r * s};
    return py::array_t<T>({r, c}, strides, owned->data(), owner);
  }
}

template <class T>
py::array to_numpy(std::vector<T>&& v) {
  auto* owned = new std::vector<T>(std::move(v));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<Index>(owned->size())}, {static_cast<Index>(sizeof(T))}, owned->data(), owner);
}

/// A read-only view of memory owned by `owner` (a bound C++ object): the array keeps it alive.
template <class T>
py::array readonly_view(const T* data, std::vector<Index> shape, std::vector<Index> strides, py::handle owner) {
  py::array a = py::array_t<T>(shape, strides, data, owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

template <class M>
py::array readonly_matrix_view(const M& m, py::handle owner) {
  using T = typename M::Scalar;
  const Index s = static_cast<Index>(sizeof(T));
  if constexpr (M::ColsAtCompileTime == 1) {
    return readonly_view<T>(m.data(), {m.size()}, {s}, owner);
  } else {
    std::vector<Index> strides = M::IsRowMajor ? std::vector<Index>{m.cols() * s, s} : std::vector<Index>{s, m.rows() * s};
    return readonly_view<T>(m.data(), {m.rows(), m.cols()}, strides, owner);
  }
}

/// ivkit's convention for thread counts (0 = all cores), checked once for every binding.
inline int threads_arg(int threads) {
  if (threads < 0) throw InvalidArgument(detail::message("threads must be >= 0 (0 = all cores), got ", threads));
  return threads;
}

}  // namespace ivkit::python
