// Regression against Kaldi itself: features of Kaldi's test recording written by Kaldi's own
// compute-mfcc-feats, compute-fbank-feats, add-deltas, apply-cmvn-sliding, compute-vad and
// select-voiced-frames (tests/features/data/kaldi/README.md has the commands). The bound is 3e-4
// relative (|a - b| / max(|b|, 1)); the fixtures hold 7 significant digits and Kaldi computes in
// float, so agreement is limited to about 1e-4 whatever ivkit's precision.
#include <doctest/doctest.h>

#include <ivkit/features/cmvn.hpp>
#include <ivkit/features/deltas.hpp>
#include <ivkit/features/fbank.hpp>
#include <ivkit/features/mfcc.hpp>
#include <ivkit/features/pipeline.hpp>
#include <ivkit/features/vad.hpp>

#include "features/kaldi_fixture.hpp"

using namespace ivkit;
using ivkit_test::max_rel_diff;
using ivkit_test::read_fixture_wav;
using ivkit_test::read_kaldi_text;

namespace {

constexpr double kTol = 3e-4;  // measured at most 2.5e-4 (docs/features.md)

template <class S>
void check_mfcc(const char* wav, const char* ref, const MfccOptions& o) {
  const auto w = read_fixture_wav(wav);
  const Matrix<S> m = Mfcc<S>(o).compute(w.samples, w.sample_rate);
  const double d = max_rel_diff(m, read_kaldi_text(ref));
  MESSAGE(std::string(ref), " max rel diff ", d);
  CHECK(d < kTol);
}

template <class S>
void check_fbank(const char* ref, const FbankOptions& o) {
  const auto w = read_fixture_wav("test.wav");
  const Matrix<S> m = Fbank<S>(o).compute(w.samples, w.sample_rate);
  const double d = max_rel_diff(m, read_kaldi_text(ref));
  MESSAGE(std::string(ref), " max rel diff ", d);
  CHECK(d < kTol);
}

}  // namespace

TEST_CASE_TEMPLATE("Kaldi compute-mfcc-feats", S, float, double) {
  check_mfcc<S>("test.wav", "mfcc_default.txt", MfccOptions{});

  MfccOptions v1;
  v1.frame.snip_edges = false;
  v1.frame.window_type = WindowType::Hamming;
  v1.mel.num_bins = 30;
  v1.num_ceps = 20;
  v1.mel.low_freq = 60;
  v1.mel.high_freq = -400;
  v1.frame.preemph_coeff = 0.9;
  v1.frame.remove_dc_offset = false;
  v1.raw_energy = false;
  v1.energy_floor = 1.0;
  v1.cepstral_lifter = 0;
  check_mfcc<S>("test.wav", "mfcc_v1.txt", v1);

  MfccOptions v2;
  v2.use_energy = false;
  v2.frame.window_type = WindowType::Hanning;
  v2.frame.round_to_power_of_two = false;  // 320-point DFT
  v2.frame.frame_length_ms = 20;
  v2.frame.frame_shift_ms = 8;
  v2.htk_compat = true;
  v2.mel.num_bins = 26;
  check_mfcc<S>("test.wav", "mfcc_v2.txt", v2);

  MfccOptions v8;
  v8.frame.sample_frequency = 8000;
  v8.mel.num_bins = 15;
  v8.mel.high_freq = 3700;
  v8.frame.window_type = WindowType::Blackman;
  check_mfcc<S>("test_8k.wav", "mfcc_8k.txt", v8);
}

TEST_CASE_TEMPLATE("Kaldi compute-fbank-feats", S, float, double) {
  check_fbank<S>("fbank_default.txt", FbankOptions{});
  FbankOptions v1;
  v1.use_energy = true;
  v1.mel.num_bins = 40;
  v1.frame.window_type = WindowType::Sine;
  v1.use_power = false;
  v1.frame.snip_edges = false;
  check_fbank<S>("fbank_v1.txt", v1);
}

TEST_CASE_TEMPLATE("Kaldi add-deltas, apply-cmvn-sliding, compute-vad, select-voiced-frames", S, float, double) {
  // Each stage runs on Kaldi's own MFCCs, so that only that stage is compared.
  const Matrix<S> mfcc = read_kaldi_text("mfcc_default.txt").cast<S>();
  const Matrix<S> d = add_deltas(mfcc);
  CHECK(max_rel_diff(d, read_kaldi_text("deltas.txt")) < 1e-5);
  CHECK(max_rel_diff(add_deltas(mfcc, DeltaOptions{3, 3}), read_kaldi_text("deltas_o3w3.txt")) < 1e-5);

  const Matrix<S> c300 = apply_cmvn_sliding(d);
  CHECK(max_rel_diff(c300, read_kaldi_text("cmvn_c300.txt")) < 1e-5);
  SlidingCmvnOptions c50;
  c50.cmn_window = 50;
  c50.min_window = 10;
  CHECK(max_rel_diff(apply_cmvn_sliding(mfcc, c50), read_kaldi_text("cmvn_c50.txt")) < 1e-5);
  SlidingCmvnOptions left;
  left.center = false;
  left.cmn_window = 60;
  left.min_window = 20;
  left.norm_vars = true;
  CHECK(max_rel_diff(apply_cmvn_sliding(mfcc, left), read_kaldi_text("cmvn_left60_vars.txt")) < 1e-5);

  auto as_vector = [](const std::vector<bool>& v) {
    Eigen::MatrixXd m(1, static_cast<Eigen::Index>(v.size()));
    for (size_t i = 0; i < v.size(); ++i) m(0, static_cast<Eigen::Index>(i)) = v[i] ? 1.0 : 0.0;
    return m;
  };
  const std::vector<bool> vad = compute_vad(mfcc);
  CHECK(as_vector(vad) == read_kaldi_text("vad.txt"));
  VadOptions ctx;
  ctx.frames_context = 2;
  ctx.proportion_threshold = 0.4;
  ctx.energy_threshold = 3;
  ctx.energy_mean_scale = 0.6;
  CHECK(as_vector(compute_vad(mfcc, ctx)) == read_kaldi_text("vad_ctx2.txt"));

  CHECK(max_rel_diff(select_voiced_frames(c300, vad), read_kaldi_text("pipeline.txt")) < 1e-5);
}

TEST_CASE_TEMPLATE("Kaldi recipe front end from the WAV samples", S, float, double) {
  const auto w = read_fixture_wav("test.wav");
  FeaturePipelineReport report;
  const Matrix<S> f = extract_features<S>(w.samples, w.sample_rate, FeaturePipelineOptions{}, &report);
  const Eigen::MatrixXd ref = read_kaldi_text("pipeline.txt");
  CHECK(report.num_frames == 142);
  CHECK(report.num_voiced == ref.rows());
  const double d = max_rel_diff(f, ref);
  MESSAGE("pipeline max rel diff ", d);
  CHECK(d < kTol);
}
