// ivkit-compute-vad: Kaldi's energy voice-activity detection (compute-vad) on MFCC features whose
// first column is the log energy: one vector of 0/1 per utterance, the same as compute-vad's.
#include <string>

#include <ivkit/features/vad.hpp>
#include <ivkit/io/kaldi_reader.hpp>
#include <ivkit/io/kaldi_writer.hpp>

#include "common/cli.hpp"
#include "common/features.hpp"
#include "common/progress.hpp"

using namespace ivkit_tools;
using ivkit::Index;

int main(int argc, char** argv) {
  Tool tool("ivkit-compute-vad",
            "Energy voice-activity detection, as Kaldi's compute-vad: frame t is voiced when, over the frames t - context .. t + context, "
            "the proportion whose log energy (the first column of the features) exceeds --vad-energy-threshold + "
            "--vad-energy-mean-scale x (the utterance's mean log energy) is at least --vad-proportion-threshold. Writes one vector of "
            "0/1 per utterance (float, as Kaldi), which --vad-rspecifier of the other tools and Kaldi's select-voiced-frames read.",
            "  ivkit-compute-vad --config=conf/vad.conf scp:data/train/feats.scp ark,scp:mfcc/vad.ark,mfcc/vad.scp");
  tool.enable_kaldi_config();
  std::string feats, wspec;
  ivkit::VadOptions vad;
  bool omit_unvoiced = false;
  auto& app = tool.app();
  app.add_option("feats-rspecifier", feats, "MFCC features with the log energy in the first column (--use-energy=true)")->required();
  app.add_option("vad-wspecifier", wspec, "output table of 0/1 vectors, e.g. ark,scp:vad.ark,vad.scp")->required();
  app.add_option("--vad-energy-threshold", vad.energy_threshold, "constant term of the energy threshold");
  app.add_option("--vad-energy-mean-scale", vad.energy_mean_scale, "scale of the mean log energy added to the threshold (0: absolute threshold)");
  app.add_option("--vad-frames-context", vad.frames_context, "frames of context on each side");
  app.add_option("--vad-proportion-threshold", vad.proportion_threshold, "proportion of the context window that must be above the threshold");
  app.add_option("--omit-unvoiced-utts", omit_unvoiced, "write nothing for utterances without a voiced frame");

  return tool.run(argc, argv, [&] {
    ivkit::KaldiWriter<ivkit::Vector<float>> out(wspec);
    Progress progress(tool.name(), "VAD", static_cast<double>(count_script_entries(feats)), "utterances", !tool.quiet());
    double frames = 0, voiced = 0;
    std::size_t utts = 0, omitted = 0;
    for (ivkit::KaldiSequentialReader<ivkit::Matrix<float>> in(feats); !in.done(); in.next()) {
      const std::string& key = in.key();
      const ivkit::Matrix<float>& m = in.value();
      if (m.rows() == 0) {
        tool.warn("utterance '", key, "' has no frames");
        continue;
      }
      std::vector<bool> decisions;
      try {
        decisions = ivkit::compute_vad(m, vad);
      } catch (const ivkit::Error& e) {
        throw ivkit::FormatError(ivkit::detail::message("utterance '", key, "' in '", feats, "': ", e.what()));
      }
      ivkit::Vector<float> v(static_cast<Index>(decisions.size()));
      for (std::size_t t = 0; t < decisions.size(); ++t) v(static_cast<Index>(t)) = decisions[t] ? 1.0f : 0.0f;
      const double n_voiced = v.sum();
      frames += static_cast<double>(m.rows());
      voiced += n_voiced;
      ++utts;
      progress.add(1);
      if (n_voiced == 0) {
        tool.warn("no voiced frames in utterance '", key, "'");
        if (omit_unvoiced) {
          ++omitted;
          continue;
        }
      }
      out.write(key, v);
    }
    if (utts == 0) throw ivkit::FormatError(ivkit::detail::message("'", feats, "' holds no utterances"));
    out.close();
    progress.finish(ivkit::detail::message(utts, " utterances; ", frames > 0 ? 100.0 * voiced / frames : 0.0, "% of ", frames,
                                           " frames voiced", omitted ? ivkit::detail::message("; ", omitted, " omitted") : std::string()));
  });
}
