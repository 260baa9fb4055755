// Baum-Welch statistics and the i-vector extractor: Kaldi's final.ie and ivkit's model files,
// batched extraction (exact or approximate) with posterior variances.
#include <pybind11/stl.h>

#include <variant>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/io/kaldi_ivector_extractor.hpp"
#include "ivkit/io/model_files.hpp"
#include "ivkit/ivector/extractor.hpp"
#include "ivkit/ivector/init.hpp"
#include "ivkit/ivector/trainer.hpp"
#include "ivkit/stats/baum_welch.hpp"

namespace ivkit::python {
namespace {

struct PyIvectorExtractor {
  std::variant<IvectorExtractor<float>, IvectorExtractor<double>> model;
};

/// Calls f(model) for a DiagGmm or FullGmm Python object.
template <class F>
auto visit_ubm(py::handle ubm, F&& f) {
  if (py::isinstance<PyFullGmm>(ubm)) return std::visit(f, ubm.cast<const PyFullGmm&>().model);
  if (py::isinstance<PyDiagGmm>(ubm)) return std::visit(f, ubm.cast<const PyDiagGmm&>().model);
  throw InvalidArgument("ubm: expected an ivkit.DiagGmm or ivkit.FullGmm");
}

/// First-order statistics (U, C*D), also accepted as (U, C, D).
template <class T>
MatrixArg<T> first_order_arg(py::handle first) {
  py::array f = py::array::ensure(first);
  if (f && f.ndim() == 3) f = f.attr("reshape")(f.shape(0), f.shape(1) * f.shape(2));
  return matrix_arg<T>(f ? py::handle(f) : first, "first", false);
}

/// `selector`: the diagonal model that selects the components (null: the UBM, or its diagonal).
template <class Model, class Frames>
UtteranceStats stats_of(const Model& ubm, const Frames& x, Index gselect, Index top_n, double min_post, int threads,
                        const PyDiagGmm* selector) {
  StatsOptions o;
  o.num_threads = threads_arg(threads);
  if (gselect > 0) {
    // Kaldi's sid pipeline: the n best components of the diagonal model, then the posteriors of
    // the model itself over them (gmm-gselect, fgmm-global-gselect-to-post).
    ScoringOptions so;
    so.num_threads = o.num_threads;
    using T = typename Model::Scalar;
    GaussianSelection sel;
    if (selector) {
      const auto* diag = std::get_if<DiagGmm<T>>(&selector->model);
      if (!diag || diag->num_components() != ubm.num_components() || diag->dim() != ubm.dim())
        throw InvalidArgument("utterance_stats: selector must be a DiagGmm of the UBM's size and dtype");
      sel = diag->gaussian_selection(x, gselect, so);
    } else if constexpr (std::is_same_v<Model, FullGmm<T>>) {
      sel = to_diag(ubm).gaussian_selection(x, gselect, so);
    } else {
      sel = ubm.gaussian_selection(x, gselect, so);
    }
    return stats_from_posteriors(ubm.selected_posteriors(x, sel, min_post, so), x, ubm.means(), o);
  }
  o.top_n = top_n;
  o.min_post = min_post;
  return compute_stats(ubm, x, o);
}

}  // namespace

void bind_ivector(py::module_& m) {
  m.def("utterance_stats", [](py::handle ubm, py::handle x, Index gselect, Index top_n, double min_post, int threads,
                              py::handle selector) {
        if (!selector.is_none() && !py::isinstance<PyDiagGmm>(selector))
          throw InvalidArgument("utterance_stats: selector must be an ivkit.DiagGmm");
        // Read while the GIL is held; the computation below runs without it.
        const PyDiagGmm* chooser = selector.is_none() ? nullptr : &selector.cast<const PyDiagGmm&>();
        return visit_ubm(ubm, [&](const auto& model) {
          using T = typename std::decay_t<decltype(model)>::Scalar;
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          UtteranceStats st;
          {
            py::gil_scoped_release release;
            st = stats_of(model, f.map, gselect, top_n, min_post, threads, chooser);
          }
          return py::make_tuple(to_numpy(std::move(st.zeroth)), to_numpy(std::move(st.first)));
        });
      }, py::arg("ubm"), py::arg("X"), py::kw_only(), py::arg("gselect") = 0, py::arg("top_n") = 0, py::arg("min_post") = 0.0,
      py::arg("threads") = 1, py::arg("selector") = py::none(),
      "Zeroth (C,) and first-order (C, D) Baum-Welch statistics of one utterance, centred on the UBM means. "
      "gselect = n: Kaldi's sid pipeline (Gaussian selection on the diagonal model, posteriors of the UBM "
      "over the selection pruned below min_post; `selector`, the diagonal model that selects, defaults to "
      "the UBM's diagonal: pass ubm.to_diag() once when calling for many utterances); else all components, or "
      "the top_n per frame.");

  py::class_<PyIvectorExtractor>(m, "IvectorExtractor",
      "Total-variability model: i-vectors are posterior means of w given an utterance's statistics")
      .def_static("read_kaldi", [](const std::string& path, py::handle ubm, py::object dtype, bool ignore_weights) {
        KaldiExtractorReadOptions o;
        o.ignore_ivector_dependent_weights = ignore_weights;
        const DType t = dtype_arg(dtype, DType::Float64);
        return visit_ubm(ubm, [&](const auto& model) {
          const Matrix<double> means = model.means().template cast<double>();
          if (t == DType::Float32) return PyIvectorExtractor{read_kaldi_ivector_extractor<float>(path, Matrix<float>(means.cast<float>()), o)};
          return PyIvectorExtractor{read_kaldi_ivector_extractor<double>(path, means, o)};
        });
      }, py::arg("rxfilename"), py::arg("ubm"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("ignore_ivector_dependent_weights") = false,
      "Reads Kaldi's final.ie for statistics computed with `ubm` (Kaldi's final.ubm)")
      .def_static("load", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyIvectorExtractor{load_ivector_extractor<float>(path)}
                                                                   : PyIvectorExtractor{load_ivector_extractor<double>(path)};
      }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none())
      .def("save", [](const PyIvectorExtractor& e, const std::string& path) {
        std::visit([&](const auto& x) { save_ivector_extractor(path, x); }, e.model);
      })
      .def_property_readonly("n_components", [](const PyIvectorExtractor& e) { return std::visit([](const auto& x) { return x.num_components(); }, e.model); })
      .def_property_readonly("dim", [](const PyIvectorExtractor& e) { return std::visit([](const auto& x) { return x.dim(); }, e.model); })
      .def_property_readonly("ivector_dim", [](const PyIvectorExtractor& e) { return std::visit([](const auto& x) { return x.ivector_dim(); }, e.model); })
      .def_property_readonly("dtype", [](const PyIvectorExtractor& e) { return py::dtype(e.model.index() == 0 ? "float32" : "float64"); })
      .def_property_readonly("prior_mean", [](py::object self) {
        return std::visit([&](const auto& x) { return readonly_matrix_view(x.prior_mean(), self); }, self.cast<const PyIvectorExtractor&>().model);
      })
      .def_property_readonly("T", [](py::object self) {
        return std::visit([&](const auto& x) { return readonly_matrix_view(x.T(), self); }, self.cast<const PyIvectorExtractor&>().model);
      }, "(C*D, R) total-variability matrix, rows [c D, (c+1) D) for component c")
      .def_property_readonly("ubm_means", [](py::object self) {
        return std::visit([&](const auto& x) { return readonly_matrix_view(x.ubm_means(), self); }, self.cast<const PyIvectorExtractor&>().model);
      })
      .def("to_zero_mean", [](const PyIvectorExtractor& e) {
        return std::visit([](const auto& x) { return PyIvectorExtractor{x.to_zero_mean()}; }, e.model);
      }, "The same model with the prior mean moved into m (w ~ N(0, I), SIDEKIT's convention)")
      .def("extract", [](const PyIvectorExtractor& e, py::handle zeroth, py::handle first, bool uncertainty, const std::string& method,
                         bool keep_prior_mean, Index batch_size, int threads) {
        return std::visit([&](const auto& x) -> py::object {
          using T = typename std::decay_t<decltype(x.prior_mean())>::Scalar;
          MatrixArg<T> n = matrix_arg<T>(zeroth, "zeroth", false), fm = first_order_arg<T>(first);
          ExtractOptions o;
          o.variances = uncertainty;
          if (method == "exact") o.method = ExtractionMethod::Exact;
          else if (method == "approximate") o.method = ExtractionMethod::Approximate;
          else throw InvalidArgument(detail::message("method must be 'exact' or 'approximate', got '", method, "'"));
          o.batch_size = batch_size;
          o.num_threads = threads_arg(threads);
          Ivectors<T> out;
          {
            py::gil_scoped_release release;
            out = x.extract_matrices(n.map, fm.map, o);
            // Kaldi's ivector-extract writes the offset from the prior mean.
            if (!keep_prior_mean) out.means.rowwise() -= x.prior_mean().transpose();
          }
          if (!uncertainty) return to_numpy(std::move(out.means));
          return py::make_tuple(to_numpy(std::move(out.means)), to_numpy(std::move(out.variances)));
        }, e.model);
      }, py::arg("zeroth"), py::arg("first"), py::kw_only(), py::arg("uncertainty") = false, py::arg("method") = "exact",
      py::arg("keep_prior_mean") = false, py::arg("batch_size") = 256, py::arg("threads") = 1,
      "i-vectors of U utterances from zeroth (U, C) and first-order (U, C*D) or (U, C, D) statistics centred on the "
      "UBM means: (U, R) means, and with uncertainty=True also the (U, R) posterior variances. As Kaldi's "
      "ivector-extract, the prior mean is subtracted unless keep_prior_mean.")
      .def_static("train", [](py::handle ubm, py::handle zeroth, py::handle first, Index ivector_dim, int num_iterations,
                              const std::string& init, const std::string& convention, std::uint64_t seed, bool minimum_divergence,
                              int threads) {
        PriorConvention conv;
        if (convention == "zero_mean") conv = PriorConvention::ZeroMean;
        else if (convention == "kaldi") conv = PriorConvention::KaldiOffset;
        else throw InvalidArgument(detail::message("convention must be 'zero_mean' or 'kaldi', got '", convention, "'"));
        if (init != "random" && init != "pca") throw InvalidArgument(detail::message("init must be 'random' or 'pca', got '", init, "'"));
        if (init == "pca" && conv != PriorConvention::ZeroMean) throw InvalidArgument("init='pca' starts a zero-mean model (convention='zero_mean')");
        return visit_ubm(ubm, [&](const auto& g) {
          using T = typename std::decay_t<decltype(g)>::Scalar;
          constexpr bool full = std::is_same_v<std::decay_t<decltype(g)>, FullGmm<T>>;
          MatrixArg<T> n = matrix_arg<T>(zeroth, "zeroth", false), fm = first_order_arg<T>(first);
          const Index C = g.num_components(), D = g.dim();
          if (n.map.cols() != C || fm.map.cols() != C * D || fm.map.rows() != n.map.rows())
            throw DimensionMismatch(detail::message("IvectorExtractor.train: statistics are ", n.map.rows(), " x ", n.map.cols(), " and ",
                                                    fm.map.rows(), " x ", fm.map.cols(), " but the UBM has C = ", C, ", D = ", D));
          IvectorTrainOptions o;
          o.num_iterations = num_iterations;
          o.accumulate.num_threads = threads_arg(threads);
          o.update.minimum_divergence = minimum_divergence;
          IvectorTrainReport report;
          IvectorExtractor<T> model;
          {
            py::gil_scoped_release release;
            StatsSet<T> set(C, D);
            for (Index u = 0; u < n.map.rows(); ++u)
              set.add(std::to_string(u), n.map.row(u).transpose(), Eigen::Map<const Matrix<T>>(fm.map.row(u).data(), C, D));
            DiagGmm<T> diag;
            if constexpr (full) diag = to_diag(g);
            else diag = g;
            model = init == "pca" ? init_extractor_pca(diag, set, ivector_dim) : init_extractor_random(diag, ivector_dim, seed, 0.1, conv);
            // A full-covariance UBM gives a full-covariance extractor: the start takes the UBM's covariances.
            if constexpr (full) {
              model = IvectorExtractor<T>(model.ubm_means(), model.m(), model.T(), g.covariances(), model.prior_mean());
              model.set_approximation_weights(g.weights());
            }
            model = train_extractor(std::move(model), set, o, &report);
          }
          std::vector<double> objective;
          for (const auto& it : report.iterations) objective.push_back(it.objective);
          return py::make_tuple(PyIvectorExtractor{std::move(model)}, to_numpy(std::move(objective)));
        });
      }, py::arg("ubm"), py::arg("zeroth"), py::arg("first"), py::arg("ivector_dim"), py::kw_only(), py::arg("num_iterations") = 5,
      py::arg("init") = "random", py::arg("convention") = "zero_mean", py::arg("seed") = 777, py::arg("minimum_divergence") = true,
      py::arg("threads") = 1,
      "EM training from statistics centred on the UBM's means (a DiagGmm gives a diagonal extractor, a FullGmm a "
      "full-covariance one, as Kaldi's): (extractor, objective per utterance of each iteration's starting model). "
      "Same model for any thread count.")
      .def("__repr__", [](const PyIvectorExtractor& e) {
        return std::visit([&](const auto& x) {
          return detail::message("IvectorExtractor(n_components=", x.num_components(), ", dim=", x.dim(), ", ivector_dim=", x.ivector_dim(),
                                 ", dtype=", e.model.index() == 0 ? "float32" : "float64", ")");
        }, e.model);
      });
}

}  // namespace ivkit::python
