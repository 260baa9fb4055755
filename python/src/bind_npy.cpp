// NumPy's own files through ivkit's readers and writers (ivkit/io/npy.hpp, npz.hpp): the same
// checks as the tools (absurd shapes, CRC-32, truncation; errors name the file, member and
// offset), embeddings read straight into one N x R matrix, and atomic writes.
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/io/npy.hpp"
#include "ivkit/io/npz.hpp"

namespace ivkit::python {
namespace {

/// dtype=None keeps the stored precision: float32 files stay float32, everything else
/// (float64, integers, float16) becomes float64.
DType stored_or(const py::object& dtype, const std::string& descr) {
  const bool stored_f4 = descr.size() == 3 && descr[1] == 'f' && descr[2] == '4';
  return dtype_arg(dtype, stored_f4 ? DType::Float32 : DType::Float64);
}

template <class S>
py::array array_to_numpy(NpyArray<S>&& a) {
  if (a.ndim == 1) return to_numpy(Vector<S>(a.values.col(0)));
  return to_numpy(std::move(a.values));
}

/// One .npz member in the precision asked for, or the stored one.
py::array npz_member(const detail::npio::NpzArchive& ar, const detail::npio::ZipEntry& e, const py::object& dtype) {
  // Read in double (exact for every float32 value), then narrow when float32 is wanted.
  NpyArray<double> a;
  {
    py::gil_scoped_release release;
    a = ar.array<double>(e, 0);
  }
  if (stored_or(dtype, a.descr) == DType::Float64) return array_to_numpy(std::move(a));
  NpyArray<float> f;
  f.values = a.values.cast<float>();
  f.ndim = a.ndim;
  return array_to_numpy(std::move(f));
}

/// Calls write(expression, options) with a 1-D or 2-D float32/float64 array in its own precision
/// and order (integers as float64): a 1-D array as a vector, a Fortran-ordered one written back so.
template <class Write>
void with_array(py::handle value, const std::string& name, Write&& write) {
  auto typed = [&](auto tag) {
    using T = decltype(tag);
    const py::array a = py::array::ensure(value);
    if (a && a.ndim() == 1) {
      const auto v = vector_arg<T>(value, name.c_str());
      write(v.map, NpyWriteOptions{});
      return;
    }
    const auto m = matrix_arg<T>(value, name.c_str());
    NpyWriteOptions o;
    if (m.transposed) {
      o.order = NpyOrder::Fortran;
      write(m.map.transpose(), o);
    } else {
      write(m.map, o);
    }
  };
  if (dtype_of(value, name.c_str()) == DType::Float32) typed(float{});
  else typed(double{});
}

NpzWriteOptions npz_options(bool compress) {
  NpzWriteOptions o;
  o.compress = compress;
  return o;
}

}  // namespace

void bind_npy(py::module_& m) {
  m.def("read_npy", [](const std::string& path, py::object dtype) -> py::array {
    const NpyHeader h = read_npy_header(path);
    if (stored_or(dtype, h.descr) == DType::Float32) {
      NpyArray<float> a;
      {
        py::gil_scoped_release release;
        a = read_npy<float>(path);
      }
      return array_to_numpy(std::move(a));
    }
    NpyArray<double> a;
    {
      py::gil_scoped_release release;
      a = read_npy<double>(path);
    }
    return array_to_numpy(std::move(a));
  }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none(),
  "The 1-D or 2-D array of a .npy file; dtype=None keeps float32 files float32 and reads others as float64.");

  m.def("write_npy", [](const std::string& path, py::handle value) {
    with_array(value, "write_npy", [&](const auto& array, const NpyWriteOptions& o) {
      py::gil_scoped_release release;
      write_npy(path, array, o);
    });
  }, py::arg("path"), py::arg("array"),
  "Writes a 1-D or 2-D float32/float64 array as a .npy file (its dtype and C/Fortran order kept), atomically.");

  m.def("read_npz", [](const std::string& path, py::object dtype) {
    std::unique_ptr<detail::npio::NpzArchive> ar;
    {
      py::gil_scoped_release release;
      ar = std::make_unique<detail::npio::NpzArchive>("read_npz", path);
    }
    py::dict out;
    for (const auto& e : ar->entries()) {
      const std::string name = detail::npio::array_name(e.name);
      if (out.contains(name)) ar->where().fail(e.directory_offset, detail::message("holds the array '", name, "' twice"));
      out[py::str(name)] = npz_member(*ar, e, dtype);
    }
    return out;
  }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none(),
  "Every array of an .npz archive as a dict in archive order; dtype=None keeps each member's float32 or reads it as float64.");

  m.def("write_npz", [](const std::string& path, py::handle arrays, bool compress) {
    NpzWriter w(npz_options(compress));
    const py::object items = py::hasattr(arrays, "items") ? arrays.attr("items")() : py::reinterpret_borrow<py::object>(arrays);
    for (py::handle item : items) {
      const auto pair = item.cast<py::tuple>();
      if (pair.size() != 2) throw InvalidArgument("write_npz: expected a mapping or (name, array) pairs");
      const auto name = pair[0].cast<std::string>();
      with_array(pair[1], name, [&](const auto& array, const NpyWriteOptions& o) { w.add(name, array, o); });
    }
    py::gil_scoped_release release;
    w.save(path);
  }, py::arg("path"), py::arg("arrays"), py::kw_only(), py::arg("compress") = false,
  "Writes named arrays (a mapping or (name, array) pairs) as an .npz archive that np.load reads, atomically; "
  "compress=True deflates the members as np.savez_compressed does.");

  m.def("read_npz_embeddings", [](const std::string& path, py::object dtype) {
    DType t = dtype_arg(dtype, DType::Float32);
    if (dtype.is_none()) {  // the first member's stored precision decides
      const detail::npio::NpzArchive ar("read_npz_embeddings", path);
      std::string descr;
      if (!ar.entries().empty()) {
        const std::string b = ar.bytes(ar.entries()[0]);
        descr = detail::npio::read_header(detail::npio::ByteSource(b.data(), b.size()), ar.member_where(ar.entries()[0])).descr;
      }
      t = stored_or(dtype, descr);
    }
    if (t == DType::Float32) {
      NpzEmbeddings<float> e;
      {
        py::gil_scoped_release release;
        e = read_npz_embeddings<float>(path);
      }
      return py::make_tuple(e.ids, to_numpy(std::move(e.vectors)));
    }
    NpzEmbeddings<double> e;
    {
      py::gil_scoped_release release;
      e = read_npz_embeddings<double>(path);
    }
    return py::make_tuple(e.ids, to_numpy(std::move(e.vectors)));
  }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none(),
  "Speaker embeddings from an .npz archive of one vector per utterance (ESPnet's, WeSpeaker's): (ids in archive "
  "order, N x R matrix). Members must be (R,) or (1, R).");

  m.def("write_npz_embeddings", [](const std::string& path, const std::vector<std::string>& ids, py::handle vectors, bool compress) {
    auto write = [&](auto tag) {
      using T = decltype(tag);
      const auto v = matrix_arg<T>(vectors, "write_npz_embeddings: vectors", false);
      py::gil_scoped_release release;
      write_npz_embeddings(path, ids, v.map, npz_options(compress));
    };
    if (dtype_of(vectors, "write_npz_embeddings: vectors") == DType::Float32) write(float{});
    else write(double{});
  }, py::arg("path"), py::arg("ids"), py::arg("vectors"), py::kw_only(), py::arg("compress") = false,
  "Writes one 1-D member '<id>.npy' per row of vectors (N x R), as ESPnet's extract_embed does, atomically.");
}

}  // namespace ivkit::python
