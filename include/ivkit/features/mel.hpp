/// @file
/// Kaldi's triangular mel filter bank (src/feat/mel-computations.cc, MelBanks, without VTLN and
/// without the hidden htk_mode).
///
/// mel(f) = 1127 ln(1 + f / 700). With B bins between low_freq and high_freq, the bin edges are
/// equally spaced in mel: left_b = mel(low) + b d, centre_b = left_b + d, right_b = left_b + 2 d,
/// d = (mel(high) - mel(low)) / (B + 1). FFT bin i (i = 0 .. P/2 - 1, frequency i fs / P) gets
/// weight (mel_i - left) / (centre - left) on the rising side, (right - mel_i) / (right - centre)
/// on the falling side, for left < mel_i < right strictly; the Nyquist bin i = P/2 always gets 0.
/// Triangles are therefore linear in mel, not in Hz.
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/framing.hpp"

namespace ivkit {

/// Mel filter bank options (Kaldi's MelBanksOptions; num_bins defaults to 23 as for MFCC and fbank).
struct MelOptions {
  int num_bins = 23;        ///< --num-mel-bins, at least 3
  double low_freq = 20.0;   ///< --low-freq, Hz, in [0, Nyquist)
  double high_freq = 0.0;   ///< --high-freq, Hz: > 0 absolute; <= 0 an offset from Nyquist (0 = Nyquist)
};

/// Kaldi's mel scale, 1127 ln(1 + f / 700).
inline double mel_scale(double freq) { return 1127.0 * std::log(1.0 + freq / 700.0); }
/// Inverse of mel_scale, 700 (exp(m / 1127) - 1).
inline double inverse_mel_scale(double mel) { return 700.0 * (std::exp(mel / 1127.0) - 1.0); }

/// A mel filter bank for one FFT length and sample rate.
struct MelBanks {
  /// (P/2 + 1) x num_bins, column b holding bin b's weights over the power spectrum bins
  /// 0 .. P/2 (row P/2, the Nyquist bin, is zero, as in Kaldi).
  Eigen::MatrixXd weights;
  Eigen::VectorXd center_freqs;  ///< num_bins centre frequencies, Hz
  Eigen::VectorXi first_index;   ///< first FFT bin with non-zero weight, per mel bin
  Eigen::VectorXi last_index;    ///< last FFT bin with non-zero weight, per mel bin
  double low_freq = 0;           ///< the effective cut-offs, Hz
  double high_freq = 0;

  int num_bins() const { return static_cast<int>(weights.cols()); }
};

/// Builds Kaldi's mel filter bank for the FFT length and sample rate of `frame_opts`.
/// @throws InvalidArgument for fewer than 3 bins, cut-offs outside [0, Nyquist] or
///   low >= high, or a bin that covers no FFT bin (too many bins for the FFT length)
inline MelBanks mel_banks(const MelOptions& mel_opts, const FrameOptions& frame_opts) {
  detail::validate_frame_options(frame_opts, "mel_banks");
  const int num_bins = mel_opts.num_bins;
  if (num_bins < 3)
    throw InvalidArgument(detail::message("mel_banks: num_bins must be at least 3, got ", num_bins));
  const double fs = static_cast<double>(static_cast<float>(frame_opts.sample_frequency));
  const Index padded = frame_opts.padded_window_size();
  const Index num_fft_bins = padded / 2;
  const double nyquist = 0.5 * fs;
  const double low = mel_opts.low_freq;
  const double high = mel_opts.high_freq > 0.0 ? mel_opts.high_freq : nyquist + mel_opts.high_freq;
  if (!(low >= 0.0) || !(low < nyquist))
    throw InvalidArgument(detail::message("mel_banks: low_freq ", low, " Hz must be in [0, ", nyquist,
                                          ") (the Nyquist frequency at ", fs, " Hz)"));
  if (!(high > 0.0) || !(high <= nyquist))
    throw InvalidArgument(detail::message("mel_banks: high_freq ", high, " Hz (option ", mel_opts.high_freq,
                                          ") must be in (0, ", nyquist, "], the Nyquist frequency at ", fs, " Hz"));
  if (!(high > low))
    throw InvalidArgument(detail::message("mel_banks: high_freq ", high, " Hz must be above low_freq ", low, " Hz"));

  const double bin_width = fs / static_cast<double>(padded);
  const double mel_low = mel_scale(low), mel_high = mel_scale(high);
  const double delta = (mel_high - mel_low) / (num_bins + 1);

  MelBanks mb;
  mb.low_freq = low;
  mb.high_freq = high;
  mb.weights = Eigen::MatrixXd::Zero(num_fft_bins + 1, num_bins);
  mb.center_freqs.resize(num_bins);
  mb.first_index.resize(num_bins);
  mb.last_index.resize(num_bins);
  for (int b = 0; b < num_bins; ++b) {
    const double left = mel_low + b * delta, centre = mel_low + (b + 1) * delta, right = mel_low + (b + 2) * delta;
    mb.center_freqs(b) = inverse_mel_scale(centre);
    int first = -1, last = -1;
    for (Index i = 0; i < num_fft_bins; ++i) {
      const double mel = mel_scale(bin_width * static_cast<double>(i));
      if (mel > left && mel < right) {
        mb.weights(i, b) = mel <= centre ? (mel - left) / (centre - left) : (right - mel) / (right - centre);
        if (first < 0) first = static_cast<int>(i);
        last = static_cast<int>(i);
      }
    }
    if (first < 0)
      throw InvalidArgument(detail::message(
          "mel_banks: mel bin ", b, " (", inverse_mel_scale(left), " to ", inverse_mel_scale(right),
          " Hz) covers no FFT bin: ", num_bins, " mel bins are too many for a ", padded, "-point FFT at ", fs,
          " Hz (bins ", bin_width, " Hz apart); use fewer bins, a wider band or a longer frame"));
    mb.first_index(b) = first;
    mb.last_index(b) = last;
  }
  return mb;
}

}  // namespace ivkit
