// Frame geometry and power spectra: frame counts for snip-edges both ways against Kaldi's formula
// (written here as rounding), windows against their closed forms, a pure tone's spectrum peak,
// power spectra against a naive per-frame DFT in double (edge reflection, non-power-of-two
// lengths, every window), dither, Eigen input types, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/features/framing.hpp>
#include <ivkit/features/spectrum.hpp>

#include "features/naive_frontend.hpp"

using namespace ivkit;
using namespace ivkit_test;

namespace {

std::vector<double> test_signal(int n, std::uint64_t seed) {
  Random rng(seed);
  std::vector<double> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    s[static_cast<size_t>(i)] = 2000 * std::sin(0.071 * i) + 500 * std::sin(0.9 * i + 1) + 300 * rng.normal() + 40;
  return s;
}

FrameOptions to_options(const NaiveFrameOpts& n) {
  FrameOptions o;
  o.sample_frequency = n.fs;
  o.frame_shift_ms = n.shift_ms;
  o.frame_length_ms = n.length_ms;
  o.preemph_coeff = n.preemph;
  o.remove_dc_offset = n.remove_dc;
  o.round_to_power_of_two = n.pow2;
  o.snip_edges = n.snip;
  const WindowType w[] = {WindowType::Povey, WindowType::Hamming, WindowType::Hanning,
                          WindowType::Rectangular, WindowType::Sine, WindowType::Blackman};
  o.window_type = w[n.window];
  return o;
}

}  // namespace

TEST_CASE("frame geometry: sizes, counts and first samples") {
  FrameOptions o;
  CHECK(o.window_shift() == 160);
  CHECK(o.window_size() == 400);
  CHECK(o.padded_window_size() == 512);
  o.sample_frequency = 8000;
  CHECK(o.window_shift() == 80);
  CHECK(o.window_size() == 200);
  CHECK(o.padded_window_size() == 256);
  o.round_to_power_of_two = false;
  CHECK(o.padded_window_size() == 200);

  for (bool snip : {true, false})
    for (double fs : {16000.0, 8000.0, 11025.0}) {
      NaiveFrameOpts n;
      n.fs = fs;
      n.snip = snip;
      FrameOptions f = to_options(n);
      for (int samples : {0, 1, 79, 80, 81, 159, 160, 199, 200, 201, 399, 400, 401, 559, 560, 561, 16000, 23001})
        REQUIRE(num_frames(samples, f) == naive_num_frames(samples, n));
    }
  FrameOptions s;
  CHECK(first_sample_of_frame(3, s) == 480);
  s.snip_edges = false;
  CHECK(first_sample_of_frame(0, s) == 80 - 200);  // centred on the middle of its shift
  CHECK(first_sample_of_frame(3, s) == 480 + 80 - 200);
}

TEST_CASE("window functions: closed forms") {
  FrameOptions o;
  o.sample_frequency = 1000;
  o.frame_length_ms = 9;  // 9 samples: the middle is sample 4
  const double pi = 3.14159265358979323846;
  for (int w = 0; w < 6; ++w) {
    NaiveFrameOpts n;
    n.window = w;
    o.window_type = to_options(n).window_type;
    const Eigen::VectorXd v = window_function(o);
    REQUIRE(v.size() == 9);
    for (int i = 0; i < 9; ++i) CHECK(v(i) == doctest::Approx(naive_window(i, 9, n)).epsilon(1e-14));
    CHECK(v(2) == doctest::Approx(v(6)).epsilon(1e-14));  // symmetric
  }
  o.window_type = WindowType::Hamming;
  CHECK(window_function(o)(0) == doctest::Approx(0.08));
  CHECK(window_function(o)(4) == doctest::Approx(1.0));
  o.window_type = WindowType::Povey;
  CHECK(window_function(o)(0) == 0.0);
  CHECK(window_function(o)(2) == doctest::Approx(std::pow(0.5, 0.85)));
  o.window_type = WindowType::Sine;
  CHECK(window_function(o)(2) == doctest::Approx(std::sin(pi / 4)));
  CHECK(parse_window_type("hanning") == WindowType::Hanning);
  CHECK(std::string(window_type_name(WindowType::Blackman)) == "blackman");
  CHECK_THROWS_WITH_AS(parse_window_type("kaiser"),
                       "parse_window_type: unknown window type 'kaiser' (povey, hamming, hanning, rectangular, sine, blackman)",
                       InvalidArgument);
}

TEST_CASE_TEMPLATE("a pure tone's power spectrum peaks at its bin", S, float, double) {
  const double pi = 3.14159265358979323846;
  for (double fs : {16000.0, 8000.0}) {
    FrameOptions o;
    o.sample_frequency = fs;
    const Index p = o.padded_window_size();
    for (int k : {10, 40, 97}) {
      const double f = k * fs / static_cast<double>(p);
      std::vector<float> s(static_cast<size_t>(fs / 2));
      for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>(1000 * std::sin(2 * pi * f * static_cast<double>(i) / fs));
      for (WindowType w : {WindowType::Povey, WindowType::Rectangular, WindowType::Hamming}) {
        o.window_type = w;
        const Matrix<S> ps = compute_power_spectrum<S>(s, o);
        REQUIRE(ps.cols() == p / 2 + 1);
        for (Index t = 0; t < ps.rows(); ++t) {
          Index arg;
          ps.row(t).maxCoeff(&arg);
          REQUIRE(arg == k);
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("power spectra against a naive DFT of each frame", S, float, double) {
  const double tol = std::is_same_v<S, float> ? 2e-5 : 1e-10;
  const std::vector<double> sig = test_signal(3333, 5);
  for (int variant = 0; variant < 8; ++variant) {
    NaiveFrameOpts n;
    n.window = variant % 6;
    n.snip = variant % 2 == 0;
    n.pow2 = variant != 3 && variant != 6;  // 400- and 200-point DFTs too
    n.remove_dc = variant != 5;
    n.preemph = variant == 7 ? 0.0 : 0.97;
    if (variant >= 6) n.fs = 8000;
    const FrameOptions o = to_options(n);
    const Matrix<S> ps = compute_power_spectrum<S>(sig, o);
    const int frames = naive_num_frames(static_cast<int>(sig.size()), n);
    REQUIRE(ps.rows() == frames);
    REQUIRE(ps.cols() == n.padded() / 2 + 1);
    for (int f = 0; f < frames; ++f) {
      const std::vector<double> ref = naive_power(naive_frame(sig, f, n).x);
      const double scale = *std::max_element(ref.begin(), ref.end());
      for (size_t k = 0; k < ref.size(); ++k)
        REQUIRE(std::abs(static_cast<double>(ps(f, static_cast<Index>(k))) - ref[k]) <= tol * scale);
    }
  }
}

TEST_CASE("signals as Eigen vectors of either type, maps and row vectors give the same spectra") {
  const std::vector<double> sig = test_signal(2000, 9);
  FrameOptions o;
  const Matrix<float> ref = compute_power_spectrum<float>(sig, o);
  Eigen::VectorXd vd = Eigen::Map<const Eigen::VectorXd>(sig.data(), 2000);
  Eigen::VectorXf vf = vd.cast<float>();
  Eigen::RowVectorXf rf = vf.transpose();
  CHECK(compute_power_spectrum<float>(vd, o) == ref);
  CHECK(compute_power_spectrum<float>(vf, o) == ref);
  CHECK(compute_power_spectrum<float>(rf, o) == ref);
  CHECK(compute_power_spectrum<float>(vf.segment(0, 2000), o) == ref);
  Eigen::MatrixXf two(2000, 2);
  two.col(1) = vf;
  CHECK(compute_power_spectrum<float>(two.col(1), o) == ref);
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(two, o),
                       "compute_power_spectrum: the signal must be a vector, got a 2000 x 2 matrix", DimensionMismatch);
}

TEST_CASE("dither: seeded, reproducible, small") {
  const std::vector<double> sig = test_signal(4000, 2);
  FrameOptions o;
  o.window_type = WindowType::Rectangular;
  const Matrix<double> clean = compute_power_spectrum<double>(sig, o);
  o.dither = 1.0;
  o.dither_seed = 7;
  const Matrix<double> a = compute_power_spectrum<double>(sig, o), b = compute_power_spectrum<double>(sig, o);
  CHECK(a == b);
  o.dither_seed = 8;
  const Matrix<double> c = compute_power_spectrum<double>(sig, o);
  CHECK(a != c);
  CHECK((a - clean).norm() < 1e-2 * clean.norm());
}

TEST_CASE("frame options and signals: errors") {
  FrameOptions o;
  std::vector<float> shortsig(399, 1.0f);
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(shortsig, o),
                       "compute_power_spectrum: the signal has 399 samples, shorter than one frame of 400 samples (25 ms at 16000 Hz); no frame fits with snip_edges",
                       InvalidArgument);
  CHECK(compute_power_spectrum<float>(std::vector<float>(400, 1.0f), o).rows() == 1);
  o.snip_edges = false;
  CHECK(compute_power_spectrum<float>(shortsig, o).rows() == 2);  // reflection fills the frames
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(std::vector<float>(79, 1.0f), o),
                       "compute_power_spectrum: the signal has 79 samples, fewer than half a frame shift of 160 samples; no frame",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(std::vector<float>{}, o), "compute_power_spectrum: the signal is empty",
                       InvalidArgument);
  std::vector<float> bad(1000, 0.0f);
  bad[517] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(bad, o), "compute_power_spectrum: sample 517 is NaN or Inf", NonFiniteInput);

  FrameOptions e;
  e.frame_shift_ms = 0;
  CHECK_THROWS_WITH_AS(window_function(e), "window_function: frame_shift_ms must be positive, got 0", InvalidArgument);
  e = FrameOptions{};
  e.preemph_coeff = 1.5;
  CHECK_THROWS_WITH_AS(compute_power_spectrum<float>(shortsig, e), "compute_power_spectrum: preemph_coeff must be in [0, 1], got 1.5",
                       InvalidArgument);
  e = FrameOptions{};
  e.dither = -1;
  CHECK_THROWS_WITH_AS(window_function(e), "window_function: dither must be >= 0, got -1", InvalidArgument);
  e = FrameOptions{};
  e.sample_frequency = 0;
  CHECK_THROWS_WITH_AS(window_function(e), "window_function: sample_frequency must be positive, got 0", InvalidArgument);
  e = FrameOptions{};
  e.frame_length_ms = 0.05;
  CHECK_THROWS_WITH_AS(window_function(e), "window_function: frame length of 0.05 ms at 16000 Hz is 0 samples; at least 2 are needed",
                       InvalidArgument);
}
