// Mel filter bank and DCT: bank edges and centres from mel = 1127 ln(1 + f / 700) computed here,
// every weight against the triangle formula, the cut-off options, DCT orthonormality and entries,
// the lifter, and the errors.
#include <doctest/doctest.h>

#include <cmath>

#include <ivkit/features/dct.hpp>
#include <ivkit/features/mel.hpp>

using namespace ivkit;

namespace {
double mel_of(double f) { return 1127.0 * std::log(1.0 + f / 700.0); }
double hz_of(double m) { return 700.0 * (std::exp(m / 1127.0) - 1.0); }
}  // namespace

TEST_CASE("mel scale") {
  CHECK(mel_scale(0) == 0);
  CHECK(mel_scale(700) == doctest::Approx(1127.0 * std::log(2.0)));
  CHECK(mel_scale(1000) == doctest::Approx(999.985).epsilon(1e-5));  // ~1000 mel at 1 kHz
  for (double f : {20.0, 133.3, 4000.0, 7999.0}) CHECK(inverse_mel_scale(mel_scale(f)) == doctest::Approx(f).epsilon(1e-12));
}

TEST_CASE("mel bank: edges, centres and triangle weights from the formula") {
  struct Case { double fs; int bins; double low, high; };
  for (const Case c : {Case{16000, 23, 20, 0}, Case{8000, 15, 20, 0}, Case{16000, 40, 100, -400}, Case{16000, 30, 60, 7000}}) {
    FrameOptions fo;
    fo.sample_frequency = c.fs;
    MelOptions mo;
    mo.num_bins = c.bins;
    mo.low_freq = c.low;
    mo.high_freq = c.high;
    const MelBanks mb = mel_banks(mo, fo);
    const double high = c.high > 0 ? c.high : c.fs / 2 + c.high;
    const Index p = fo.padded_window_size();
    CHECK(mb.low_freq == c.low);
    CHECK(mb.high_freq == high);
    REQUIRE(mb.weights.rows() == p / 2 + 1);
    REQUIRE(mb.num_bins() == c.bins);
    CHECK(mb.weights.row(p / 2).isZero(0));  // the Nyquist bin
    const double d = (mel_of(high) - mel_of(c.low)) / (c.bins + 1);
    for (int b = 0; b < c.bins; ++b) {
      const double left = mel_of(c.low) + b * d, centre = left + d, right = centre + d;
      CHECK(mb.center_freqs(b) == doctest::Approx(hz_of(centre)).epsilon(1e-12));
      for (Index i = 0; i < p / 2; ++i) {
        const double f = static_cast<double>(i) * c.fs / static_cast<double>(p), m = mel_of(f);
        double w = 0;
        if (m > left && m < right) w = m <= centre ? (m - left) / (centre - left) : (right - m) / (right - centre);
        REQUIRE(mb.weights(i, b) == doctest::Approx(w).epsilon(1e-12));
        // Non-zero exactly strictly inside the edges, and only there.
        if (mb.weights(i, b) > 0) {
          REQUIRE(f > hz_of(left) * (1 - 1e-12));
          REQUIRE(f < hz_of(right) * (1 + 1e-12));
        }
      }
      CHECK(mb.weights(mb.first_index(b), b) > 0);
      CHECK(mb.weights(mb.last_index(b), b) > 0);
      CHECK(mb.weights.col(b).maxCoeff() <= 1.0);
      if (mb.first_index(b) > 0) CHECK(mb.weights(mb.first_index(b) - 1, b) == 0);
    }
  }
}

TEST_CASE("mel bank: errors") {
  FrameOptions fo;
  fo.sample_frequency = 8000;
  MelOptions mo;
  mo.high_freq = 5000;
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo), "mel_banks: high_freq 5000 Hz (option 5000) must be in (0, 4000], the Nyquist frequency at 8000 Hz",
                       InvalidArgument);
  mo.high_freq = -4100;
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo), "mel_banks: high_freq -100 Hz (option -4100) must be in (0, 4000], the Nyquist frequency at 8000 Hz",
                       InvalidArgument);
  mo = MelOptions{};
  mo.low_freq = 4000;
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo), "mel_banks: low_freq 4000 Hz must be in [0, 4000) (the Nyquist frequency at 8000 Hz)",
                       InvalidArgument);
  mo.low_freq = 3000;
  mo.high_freq = 2000;
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo), "mel_banks: high_freq 2000 Hz must be above low_freq 3000 Hz", InvalidArgument);
  mo = MelOptions{};
  mo.num_bins = 2;
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo), "mel_banks: num_bins must be at least 3, got 2", InvalidArgument);
  mo.num_bins = 128;  // bin 4 lies between the FFT bins at 62.5 and 93.75 Hz
  CHECK_THROWS_WITH_AS(mel_banks(mo, fo),
                       "mel_banks: mel bin 4 (63.1265 to 85.649 Hz) covers no FFT bin: 128 mel bins are too many for a 256-point FFT at 8000 Hz "
                       "(bins 31.25 Hz apart); use fewer bins, a wider band or a longer frame",
                       InvalidArgument);
}

TEST_CASE("DCT matrix: orthonormal rows, Kaldi's entries; lifter") {
  const double pi = 3.14159265358979323846;
  for (Index n : {1, 5, 23, 40}) {
    const Eigen::MatrixXd full = dct_matrix(n, n);
    CHECK((full * full.transpose() - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((full.transpose() * full - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() < 1e-13);
  }
  const Eigen::MatrixXd d = dct_matrix(13, 23);
  CHECK((d * d.transpose() - Eigen::MatrixXd::Identity(13, 13)).cwiseAbs().maxCoeff() < 1e-13);
  for (Index j = 0; j < 23; ++j) CHECK(d(0, j) == doctest::Approx(1 / std::sqrt(23.0)));
  CHECK(d(3, 7) == doctest::Approx(std::sqrt(2.0 / 23) * std::cos(pi * 3 * 7.5 / 23)));
  // A constant log spectrum has only C0, of value sqrt(N) times the constant.
  const Eigen::VectorXd c = d * Eigen::VectorXd::Constant(23, 2.0);
  CHECK(c(0) == doctest::Approx(2.0 * std::sqrt(23.0)));
  CHECK(c.tail(12).cwiseAbs().maxCoeff() < 1e-13);

  const Eigen::VectorXd l = lifter_coefficients(22, 13);
  CHECK(l(0) == 1.0);
  CHECK(l(11) == doctest::Approx(1 + 11 * std::sin(pi / 2)));
  CHECK(l(5) == doctest::Approx(1 + 11 * std::sin(pi * 5 / 22)));
  CHECK_THROWS_WITH_AS(dct_matrix(0, 3), "dct_matrix: sizes must be positive, got 0 x 3", InvalidArgument);
  CHECK_THROWS_WITH_AS(lifter_coefficients(0, 13), "lifter_coefficients: Q must be positive, got 0", InvalidArgument);
}
