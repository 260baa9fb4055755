/// @file
/// The shared front half of the spectral features: frames of the signal, dither, DC removal,
/// energy, pre-emphasis, window and power spectrum, kLanes frames at a time (Kaldi's
/// ExtractWindow + ProcessWindow + FFT + ComputePowerSpectrum, feature-window.cc and
/// feature-functions.cc, batched).
///
/// A block holds kLanes frames as a (padded length) x kLanes matrix, sample-major and
/// lane-fastest, so every step is an array operation over the frames of the block: the frame
/// mean and energy are column sums, pre-emphasis x_t - k x_{t-1} (and x_0 - k x_0, Kaldi's
/// in-frame form) and the window are row operations, the FFT runs on all lanes at once. The last
/// block is padded with zero frames whose results are dropped.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/batched_fft.hpp"
#include "ivkit/features/framing.hpp"

namespace ivkit {
namespace detail {

/// Which energy a block reports (log of the sum of squares, floored at float epsilon as Kaldi).
enum class FrameEnergy {
  None,
  Raw,       ///< after dither and DC removal, before pre-emphasis and window (raw_energy = true)
  Windowed,  ///< after the window (raw_energy = false)
};

/// Kaldi floors energies at std::numeric_limits<float>::epsilon() before the log, in every precision.
inline constexpr double kEnergyFloor = 1.1920928955078125e-07;

template <class S>
class SpectralFrontEnd {
 public:
  static constexpr int kLanes = 32;
  using LaneMatrix = Eigen::Matrix<S, Eigen::Dynamic, kLanes, Eigen::RowMajor>;

  /// @throws InvalidArgument (options) naming `who`
  SpectralFrontEnd(const FrameOptions& opts, const char* who) : opts_(opts) {
    validate_frame_options(opts, who);
    length_ = opts.window_size();
    padded_ = opts.padded_window_size();
    window_ = window_function(opts).cast<S>();
  }

  const FrameOptions& options() const { return opts_; }
  Index padded_length() const { return padded_; }
  Index num_bins() const { return padded_ / 2 + 1; }

  /// Checks that at least one frame fits and returns the number of frames.
  /// @throws InvalidArgument when no frame fits
  Index checked_num_frames(Index num_samples, const char* who) const {
    const Index n = num_frames(num_samples, opts_);
    if (n > 0) return n;
    if (num_samples == 0) throw InvalidArgument(message(who, ": the signal is empty"));
    if (opts_.snip_edges)
      throw InvalidArgument(message(who, ": the signal has ", num_samples, " samples, shorter than one frame of ",
                                    length_, " samples (", opts_.frame_length_ms, " ms at ", opts_.sample_frequency,
                                    " Hz); no frame fits with snip_edges"));
    throw InvalidArgument(message(who, ": the signal has ", num_samples, " samples, fewer than half a frame shift of ",
                                  opts_.window_shift(), " samples; no frame"));
  }

  /// Runs the blocks over frames [0, num_frames(n)) of x[0 .. n): for each block calls
  /// consume(first_frame, count, power, log_energy) with power a (P/2 + 1) x kLanes lane-fastest
  /// array and log_energy kLanes values (unset when energy is None); lanes >= count are padding.
  template <class Consume>
  void run(const S* x, Index n, FrameEnergy energy, Consume&& consume) const {
    constexpr int L = kLanes;
    const Index frames = num_frames(n, opts_);
    if (frames == 0) return;
    BatchedPowerSpectrum<S, kLanes> fft(padded_);
    std::vector<S> buf(static_cast<size_t>(padded_ * L), S(0));
    std::vector<S> power(static_cast<size_t>(num_bins() * L));
    S log_energy[L];
    Random rng(opts_.dither_seed);
    const S k = static_cast<S>(opts_.preemph_coeff);
    const S dither = static_cast<S>(opts_.dither);
    const S inv_len = S(1) / static_cast<S>(length_);
    for (Index f0 = 0; f0 < frames; f0 += L) {
      const Index count = std::min<Index>(L, frames - f0);
      S* X = buf.data();
      // Gather: column l holds frame f0 + l; the padded tail rows stay zero.
      for (int l = 0; l < L; ++l) {
        if (l >= count) {
          for (Index t = 0; t < length_; ++t) X[t * L + l] = S(0);
          continue;
        }
        const Index start = first_sample_of_frame(f0 + l, opts_);
        if (start >= 0 && start + length_ <= n) {
          const S* src = x + start;
          for (Index t = 0; t < length_; ++t) X[t * L + l] = src[t];
        } else {
          for (Index t = 0; t < length_; ++t) {
            Index s = start + t;
            while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
            X[t * L + l] = x[s];
          }
        }
        if (dither != S(0))
          for (Index t = 0; t < length_; ++t) X[t * L + l] += dither * static_cast<S>(rng.normal());
      }
      if (opts_.remove_dc_offset) {
        S mean[L] = {};
        for (Index t = 0; t < length_; ++t)
          for (int l = 0; l < L; ++l) mean[l] += X[t * L + l];
        for (int l = 0; l < L; ++l) mean[l] *= inv_len;
        for (Index t = 0; t < length_; ++t)
          for (int l = 0; l < L; ++l) X[t * L + l] -= mean[l];
      }
      if (energy == FrameEnergy::Raw) frame_log_energy(X, length_, log_energy);
      if (k != S(0)) {
        for (Index t = length_ - 1; t > 0; --t) {
          S* __restrict cur = X + t * L;
          const S* __restrict prev = X + (t - 1) * L;
          for (int l = 0; l < L; ++l) cur[l] -= k * prev[l];
        }
        for (int l = 0; l < L; ++l) X[l] -= k * X[l];
      }
      for (Index t = 0; t < length_; ++t) {
        const S w = window_(t);
        for (int l = 0; l < L; ++l) X[t * L + l] *= w;
      }
      if (energy == FrameEnergy::Windowed) frame_log_energy(X, length_, log_energy);
      fft.compute(X, power.data());
      consume(f0, count, static_cast<const S*>(power.data()), static_cast<const S*>(log_energy));
    }
  }

 private:
  static void frame_log_energy(const S* X, Index rows, S* out) {
    constexpr int L = kLanes;
    S e[L] = {};
    for (Index t = 0; t < rows; ++t)
      for (int l = 0; l < L; ++l) e[l] += X[t * L + l] * X[t * L + l];
    for (int l = 0; l < L; ++l) out[l] = static_cast<S>(std::log(std::max<double>(e[l], kEnergyFloor)));
  }

  FrameOptions opts_;
  Index length_ = 0, padded_ = 0;
  Vector<S> window_;
};

/// The samples of a signal given as any Eigen vector expression, as contiguous S values: a pointer
/// into the argument when it already is one, else a converted copy.
template <class S>
class SignalView {
 public:
  template <class Derived>
  SignalView(const Eigen::MatrixBase<Derived>& signal, const char* who) {
    if (signal.rows() != 1 && signal.cols() != 1 && signal.size() != 0)
      throw DimensionMismatch(message(who, ": the signal must be a vector, got a ", signal.rows(), " x ",
                                      signal.cols(), " matrix"));
    using D = typename Derived::PlainObject;
    if constexpr (std::is_same_v<typename Derived::Scalar, S> && (int(Derived::Flags) & Eigen::DirectAccessBit) &&
                  (Derived::IsVectorAtCompileTime != 0) && (D::RowsAtCompileTime != 0)) {
      if (signal.derived().innerStride() == 1) {
        data_ = signal.derived().data();
        size_ = signal.size();
        return;
      }
    }
    copy_.resize(signal.size());
    Index i = 0;
    for (Index c = 0; c < signal.cols(); ++c)
      for (Index r = 0; r < signal.rows(); ++r) copy_(i++) = static_cast<S>(signal(r, c));
    data_ = copy_.data();
    size_ = copy_.size();
  }
  SignalView(const SignalView&) = delete;
  SignalView& operator=(const SignalView&) = delete;

  const S* data() const { return data_; }
  Index size() const { return size_; }

  /// @throws NonFiniteInput naming the first sample that is NaN or Inf
  void check_finite(const char* who) const {
    for (Index i = 0; i < size_; ++i)
      if (!std::isfinite(data_[i])) throw NonFiniteInput(message(who, ": sample ", i, " is NaN or Inf"));
  }

 private:
  const S* data_ = nullptr;
  Index size_ = 0;
  Vector<S> copy_;
};

}  // namespace detail
}  // namespace ivkit
