// ivkit-compute-features: MFCC or log mel filterbank features of every recording (or segment) of an
// audio table, called as Kaldi's compute-mfcc-feats / compute-fbank-feats are: Kaldi's option names
// in Kaldi's --name=value form, --config reading conf/mfcc.conf, `scp:wav.scp` with piped entries,
// wave archives, and --segments doing extract-segments' work in the same process.
#include <cmath>
#include <string>
#include <vector>

#include <ivkit/core/file_io.hpp>
#include <ivkit/core/parallel.hpp>
#include <ivkit/features/fbank.hpp>
#include <ivkit/features/mfcc.hpp>
#include <ivkit/io/kaldi_writer.hpp>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "common/waves.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;

namespace {

struct Job {
  std::string key;
  ivkit::WavData wav;
  std::string origin;
};

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-compute-features",
            "Computes MFCC (default) or log mel filterbank features, equal to Kaldi's compute-mfcc-feats / compute-fbank-feats (within "
            "2e-4 absolute on Kaldi's own output, docs/features.md), one matrix per recording or segment. Options have Kaldi's names and "
            "defaults, except --dither (0: Kaldi's default 1.0 draws from the process-wide rand() and cannot be reproduced; a non-zero "
            "value dithers with a seeded generator, the same for every run). The wav table is Kaldi's: scp:wav.scp whose entries are WAV "
            "files or commands ending in '|', or a wave archive (ark:); --segments cuts utterances out of the recordings as "
            "extract-segments does.",
            "  ivkit-compute-features --config=conf/mfcc.conf scp:data/train/wav.scp ark,scp:mfcc/raw_mfcc.ark,mfcc/raw_mfcc.scp\n"
            "  ivkit-compute-features --config=conf/mfcc.conf --segments=data/dev/segments scp:data/dev/wav.scp ark:- | ...\n"
            "  ivkit-compute-features --feature-type=fbank --num-mel-bins=40 --compress=true scp:wav.scp ark,scp:fbank.ark,fbank.scp");
  tool.enable_kaldi_config();
  std::string wav_rspec, wspec, feature_type = "mfcc", window = "povey", segments_path, utt2dur_wspec;
  ivkit::MfccOptions mfcc;
  ivkit::FbankOptions fbank;
  ivkit::FrameOptions& frame = mfcc.frame;
  ivkit::MelOptions& mel = mfcc.mel;
  bool use_energy = true, subtract_mean = false, compress = false, allow_downsample = false, allow_upsample = false;
  int channel = -1, compression_method = 1;
  double min_duration = 0.0, max_overshoot = 0.5, vtln_warp = 1.0;
  std::string output_format = "kaldi";
  auto& app = tool.app();
  app.add_option("wav-rspecifier", wav_rspec, "audio: scp:wav.scp (files, or commands ending in '|'), or a wave archive ark:...")->required();
  app.add_option("feats-wspecifier", wspec, "output table, e.g. ark,scp:raw_mfcc.ark,raw_mfcc.scp")->required();
  app.add_option("--feature-type", feature_type, "mfcc (compute-mfcc-feats) or fbank (compute-fbank-feats)")
      ->check(CLI::IsMember({"mfcc", "fbank"}));
  // Frame extraction (Kaldi's FrameExtractionOptions).
  app.add_option("--sample-frequency", frame.sample_frequency, "waveform sample rate in Hz (must match the files)");
  app.add_option("--frame-shift", frame.frame_shift_ms, "frame shift in milliseconds");
  app.add_option("--frame-length", frame.frame_length_ms, "frame length in milliseconds");
  app.add_option("--dither", frame.dither, "dithering constant (0 = none; ivkit's default, see above)");
  app.add_option("--preemphasis-coefficient", frame.preemph_coeff, "pre-emphasis coefficient");
  app.add_option("--remove-dc-offset", frame.remove_dc_offset, "subtract the mean of each frame");
  app.add_option("--window-type", window, "povey, hamming, hanning, rectangular, sine or blackman");
  app.add_option("--round-to-power-of-two", frame.round_to_power_of_two, "zero-pad frames to a power of two for the FFT");
  app.add_option("--blackman-coeff", frame.blackman_coeff, "constant of the Blackman window");
  app.add_option("--snip-edges", frame.snip_edges, "only frames that fit wholly in the signal (false: Kaldi's reflected edges, frames = round(samples / shift))");
  app.add_option("--allow-downsample", allow_downsample, "accepted as false only: files at another rate are an error");
  app.add_option("--allow-upsample", allow_upsample, "accepted as false only: files at another rate are an error");
  // Mel banks.
  app.add_option("--num-mel-bins", mel.num_bins, "number of triangular mel bins");
  app.add_option("--low-freq", mel.low_freq, "low cut-off of the mel bins, Hz");
  app.add_option("--high-freq", mel.high_freq, "high cut-off of the mel bins, Hz (<= 0: offset from Nyquist)");
  app.add_option("--vtln-warp", vtln_warp, "accepted as 1.0 only (ivkit has no VTLN)");
  // MFCC and fbank.
  app.add_option("--num-ceps", mfcc.num_ceps, "cepstra per frame, counting C0 (mfcc)");
  app.add_option("--use-energy", use_energy, "mfcc: log energy in place of C0 (default true); fbank: an extra energy column (default false)");
  app.add_option("--energy-floor", mfcc.energy_floor, "floor on the energy (absolute, not log)");
  app.add_option("--raw-energy", mfcc.raw_energy, "energy before pre-emphasis and windowing");
  app.add_option("--cepstral-lifter", mfcc.cepstral_lifter, "cepstral liftering coefficient (0 = none; mfcc)");
  app.add_option("--htk-compat", mfcc.htk_compat, "HTK's layout: energy or C0 last");
  app.add_option("--use-log-fbank", fbank.use_log_fbank, "fbank: log of the mel energies");
  app.add_option("--use-power", fbank.use_power, "fbank: power spectrum (false: magnitude)");
  // The program (compute-mfcc-feats' own options, extract-segments', copy-feats' compression).
  app.add_option("--channel", channel, "channel of the files (-1: expect mono files, 0 = left, 1 = right)");
  app.add_option("--min-duration", min_duration, "skip recordings or segments shorter than this many seconds (with a warning)");
  app.add_option("--subtract-mean", subtract_mean, "subtract each utterance's mean feature vector");
  app.add_option("--output-format", output_format, "kaldi (the only format)")->check(CLI::IsMember({"kaldi"}));
  app.add_option("--write-utt2dur", utt2dur_wspec, "write each utterance's duration in seconds, e.g. ark,t:utt2dur");
  app.add_option("--segments", segments_path, "Kaldi segments file: 'utterance recording start end' (extract-segments)");
  app.add_option("--max-overshoot", max_overshoot, "with --segments: an end up to this many seconds beyond the recording is cut at its end; more is an error");
  app.add_option("--compress", compress, "write compressed matrices (copy-feats --compress)");
  app.add_option("--compression-method", compression_method, "Kaldi's compression method 1-7 (copy-feats --compression-method)")
      ->check(CLI::Range(1, 7));
  tool.add_threads_option();

  return tool.run(argc, argv, [&] {
    if (allow_downsample || allow_upsample) throw UsageError("--allow-downsample and --allow-upsample are not supported: resample the audio first");
    if (vtln_warp != 1.0) throw UsageError("--vtln-warp is not supported (ivkit has no VTLN)");
    frame.window_type = ivkit::parse_window_type(window);
    const bool is_mfcc = feature_type == "mfcc";
    fbank.frame = frame;
    fbank.mel = mel;
    fbank.energy_floor = mfcc.energy_floor;
    fbank.raw_energy = mfcc.raw_energy;
    fbank.htk_compat = mfcc.htk_compat;
    if (is_mfcc) mfcc.use_energy = use_energy;
    else fbank.use_energy = app.count("--use-energy") ? use_energy : false;
    std::unique_ptr<ivkit::Mfcc<float>> mfcc_ex;
    std::unique_ptr<ivkit::Fbank<float>> fbank_ex;
    if (is_mfcc) mfcc_ex = std::make_unique<ivkit::Mfcc<float>>(mfcc);
    else fbank_ex = std::make_unique<ivkit::Fbank<float>>(fbank);

    ivkit::WavReadOptions wopts;
    wopts.channel = channel < 0 ? 0 : channel;
    ivkit::KaldiWriteOptions write_opts;
    write_opts.compress = compress;
    write_opts.compression = static_cast<ivkit::KaldiCompressionMethod>(compression_method);
    ivkit::KaldiWriter<Matrix<float>> out(wspec, write_opts);
    std::string utt2dur_path;  // Kaldi writes it as a text table: ark,t:FILE
    if (!utt2dur_wspec.empty()) {
      const ivkit::KaldiWspecifier w = ivkit::parse_kaldi_wspecifier(utt2dur_wspec);
      if (w.binary || !w.has_archive || w.has_script || w.archive_is_pipe() || w.archive.empty() || w.archive == "-")
        throw UsageError("--write-utt2dur takes a text archive in a file, ark,t:FILE; got '" + utt2dur_wspec + "'");
      utt2dur_path = w.archive;
    }
    std::string utt2dur;

    std::size_t done = 0, skipped = 0;
    double frames_total = 0;
    Progress progress(tool.name(), is_mfcc ? "MFCC" : "filterbanks", 0, "utterances", !tool.quiet());
    std::vector<Job> batch;
    auto flush = [&] {
      std::vector<Matrix<float>> feats(batch.size());
      ivkit::parallel_for_blocks(static_cast<Index>(batch.size()), tool.threads(), [&](Index b) {
        Job& j = batch[static_cast<std::size_t>(b)];
        try {
          feats[static_cast<std::size_t>(b)] = is_mfcc ? mfcc_ex->compute(j.wav.vector(), j.wav.sample_rate())
                                                       : fbank_ex->compute(j.wav.vector(), j.wav.sample_rate());
        } catch (const ivkit::InvalidArgument& e) {
          throw ivkit::InvalidArgument(ivkit::detail::message("utterance '", j.key, "' (", j.origin, "): ", e.what()));
        }
      });
      for (std::size_t i = 0; i < batch.size(); ++i) {
        Matrix<float>& f = feats[i];
        if (subtract_mean && f.rows() > 0) f.rowwise() -= f.colwise().mean().eval();
        out.write(batch[i].key, f);
        if (!utt2dur_path.empty())
          utt2dur += batch[i].key + ' ' +
                     format_float(static_cast<float>(batch[i].wav.samples.size()) / static_cast<float>(batch[i].wav.sample_rate())) + '\n';
        frames_total += static_cast<double>(f.rows());
      }
      done += batch.size();
      progress.add(static_cast<double>(batch.size()));
      batch.clear();
    };
    auto add = [&](Job job) {
      if (channel < 0 && job.wav.info.num_channels != 1)
        throw ivkit::FormatError(ivkit::detail::message("recording '", job.key, "' (", job.origin, ") has ", job.wav.info.num_channels,
                                                        " channels: choose one with --channel"));
      const double seconds = static_cast<double>(job.wav.samples.size()) / job.wav.sample_rate();
      if (seconds < min_duration) {
        tool.warn("skipping '", job.key, "': ", seconds, " s is shorter than --min-duration ", min_duration);
        ++skipped;
        return;
      }
      batch.push_back(std::move(job));
      if (batch.size() >= 64) flush();
    };

    if (segments_path.empty()) {
      WaveReader reader(wav_rspec, wopts);
      Recording rec;
      while (reader.next(rec)) add(Job{rec.key, std::move(rec.wav), rec.origin});
    } else {
      const std::vector<Segment> segments = read_segments(segments_path);
      WaveTable table(wav_rspec, wopts);
      for (const Segment& s : segments) {
        if (!table.has(s.recording))
          throw ivkit::FormatError(ivkit::detail::message("'", segments_path, "' line ", s.line, ": recording '", s.recording, "' is not in '",
                                                          wav_rspec, "'"));
        const Recording& rec = table.get(s.recording);
        add(Job{s.utterance, cut_segment(rec, s, max_overshoot, segments_path),
                ivkit::detail::message("'", segments_path, "' line ", s.line)});
      }
    }
    if (!batch.empty()) flush();
    if (done == 0) throw ivkit::FormatError(ivkit::detail::message("'", wav_rspec, "' gave no utterances"));
    out.close();
    if (!utt2dur_path.empty()) ivkit::write_file_atomically("ivkit-compute-features", utt2dur_path, utt2dur);
    progress.finish(ivkit::detail::message(done, " utterances, ", frames_total, " frames", skipped ? "; " : "",
                                           skipped ? ivkit::detail::message(skipped, " skipped") : std::string()));
  });
}
