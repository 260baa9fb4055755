// Naive double-precision front end written from the formulas (Kaldi's feature-window.cc,
// mel-computations.cc, feature-mfcc.cc): one frame at a time, explicit loops, a naive O(P^2) DFT.
// It shares no code with ivkit's features module.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

namespace ivkit_test {

struct NaiveFrameOpts {
  double fs = 16000, shift_ms = 10, length_ms = 25, preemph = 0.97;
  bool remove_dc = true, pow2 = true, snip = true;
  int window = 0;  // 0 povey, 1 hamming, 2 hanning, 3 rectangular, 4 sine, 5 blackman
  double blackman = 0.42;
  int shift() const { return static_cast<int>(fs * 0.001 * shift_ms); }
  int length() const { return static_cast<int>(fs * 0.001 * length_ms); }
  int padded() const {
    int p = 1;
    while (p < length()) p *= 2;
    return pow2 ? p : length();
  }
};

inline int naive_num_frames(int n, const NaiveFrameOpts& o) {
  if (o.snip) return n < o.length() ? 0 : 1 + (n - o.length()) / o.shift();
  return static_cast<int>(std::floor(static_cast<double>(n) / o.shift() + 0.5));
}

inline double naive_window(int i, int len, const NaiveFrameOpts& o) {
  const double pi = 3.14159265358979323846, a = 2 * pi * i / (len - 1);
  switch (o.window) {
    case 0: return std::pow(0.5 - 0.5 * std::cos(a), 0.85);
    case 1: return 0.54 - 0.46 * std::cos(a);
    case 2: return 0.5 - 0.5 * std::cos(a);
    case 3: return 1.0;
    case 4: return std::sin(0.5 * a);
    default: return o.blackman - 0.5 * std::cos(a) + (0.5 - o.blackman) * std::cos(2 * a);
  }
}

/// One processed frame (length padded(), zero tail) and its raw and windowed log energies.
struct NaiveFrame {
  std::vector<double> x;
  double raw_log_energy = 0, windowed_log_energy = 0;
};

inline NaiveFrame naive_frame(const std::vector<double>& s, int f, const NaiveFrameOpts& o) {
  const int len = o.length(), n = static_cast<int>(s.size());
  const int start = o.snip ? f * o.shift() : f * o.shift() + o.shift() / 2 - len / 2;
  NaiveFrame fr;
  fr.x.assign(static_cast<size_t>(o.padded()), 0.0);
  for (int t = 0; t < len; ++t) {
    int i = start + t;
    // Mirror at the ends: sample -1 is sample 0, sample n is sample n - 1.
    while (i < 0 || i >= n) i = i < 0 ? -1 - i : 2 * n - 1 - i;
    fr.x[static_cast<size_t>(t)] = s[static_cast<size_t>(i)];
  }
  if (o.remove_dc) {
    double mean = 0;
    for (int t = 0; t < len; ++t) mean += fr.x[static_cast<size_t>(t)];
    mean /= len;
    for (int t = 0; t < len; ++t) fr.x[static_cast<size_t>(t)] -= mean;
  }
  const double eps = 1.1920928955078125e-07;
  double e = 0;
  for (int t = 0; t < len; ++t) e += fr.x[static_cast<size_t>(t)] * fr.x[static_cast<size_t>(t)];
  fr.raw_log_energy = std::log(std::max(e, eps));
  std::vector<double> y(fr.x);
  for (int t = 1; t < len; ++t) y[static_cast<size_t>(t)] = fr.x[static_cast<size_t>(t)] - o.preemph * fr.x[static_cast<size_t>(t) - 1];
  y[0] = fr.x[0] * (1 - o.preemph);
  for (int t = 0; t < len; ++t) y[static_cast<size_t>(t)] *= naive_window(t, len, o);
  e = 0;
  for (int t = 0; t < len; ++t) e += y[static_cast<size_t>(t)] * y[static_cast<size_t>(t)];
  fr.windowed_log_energy = std::log(std::max(e, eps));
  fr.x = y;
  return fr;
}

/// |DFT|^2 at k = 0 .. P/2 by the definition.
inline std::vector<double> naive_power(const std::vector<double>& x) {
  const double pi = 3.14159265358979323846;
  const int p = static_cast<int>(x.size());
  std::vector<double> out(static_cast<size_t>(p / 2 + 1));
  for (int k = 0; k <= p / 2; ++k) {
    double re = 0, im = 0;
    for (int t = 0; t < p; ++t) {
      const double a = 2 * pi * static_cast<double>((static_cast<long long>(k) * t) % p) / p;
      re += x[static_cast<size_t>(t)] * std::cos(a);
      im -= x[static_cast<size_t>(t)] * std::sin(a);
    }
    out[static_cast<size_t>(k)] = re * re + im * im;
  }
  return out;
}

inline double naive_mel(double f) { return 1127.0 * std::log(1.0 + f / 700.0); }

/// Mel energies of one power spectrum: triangles linear in mel between equally spaced mel edges.
inline std::vector<double> naive_mel_energies(const std::vector<double>& power, double fs, int bins, double low, double high) {
  const int p = 2 * (static_cast<int>(power.size()) - 1);
  if (high <= 0) high += fs / 2;
  const double ml = naive_mel(low), d = (naive_mel(high) - ml) / (bins + 1);
  std::vector<double> e(static_cast<size_t>(bins), 0.0);
  for (int b = 0; b < bins; ++b) {
    const double l = ml + b * d, c = l + d, r = c + d;
    for (int i = 0; i < p / 2; ++i) {  // the Nyquist bin is not used
      const double m = naive_mel(i * fs / p);
      double w = 0;
      if (m > l && m <= c) w = (m - l) / (c - l);
      if (m > c && m < r) w = (r - m) / (r - c);
      e[static_cast<size_t>(b)] += w * power[static_cast<size_t>(i)];
    }
  }
  return e;
}

struct NaiveMfccOpts {
  NaiveFrameOpts frame;
  int bins = 23, ceps = 13;
  double low = 20, high = 0, lifter = 22, energy_floor = 0;
  bool use_energy = true, raw_energy = true, htk_compat = false;
};

/// MFCCs by the formulas: c_k = lifter_k sum_b a_k cos(pi k (b + 1/2) / B) log max(m_b, eps),
/// a_0 = sqrt(1/B), a_k = sqrt(2/B); c_0 replaced by the log energy when asked.
inline Eigen::MatrixXd naive_mfcc(const std::vector<double>& s, const NaiveMfccOpts& o) {
  const double pi = 3.14159265358979323846, eps = 1.1920928955078125e-07;
  const int frames = naive_num_frames(static_cast<int>(s.size()), o.frame);
  Eigen::MatrixXd out(frames, o.ceps);
  for (int f = 0; f < frames; ++f) {
    const NaiveFrame fr = naive_frame(s, f, o.frame);
    const std::vector<double> mel = naive_mel_energies(naive_power(fr.x), o.frame.fs, o.bins, o.low, o.high);
    std::vector<double> c(static_cast<size_t>(o.ceps));
    for (int k = 0; k < o.ceps; ++k) {
      double acc = 0;
      for (int b = 0; b < o.bins; ++b)
        acc += std::cos(pi * k * (b + 0.5) / o.bins) * std::log(std::max(mel[static_cast<size_t>(b)], eps));
      acc *= std::sqrt((k == 0 ? 1.0 : 2.0) / o.bins);
      if (o.lifter != 0) acc *= 1 + 0.5 * o.lifter * std::sin(pi * k / o.lifter);
      c[static_cast<size_t>(k)] = acc;
    }
    if (o.use_energy) {
      double e = o.raw_energy ? fr.raw_log_energy : fr.windowed_log_energy;
      if (o.energy_floor > 0) e = std::max(e, std::log(o.energy_floor));
      c[0] = e;
    }
    if (o.htk_compat) {
      const double c0 = c[0] * (o.use_energy ? 1.0 : std::sqrt(2.0));
      for (int k = 0; k + 1 < o.ceps; ++k) c[static_cast<size_t>(k)] = c[static_cast<size_t>(k) + 1];
      c[static_cast<size_t>(o.ceps) - 1] = c0;
    }
    for (int k = 0; k < o.ceps; ++k) out(f, k) = c[static_cast<size_t>(k)];
  }
  return out;
}

}  // namespace ivkit_test
