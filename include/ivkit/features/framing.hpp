/// @file
/// Frame extraction options and frame geometry, as Kaldi's FrameExtractionOptions
/// (src/feat/feature-window.{h,cc}): 25 ms frames every 10 ms, DC removal, pre-emphasis 0.97 in
/// Kaldi's in-frame form, the Povey window, FFT length rounded up to a power of two, snip-edges
/// frame counting (or reflection at the edges), optional seeded dither.
///
/// Differences from Kaldi, on purpose: dither is off by default (Kaldi's default is 1.0, i.e.
/// random output); when it is on, the noise comes from ivkit::Random seeded with `dither_seed`, so
/// the same signal and options always give the same features.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <string>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Analysis window (Kaldi's --window-type). With n = 0 .. L-1 and a = 2 pi / (L - 1):
/// Povey (0.5 - 0.5 cos(a n))^0.85, Hamming 0.54 - 0.46 cos(a n), Hanning 0.5 - 0.5 cos(a n),
/// Sine sin(a n / 2), Blackman c - 0.5 cos(a n) + (0.5 - c) cos(2 a n), Rectangular 1.
enum class WindowType { Povey, Hamming, Hanning, Rectangular, Sine, Blackman };

/// The window's name as Kaldi spells it ("povey", "hamming", ...).
inline const char* window_type_name(WindowType w) {
  switch (w) {
    case WindowType::Povey: return "povey";
    case WindowType::Hamming: return "hamming";
    case WindowType::Hanning: return "hanning";
    case WindowType::Rectangular: return "rectangular";
    case WindowType::Sine: return "sine";
    case WindowType::Blackman: return "blackman";
  }
  return "unknown";
}

/// Parses Kaldi's --window-type value. @throws InvalidArgument for an unknown name
inline WindowType parse_window_type(const std::string& name) {
  if (name == "povey") return WindowType::Povey;
  if (name == "hamming") return WindowType::Hamming;
  if (name == "hanning") return WindowType::Hanning;
  if (name == "rectangular") return WindowType::Rectangular;
  if (name == "sine") return WindowType::Sine;
  if (name == "blackman") return WindowType::Blackman;
  throw InvalidArgument(detail::message("parse_window_type: unknown window type '", name,
                                        "' (povey, hamming, hanning, rectangular, sine, blackman)"));
}

/// Frame extraction options; the names and defaults are those of Kaldi's
/// compute-mfcc-feats / compute-fbank-feats options, except `dither` (0, see the file comment).
struct FrameOptions {
  double sample_frequency = 16000.0;  ///< --sample-frequency, Hz; must equal the signal's rate
  double frame_shift_ms = 10.0;       ///< --frame-shift
  double frame_length_ms = 25.0;      ///< --frame-length
  double dither = 0.0;                ///< --dither: standard deviation of Gaussian noise added to each frame (0 = off)
  std::uint64_t dither_seed = 0;      ///< seed of the dither noise (ivkit's addition)
  double preemph_coeff = 0.97;        ///< --preemphasis-coefficient, in [0, 1]
  bool remove_dc_offset = true;       ///< --remove-dc-offset: subtract each frame's mean
  WindowType window_type = WindowType::Povey;  ///< --window-type
  double blackman_coeff = 0.42;       ///< --blackman-coeff
  bool round_to_power_of_two = true;  ///< --round-to-power-of-two: zero-pad frames to a power of two for the FFT
  bool snip_edges = true;             ///< --snip-edges: only frames that fit wholly in the signal (else reflect at the edges)

  /// Frame shift in samples: int(sample_frequency * 0.001 * frame_shift_ms), as Kaldi computes it
  /// (the options are Kaldi floats, promoted to double).
  Index window_shift() const {
    return static_cast<Index>(static_cast<double>(static_cast<float>(sample_frequency)) * 0.001 *
                              static_cast<double>(static_cast<float>(frame_shift_ms)));
  }
  /// Frame length in samples: int(sample_frequency * 0.001 * frame_length_ms).
  Index window_size() const {
    return static_cast<Index>(static_cast<double>(static_cast<float>(sample_frequency)) * 0.001 *
                              static_cast<double>(static_cast<float>(frame_length_ms)));
  }
  /// FFT length: window_size() rounded up to a power of two (or window_size() itself).
  Index padded_window_size() const {
    const Index n = window_size();
    if (!round_to_power_of_two) return n;
    Index p = 1;
    while (p < n) p <<= 1;
    return p;
  }
};

namespace detail {

/// Checks frame options. @throws InvalidArgument naming `who`
inline void validate_frame_options(const FrameOptions& o, const char* who) {
  if (!(o.sample_frequency > 0) || !std::isfinite(o.sample_frequency))
    throw InvalidArgument(message(who, ": sample_frequency must be positive, got ", o.sample_frequency));
  if (!(o.frame_shift_ms > 0) || !std::isfinite(o.frame_shift_ms))
    throw InvalidArgument(message(who, ": frame_shift_ms must be positive, got ", o.frame_shift_ms));
  if (!(o.frame_length_ms > 0) || !std::isfinite(o.frame_length_ms))
    throw InvalidArgument(message(who, ": frame_length_ms must be positive, got ", o.frame_length_ms));
  if (o.window_shift() < 1)
    throw InvalidArgument(message(who, ": frame shift of ", o.frame_shift_ms, " ms at ", o.sample_frequency,
                                  " Hz is less than one sample"));
  if (o.window_size() < 2)
    throw InvalidArgument(message(who, ": frame length of ", o.frame_length_ms, " ms at ", o.sample_frequency,
                                  " Hz is ", o.window_size(), " samples; at least 2 are needed"));
  if (!(o.dither >= 0) || !std::isfinite(o.dither))
    throw InvalidArgument(message(who, ": dither must be >= 0, got ", o.dither));
  if (!(o.preemph_coeff >= 0 && o.preemph_coeff <= 1))
    throw InvalidArgument(message(who, ": preemph_coeff must be in [0, 1], got ", o.preemph_coeff));
  if (!std::isfinite(o.blackman_coeff))
    throw InvalidArgument(message(who, ": blackman_coeff must be finite, got ", o.blackman_coeff));
}

}  // namespace detail

/// Number of frames Kaldi extracts from `num_samples` samples (feature-window.cc, NumFrames with
/// flush = true). snip_edges: 0 if num_samples < window_size, else
/// 1 + (num_samples - window_size) / window_shift. Otherwise (num_samples + window_shift / 2) /
/// window_shift, i.e. num_samples / window_shift rounded to the nearest integer (integer division).
inline Index num_frames(Index num_samples, const FrameOptions& opts) {
  const Index shift = opts.window_shift(), length = opts.window_size();
  if (num_samples <= 0 || shift <= 0) return 0;
  if (opts.snip_edges) return num_samples < length ? 0 : 1 + (num_samples - length) / shift;
  return (num_samples + shift / 2) / shift;
}

/// Index of the first sample of frame `frame` (Kaldi's FirstSampleOfFrame): frame * shift with
/// snip_edges, else frame * shift + shift / 2 - window_size / 2 (may be negative; samples outside
/// the signal are reflected: -1 -> 0, -2 -> 1, n -> n - 1, n + 1 -> n - 2).
inline Index first_sample_of_frame(Index frame, const FrameOptions& opts) {
  const Index shift = opts.window_shift();
  if (opts.snip_edges) return frame * shift;
  return frame * shift + shift / 2 - opts.window_size() / 2;
}

/// The analysis window, window_size() values (Kaldi's FeatureWindowFunction), computed in double.
/// @throws InvalidArgument for invalid options
inline Eigen::VectorXd window_function(const FrameOptions& opts) {
  detail::validate_frame_options(opts, "window_function");
  const Index n = opts.window_size();
  Eigen::VectorXd w(n);
  const double pi = 3.14159265358979323846;
  const double a = 2.0 * pi / static_cast<double>(n - 1);
  for (Index i = 0; i < n; ++i) {
    const double x = a * static_cast<double>(i);
    switch (opts.window_type) {
      case WindowType::Hanning: w(i) = 0.5 - 0.5 * std::cos(x); break;
      case WindowType::Sine: w(i) = std::sin(0.5 * x); break;
      case WindowType::Hamming: w(i) = 0.54 - 0.46 * std::cos(x); break;
      case WindowType::Povey: w(i) = std::pow(0.5 - 0.5 * std::cos(x), 0.85); break;
      case WindowType::Rectangular: w(i) = 1.0; break;
      case WindowType::Blackman:
        w(i) = opts.blackman_coeff - 0.5 * std::cos(x) + (0.5 - opts.blackman_coeff) * std::cos(2.0 * x);
        break;
    }
  }
  return w;
}

}  // namespace ivkit
