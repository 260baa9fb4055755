// Evaluation metrics on target and non-target scores: EER in its three named conventions,
// minDCF/actDCF, Cllr/minCllr and DET points.
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "ivkit/eval/det.hpp"
#include "ivkit/eval/metrics.hpp"

namespace ivkit::python {
namespace {

/// Scores as a ScoreView of the caller's array (float32 or float64, no copy).
struct Scores {
  py::array array;
  ScoreView view{static_cast<const double*>(nullptr), 0};
};

Scores scores_arg(py::handle obj, const char* what) {
  Scores s;
  py::array a = py::array::ensure(obj);
  if (!a) throw InvalidArgument(detail::message(what, ": expected an array of scores"));
  if (a.ndim() != 1) throw DimensionMismatch(detail::message(what, ": expected a 1-D array, got ", a.ndim(), " dimensions"));
  if (float_dtype_of(a, what) == DType::Float32) {
    auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    s.array = f;
    s.view = ScoreView(f.data(), static_cast<std::size_t>(f.size()));
  } else {
    auto d = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    s.array = d;
    s.view = ScoreView(d.data(), static_cast<std::size_t>(d.size()));
  }
  return s;
}

EerConvention convention_arg(const std::string& c) {
  if (c == "rocch") return EerConvention::Rocch;
  if (c == "kaldi") return EerConvention::Kaldi;
  if (c == "interpolated") return EerConvention::Interpolated;
  throw InvalidArgument(detail::message("convention must be 'rocch', 'kaldi' or 'interpolated', got '", c, "'"));
}

DcfParams dcf_arg(double p_target, double c_miss, double c_fa) {
  DcfParams p;
  p.p_target = p_target;
  p.c_miss = c_miss;
  p.c_fa = c_fa;
  return p;
}

}  // namespace

void bind_eval(py::module_& m) {
  py::class_<EerResult>(m, "EerResult")
      .def_readonly("eer", &EerResult::eer, "proportion in [0, 1]")
      .def_readonly("threshold", &EerResult::threshold)
      .def_readonly("num_targets", &EerResult::num_targets)
      .def_readonly("num_nontargets", &EerResult::num_nontargets)
      .def_property_readonly("convention", [](const EerResult& r) { return std::string(convention_name(r.convention)); })
      .def("__float__", [](const EerResult& r) { return r.eer; })
      .def("__repr__", &EerResult::to_string);
  py::class_<DcfResult>(m, "DcfResult")
      .def_readonly("value", &DcfResult::value, "normalised detection cost")
      .def_readonly("threshold", &DcfResult::threshold)
      .def_readonly("p_miss", &DcfResult::p_miss)
      .def_readonly("p_fa", &DcfResult::p_fa)
      .def("__float__", [](const DcfResult& r) { return r.value; })
      .def("__repr__", &DcfResult::to_string);

  m.def("eer", [](py::handle targets, py::handle nontargets, const std::string& convention) {
        Scores t = scores_arg(targets, "targets"), n = scores_arg(nontargets, "nontargets");
        const EerConvention c = convention_arg(convention);
        py::gil_scoped_release release;
        return eer(t.view, n.view, c);
      }, py::arg("targets"), py::arg("nontargets"), py::kw_only(), py::arg("convention") = "rocch",
      "Equal error rate: 'rocch' (BOSARIS, ROC convex hull), 'kaldi' (compute-eer) or 'interpolated'");
  m.def("min_dcf", [](py::handle targets, py::handle nontargets, double p_target, double c_miss, double c_fa) {
        Scores t = scores_arg(targets, "targets"), n = scores_arg(nontargets, "nontargets");
        const DcfParams p = dcf_arg(p_target, c_miss, c_fa);
        py::gil_scoped_release release;
        return min_dcf(t.view, n.view, p);
      }, py::arg("targets"), py::arg("nontargets"), py::kw_only(), py::arg("p_target") = 0.01, py::arg("c_miss") = 1.0,
      py::arg("c_fa") = 1.0);
  m.def("act_dcf", [](py::handle targets, py::handle nontargets, double p_target, double c_miss, double c_fa) {
        Scores t = scores_arg(targets, "target_llrs"), n = scores_arg(nontargets, "nontarget_llrs");
        const DcfParams p = dcf_arg(p_target, c_miss, c_fa);
        py::gil_scoped_release release;
        return act_dcf(t.view, n.view, p);
      }, py::arg("target_llrs"), py::arg("nontarget_llrs"), py::kw_only(), py::arg("p_target") = 0.01, py::arg("c_miss") = 1.0,
      py::arg("c_fa") = 1.0, "Actual DCF of calibrated log-likelihood ratios at the Bayes threshold");
  m.def("cllr", [](py::handle targets, py::handle nontargets) {
        Scores t = scores_arg(targets, "target_llrs"), n = scores_arg(nontargets, "nontarget_llrs");
        return cllr(t.view, n.view);
      }, py::arg("target_llrs"), py::arg("nontarget_llrs"), "Cost of log-likelihood ratios, in bits");
  m.def("min_cllr", [](py::handle targets, py::handle nontargets) {
        Scores t = scores_arg(targets, "targets"), n = scores_arg(nontargets, "nontargets");
        return min_cllr(t.view, n.view);
      }, py::arg("targets"), py::arg("nontargets"), "Cllr after the optimal monotone calibration (PAV)");
  m.def("det_curve", [](py::handle targets, py::handle nontargets) {
        Scores t = scores_arg(targets, "targets"), n = scores_arg(nontargets, "nontargets");
        DetCurve d = det_curve(SortedScores(t.view, n.view));
        return py::make_tuple(to_numpy(std::move(d.p_miss)), to_numpy(std::move(d.p_fa)), to_numpy(std::move(d.threshold)));
      }, py::arg("targets"), py::arg("nontargets"),
      "(p_miss, p_fa, threshold): every operating point, in order of increasing threshold");
}

}  // namespace ivkit::python
