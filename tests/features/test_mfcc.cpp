// MFCC and filter banks against a naive double-precision implementation written from the formulas
// (tests/features/naive_frontend.hpp: per frame, naive DFT, explicit mel and DCT loops), within
// 1e-4 relative (|a - b| / max(|b|, 1)) in double (it is 1e-12), for Kaldi's defaults and option
// variants at 16 and 8 kHz; then the extractor's matrices and the errors. In float the FFT's
// round-off is relative to a frame's strongest bin, so weak mel bins (the Blackman window's deep
// side lobes over the quiet stretch) carry up to 2e-4 in the cepstra: float is held to 3e-4, as
// Kaldi's own float code would be.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/features/dct.hpp>
#include <ivkit/features/fbank.hpp>
#include <ivkit/features/mfcc.hpp>

#include "features/naive_frontend.hpp"

using namespace ivkit;
using namespace ivkit_test;

namespace {

// Speech-like test signal on the 16-bit scale: two gliding tones, noise, and a quiet stretch.
std::vector<double> synthetic(int n, double fs, std::uint64_t seed) {
  Random rng(seed);
  const double pi = 3.14159265358979323846;
  std::vector<double> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double t = i / fs;
    const double loud = (i > n / 3 && i < n / 2) ? 0.01 : 1.0;
    s[static_cast<size_t>(i)] = loud * (3000 * std::sin(2 * pi * (300 + 400 * t) * t) + 1200 * std::sin(2 * pi * 2100 * t + 0.3)) +
                                100 * rng.normal();
  }
  return s;
}

double max_rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return ((a - b).cwiseAbs().array() / b.cwiseAbs().cwiseMax(1.0).array()).maxCoeff();
}

MfccOptions to_options(const NaiveMfccOpts& n) {
  MfccOptions o;
  o.frame.sample_frequency = n.frame.fs;
  o.frame.preemph_coeff = n.frame.preemph;
  o.frame.remove_dc_offset = n.frame.remove_dc;
  o.frame.round_to_power_of_two = n.frame.pow2;
  o.frame.snip_edges = n.frame.snip;
  const WindowType w[] = {WindowType::Povey, WindowType::Hamming, WindowType::Hanning,
                          WindowType::Rectangular, WindowType::Sine, WindowType::Blackman};
  o.frame.window_type = w[n.frame.window];
  o.mel.num_bins = n.bins;
  o.mel.low_freq = n.low;
  o.mel.high_freq = n.high;
  o.num_ceps = n.ceps;
  o.cepstral_lifter = n.lifter;
  o.energy_floor = n.energy_floor;
  o.use_energy = n.use_energy;
  o.raw_energy = n.raw_energy;
  o.htk_compat = n.htk_compat;
  return o;
}

std::vector<NaiveMfccOpts> variants() {
  std::vector<NaiveMfccOpts> v(6);
  // 0: Kaldi's defaults.
  v[1].frame.snip = false;  // 1: reflection, Hamming, C0 instead of energy, no lifter
  v[1].frame.window = 1;
  v[1].use_energy = false;
  v[1].lifter = 0;
  v[2].frame.fs = 8000;  // 2: 8 kHz, 15 bins, htk_compat with C0
  v[2].bins = 15;
  v[2].high = -200;
  v[2].htk_compat = true;
  v[2].use_energy = false;
  v[3].frame.pow2 = false;  // 3: 400-point DFT, windowed energy with a floor, no DC removal, Hanning
  v[3].frame.remove_dc = false;
  v[3].frame.window = 2;
  v[3].raw_energy = false;
  v[3].energy_floor = 1e6;
  v[4].bins = 40;  // 4: 40 bins, 20 cepstra, band 100-7000 Hz, rectangular, no pre-emphasis
  v[4].ceps = 20;
  v[4].low = 100;
  v[4].high = 7000;
  v[4].frame.window = 3;
  v[4].frame.preemph = 0;
  v[5].frame.window = 5;  // 5: Blackman, htk_compat with energy
  v[5].htk_compat = true;
  return v;
}

}  // namespace

TEST_CASE_TEMPLATE("MFCC against the naive per-frame implementation", S, float, double) {
  const auto vs = variants();
  for (size_t i = 0; i < vs.size(); ++i) {
    CAPTURE(i);
    const std::vector<double> sig = synthetic(vs[i].frame.fs == 8000 ? 2900 : 5300, vs[i].frame.fs, 11 + i);
    const Eigen::MatrixXd ref = naive_mfcc(sig, vs[i]);
    const Mfcc<S> mfcc(to_options(vs[i]));
    const Matrix<S> got = mfcc.compute(sig, vs[i].frame.fs);
    CHECK(mfcc.dim() == vs[i].ceps);
    const double d = max_rel(got.template cast<double>(), ref);
    MESSAGE("variant ", i, ": max rel diff ", d);
    CHECK(d < (std::is_same_v<S, float> ? 3e-4 : 1e-9));
    CHECK(compute_mfcc<S>(sig, to_options(vs[i])) == got);
  }
}

TEST_CASE_TEMPLATE("filter banks against the naive implementation", S, float, double) {
  const std::vector<double> sig = synthetic(4000, 16000, 3);
  for (int variant = 0; variant < 3; ++variant) {
    NaiveFrameOpts nf;
    FbankOptions o;
    if (variant == 1) {
      o.use_energy = true;
      o.mel.num_bins = 40;
      o.frame.snip_edges = nf.snip = false;
    }
    if (variant == 2) {
      o.use_energy = o.htk_compat = true;
      o.use_power = false;
      o.frame.window_type = WindowType::Hamming;
      nf.window = 1;
    }
    const Matrix<S> got = compute_fbank<S>(sig, o);
    const int frames = naive_num_frames(4000, nf), bins = o.mel.num_bins;
    Eigen::MatrixXd ref(frames, bins + (o.use_energy ? 1 : 0));
    for (int f = 0; f < frames; ++f) {
      const NaiveFrame fr = naive_frame(sig, f, nf);
      std::vector<double> p = naive_power(fr.x);
      if (!o.use_power)
        for (double& v : p) v = std::sqrt(v);
      const std::vector<double> mel = naive_mel_energies(p, 16000, bins, 20, 0);
      const int off = o.use_energy && !o.htk_compat ? 1 : 0;
      for (int b = 0; b < bins; ++b) ref(f, b + off) = std::log(std::max(mel[static_cast<size_t>(b)], 1.1920928955078125e-07));
      if (o.use_energy) ref(f, o.htk_compat ? bins : 0) = fr.raw_log_energy;
    }
    const double d = max_rel(got.template cast<double>(), ref);
    MESSAGE("fbank variant ", variant, ": max rel diff ", d);
    CHECK(d < (std::is_same_v<S, float> ? 1e-4 : 1e-9));
  }
  FbankOptions lin;
  lin.use_log_fbank = false;
  const Matrix<S> linear = compute_fbank<S>(sig, lin), logged = compute_fbank<S>(sig, FbankOptions{});
  CHECK(max_rel(linear.array().log().matrix().template cast<double>(), logged.template cast<double>()) < 1e-5);
}

TEST_CASE("MFCC extractor: matrices are the bank and the liftered DCT") {
  const Mfcc<double> m;
  FrameOptions fo;
  const MelBanks mb = mel_banks(MelOptions{}, fo);
  CHECK(m.mel_matrix().isApprox(mb.weights.transpose(), 1e-15));
  const Eigen::MatrixXd dl = lifter_coefficients(22, 13).asDiagonal() * dct_matrix(13, 23);
  CHECK(m.cepstral_matrix().isApprox(dl, 1e-15));
  CHECK(m.options().num_ceps == 13);
  const Fbank<float> fb;
  CHECK(fb.dim() == 23);
}

TEST_CASE("MFCC and fbank: errors") {
  MfccOptions o;
  o.num_ceps = 24;
  CHECK_THROWS_WITH_AS(Mfcc<float>{o}, "Mfcc: num_ceps must be in [1, 23] (mel.num_bins), got 24", InvalidArgument);
  o = MfccOptions{};
  o.cepstral_lifter = -1;
  CHECK_THROWS_WITH_AS(Mfcc<float>{o}, "Mfcc: cepstral_lifter must be >= 0, got -1", InvalidArgument);
  o = MfccOptions{};
  o.frame.sample_frequency = 8000;
  o.mel.high_freq = 7600;  // above the 4000 Hz Nyquist frequency
  CHECK_THROWS_WITH_AS(Mfcc<float>{o}, "mel_banks: high_freq 7600 Hz (option 7600) must be in (0, 4000], the Nyquist frequency at 8000 Hz",
                       InvalidArgument);
  o = MfccOptions{};
  o.mel.num_bins = 200;
  CHECK_THROWS_AS(Mfcc<float>{o}, InvalidArgument);
  o = MfccOptions{};
  o.frame.frame_shift_ms = -10;
  CHECK_THROWS_WITH_AS(Mfcc<float>{o}, "Mfcc: frame_shift_ms must be positive, got -10", InvalidArgument);

  const Mfcc<float> m;
  const std::vector<float> s(300, 1.0f);  // shorter than one 400-sample window
  CHECK_THROWS_WITH_AS(m.compute(s),
                       "Mfcc::compute: the signal has 300 samples, shorter than one frame of 400 samples (25 ms at 16000 Hz); no frame fits with snip_edges",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(m.compute(std::vector<float>(1000, 1.0f), 44100.0),
                       "Mfcc::compute: the signal's sample rate is 44100 Hz but the options expect 16000 Hz "
                       "(FrameOptions::sample_frequency; ivkit does not resample)",
                       InvalidArgument);
  FbankOptions f;
  f.energy_floor = -1;
  CHECK_THROWS_WITH_AS(Fbank<double>{f}, "Fbank: energy_floor must be >= 0, got -1", InvalidArgument);
  CHECK_THROWS_WITH_AS(Fbank<double>{}.compute(std::vector<double>(1000, 0.0), 8000.0),
                       "Fbank::compute: the signal's sample rate is 8000 Hz but the options expect 16000 Hz "
                       "(FrameOptions::sample_frequency; ivkit does not resample)",
                       InvalidArgument);
}
