// The front end against files written by Kaldi's own binaries on espeak-ng speech
// (tests/data/kaldi_recipe, from ../shared/kaldi: compute-mfcc-feats with the voxceleb conf,
// compute-fbank-feats, compute-vad, add-deltas, apply-cmvn-sliding, select-voiced-frames).
//
// The tolerance, and why it depends on the frame: this speech is band-limited, so the mel bins near
// 7.6 kHz hold as little as 1e-7 of a frame's energy, which is the rounding floor of Kaldi's float
// FFT. Kaldi's own log energies of those bins are rounding noise: ivkit in double differs from Kaldi
// there as much as ivkit in float does (0.019 on one cepstrum), and the cepstral lifter (up to 12x)
// amplifies it. So:
//  - fbank: bins holding at least 1e-3 of their frame's energy agree to 2.5e-4 (measured 1.1e-4);
//    every bin to 1e-2 (measured 8.0e-3);
//  - MFCC: frames whose weakest mel bin holds at least 1% of the frame's energy agree to 2.5e-4
//    (measured 1.8e-4); every frame to 2.5e-2 (measured 2.0e-2);
//  - VAD and frame counts are identical; deltas, sliding CMN and voiced-frame selection on Kaldi's
//    MFCCs agree to 2e-5 (float rounding of sums of up to 300 frames).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <ivkit/features/cmvn.hpp>
#include <ivkit/features/deltas.hpp>
#include <ivkit/features/fbank.hpp>
#include <ivkit/features/mfcc.hpp>
#include <ivkit/features/vad.hpp>
#include <ivkit/features/wav_reader.hpp>
#include <ivkit/io/kaldi_reader.hpp>

#include "support/files.hpp"

using namespace ivkit;

namespace {

/// conf/mfcc.conf of egs/voxceleb/v1, with --dither=0.
MfccOptions voxceleb_mfcc() {
  MfccOptions o;
  o.frame.snip_edges = false;
  o.mel.num_bins = 30;
  o.mel.low_freq = 20;
  o.mel.high_freq = 7600;
  o.num_ceps = 24;
  return o;
}

/// Log mel energies of each bin minus the log windowed frame energy, in double: how far above the
/// float rounding floor each bin is.
Matrix<double> bin_margins(const WavData& w, const MelOptions& mel, const FrameOptions& frame) {
  FbankOptions fo;
  fo.frame = frame;
  fo.mel = mel;
  fo.use_energy = true;
  fo.raw_energy = false;
  const Matrix<double> f = Fbank<double>(fo).compute(w.vector().cast<double>(), w.sample_rate());
  return f.rightCols(mel.num_bins).colwise() - f.col(0);
}

}  // namespace

TEST_CASE("MFCC of the voxceleb conf equals compute-mfcc-feats' within the stated tolerance") {
  const MfccOptions o = voxceleb_mfcc();
  const Mfcc<float> mfcc(o);
  double worst_clear = 0, worst_all = 0;
  Index clear_frames = 0, frames = 0;
  for (KaldiSequentialReader<Matrix<float>> ref("ark:" + ivkit_test::recipe_fixture("mfcc.ark")); !ref.done(); ref.next()) {
    const WavData w = read_wav(ivkit_test::recipe_fixture("wav/" + ref.key() + ".wav"));
    const Matrix<float> m = mfcc.compute(w.vector(), w.sample_rate());
    REQUIRE(m.rows() == ref.value().rows());
    REQUIRE(m.cols() == 24);
    const Matrix<double> margin = bin_margins(w, o.mel, o.frame);
    for (Index t = 0; t < m.rows(); ++t) {
      const double d = (m.row(t) - ref.value().row(t)).cwiseAbs().maxCoeff();
      worst_all = std::max(worst_all, d);
      ++frames;
      if (margin.row(t).minCoeff() >= std::log(1e-2)) {
        worst_clear = std::max(worst_clear, d);
        ++clear_frames;
      }
    }
  }
  MESSAGE("MFCC: ", frames, " frames, worst ", worst_all, "; ", clear_frames, " frames clear of the rounding floor, worst ", worst_clear);
  CHECK(frames == 2036);
  CHECK(clear_frames > 200);
  CHECK(worst_clear <= 2.5e-4);
  CHECK(worst_all <= 2.5e-2);
}

TEST_CASE("log mel filterbanks equal compute-fbank-feats' within the stated tolerance") {
  FbankOptions o;
  o.frame.snip_edges = false;
  o.mel.num_bins = 40;
  o.mel.low_freq = 20;
  o.mel.high_freq = 7600;
  const Fbank<float> fbank(o);
  double worst_clear = 0, worst_all = 0;
  for (KaldiSequentialReader<Matrix<float>> ref("ark:" + ivkit_test::recipe_fixture("fbank.ark")); !ref.done(); ref.next()) {
    const WavData w = read_wav(ivkit_test::recipe_fixture("wav/" + ref.key() + ".wav"));
    const Matrix<float> m = fbank.compute(w.vector(), w.sample_rate());
    REQUIRE(m.rows() == ref.value().rows());
    const Matrix<double> margin = bin_margins(w, o.mel, o.frame);
    for (Index t = 0; t < m.rows(); ++t)
      for (Index b = 0; b < m.cols(); ++b) {
        const double d = std::abs(m(t, b) - ref.value()(t, b));
        worst_all = std::max(worst_all, d);
        if (margin(t, b) >= std::log(1e-3)) worst_clear = std::max(worst_clear, d);
      }
  }
  MESSAGE("fbank: worst ", worst_all, "; bins clear of the rounding floor, worst ", worst_clear);
  CHECK(worst_clear <= 2.5e-4);
  CHECK(worst_all <= 1e-2);
}

TEST_CASE("compute-vad, add-deltas, apply-cmvn-sliding and select-voiced-frames on Kaldi's MFCCs") {
  KaldiRandomAccessReader<Vector<float>> vad(std::string("ark:") + ivkit_test::recipe_fixture("vad.ark"));
  KaldiRandomAccessReader<Matrix<float>> deltas(std::string("ark:") + ivkit_test::recipe_fixture("feats_deltas.ark"));
  KaldiRandomAccessReader<Matrix<float>> cmn(std::string("ark:") + ivkit_test::recipe_fixture("feats_cmvn.ark"));
  KaldiRandomAccessReader<Matrix<float>> sid(std::string("ark:") + ivkit_test::recipe_fixture("feats_sid.ark"));
  DeltaOptions d;
  d.order = 2;
  d.window = 3;
  SlidingCmvnOptions c;  // 300 frames, centred, means only: sid's defaults
  Index checked_deltas = 0;
  for (KaldiSequentialReader<Matrix<float>> mfcc("ark:" + ivkit_test::recipe_fixture("mfcc.ark")); !mfcc.done(); mfcc.next()) {
    const std::string& key = mfcc.key();
    const std::vector<bool> voiced = compute_vad(mfcc.value(), VadOptions{5.5, 0.5, 0, 0.6});
    const Vector<float>& ref_vad = vad.value(key);
    REQUIRE(static_cast<Index>(voiced.size()) == ref_vad.size());
    for (Index t = 0; t < ref_vad.size(); ++t) CHECK(voiced[static_cast<std::size_t>(t)] == (ref_vad(t) == 1.0f));
    const Matrix<float> with_deltas = add_deltas(mfcc.value(), d);
    if (deltas.has_key(key)) {
      CHECK((with_deltas - deltas.value(key)).cwiseAbs().maxCoeff() <= 2e-5);
      ++checked_deltas;
    }
    const Matrix<float> normalised = apply_cmvn_sliding(with_deltas, c);
    if (cmn.has_key(key)) CHECK((normalised - cmn.value(key)).cwiseAbs().maxCoeff() <= 2e-5);
    const Matrix<float> selected = select_voiced_frames(normalised, voiced);
    REQUIRE(selected.rows() == sid.value(key).rows());
    CHECK((selected - sid.value(key)).cwiseAbs().maxCoeff() <= 2e-5);
  }
  CHECK(checked_deltas == 2);
}
