// MAP adaptation of a diagonal UBM, supervectors, and the GMM-UBM verification score.
#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/gmm/gmm_ubm_score.hpp"
#include "ivkit/gmm/map.hpp"
#include "ivkit/stats/baum_welch.hpp"

namespace ivkit::python {
namespace {

template <class F>
auto visit_diag(py::handle gmm, const char* what, F&& f) {
  if (!py::isinstance<PyDiagGmm>(gmm)) throw InvalidArgument(detail::message(what, ": expected an ivkit.DiagGmm"));
  return std::visit(f, gmm.cast<const PyDiagGmm&>().model);
}

}  // namespace

void bind_map(py::module_& m) {
  m.def("map_adapt", [](py::handle ubm, py::handle x, double mean_tau, double variance_tau, double weight_tau, bool means,
                        bool variances, bool weights, int threads) {
        return visit_diag(ubm, "map_adapt: ubm", [&](const auto& g) {
          using T = typename std::decay_t<decltype(g)>::Scalar;
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          MapOptions o;
          o.mean_tau = mean_tau;
          o.variance_tau = variance_tau;
          o.weight_tau = weight_tau;
          o.update_means = means;
          o.update_variances = variances;
          o.update_weights = weights;
          StatsOptions so;
          so.second_order = variances;
          so.num_threads = threads_arg(threads);
          py::gil_scoped_release release;
          return PyDiagGmm{map_adapt(g, compute_stats(g, f.map, so), o)};
        });
      }, py::arg("ubm"), py::arg("X"), py::kw_only(), py::arg("mean_tau") = 10.0, py::arg("variance_tau") = 50.0,
      py::arg("weight_tau") = 10.0, py::arg("update_means") = true, py::arg("update_variances") = true,
      py::arg("update_weights") = true, py::arg("threads") = 1,
      "MAP adaptation of a diagonal UBM to the frames X (Reynolds et al. 2000; Kaldi's defaults). "
      "SIDEKIT's means-only adaptation with relevance factor r: mean_tau=r, update_variances=False, update_weights=False.");
  m.def("gmm_ubm_score", [](py::handle adapted, py::handle ubm, py::handle x, Index top_n, int threads) {
        if (!py::isinstance<PyDiagGmm>(adapted) || !py::isinstance<PyDiagGmm>(ubm))
          throw InvalidArgument("gmm_ubm_score: expected two ivkit.DiagGmm");
        const auto& a = adapted.cast<const PyDiagGmm&>();
        const auto& u = ubm.cast<const PyDiagGmm&>();
        if (a.dtype() != u.dtype()) throw InvalidArgument("gmm_ubm_score: the models have different dtypes");
        return std::visit([&](const auto& g) {
          using T = typename std::decay_t<decltype(g)>::Scalar;
          const auto& model = std::get<DiagGmm<T>>(a.model);
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          ScoringOptions so;
          so.num_threads = threads_arg(threads);
          py::gil_scoped_release release;
          return gmm_ubm_score(model, g, f.map, top_n, so);
        }, u.model);
      }, py::arg("adapted"), py::arg("ubm"), py::arg("X"), py::kw_only(), py::arg("top_n") = 5, py::arg("threads") = 1,
      "Average per-frame log-likelihood ratio of the adapted model against the UBM; top_n > 0 scores both on the "
      "UBM's top_n components of each frame (Reynolds' fast scoring), 0 on all components");
  m.def("mean_supervector", [](py::handle gmm) {
        return visit_diag(gmm, "mean_supervector", [](const auto& g) { return to_numpy(mean_supervector(g)); });
      }, py::arg("gmm"), "The stacked means (C*D)");
}

}  // namespace ivkit::python
