/// @file
/// The acoustic front end on one hour of 16 kHz audio (a synthetic speech-like signal on the
/// 16-bit scale: two gliding tones, noise, 30% low-energy stretches; fixed seed), one thread, float:
///   - BM_Mfcc: Kaldi-default MFCCs (13 with energy, 23 mel bins, Povey window, 512-point FFT);
///   - BM_Fbank: 23 log mel energies;
///   - BM_Pipeline: the recipe front end: MFCC -> VAD -> deltas (order 2) -> sliding CMVN (300,
///     centred) -> voiced frames;
///   - BM_Deltas, BM_Cmvn, BM_Vad: each post-processing stage alone, on the hour's MFCCs;
///   - BM_PowerSpectrum_batched: the power spectra alone (framing, window, ivkit's batched
///     radix-2 FFT over 32 frames at a time);
///   - BM_PowerSpectrum_EigenFFT: the same spectra with Eigen's FFT module (kissfft, one frame at a
///     time) in place of the batched FFT, for the choice of FFT.
/// Counter xRT: seconds of audio per second of CPU time (3600 s / CPU time per iteration).
#include <benchmark/benchmark.h>

#include <unsupported/Eigen/FFT>

#include <cmath>
#include <complex>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/features/cmvn.hpp"
#include "ivkit/features/deltas.hpp"
#include "ivkit/features/fbank.hpp"
#include "ivkit/features/mfcc.hpp"
#include "ivkit/features/pipeline.hpp"
#include "ivkit/features/spectrum.hpp"
#include "ivkit/features/vad.hpp"

namespace {

constexpr double kSeconds = 3600.0;
constexpr double kRate = 16000.0;

const std::vector<float>& audio() {
  static const std::vector<float> s = [] {
    ivkit::Random rng(20240611);
    const double pi = 3.14159265358979323846;
    const std::size_t n = static_cast<std::size_t>(kSeconds * kRate);
    std::vector<float> x(n);
    double phase1 = 0, phase2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / kRate;
      const double f1 = 180 + 120 * std::sin(2 * pi * 0.7 * t), f2 = 1800 + 900 * std::sin(2 * pi * 0.23 * t);
      phase1 += 2 * pi * f1 / kRate;
      phase2 += 2 * pi * f2 / kRate;
      const double loud = std::fmod(t, 2.0) < 0.6 ? 0.01 : 1.0;
      x[i] = static_cast<float>(loud * (4000 * std::sin(phase1) + 1500 * std::sin(phase2)) + 30 * rng.normal());
    }
    return x;
  }();
  return s;
}

const ivkit::Matrix<float>& hour_mfcc() {
  static const ivkit::Matrix<float> m = ivkit::Mfcc<float>().compute(audio());
  return m;
}

void set_xrt(benchmark::State& state) {
  state.counters["xRT"] = benchmark::Counter(kSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Mfcc(benchmark::State& state) {
  const auto& x = audio();
  const ivkit::Mfcc<float> mfcc;
  for (auto _ : state) benchmark::DoNotOptimize(mfcc.compute(x));
  set_xrt(state);
}

void BM_Fbank(benchmark::State& state) {
  const auto& x = audio();
  const ivkit::Fbank<float> fbank;
  for (auto _ : state) benchmark::DoNotOptimize(fbank.compute(x));
  set_xrt(state);
}

void BM_Pipeline(benchmark::State& state) {
  const auto& x = audio();
  const ivkit::FeaturePipeline<float> pipe;
  ivkit::FeaturePipelineReport report;
  for (auto _ : state) benchmark::DoNotOptimize(pipe.compute(x, kRate, &report));
  state.counters["voiced"] = static_cast<double>(report.num_voiced) / static_cast<double>(report.num_frames);
  set_xrt(state);
}

void BM_Deltas(benchmark::State& state) {
  const auto& m = hour_mfcc();
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::add_deltas(m));
  set_xrt(state);
}

void BM_Cmvn(benchmark::State& state) {
  const ivkit::Matrix<float> d = ivkit::add_deltas(hour_mfcc());
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::apply_cmvn_sliding(d));
  set_xrt(state);
}

void BM_Vad(benchmark::State& state) {
  const auto& m = hour_mfcc();
  for (auto _ : state) {
    const auto v = ivkit::compute_vad(m);
    benchmark::DoNotOptimize(ivkit::select_voiced_frames(m, v));
  }
  set_xrt(state);
}

void BM_PowerSpectrum_batched(benchmark::State& state) {
  const auto& x = audio();
  const ivkit::FrameOptions o;
  for (auto _ : state) benchmark::DoNotOptimize(ivkit::compute_power_spectrum<float>(x, o));
  set_xrt(state);
}

// The same framing and processing written per frame, with Eigen's FFT (kissfft backend).
void BM_PowerSpectrum_EigenFFT(benchmark::State& state) {
  const auto& x = audio();
  const ivkit::FrameOptions o;
  const ivkit::Index len = o.window_size(), pad = o.padded_window_size(), shift = o.window_shift();
  const ivkit::Index frames = ivkit::num_frames(static_cast<ivkit::Index>(x.size()), o);
  const Eigen::VectorXf w = ivkit::window_function(o).cast<float>();
  Eigen::FFT<float> fft;
  std::vector<float> frame(static_cast<std::size_t>(pad));
  std::vector<std::complex<float>> spec;
  for (auto _ : state) {
    ivkit::Matrix<float> out(frames, pad / 2 + 1);
    for (ivkit::Index f = 0; f < frames; ++f) {
      const float* src = x.data() + f * shift;
      float mean = 0;
      for (ivkit::Index t = 0; t < len; ++t) mean += src[t];
      mean /= static_cast<float>(len);
      for (ivkit::Index t = 0; t < len; ++t) frame[static_cast<std::size_t>(t)] = src[t] - mean;
      for (ivkit::Index t = len - 1; t > 0; --t) frame[static_cast<std::size_t>(t)] -= 0.97f * frame[static_cast<std::size_t>(t - 1)];
      frame[0] -= 0.97f * frame[0];
      for (ivkit::Index t = 0; t < len; ++t) frame[static_cast<std::size_t>(t)] *= w(t);
      std::fill(frame.begin() + len, frame.end(), 0.0f);
      fft.fwd(spec, frame);
      for (ivkit::Index k = 0; k <= pad / 2; ++k) out(f, k) = std::norm(spec[static_cast<std::size_t>(k)]);
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_xrt(state);
}

}  // namespace

BENCHMARK(BM_Mfcc)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Fbank)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Pipeline)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Deltas)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Cmvn)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Vad)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PowerSpectrum_batched)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PowerSpectrum_EigenFFT)->Unit(benchmark::kMillisecond)->Iterations(3);

BENCHMARK_MAIN();
