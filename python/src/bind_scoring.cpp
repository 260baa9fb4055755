// Score normalisation (z-, t-, s-norm and their adaptive top-K variants, AS-norm) and linear
// calibration and fusion by prior-weighted logistic regression.
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "ivkit/backend/calibration.hpp"
#include "ivkit/backend/score_norm.hpp"

namespace ivkit::python {
namespace {

ScoreNorm method_arg(const std::string& m) {
  if (m == "z") return ScoreNorm::Z;
  if (m == "t") return ScoreNorm::T;
  if (m == "s") return ScoreNorm::S;
  throw InvalidArgument(detail::message("method must be 'z', 't' or 's', got '", m, "'"));
}

ScoreNormOptions norm_options(Index top_k, const std::string& std_convention, double std_floor, int threads) {
  ScoreNormOptions o;
  o.top_k = top_k;
  if (std_convention == "population") o.std_convention = StdConvention::Population;
  else if (std_convention == "unbiased") o.std_convention = StdConvention::Unbiased;
  else throw InvalidArgument(detail::message("std_convention must be 'population' or 'unbiased', got '", std_convention, "'"));
  o.std_floor = std_floor;
  o.num_threads = threads_arg(threads);
  return o;
}

/// A cohort matrix the method does not need may be None: an empty matrix stands in for it.
MatrixArg<double> cohort_arg(py::handle m, const char* what, bool needed) {
  if (m.is_none()) {
    if (needed) throw InvalidArgument(detail::message(what, " is needed by this method"));
    return matrix_arg<double>(py::array_t<double>(std::vector<Index>{0, 0}), what, false);
  }
  return matrix_arg<double>(m, what, false);
}

CalibrationOptions calibration_options(double prior, double l2, int max_iterations, int threads) {
  CalibrationOptions o;
  o.prior = prior;
  o.l2 = l2;
  o.max_iterations = max_iterations;
  o.num_threads = threads_arg(threads);
  return o;
}

}  // namespace

void bind_scoring(py::module_& m) {
  m.def("normalise_scores", [](py::handle scores, const std::string& method, py::handle enrol_cohort, py::handle cohort_test,
                               Index top_k, const std::string& std_convention, double std_floor, int threads) {
        const ScoreNorm mth = method_arg(method);
        MatrixArg<double> s = matrix_arg<double>(scores, "scores", false);
        MatrixArg<double> e = cohort_arg(enrol_cohort, "enrol_cohort", mth != ScoreNorm::T);
        MatrixArg<double> t = cohort_arg(cohort_test, "cohort_test", mth != ScoreNorm::Z);
        const ScoreNormOptions o = norm_options(top_k, std_convention, std_floor, threads);
        Matrix<double> out;
        {
          py::gil_scoped_release release;
          out = normalise_scores(s.map, mth, e.map, t.map, o);
        }
        return to_numpy(std::move(out));
      }, py::arg("scores"), py::arg("method") = "s", py::kw_only(), py::arg("enrol_cohort") = py::none(),
      py::arg("cohort_test") = py::none(), py::arg("top_k") = 0, py::arg("std_convention") = "population",
      py::arg("std_floor") = 0.0, py::arg("threads") = 1,
      "Normalises an (E, T) score matrix against the cohort: z-norm uses enrol_cohort (E, K), t-norm cohort_test "
      "(K, T), s-norm both; top_k > 0 takes each row's (column's) statistics over its top_k cohort scores: "
      "adaptive s-norm (AS-norm) is method='s' with top_k.");
  m.def("normalise_trial_scores", [](py::handle trial_scores, py::handle enrol_index, py::handle test_index, const std::string& method,
                                     py::handle enrol_cohort, py::handle cohort_test, Index top_k, const std::string& std_convention,
                                     double std_floor, int threads) {
        const ScoreNorm mth = method_arg(method);
        VectorArg<double> s = vector_arg<double>(trial_scores, "trial_scores");
        TrialIndices trials;
        trials.enrol = index_vector(enrol_index, "enrol_index");
        trials.test = index_vector(test_index, "test_index");
        MatrixArg<double> e = cohort_arg(enrol_cohort, "enrol_cohort", mth != ScoreNorm::T);
        MatrixArg<double> t = cohort_arg(cohort_test, "cohort_test", mth != ScoreNorm::Z);
        const ScoreNormOptions o = norm_options(top_k, std_convention, std_floor, threads);
        Vector<double> out;
        {
          py::gil_scoped_release release;
          out = normalise_trial_scores(s.map, trials, mth, e.map, t.map, o);
        }
        return to_numpy(std::move(out));
      }, py::arg("trial_scores"), py::arg("enrol_index"), py::arg("test_index"), py::arg("method") = "s", py::kw_only(),
      py::arg("enrol_cohort") = py::none(), py::arg("cohort_test") = py::none(), py::arg("top_k") = 0,
      py::arg("std_convention") = "population", py::arg("std_floor") = 0.0, py::arg("threads") = 1,
      "The same for a trial list: trial i scores enrolment enrol_index[i] (a row of enrol_cohort) against test "
      "segment test_index[i] (a column of cohort_test); statistics are computed only for those used.");

  py::class_<LinearCalibration>(m, "LinearCalibration",
      "llr = w . scores + b, trained by prior-weighted logistic regression (BOSARIS); one system (calibration) "
      "or several (fusion)")
      .def_static("train", [](py::handle targets, py::handle nontargets, double prior, double l2, int max_iterations, int threads) {
        const CalibrationOptions o = calibration_options(prior, l2, max_iterations, threads);
        py::array t = py::array::ensure(targets), n = py::array::ensure(nontargets);
        if (t && n && t.ndim() == 2 && n.ndim() == 2) {
          MatrixArg<double> tm = matrix_arg<double>(t, "targets", false), nm = matrix_arg<double>(n, "nontargets", false);
          py::gil_scoped_release release;
          return train_linear_fusion(tm.map, nm.map, o);
        }
        VectorArg<double> tv = vector_arg<double>(targets, "targets"), nv = vector_arg<double>(nontargets, "nontargets");
        py::gil_scoped_release release;
        return train_linear_calibration(ScoreView(tv.map), ScoreView(nv.map), o);
      }, py::arg("targets"), py::arg("nontargets"), py::kw_only(), py::arg("prior") = 0.5, py::arg("l2") = 0.0,
      py::arg("max_iterations") = 100, py::arg("threads") = 1,
      "Trains on target and non-target scores: 1-D arrays (calibration) or (n, systems) arrays (fusion)")
      .def(py::init([](py::handle weights, double offset, double prior) {
             return LinearCalibration(Vector<double>(vector_arg<double>(weights, "weights").map), offset, prior);
           }), py::arg("weights"), py::arg("offset"), py::kw_only(), py::arg("prior") = 0.5)
      .def_property_readonly("weights", [](const LinearCalibration& c) { return to_numpy(Vector<double>(c.weights())); })
      .def_property_readonly("offset", &LinearCalibration::offset)
      .def_property_readonly("prior", &LinearCalibration::prior)
      .def_property_readonly("n_systems", &LinearCalibration::num_systems)
      .def("__call__", [](const LinearCalibration& c, py::handle scores) -> py::object {
        py::array a = py::array::ensure(scores);
        if (a && a.ndim() == 2) {
          MatrixArg<double> s = matrix_arg<double>(a, "scores", false);
          if (c.num_systems() == 1) {
            Matrix<double> out = c.apply(s.map);
            return to_numpy(std::move(out));
          }
          Vector<double> out = c.fuse(s.map);
          return to_numpy(std::move(out));
        }
        if (a && a.ndim() == 0) return py::float_(c(a.cast<double>()));
        VectorArg<double> v = vector_arg<double>(scores, "scores");
        Vector<double> out = c.apply(v.map);
        return to_numpy(std::move(out));
      }, py::arg("scores"),
      "Calibrated log-likelihood ratios: of every score (one system), or of each row of an (n, systems) array (fusion)")
      .def("save", &LinearCalibration::save)
      .def_static("load", &LinearCalibration::load)
      .def("__repr__", [](const LinearCalibration& c) {
        return detail::message("LinearCalibration(n_systems=", c.num_systems(), ", offset=", c.offset(), ")");
      });
}

}  // namespace ivkit::python
