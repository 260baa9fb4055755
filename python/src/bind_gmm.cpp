// ivkit.DiagGmm, ivkit.FullGmm, their EM statistics and update, and the UBM trainer. One Python
// class per model kind holds either precision; frames of the other dtype are converted once.
#include <pybind11/stl.h>

#include <variant>

#include "arrays.hpp"
#include "models.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/gmm/init.hpp"
#include "ivkit/gmm/train.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/model_files.hpp"

namespace ivkit::python {
namespace {

/// Calls f(model, frames map, layout tag) with the frames read in the model's precision: C-ordered
/// arrays as frames-as-rows and Fortran-ordered ones as frames-as-columns, both without a copy.
template <class Model, class F>
auto with_frames(const Model& model, py::handle x, F&& f) {
  using T = typename Model::Scalar;
  MatrixArg<T> frames = matrix_arg<T>(x, "X");
  py::gil_scoped_release release;
  if (frames.transposed) return f(frames.map, FramesAsCols{});
  return f(frames.map, FramesAsRows{});
}

// Results to Python: Eigen objects become arrays, other values their pybind11 conversion.
template <class V>
py::object to_python(V&& v) {
  using Plain = std::decay_t<V>;
  if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<Plain>, Plain>) return to_numpy(std::forward<V>(v));
  else return py::cast(std::forward<V>(v));
}

template <class A, class B>
py::object to_python(std::pair<A, B>&& v) {
  return py::make_tuple(to_python(std::move(v.first)), to_python(std::move(v.second)));
}

template <class PyModel, class F>
py::object visit_frames(const PyModel& self, py::handle x, F&& f) {
  return std::visit([&](const auto& m) -> py::object {
    auto result = with_frames(m, x, [&](const auto& frames, auto layout) { return f(m, frames, layout); });
    return py::reinterpret_steal<py::object>(to_python(std::move(result)).release());
  }, self.model);
}

struct PySparsePosteriors {
  py::array offsets, components, values, log_likelihoods;
};

template <class S>
PySparsePosteriors sparse_to_python(SparsePosteriors<S>&& p) {
  std::vector<std::int64_t> offsets(p.offsets.begin(), p.offsets.end());
  return {to_numpy(std::move(offsets)), to_numpy(std::move(p.components)), to_numpy(std::move(p.values)),
          to_numpy(std::move(p.frame_log_likelihoods))};
}

struct PyGaussianSelection {
  py::array indices, log_likelihoods;
};

GaussianSelection selection_arg(py::handle indices, Index num_frames, Index num_components) {
  auto a = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>::ensure(indices);
  if (!a || a.ndim() != 2) throw DimensionMismatch("selection: expected an N x n array of component indices");
  if (a.shape(0) != num_frames)
    throw DimensionMismatch(detail::message("selection: ", a.shape(0), " rows for ", num_frames, " frames"));
  GaussianSelection sel;
  sel.indices = Eigen::Map<const IndexMatrix>(a.data(), a.shape(0), a.shape(1));
  for (Index i = 0; i < sel.indices.size(); ++i) {
    const auto c = sel.indices.data()[i];
    if (c < 0 || c >= num_components)
      throw InvalidArgument(detail::message("selection: component index ", c, " at frame ", i / std::max<Index>(1, a.shape(1)),
                                            " is outside [0, ", num_components, ")"));
  }
  sel.frame_log_likelihoods = Vector<double>::Zero(num_frames);
  return sel;
}

ScoringOptions scoring(int threads) {
  ScoringOptions o;
  o.num_threads = threads_arg(threads);
  return o;
}

EmUpdateOptions update_options(double variance_floor, double absolute_variance_floor, double min_weight, double min_occupancy,
                               const std::string& low_occupancy, double max_condition, bool weights, bool means, bool variances) {
  EmUpdateOptions o;
  o.variance_floor = variance_floor;
  o.absolute_variance_floor = absolute_variance_floor;
  o.min_weight = min_weight;
  o.min_occupancy = min_occupancy;
  o.max_condition = max_condition;
  if (low_occupancy == "remove") o.low_occupancy = LowOccupancy::Remove;
  else if (low_occupancy == "split") o.low_occupancy = LowOccupancy::SplitHeaviest;
  else if (low_occupancy == "keep") o.low_occupancy = LowOccupancy::KeepPrevious;
  else if (low_occupancy == "kaldi") o.low_occupancy = LowOccupancy::KeepPreviousMinWeight;
  else throw InvalidArgument(detail::message("low_occupancy must be 'remove', 'split', 'keep' or 'kaldi', got '", low_occupancy, "'"));
  o.update_weights = weights;
  o.update_means = means;
  o.update_variances = variances;
  return o;
}

#define IVKIT_UPDATE_ARGS                                                                                         \
  py::arg("variance_floor") = 1e-3, py::arg("absolute_variance_floor") = 0.0, py::arg("min_weight") = 1e-5,       \
      py::arg("min_occupancy") = 10.0, py::arg("low_occupancy") = "split", py::arg("max_condition") = 1e4,       \
      py::arg("update_weights") = true, py::arg("update_means") = true, py::arg("update_variances") = true

/// The members both model classes share.
template <class PyModel, class Cls>
void bind_scoring(Cls& cls) {
  cls.def_property_readonly("n_components", [](const PyModel& s) { return std::visit([](const auto& m) { return m.num_components(); }, s.model); })
      .def_property_readonly("dim", [](const PyModel& s) { return std::visit([](const auto& m) { return m.dim(); }, s.model); })
      .def_property_readonly("dtype", [](const PyModel& s) { return py::dtype(dtype_name(s.dtype())); })
      .def_property_readonly("weights", [](py::object self) {
        const auto& s = self.cast<const PyModel&>();
        return std::visit([&](const auto& m) { return readonly_matrix_view(m.weights(), self); }, s.model);
      }, "(C,) mixture weights, a read-only view that keeps the model alive")
      .def_property_readonly("means", [](py::object self) {
        const auto& s = self.cast<const PyModel&>();
        return std::visit([&](const auto& m) { return readonly_matrix_view(m.means(), self); }, s.model);
      }, "(C, D) means, a read-only view")
      .def("log_likelihoods", [](const PyModel& s, py::handle x, int threads) {
        return visit_frames(s, x, [&](const auto& m, const auto& f, auto layout) {
          return m.template log_likelihoods<decltype(layout)>(f, scoring(threads));
        });
      }, py::arg("X"), py::kw_only(), py::arg("threads") = 1, "log p(x_t) of every frame (N,)")
      .def("component_log_likelihoods", [](const PyModel& s, py::handle x, int threads) {
        return visit_frames(s, x, [&](const auto& m, const auto& f, auto layout) {
          return m.template component_log_likelihoods<decltype(layout)>(f, scoring(threads));
        });
      }, py::arg("X"), py::kw_only(), py::arg("threads") = 1, "log w_c + log N(x_t; mu_c, Sigma_c), (N, C)")
      .def("posteriors", [](const PyModel& s, py::handle x, int threads) {
        return visit_frames(s, x, [&](const auto& m, const auto& f, auto layout) {
          using T = typename std::decay_t<decltype(m)>::Scalar;
          Vector<T> ll;
          auto post = m.template posteriors<decltype(layout)>(f, &ll, scoring(threads));
          return std::make_pair(std::move(post), std::move(ll));
        });
      }, py::arg("X"), py::kw_only(), py::arg("threads") = 1,
         "(posteriors (N, C), log_likelihoods (N,)): component posteriors of every frame")
      .def("top_n_posteriors", [](const PyModel& s, py::handle x, Index n, double min_post, int threads) {
        return visit_frames(s, x, [&](const auto& m, const auto& f, auto layout) {
          return sparse_to_python(m.template top_n_posteriors<decltype(layout)>(f, TopNOptions{n, min_post}, scoring(threads)));
        });
      }, py::arg("X"), py::arg("n") = 20, py::kw_only(), py::arg("min_post") = 0.0, py::arg("threads") = 1,
         "The n largest posteriors of every frame, pruned below min_post and renormalised "
         "(Kaldi's gmm-global-get-post --n --min-post), as SparsePosteriors")
      .def("gaussian_selection", [](const PyModel& s, py::handle x, Index n, int threads) {
        return visit_frames(s, x, [&](const auto& m, const auto& f, auto layout) {
          GaussianSelection g = m.template gaussian_selection<decltype(layout)>(f, n, scoring(threads));
          return PyGaussianSelection{to_numpy(std::move(g.indices)), to_numpy(std::move(g.frame_log_likelihoods))};
        });
      }, py::arg("X"), py::arg("n") = 20, py::kw_only(), py::arg("threads") = 1,
         "Kaldi's gmm-gselect: the n best components of every frame (N, n) int32, best first, and the "
         "log-likelihood over them (N,)")
      .def("selected_posteriors", [](const PyModel& s, py::handle x, py::handle selection, double min_post, int threads) {
        return std::visit([&](const auto& m) {
          using T = typename std::decay_t<decltype(m)>::Scalar;
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          GaussianSelection sel = selection_arg(selection, f.rows(), m.num_components());
          py::gil_scoped_release release;
          auto p = m.selected_posteriors(f.map, sel, min_post, scoring(threads));
          py::gil_scoped_acquire acquire;
          return sparse_to_python(std::move(p));
        }, s.model);
      }, py::arg("X"), py::arg("selection"), py::kw_only(), py::arg("min_post") = 0.0, py::arg("threads") = 1,
         "Posteriors over each frame's selected components (fgmm-global-gselect-to-post)")
      .def("accumulate", [](const PyModel& s, py::handle x, Index top_n, double min_post, int threads) {
        return std::visit([&](const auto& m) {
          EmAccumulator acc(m);
          AccumulateOptions o;
          o.num_threads = threads_arg(threads);
          o.top_n = top_n;
          o.min_post = min_post;
          with_frames(m, x, [&](const auto& f, auto layout) {
            accumulate_em_stats<decltype(layout)>(m, f, acc, o);
            return 0;
          });
          return acc;
        }, s.model);
      }, py::arg("X"), py::kw_only(), py::arg("top_n") = 0, py::arg("min_post") = 0.0, py::arg("threads") = 1,
         "EM statistics of the frames (EmStats); statistics of several calls add with +=")
      .def("em_update", [](const PyModel& s, const EmAccumulator& acc, double vf, double avf, double mw, double mo,
                           const std::string& lo, double mc, bool w, bool mu, bool var) {
        const EmUpdateOptions o = update_options(vf, avf, mw, mo, lo, mc, w, mu, var);
        return std::visit([&](const auto& m) { return PyModel{em_update(m, acc, o)}; }, s.model);
      }, py::arg("stats"), py::kw_only(), IVKIT_UPDATE_ARGS, "The M-step: a new model from this model's statistics")
      .def("train_em", [](const PyModel& s, py::handle x, int num_iterations, double vf, double avf, double mw, double mo,
                          const std::string& lo, double mc, bool w, bool mu, bool var, std::uint64_t seed, int threads) {
        EmOptions o;
        o.num_iterations = num_iterations;
        o.update = update_options(vf, avf, mw, mo, lo, mc, w, mu, var);
        o.update.seed = seed;
        o.accumulate.num_threads = threads_arg(threads);
        o.evaluate_final = false;
        return std::visit([&](const auto& m) {
          return PyModel{with_frames(m, x, [&](const auto& f, auto layout) { return train_em<decltype(layout)>(m, f, o); })};
        }, s.model);
      }, py::arg("X"), py::kw_only(), py::arg("num_iterations") = 10, IVKIT_UPDATE_ARGS, py::arg("seed") = 0,
         py::arg("threads") = 1,
         "num_iterations of EM on the frames from this model (ivkit-train-ubm's iterations; low-occupancy components "
         "re-split with directions drawn from seed): a new model, the same for any thread count")
      .def("astype", [](const PyModel& s, py::object dtype) {
        const DType t = dtype_arg(dtype, s.dtype());
        return std::visit([&](const auto& m) {
          return t == DType::Float32 ? PyModel{m.template cast<float>()} : PyModel{m.template cast<double>()};
        }, s.model);
      }, py::arg("dtype"))
      .def("__repr__", [](const PyModel& s) {
        return std::visit([&](const auto& m) {
          return detail::message(std::is_same_v<PyModel, PyDiagGmm> ? "DiagGmm" : "FullGmm", "(n_components=", m.num_components(),
                                 ", dim=", m.dim(), ", dtype=", dtype_name(s.dtype()), ")");
        }, s.model);
      });
}

template <class T>
PyDiagGmm make_diag(py::handle w, py::handle mu, py::handle var) {
  return PyDiagGmm{DiagGmm<T>(vector_arg<T>(w, "weights").map, matrix_arg<T>(mu, "means", false).map,
                              matrix_arg<T>(var, "variances", false).map)};
}

template <class T>
PyFullGmm make_full(py::handle w, py::handle mu, py::handle cov) {
  auto covs = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(as_float_array<T>(cov, "covariances"));
  if (covs.ndim() != 3 || covs.shape(1) != covs.shape(2))
    throw DimensionMismatch("FullGmm: covariances must be a (C, D, D) array");
  std::vector<ColMatrix<T>> list;
  const Index D = covs.shape(1);
  for (Index c = 0; c < covs.shape(0); ++c)
    list.push_back(Eigen::Map<const Matrix<T>>(covs.data() + c * D * D, D, D));
  return PyFullGmm{FullGmm<T>(vector_arg<T>(w, "weights").map, matrix_arg<T>(mu, "means", false).map, std::move(list))};
}


}  // namespace

void bind_gmm(py::module_& m) {
  py::class_<PySparsePosteriors>(m, "SparsePosteriors",
                                 "Posteriors of each frame over a few components, stored as CSR rows: frame t's entries are "
                                 "components[offsets[t]:offsets[t+1]] and values[offsets[t]:offsets[t+1]]")
      .def_readonly("offsets", &PySparsePosteriors::offsets)
      .def_readonly("components", &PySparsePosteriors::components)
      .def_readonly("values", &PySparsePosteriors::values)
      .def_readonly("log_likelihoods", &PySparsePosteriors::log_likelihoods);
  py::class_<PyGaussianSelection>(m, "GaussianSelection")
      .def_readonly("indices", &PyGaussianSelection::indices)
      .def_readonly("log_likelihoods", &PyGaussianSelection::log_likelihoods);

  py::class_<EmAccumulator>(m, "EmStats",
                            "EM sufficient statistics, centred on the model's centre: occupancy (C,), first (C, D), "
                            "second (C, D) diagonal or (C, D(D+1)/2) packed lower triangle (full)")
      .def_property_readonly("centre", [](py::object self) { return readonly_matrix_view(self.cast<const EmAccumulator&>().centre, self); })
      .def_property_readonly("occupancy", [](py::object self) { return readonly_matrix_view(self.cast<const EmAccumulator&>().occupancy, self); })
      .def_property_readonly("first", [](py::object self) { return readonly_matrix_view(self.cast<const EmAccumulator&>().first, self); })
      .def_property_readonly("second", [](py::object self) { return readonly_matrix_view(self.cast<const EmAccumulator&>().second, self); })
      .def_readonly("log_likelihood", &EmAccumulator::log_likelihood)
      .def_readonly("num_frames", &EmAccumulator::num_frames)
      .def_readonly("full_covariance", &EmAccumulator::full_covariance)
      .def("__iadd__", [](EmAccumulator& a, const EmAccumulator& b) -> EmAccumulator& { return a += b; })
      .def("copy", [](const EmAccumulator& a) { return a; });

  auto diag = py::class_<PyDiagGmm>(m, "DiagGmm", "Diagonal-covariance GMM (weights (C,), means (C, D), variances (C, D)), float32 or float64");
  diag.def(py::init([](py::handle w, py::handle mu, py::handle var, py::object dtype) {
             return dtype_arg(dtype, dtype_of(mu, "means")) == DType::Float32 ? make_diag<float>(w, mu, var) : make_diag<double>(w, mu, var);
           }),
           py::arg("weights"), py::arg("means"), py::arg("variances"), py::kw_only(), py::arg("dtype") = py::none())
      .def_property_readonly("variances", [](py::object self) {
        return std::visit([&](const auto& g) { return readonly_matrix_view(g.variances(), self); }, self.cast<const PyDiagGmm&>().model);
      })
      .def("to_full", [](const PyDiagGmm& s) { return std::visit([](const auto& g) { return PyFullGmm{to_full(g)}; }, s.model); })
      .def("save", [](const PyDiagGmm& s, const std::string& path) { std::visit([&](const auto& g) { save_diag_gmm(path, g); }, s.model); })
      .def_static("load", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyDiagGmm{load_diag_gmm<float>(path)}
                                                                   : PyDiagGmm{load_diag_gmm<double>(path)};
      }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none())
      .def("write_kaldi", [](const PyDiagGmm& s, const std::string& path, bool binary) {
        std::visit([&](const auto& g) { write_kaldi_diag_gmm(path, g, binary); }, s.model);
      }, py::arg("wxfilename"), py::kw_only(), py::arg("binary") = true, "Writes Kaldi's DiagGmm (final.dubm)")
      .def_static("read_kaldi", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyDiagGmm{read_kaldi_diag_gmm<float>(path)}
                                                                   : PyDiagGmm{read_kaldi_diag_gmm<double>(path)};
      }, py::arg("rxfilename"), py::kw_only(), py::arg("dtype") = py::none(), "Reads Kaldi's DiagGmm (final.dubm), text or binary");
  bind_scoring<PyDiagGmm>(diag);

  auto full = py::class_<PyFullGmm>(m, "FullGmm", "Full-covariance GMM (weights (C,), means (C, D), covariances (C, D, D))");
  full.def(py::init([](py::handle w, py::handle mu, py::handle cov, py::object dtype) {
             return dtype_arg(dtype, dtype_of(mu, "means")) == DType::Float32 ? make_full<float>(w, mu, cov) : make_full<double>(w, mu, cov);
           }),
           py::arg("weights"), py::arg("means"), py::arg("covariances"), py::kw_only(), py::arg("dtype") = py::none())
      .def_property_readonly("covariances", [](const PyFullGmm& s) {
        return std::visit([](const auto& g) -> py::array {
          using T = typename std::decay_t<decltype(g)>::Scalar;
          const Index C = g.num_components(), D = g.dim();
          py::array_t<T> out({C, D, D});
          auto o = out.template mutable_unchecked<3>();
          for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < D; ++i)
              for (Index j = 0; j < D; ++j) o(c, i, j) = g.covariances()[static_cast<std::size_t>(c)](i, j);
          return out;
        }, s.model);
      }, "(C, D, D) covariances (a copy)")
      .def("to_diag", [](const PyFullGmm& s) { return std::visit([](const auto& g) { return PyDiagGmm{to_diag(g)}; }, s.model); })
      .def("save", [](const PyFullGmm& s, const std::string& path) { std::visit([&](const auto& g) { save_full_gmm(path, g); }, s.model); })
      .def_static("load", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyFullGmm{load_full_gmm<float>(path)}
                                                                   : PyFullGmm{load_full_gmm<double>(path)};
      }, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none())
      .def("write_kaldi", [](const PyFullGmm& s, const std::string& path, bool binary) {
        std::visit([&](const auto& g) { write_kaldi_full_gmm(path, g, binary); }, s.model);
      }, py::arg("wxfilename"), py::kw_only(), py::arg("binary") = true, "Writes Kaldi's FullGmm (final.ubm)")
      .def_static("read_kaldi", [](const std::string& path, py::object dtype) {
        return dtype_arg(dtype, DType::Float64) == DType::Float32 ? PyFullGmm{read_kaldi_full_gmm<float>(path)}
                                                                   : PyFullGmm{read_kaldi_full_gmm<double>(path)};
      }, py::arg("rxfilename"), py::kw_only(), py::arg("dtype") = py::none(), "Reads Kaldi's FullGmm (final.ubm), text or binary");
  bind_scoring<PyFullGmm>(full);

  m.def("init_diag_gmm", [](py::handle x, Index n_components, const std::string& method, int kmeans_iterations,
                            std::uint64_t seed, Index max_frames, py::object dtype) {
        const DType t = dtype_arg(dtype, dtype_of(x, "X"));
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          py::gil_scoped_release release;
          Random rng(seed);
          const Matrix<T> sample = sample_frames<T>(f.map, max_frames, rng, "init_diag_gmm");
          if (method == "kmeans") return PyDiagGmm{init_kmeans_plus_plus<T>(sample, n_components, kmeans_iterations, rng)};
          if (method == "random_frames") return PyDiagGmm{init_from_random_frames<T>(sample, n_components, rng)};
          throw InvalidArgument(detail::message("init_diag_gmm: method must be 'kmeans' or 'random_frames', got '", method, "'"));
        };
        return t == DType::Float32 ? run(float{}) : run(double{});
      }, py::arg("X"), py::arg("n_components"), py::kw_only(), py::arg("method") = "kmeans", py::arg("kmeans_iterations") = 10,
      py::arg("seed") = 777, py::arg("max_frames") = 200000, py::arg("dtype") = py::none(),
      "An initial diagonal GMM: greedy k-means++ and Lloyd iterations, or random frames (Kaldi's gmm-global-init-from-feats)");

  m.def("train_diag_gmm", [](py::handle x, Index n_components, const std::string& init, int num_iterations,
                             Index initial_components, Index max_init_frames, double vf, double avf, double mw, double mo,
                             const std::string& lo, double mc, bool w, bool mu, bool var, std::uint64_t seed, int threads,
                             py::object dtype) {
        const DType t = dtype_arg(dtype, dtype_of(x, "X"));
        GmmTrainOptions o;
        o.max_init_frames = max_init_frames;
        o.update = update_options(vf, avf, mw, mo, lo, mc, w, mu, var);
        o.evaluate_final = false;
        o.num_components = n_components;
        if (init == "random_frames") o.init = GmmInit::RandomFrames;
        else if (init == "binary_split") o.init = GmmInit::BinarySplit;
        else if (init == "kmeans") o.init = GmmInit::KMeansPlusPlus;
        else throw InvalidArgument(detail::message("train_diag_gmm: init must be 'random_frames', 'binary_split' or 'kmeans', got '", init, "'"));
        o.num_iterations = num_iterations;
        o.initial_components = initial_components;
        o.seed = seed;
        o.accumulate.num_threads = threads_arg(threads);
        auto run = [&](auto tag) {
          using T = decltype(tag);
          MatrixArg<T> f = matrix_arg<T>(x, "X", false);
          py::gil_scoped_release release;
          return PyDiagGmm{train_diag_gmm<T>(f.map, o)};
        };
        return t == DType::Float32 ? run(float{}) : run(double{});
      }, py::arg("X"), py::arg("n_components"), py::kw_only(), py::arg("init") = "random_frames", py::arg("num_iterations") = 20,
      py::arg("initial_components") = 0, py::arg("max_init_frames") = 200000, IVKIT_UPDATE_ARGS, py::arg("seed") = 777,
      py::arg("threads") = 1, py::arg("dtype") = py::none(),
      "Kaldi-style UBM training from scratch (ivkit-train-ubm's trainer): initial_components (0 = n_components) drawn "
      "from at most max_init_frames random frames, mixing up to n_components; the update options as em_update's "
      "(min_weight=1e-4 is the sid recipes' --min-gaussian-weight). Same model for any thread count");
}

}  // namespace ivkit::python
