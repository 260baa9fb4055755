// The _ivkit extension module: ivkit's exceptions as Python exceptions, and the bindings of each
// area (bind_*.cpp).
#include <pybind11/pybind11.h>

#include "ivkit/core/error.hpp"
#include "ivkit/core/isa.hpp"

namespace py = pybind11;

namespace ivkit::python {
void bind_gmm(py::module_& m);
void bind_backend(py::module_& m);
void bind_eval(py::module_& m);
void bind_io(py::module_& m);
void bind_ivector(py::module_& m);
void bind_scoring(py::module_& m);
void bind_transforms(py::module_& m);
void bind_features(py::module_& m);
void bind_map(py::module_& m);
void bind_npy(py::module_& m);
#ifdef IVKIT_PYTHON_HAVE_SNDFILE
void bind_wav(py::module_& m);
#endif
}  // namespace ivkit::python

#ifndef IVKIT_VERSION
#define IVKIT_VERSION "unknown"
#endif

namespace {

/// A Python exception class `ivkit.<name>` deriving from the given bases.
py::handle make_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("ivkit.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!type) throw py::error_already_set();
  py::object cls = py::reinterpret_steal<py::object>(type);
  m.attr(name) = cls;
  return cls.release();  // the module holds it for the life of the process
}

}  // namespace

PYBIND11_MODULE(_ivkit, m) {
  m.doc() = "ivkit: GMM-UBM, i-vector and PLDA speaker recognition (C++ core)";
  m.attr("__version__") = IVKIT_VERSION;

  // The C++ hierarchy (handles that live as long as the process: static objects would be
  // released after the interpreter is gone),, each class also deriving from the built-in exception a Python user catches.
  static py::handle error = make_exception(m, "Error", py::make_tuple(py::handle(PyExc_Exception)), "Any error raised by ivkit");
  static py::handle invalid = make_exception(m, "InvalidArgument", py::make_tuple(error, py::handle(PyExc_ValueError)),
                                             "A bad argument: wrong value, size or option");
  static py::handle mismatch = make_exception(m, "DimensionMismatch", py::make_tuple(invalid), "Arrays whose shapes do not fit");
  static py::handle nonfinite = make_exception(m, "NonFiniteInput", py::make_tuple(invalid), "NaN or infinity in the input");
  static py::handle numerical = make_exception(m, "NumericalError", py::make_tuple(error, py::handle(PyExc_ArithmeticError)),
                                               "A computation that cannot proceed (singular matrix, no data, ...)");
  static py::handle format = make_exception(m, "FormatError", py::make_tuple(error, py::handle(PyExc_ValueError)),
                                            "A file or stream that is not in the expected format");
  static py::handle io = make_exception(m, "IoError", py::make_tuple(error, py::handle(PyExc_OSError)),
                                        "A file or pipe that cannot be read or written");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ivkit::DimensionMismatch& e) {
      PyErr_SetString(mismatch.ptr(), e.what());
    } catch (const ivkit::NonFiniteInput& e) {
      PyErr_SetString(nonfinite.ptr(), e.what());
    } catch (const ivkit::InvalidArgument& e) {
      PyErr_SetString(invalid.ptr(), e.what());
    } catch (const ivkit::NumericalError& e) {
      PyErr_SetString(numerical.ptr(), e.what());
    } catch (const ivkit::FormatError& e) {
      PyErr_SetString(format.ptr(), e.what());
    } catch (const ivkit::IoError& e) {
      PyErr_SetString(io.ptr(), e.what());
    } catch (const ivkit::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  ivkit::python::bind_gmm(m);
  ivkit::python::bind_backend(m);
  ivkit::python::bind_eval(m);
  ivkit::python::bind_io(m);
  ivkit::python::bind_ivector(m);
  ivkit::python::bind_scoring(m);
  ivkit::python::bind_transforms(m);
  ivkit::python::bind_features(m);
  ivkit::python::bind_map(m);
  ivkit::python::bind_npy(m);
#ifdef IVKIT_PYTHON_HAVE_SNDFILE
  ivkit::python::bind_wav(m);
#endif

  // The kernel path (ivkit/core/isa.hpp), decided now: an invalid IVKIT_ISA fails the import with
  // ivkit's message rather than the first call that needs a kernel.
  m.attr("isa") = ivkit::isa_name(ivkit::active_isa());
  m.attr("cpu_isa") = ivkit::isa_name(ivkit::cpu_isa());
  m.attr("isa_description") = ivkit::isa_description();
}
