// Audio files through libsndfile (built when ivkit::sndfile is available): one channel of a WAV
// file or of a wav.scp entry's command ("sox in.flac -t wav - |").
#include "arrays.hpp"
#include "ivkit/features/wav_reader.hpp"

namespace ivkit::python {

void bind_wav(py::module_& m) {
  m.def("read_wav", [](const std::string& rxfilename, int channel, const std::string& scale, bool any_format) {
        WavReadOptions o;
        o.channel = channel;
        if (scale == "int16") o.scale = SampleScale::Int16;
        else if (scale == "unit") o.scale = SampleScale::Unit;
        else throw InvalidArgument(detail::message("read_wav: scale must be 'int16' or 'unit', got '", scale, "'"));
        o.any_format = any_format;
        WavData w;
        {
          py::gil_scoped_release release;
          w = read_wav_rxfilename(rxfilename, o);
        }
        const int rate = w.sample_rate();
        return py::make_tuple(to_numpy(std::move(w.samples)), rate);
      }, py::arg("rxfilename"), py::kw_only(), py::arg("channel") = 0, py::arg("scale") = "int16", py::arg("any_format") = false,
      "(samples float32, sample_rate) of one channel: a file, or a wav.scp command ending in '|'. scale='int16' gives "
      "16-bit files their integer values (Kaldi's reader), 'unit' samples in [-1, 1).");
}

}  // namespace ivkit::python
