// The Kaldi-compatible front end on NumPy arrays: MFCC and filterbanks of a waveform, energy VAD,
// deltas, sliding CMVN and voiced-frame selection. Options are Kaldi's command-line names with
// underscores (num_ceps, snip_edges, ...), as keyword arguments or from a Kaldi config file.
#include <pybind11/stl.h>

#include <functional>
#include <map>

#include "arrays.hpp"
#include "ivkit/features/cmvn.hpp"
#include "ivkit/features/deltas.hpp"
#include "ivkit/features/fbank.hpp"
#include "ivkit/features/mfcc.hpp"
#include "ivkit/features/vad.hpp"

namespace ivkit::python {
namespace {

/// Applies keyword options through a table of setters; an unknown name is an error that lists the known ones.
template <class Options>
Options options_from(const py::kwargs& kw, const std::map<std::string, std::function<void(Options&, py::handle)>>& setters,
                     const char* fn) {
  Options o;
  for (const auto& item : kw) {
    const std::string name = py::str(item.first);
    const auto it = setters.find(name);
    if (it == setters.end()) {
      std::string known;
      for (const auto& s : setters) known += (known.empty() ? "" : ", ") + s.first;
      throw InvalidArgument(detail::message(fn, ": unknown option '", name, "' (known: ", known, ")"));
    }
    try {
      it->second(o, item.second);
    } catch (const py::cast_error&) {
      throw InvalidArgument(detail::message(fn, ": option '", name, "' has the wrong type"));
    }
  }
  return o;
}

template <class O>
void add_frame_setters(std::map<std::string, std::function<void(O&, py::handle)>>& s) {
  s["sample_frequency"] = [](O& o, py::handle v) { o.frame.sample_frequency = v.cast<double>(); };
  s["frame_shift"] = [](O& o, py::handle v) { o.frame.frame_shift_ms = v.cast<double>(); };
  s["frame_length"] = [](O& o, py::handle v) { o.frame.frame_length_ms = v.cast<double>(); };
  s["dither"] = [](O& o, py::handle v) { o.frame.dither = v.cast<double>(); };
  s["preemphasis_coefficient"] = [](O& o, py::handle v) { o.frame.preemph_coeff = v.cast<double>(); };
  s["remove_dc_offset"] = [](O& o, py::handle v) { o.frame.remove_dc_offset = v.cast<bool>(); };
  s["window_type"] = [](O& o, py::handle v) { o.frame.window_type = parse_window_type(v.cast<std::string>()); };
  s["blackman_coeff"] = [](O& o, py::handle v) { o.frame.blackman_coeff = v.cast<double>(); };
  s["round_to_power_of_two"] = [](O& o, py::handle v) { o.frame.round_to_power_of_two = v.cast<bool>(); };
  s["snip_edges"] = [](O& o, py::handle v) { o.frame.snip_edges = v.cast<bool>(); };
  s["num_mel_bins"] = [](O& o, py::handle v) { o.mel.num_bins = v.cast<int>(); };
  s["low_freq"] = [](O& o, py::handle v) { o.mel.low_freq = v.cast<double>(); };
  s["high_freq"] = [](O& o, py::handle v) { o.mel.high_freq = v.cast<double>(); };
  s["use_energy"] = [](O& o, py::handle v) { o.use_energy = v.cast<bool>(); };
  s["energy_floor"] = [](O& o, py::handle v) { o.energy_floor = v.cast<double>(); };
  s["raw_energy"] = [](O& o, py::handle v) { o.raw_energy = v.cast<bool>(); };
  s["htk_compat"] = [](O& o, py::handle v) { o.htk_compat = v.cast<bool>(); };
}

const std::map<std::string, std::function<void(MfccOptions&, py::handle)>>& mfcc_setters() {
  static const auto table = [] {
    std::map<std::string, std::function<void(MfccOptions&, py::handle)>> s;
    add_frame_setters(s);
    s["num_ceps"] = [](MfccOptions& o, py::handle v) { o.num_ceps = v.cast<int>(); };
    s["cepstral_lifter"] = [](MfccOptions& o, py::handle v) { o.cepstral_lifter = v.cast<double>(); };
    return s;
  }();
  return table;
}

const std::map<std::string, std::function<void(FbankOptions&, py::handle)>>& fbank_setters() {
  static const auto table = [] {
    std::map<std::string, std::function<void(FbankOptions&, py::handle)>> s;
    add_frame_setters(s);
    s["use_log_fbank"] = [](FbankOptions& o, py::handle v) { o.use_log_fbank = v.cast<bool>(); };
    s["use_power"] = [](FbankOptions& o, py::handle v) { o.use_power = v.cast<bool>(); };
    return s;
  }();
  return table;
}

/// A waveform: 1-D samples (integers are taken at their value, as Kaldi reads 16-bit PCM).
VectorArg<double> signal_arg(py::handle signal) {
  py::array a = py::array::ensure(signal);
  if (!a || a.ndim() != 1) throw DimensionMismatch("signal: expected a 1-D array of samples (one channel)");
  return vector_arg<double>(a, "signal");
}

template <class Extractor, class Options>
py::array compute_frontend(py::handle signal, double sample_rate, const Options& o) {
  VectorArg<double> x = signal_arg(signal);
  Matrix<float> out;
  {
    py::gil_scoped_release release;
    const Extractor fe(o);
    out = sample_rate > 0 ? fe.compute(x.map, sample_rate) : fe.compute(x.map);
  }
  return to_numpy(std::move(out));
}

}  // namespace

void bind_features(py::module_& m) {
  m.def("mfcc", [](py::handle signal, double sample_rate, py::kwargs kw) {
        return compute_frontend<Mfcc<float>>(signal, sample_rate, options_from<MfccOptions>(kw, mfcc_setters(), "mfcc"));
      }, py::arg("signal"), py::arg("sample_rate") = 0.0,
      "Kaldi's compute-mfcc-feats on one channel: (frames, num_ceps) float32. Options are Kaldi's names with "
      "underscores (num_ceps=24, num_mel_bins=30, high_freq=7600, snip_edges=False, ...; dither defaults to 0); "
      "sample_rate, when given, must equal sample_frequency.");
  m.def("fbank", [](py::handle signal, double sample_rate, py::kwargs kw) {
        return compute_frontend<Fbank<float>>(signal, sample_rate, options_from<FbankOptions>(kw, fbank_setters(), "fbank"));
      }, py::arg("signal"), py::arg("sample_rate") = 0.0, "Kaldi's compute-fbank-feats: (frames, num_mel_bins) float32");
  m.def("compute_vad", [](py::handle feats, double energy_threshold, double energy_mean_scale, int frames_context,
                          double proportion_threshold) {
        VadOptions o;
        o.energy_threshold = energy_threshold;
        o.energy_mean_scale = energy_mean_scale;
        o.frames_context = frames_context;
        o.proportion_threshold = proportion_threshold;
        MatrixArg<float> f = matrix_arg<float>(feats, "feats", false);
        std::vector<bool> voiced;
        {
          py::gil_scoped_release release;
          voiced = compute_vad(f.map, o);
        }
        py::array_t<bool> out(static_cast<Index>(voiced.size()));
        auto w = out.mutable_unchecked<1>();
        for (std::size_t i = 0; i < voiced.size(); ++i) w(static_cast<Index>(i)) = voiced[i];
        return out;
      }, py::arg("feats"), py::kw_only(), py::arg("vad_energy_threshold") = 5.0, py::arg("vad_energy_mean_scale") = 0.5,
      py::arg("vad_frames_context") = 0, py::arg("vad_proportion_threshold") = 0.6,
      "Kaldi's compute-vad on features whose first column is the log energy (or C0): one bool per frame");
  m.def("add_deltas", [](py::handle feats, int order, int window) {
        DeltaOptions o;
        o.order = order;
        o.window = window;
        MatrixArg<float> f = matrix_arg<float>(feats, "feats", false);
        Matrix<float> out;
        {
          py::gil_scoped_release release;
          out = add_deltas(f.map, o);
        }
        return to_numpy(std::move(out));
      }, py::arg("feats"), py::kw_only(), py::arg("delta_order") = 2, py::arg("delta_window") = 2, "Kaldi's add-deltas");
  m.def("apply_cmvn_sliding", [](py::handle feats, int cmn_window, int min_cmn_window, bool center, bool norm_vars) {
        SlidingCmvnOptions o;
        o.cmn_window = cmn_window;
        o.min_window = min_cmn_window;
        o.center = center;
        o.norm_vars = norm_vars;
        MatrixArg<float> f = matrix_arg<float>(feats, "feats", false);
        Matrix<float> out;
        {
          py::gil_scoped_release release;
          out = apply_cmvn_sliding(f.map, o);
        }
        return to_numpy(std::move(out));
      }, py::arg("feats"), py::kw_only(), py::arg("cmn_window") = 300, py::arg("min_cmn_window") = 100, py::arg("center") = true,
      py::arg("norm_vars") = false, "Kaldi's apply-cmvn-sliding");
}

}  // namespace ivkit::python
