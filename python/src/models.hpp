// The Python model classes that several binding files share: one Python class per model kind,
// holding either precision.
#pragma once

#include <variant>

#include "arrays.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"

namespace ivkit::python {

template <template <class> class M>
struct AnyModel {
  std::variant<M<float>, M<double>> model;
  DType dtype() const { return model.index() == 0 ? DType::Float32 : DType::Float64; }
};
using PyDiagGmm = AnyModel<DiagGmm>;
using PyFullGmm = AnyModel<FullGmm>;

/// A `dtype=` argument: None keeps `fallback`; float32 or float64, anything else is refused.
inline DType dtype_arg(const py::object& dtype, DType fallback) {
  if (dtype.is_none()) return fallback;
  const py::dtype dt = py::dtype::from_args(dtype);
  if (dt.is(py::dtype::of<float>())) return DType::Float32;
  if (dt.is(py::dtype::of<double>())) return DType::Float64;
  throw InvalidArgument(detail::message("dtype must be float32 or float64, got ", dt.attr("name").cast<std::string>()));
}

}  // namespace ivkit::python
