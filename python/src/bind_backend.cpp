// ivkit.Plda (two-covariance PLDA: training, Kaldi's plda files, count-aware scoring) and cosine
// scoring. Embeddings are one per row; float32 and float64 both, each in its own precision.
#include <pybind11/stl.h>

#include <variant>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/backend/cosine.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_adapt.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/backend/plda_train.hpp"
#include "ivkit/backend/simplified_plda.hpp"
#include "ivkit/io/kaldi_plda.hpp"

namespace ivkit::python {
namespace {

struct PyPlda {
  std::variant<Plda<float>, Plda<double>> model;
  PldaOptions options;
};

TrialIndices trial_indices_arg(py::handle enrol_index, py::handle test_index) {
  TrialIndices t;
  t.enrol = index_vector(enrol_index, "enrol_index");
  t.test = index_vector(test_index, "test_index");
  if (t.enrol.size() != t.test.size())
    throw DimensionMismatch(detail::message("trials: ", t.enrol.size(), " enrolment indices but ", t.test.size(), " test indices"));
  return t;
}

template <class S>
Matrix<S> dense(const MatrixArg<S>& a) {
  return a.transposed ? Matrix<S>(a.map.transpose()) : Matrix<S>(a.map);
}

}  // namespace

void bind_backend(py::module_& m) {
  auto plda = py::class_<PyPlda>(m, "Plda",
      "Two-covariance PLDA (Kaldi's ivector-compute-plda / ivector-plda-scoring). Scores are log-likelihood "
      "ratios; enrolment with several embeddings per speaker is count-aware (pass their mean and count).");
  plda.def_static("train", [](py::handle x, py::handle labels, int num_em_iters, bool normalise_length, bool simple_length_norm) {
        const std::vector<Index> l = index_vector(labels, "labels");
        PldaTrainingOptions o;
        o.num_em_iters = num_em_iters;
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> a = matrix_arg<T>(x, "X", false);
          py::gil_scoped_release release;
          return PyPlda{train_plda<T>(a.map, l, o), {}};
        };
        PyPlda p = dtype_of(x, "X") == DType::Float32 ? run(float{}) : run(double{});
        p.options.normalise_length = normalise_length;
        p.options.simple_length_norm = simple_length_norm;
        return p;
      }, py::arg("X"), py::arg("labels"), py::kw_only(), py::arg("num_em_iters") = 10, py::arg("normalise_length") = true,
      py::arg("simple_length_norm") = false, "Trains PLDA on embeddings X (N, D) labelled by speaker (N,) integers")
      .def_static("train_simplified", [](py::handle x, py::handle labels, Index rank, int num_iters, bool minimum_divergence,
                                         bool normalise_length) {
        const std::vector<Index> l = index_vector(labels, "labels");
        SimplifiedPldaOptions o;
        o.rank = rank;
        o.num_iters = num_iters;
        o.minimum_divergence = minimum_divergence;
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> a = matrix_arg<T>(x, "X", false);
          SimplifiedPldaReport report;
          PyPlda p{[&] {
                     py::gil_scoped_release release;
                     return train_simplified_plda<T>(a.map, l, o, &report).to_plda();
                   }(),
                   {}};
          p.options.normalise_length = normalise_length;
          return py::make_tuple(std::move(p), to_numpy(std::move(report.log_likelihood)));
        };
        return dtype_of(x, "X") == DType::Float32 ? run(float{}) : run(double{});
      }, py::arg("X"), py::arg("labels"), py::kw_only(), py::arg("rank") = 100, py::arg("num_iters") = 10,
      py::arg("minimum_divergence") = true, py::arg("normalise_length") = true,
      "Simplified PLDA x = mu + F y + e (SIDEKIT's, SpeechBrain's) trained by EM, returned as the equivalent "
      "two-covariance Plda (B = F F', W = Sigma) with the log-likelihood per embedding of each iteration")
      .def_static("read_kaldi", [](const std::string& path, py::object dtype, bool normalise_length, bool simple_length_norm) {
        const bool f32 = dtype_arg(dtype, DType::Float64) == DType::Float32;
        PyPlda p = f32 ? PyPlda{read_kaldi_plda<float>(path), {}} : PyPlda{read_kaldi_plda<double>(path), {}};
        p.options.normalise_length = normalise_length;
        p.options.simple_length_norm = simple_length_norm;
        return p;
      }, py::arg("rxfilename"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("normalise_length") = true,
      py::arg("simple_length_norm") = false, "Reads Kaldi's plda file (text or binary)")
      .def("adapt", [](const PyPlda& p, py::handle x, double mean_diff_scale, double within_covar_scale, double between_covar_scale) {
        PldaAdaptor adaptor;
        PldaAdaptationOptions o;
        o.mean_diff_scale = mean_diff_scale;
        o.within_covar_scale = within_covar_scale;
        o.between_covar_scale = between_covar_scale;
        MatrixArg<double> a = matrix_arg<double>(x, "X", false);
        return std::visit([&](const auto& model) {
          py::gil_scoped_release release;
          adaptor.add(a.map);
          return PyPlda{adaptor.adapt(model, o), p.options};
        }, p.model);
      }, py::arg("X"), py::kw_only(), py::arg("mean_diff_scale") = 1.0, py::arg("within_covar_scale") = 0.3,
      py::arg("between_covar_scale") = 0.7,
      "Unsupervised adaptation to unlabelled in-domain embeddings X (Kaldi's ivector-adapt-plda): a new Plda")
      .def("write_kaldi", [](const PyPlda& p, const std::string& path, bool binary) {
        std::visit([&](const auto& m) { write_kaldi_plda(path, m, binary); }, p.model);
      }, py::arg("wxfilename"), py::kw_only(), py::arg("binary") = true)
      .def("save", [](const PyPlda& p, const std::string& path) { std::visit([&](const auto& m) { m.save(path); }, p.model); })
      .def_static("load", [](const std::string& path, py::object dtype) {
        const bool f32 = dtype_arg(dtype, DType::Float64) == DType::Float32;
        return f32 ? PyPlda{Plda<float>::load(path), {}} : PyPlda{Plda<double>::load(path), {}};
      }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none())
      .def_property_readonly("dim", [](const PyPlda& p) { return std::visit([](const auto& m) { return m.dim(); }, p.model); })
      .def_property_readonly("dtype", [](const PyPlda& p) { return py::dtype(p.model.index() == 0 ? "float32" : "float64"); })
      .def_property_readonly("mean", [](py::object self) {
        return std::visit([&](const auto& m) { return readonly_matrix_view(m.mean(), self); }, self.cast<const PyPlda&>().model);
      })
      .def_property_readonly("transform", [](py::object self) {
        return std::visit([&](const auto& m) { return readonly_matrix_view(m.transform(), self); }, self.cast<const PyPlda&>().model);
      }, "(D, D) transform that makes the within-class covariance I and the between-class one diag(psi)")
      .def_property_readonly("psi", [](py::object self) {
        return std::visit([&](const auto& m) { return readonly_matrix_view(m.psi(), self); }, self.cast<const PyPlda&>().model);
      })
      .def_property_readonly("within_covariance", [](const PyPlda& p) {
        return std::visit([](const auto& m) { return to_numpy(m.within_covariance()); }, p.model);
      })
      .def_property_readonly("between_covariance", [](const PyPlda& p) {
        return std::visit([](const auto& m) { return to_numpy(m.between_covariance()); }, p.model);
      })
      .def_property("normalise_length", [](const PyPlda& p) { return p.options.normalise_length; },
                    [](PyPlda& p, bool v) { p.options.normalise_length = v; })
      .def("score_matrix", [](const PyPlda& p, py::handle enrol, py::handle test, py::object counts, int threads) {
        return std::visit([&](const auto& model) {
          using T = typename std::decay_t<decltype(model.mean())>::Scalar;
          const std::vector<Index> c = counts.is_none() ? std::vector<Index>{} : index_vector(counts, "enrol_counts");
          MatrixArg<T> e = matrix_arg<T>(enrol, "enrol", false), t = matrix_arg<T>(test, "test", false);
          Matrix<T> out;
          {
            py::gil_scoped_release release;
            PldaScorer<T> scorer(model, p.options);
            out = scorer.score_matrix(scorer.enrol(e.map, c), scorer.test(t.map), ThreadOptions{threads_arg(threads)});
          }
          return to_numpy(std::move(out));
        }, p.model);
      }, py::arg("enrol"), py::arg("test"), py::kw_only(), py::arg("enrol_counts") = py::none(), py::arg("threads") = 1,
      "Scores of every enrolment (rows; the mean of enrol_counts[k] embeddings) against every test embedding, (E, T)")
      .def("score_trials", [](const PyPlda& p, py::handle enrol, py::handle test, py::handle enrol_index, py::handle test_index,
                              py::object counts, int threads) {
        return std::visit([&](const auto& model) {
          using T = typename std::decay_t<decltype(model.mean())>::Scalar;
          const std::vector<Index> c = counts.is_none() ? std::vector<Index>{} : index_vector(counts, "enrol_counts");
          const TrialIndices trials = trial_indices_arg(enrol_index, test_index);
          MatrixArg<T> e = matrix_arg<T>(enrol, "enrol", false), t = matrix_arg<T>(test, "test", false);
          Vector<T> out;
          {
            py::gil_scoped_release release;
            PldaScorer<T> scorer(model, p.options);
            out = scorer.score_trials(scorer.enrol(e.map, c), scorer.test(t.map), trials, ThreadOptions{threads_arg(threads)});
          }
          return to_numpy(std::move(out));
        }, p.model);
      }, py::arg("enrol"), py::arg("test"), py::arg("enrol_index"), py::arg("test_index"), py::kw_only(),
      py::arg("enrol_counts") = py::none(), py::arg("threads") = 1,
      "Scores of the listed trials: trial i pairs enrol[enrol_index[i]] with test[test_index[i]]")
      .def("__repr__", [](const PyPlda& p) {
        return std::visit([&](const auto& m) {
          return detail::message("Plda(dim=", m.dim(), ", dtype=", p.model.index() == 0 ? "float32" : "float64", ")");
        }, p.model);
      });

  m.def("cosine_score_matrix", [](py::handle enrol, py::handle test, int threads) {
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> e = matrix_arg<T>(enrol, "enrol", false), t = matrix_arg<T>(test, "test", false);
          Matrix<T> out;
          {
            py::gil_scoped_release release;
            out = cosine_score_matrix<T>(e.map, t.map, ThreadOptions{threads_arg(threads)});
          }
          return to_numpy(std::move(out));
        };
        return dtype_of(enrol, "enrol") == DType::Float32 ? run(float{}) : run(double{});
      }, py::arg("enrol"), py::arg("test"), py::kw_only(), py::arg("threads") = 1, "Cosine similarity of every pair of rows, (E, T)");
  m.def("cosine_score_trials", [](py::handle enrol, py::handle test, py::handle enrol_index, py::handle test_index, int threads) {
        const TrialIndices trials = trial_indices_arg(enrol_index, test_index);
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> e = matrix_arg<T>(enrol, "enrol", false), t = matrix_arg<T>(test, "test", false);
          Vector<T> out;
          {
            py::gil_scoped_release release;
            out = cosine_score_trials<T>(e.map, t.map, trials, ThreadOptions{threads_arg(threads)});
          }
          return to_numpy(std::move(out));
        };
        return dtype_of(enrol, "enrol") == DType::Float32 ? run(float{}) : run(double{});
      }, py::arg("enrol"), py::arg("test"), py::arg("enrol_index"), py::arg("test_index"), py::kw_only(), py::arg("threads") = 1);
}

}  // namespace ivkit::python
