// Kaldi tables from Python: a sequential reader (an iterator of (key, array)), a random-access
// reader (dict-like) and a writer, for matrices and vectors in float32 or float64. Every
// specifier Kaldi's programs take works: scp:, ark:, ark,t:, ark,scp:, '-', and piped commands.
#include <pybind11/stl.h>

#include <memory>
#include <variant>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"

namespace ivkit::python {
namespace {

enum class Kind { Matrix32, Matrix64, Vector32, Vector64 };

Kind kind_arg(const std::string& kind, const py::object& dtype) {
  const bool f32 = dtype_arg(dtype, DType::Float32) == DType::Float32;
  if (kind == "matrix") return f32 ? Kind::Matrix32 : Kind::Matrix64;
  if (kind == "vector") return f32 ? Kind::Vector32 : Kind::Vector64;
  throw InvalidArgument(detail::message("kind must be 'matrix' or 'vector', got '", kind, "'"));
}

template <template <class> class Table>
using AnyTable = std::variant<Table<Matrix<float>>, Table<Matrix<double>>, Table<Vector<float>>, Table<Vector<double>>>;

template <template <class> class Table, class... Args>
std::unique_ptr<AnyTable<Table>> open_table(Kind k, Args&&... args) {
  switch (k) {
    case Kind::Matrix32: return std::make_unique<AnyTable<Table>>(std::in_place_index<0>, std::forward<Args>(args)...);
    case Kind::Matrix64: return std::make_unique<AnyTable<Table>>(std::in_place_index<1>, std::forward<Args>(args)...);
    case Kind::Vector32: return std::make_unique<AnyTable<Table>>(std::in_place_index<2>, std::forward<Args>(args)...);
    default: return std::make_unique<AnyTable<Table>>(std::in_place_index<3>, std::forward<Args>(args)...);
  }
}

struct PySequentialReader {
  std::unique_ptr<AnyTable<KaldiSequentialReader>> table;
  bool started = false;
};

struct PyRandomAccessReader {
  std::unique_ptr<AnyTable<KaldiRandomAccessReader>> table;
};

struct PyWriter {
  std::unique_ptr<AnyTable<KaldiWriter>> table;
  Kind kind;
};

}  // namespace

void bind_io(py::module_& m) {
  py::class_<PySequentialReader>(m, "SequentialReader",
      "Iterates over a Kaldi table in order: for key, array in SequentialReader('scp:feats.scp')")
      .def(py::init([](const std::string& rspecifier, const std::string& kind, py::object dtype) {
             const Kind k = kind_arg(kind, dtype);  // reads Python objects: before the GIL is released
             py::gil_scoped_release release;
             return PySequentialReader{open_table<KaldiSequentialReader>(k, rspecifier)};
           }),
           py::arg("rspecifier"), py::kw_only(), py::arg("kind") = "matrix", py::arg("dtype") = py::none())
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", [](PySequentialReader& r) {
        return std::visit([&](auto& t) -> py::tuple {
          {
            py::gil_scoped_release release;
            if (r.started && !t.done()) t.next();
          }
          r.started = true;
          if (t.done()) throw py::stop_iteration();
          auto value = t.value();
          return py::make_tuple(t.key(), to_numpy(std::move(value)));
        }, *r.table);
      })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PySequentialReader& r, py::args) { r.table.reset(); });

  py::class_<PyRandomAccessReader>(m, "RandomAccessReader",
      "A Kaldi table by key: reader['utt1'], 'utt1' in reader, reader.keys(), len(reader)")
      .def(py::init([](const std::string& rspecifier, const std::string& kind, py::object dtype) {
             const Kind k = kind_arg(kind, dtype);  // reads Python objects: before the GIL is released
             py::gil_scoped_release release;
             return PyRandomAccessReader{open_table<KaldiRandomAccessReader>(k, rspecifier)};
           }),
           py::arg("rspecifier"), py::kw_only(), py::arg("kind") = "matrix", py::arg("dtype") = py::none())
      .def("__getitem__", [](PyRandomAccessReader& r, const std::string& key) {
        return std::visit([&](auto& t) -> py::object {
          if (!t.has_key(key)) throw py::key_error(key);
          auto value = t.value(key);
          return to_numpy(std::move(value));
        }, *r.table);
      })
      .def("__contains__", [](PyRandomAccessReader& r, const std::string& key) {
        return std::visit([&](auto& t) { return t.has_key(key); }, *r.table);
      })
      .def("__len__", [](const PyRandomAccessReader& r) { return std::visit([](const auto& t) { return t.size(); }, *r.table); })
      .def("keys", [](const PyRandomAccessReader& r) { return std::visit([](const auto& t) { return t.keys(); }, *r.table); })
      .def("__iter__", [](const PyRandomAccessReader& r) {
        return py::iter(py::cast(std::visit([](const auto& t) { return t.keys(); }, *r.table)));
      });

  py::class_<PyWriter>(m, "Writer",
      "Writes a Kaldi table: with Writer('ark,scp:x.ark,x.scp') as w: w['utt1'] = array. Files appear "
      "atomically on close().")
      .def(py::init([](const std::string& wspecifier, const std::string& kind, py::object dtype, bool compress) {
             KaldiWriteOptions o;
             o.compress = compress;
             const Kind k = kind_arg(kind, dtype);
             py::gil_scoped_release release;
             return PyWriter{open_table<KaldiWriter>(k, wspecifier, o), k};
           }),
           py::arg("wspecifier"), py::kw_only(), py::arg("kind") = "matrix", py::arg("dtype") = py::none(),
           py::arg("compress") = false)
      .def("write", [](PyWriter& w, const std::string& key, py::handle value) {
        if (!w.table) throw InvalidArgument(detail::message("Writer: write('", key, "') after close()"));
        std::visit([&](auto& t) {
          using Table = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<Table, KaldiWriter<Matrix<float>>> || std::is_same_v<Table, KaldiWriter<Vector<float>>>) {
            if constexpr (std::is_same_v<Table, KaldiWriter<Matrix<float>>>) t.write(key, matrix_arg<float>(value, key.c_str(), false).map);
            else t.write(key, vector_arg<float>(value, key.c_str()).map);
          } else {
            if constexpr (std::is_same_v<Table, KaldiWriter<Matrix<double>>>) t.write(key, matrix_arg<double>(value, key.c_str(), false).map);
            else t.write(key, vector_arg<double>(value, key.c_str()).map);
          }
        }, *w.table);
      }, py::arg("key"), py::arg("value"))
      .def("__setitem__", [](py::object self, const std::string& key, py::handle value) { self.attr("write")(key, value); })
      .def("close", [](PyWriter& w) {
        if (!w.table) return;
        std::visit([](auto& t) { t.close(); }, *w.table);
      })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyWriter& w, py::handle type, py::handle, py::handle) {
        if (!w.table) return;
        // On an exception inside the block nothing is renamed into place.
        if (type.is_none()) std::visit([](auto& t) { t.close(); }, *w.table);
        w.table.reset();
      });
}

}  // namespace ivkit::python
