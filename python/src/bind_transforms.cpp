// Embedding transforms as a scikit-learn-style pipeline (centring, whitening, PCA, LDA, WCCN,
// length normalisation, fixed affine maps such as Kaldi's transform.mat), and Kaldi's single-object
// files (mean.vec, transform.mat).
#include <pybind11/stl.h>

#include <variant>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/backend/transform_pipeline.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_transform.hpp"

namespace ivkit::python {
namespace {

struct PyPipeline {
  std::variant<TransformPipeline<float>, TransformPipeline<double>> pipeline;
};

template <class F>
PyPipeline& chain(PyPipeline& p, F&& f) {
  std::visit([&](auto& x) { f(x); }, p.pipeline);
  return p;
}

template <class S>
AffineTransform<S> affine_arg(py::handle linear, py::handle offset) {
  MatrixArg<S> a = matrix_arg<S>(linear, "linear", false);
  if (offset.is_none()) return AffineTransform<S>(a.map);
  return AffineTransform<S>(a.map, vector_arg<S>(offset, "offset").map);
}

}  // namespace

void bind_transforms(py::module_& m) {
  py::class_<PyPipeline>(m, "TransformPipeline",
      "A chain of embedding transforms, fitted in order: TransformPipeline().centre().lda(150).length_norm(), "
      "then fit(X, labels) and transform(X). Methods that add a stage return the pipeline.")
      .def(py::init([](py::object dtype) {
             return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyPipeline{TransformPipeline<float>()} : PyPipeline{TransformPipeline<double>()};
           }), py::kw_only(), py::arg("dtype") = py::none())
      .def("centre", [](PyPipeline& p) -> PyPipeline& { return chain(p, [](auto& x) { x.centre(); }); }, py::return_value_policy::reference_internal)
      .def("whiten", [](PyPipeline& p, Index dim, const std::string& mode, double floor) -> PyPipeline& {
        WhitenOptions o;
        o.dim = dim;
        if (mode == "pca") o.mode = WhitenMode::Pca;
        else if (mode == "zca") o.mode = WhitenMode::Zca;
        else throw InvalidArgument(detail::message("whiten: mode must be 'pca' or 'zca', got '", mode, "'"));
        o.covariance_floor = floor;
        return chain(p, [&](auto& x) { x.whiten(o); });
      }, py::arg("dim") = 0, py::kw_only(), py::arg("mode") = "pca", py::arg("covariance_floor") = 0.0, py::return_value_policy::reference_internal)
      .def("pca", [](PyPipeline& p, Index dim) -> PyPipeline& {
        PcaOptions o;
        o.dim = dim;
        return chain(p, [&](auto& x) { x.pca(o); });
      }, py::arg("dim") = 0, py::return_value_policy::reference_internal)
      .def("lda", [](PyPipeline& p, Index dim, double tcf, double floor) -> PyPipeline& {
        LdaOptions o;
        o.dim = dim;
        o.total_covariance_factor = tcf;
        o.covariance_floor = floor;
        return chain(p, [&](auto& x) { x.lda(o); });
      }, py::arg("dim") = 0, py::kw_only(), py::arg("total_covariance_factor") = 0.0, py::arg("covariance_floor") = 1e-6,
      py::return_value_policy::reference_internal, "Kaldi's ivector-compute-lda (needs labels in fit)")
      .def("wccn", [](PyPipeline& p, const std::string& weighting, double floor) -> PyPipeline& {
        WccnOptions o;
        if (weighting == "per_class") o.weighting = WccnWeighting::PerClass;
        else if (weighting == "pooled") o.weighting = WccnWeighting::Pooled;
        else throw InvalidArgument(detail::message("wccn: weighting must be 'per_class' or 'pooled', got '", weighting, "'"));
        o.covariance_floor = floor;
        return chain(p, [&](auto& x) { x.wccn(o); });
      }, py::kw_only(), py::arg("weighting") = "per_class", py::arg("covariance_floor") = 0.0, py::return_value_policy::reference_internal)
      .def("length_norm", [](PyPipeline& p, bool scale_to_sqrt_dim) -> PyPipeline& {
        LengthNormOptions o;
        o.scale_to_sqrt_dim = scale_to_sqrt_dim;
        return chain(p, [&](auto& x) { x.length_norm(o); });
      }, py::kw_only(), py::arg("scale_to_sqrt_dim") = false, py::return_value_policy::reference_internal)
      .def("affine", [](PyPipeline& p, py::handle linear, py::handle offset) -> PyPipeline& {
        return chain(p, [&](auto& x) {
          using S = typename std::decay_t<decltype(x)>::Scalar;
          x.affine(affine_arg<S>(linear, offset));
        });
      }, py::arg("linear"), py::arg("offset") = py::none(), py::return_value_policy::reference_internal,
      "A fixed stage y = linear @ x + offset")
      .def("kaldi_transform", [](PyPipeline& p, const std::string& path) -> PyPipeline& {
        return chain(p, [&](auto& x) {
          using S = typename std::decay_t<decltype(x)>::Scalar;
          x.affine(read_kaldi_transform<S>(path));
        });
      }, py::arg("rxfilename"), py::return_value_policy::reference_internal,
      "A fixed stage read from Kaldi's transform.mat (ivector-compute-lda: [A | b], or A alone)")
      .def("fit", [](PyPipeline& p, py::handle x, py::object labels) -> PyPipeline& {
        std::visit([&](auto& pl) {
          using S = typename std::decay_t<decltype(pl)>::Scalar;
          MatrixArg<S> a = matrix_arg<S>(x, "X", false);
          if (labels.is_none()) {
            py::gil_scoped_release release;
            pl.fit(a.map);
          } else {
            const std::vector<Index> l = index_vector(labels, "labels");
            py::gil_scoped_release release;
            pl.fit(a.map, l);
          }
        }, p.pipeline);
        return p;
      }, py::arg("X"), py::arg("labels") = py::none(), py::return_value_policy::reference_internal)
      .def("transform", [](const PyPipeline& p, py::handle x) {
        return std::visit([&](const auto& pl) {
          using S = typename std::decay_t<decltype(pl)>::Scalar;
          MatrixArg<S> a = matrix_arg<S>(x, "X", false);
          Matrix<S> out;
          {
            py::gil_scoped_release release;
            out = pl.apply(a.map);
          }
          return to_numpy(std::move(out));
        }, p.pipeline);
      }, py::arg("X"))
      .def("fit_transform", [](py::object self, py::handle x, py::object labels) {
        self.attr("fit")(x, labels);
        return self.attr("transform")(x);
      }, py::arg("X"), py::arg("labels") = py::none())
      .def_property_readonly("n_stages", [](const PyPipeline& p) { return std::visit([](const auto& x) { return x.size(); }, p.pipeline); })
      .def_property_readonly("fitted", [](const PyPipeline& p) { return std::visit([](const auto& x) { return x.fitted(); }, p.pipeline); })
      .def_property_readonly("out_dim", [](const PyPipeline& p) { return std::visit([](const auto& x) { return x.out_dim(); }, p.pipeline); })
      .def("save", [](const PyPipeline& p, const std::string& path) { std::visit([&](const auto& x) { x.save(path); }, p.pipeline); })
      .def_static("load", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyPipeline{TransformPipeline<float>::load(path)}
                                                                   : PyPipeline{TransformPipeline<double>::load(path)};
      }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none());

  m.def("read_kaldi_vector", [](const std::string& path) {
        Vector<double> v;
        {
          py::gil_scoped_release release;
          v = read_kaldi_vector<double>(path);
        }
        return to_numpy(std::move(v));
      }, py::arg("rxfilename"), "One Kaldi vector object from a file or command (mean.vec), text or binary");
  m.def("read_kaldi_matrix", [](const std::string& path) {
        Matrix<double> v;
        {
          py::gil_scoped_release release;
          v = read_kaldi_matrix<double>(path);
        }
        return to_numpy(std::move(v));
      }, py::arg("rxfilename"), "One Kaldi matrix object from a file or command (transform.mat), text or binary");
}

}  // namespace ivkit::python
