/// @file
/// Log mel filter bank features as Kaldi's compute-fbank-feats (src/feat/feature-fbank.cc),
/// batched: per frame log(max(M^T p, FLT_EPSILON)) of the power spectrum p (or of its square
/// root, use_power = false), optionally preceded by the log energy (use_energy; last with
/// htk_compat).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/spectral_frontend.hpp"
#include "ivkit/features/framing.hpp"
#include "ivkit/features/mel.hpp"
#include "ivkit/features/mfcc.hpp"

namespace ivkit {

/// Filter bank options: the names and defaults of Kaldi's compute-fbank-feats, except dither
/// (off, see framing.hpp).
struct FbankOptions {
  FrameOptions frame;          ///< framing, window, pre-emphasis, dither
  MelOptions mel;              ///< --num-mel-bins 23, --low-freq 20, --high-freq 0
  bool use_energy = false;     ///< --use-energy: an extra column with the log energy
  double energy_floor = 0.0;   ///< --energy-floor
  bool raw_energy = true;      ///< --raw-energy
  bool htk_compat = false;     ///< --htk-compat: energy last instead of first
  bool use_log_fbank = true;   ///< --use-log-fbank (false: linear mel energies)
  bool use_power = true;       ///< --use-power (false: magnitude spectrum)
};

/// Filter bank extractor (see Mfcc for the usage pattern).
template <class S = float>
class Fbank {
  IVKIT_CHECK_SCALAR(S);

 public:
  /// @throws InvalidArgument for invalid options
  explicit Fbank(const FbankOptions& opts = FbankOptions{}) : opts_(opts), fe_(opts.frame, "Fbank") {
    if (!(opts.energy_floor >= 0) || !std::isfinite(opts.energy_floor))
      throw InvalidArgument(detail::message("Fbank: energy_floor must be >= 0, got ", opts.energy_floor));
    mel_ = mel_banks(opts.mel, opts.frame).weights.transpose().cast<S>();
    if (opts.energy_floor > 0) log_energy_floor_ = std::log(opts.energy_floor);
  }

  /// Feature dimension: mel.num_bins, plus one with use_energy.
  Index dim() const { return opts_.mel.num_bins + (opts_.use_energy ? 1 : 0); }
  const FbankOptions& options() const { return opts_; }
  const Matrix<S>& mel_matrix() const { return mel_; }

  /// N x dim() features of `signal`, one frame per row.
  /// @throws InvalidArgument for a signal too short for one frame, NonFiniteInput for NaN/Inf
  template <class Derived>
  Matrix<S> compute(const Eigen::MatrixBase<Derived>& signal) const {
    const char* who = "Fbank::compute";
    detail::SignalView<S> x(signal, who);
    x.check_finite(who);
    const Index frames = fe_.checked_num_frames(x.size(), who);
    constexpr int L = detail::SpectralFrontEnd<S>::kLanes;
    using LM = typename detail::SpectralFrontEnd<S>::LaneMatrix;
    Matrix<S> out(frames, dim());
    LM mel(mel_.rows(), L), mag;
    const detail::FrameEnergy energy = !opts_.use_energy ? detail::FrameEnergy::None
                                       : opts_.raw_energy ? detail::FrameEnergy::Raw
                                                          : detail::FrameEnergy::Windowed;
    const Index mel_col = opts_.use_energy && !opts_.htk_compat ? 1 : 0;
    const Index energy_col = opts_.htk_compat ? opts_.mel.num_bins : 0;
    const S floor = static_cast<S>(detail::kEnergyFloor);
    fe_.run(x.data(), x.size(), energy, [&](Index f0, Index count, const S* power, const S* log_energy) {
      Eigen::Map<const LM> P(power, fe_.num_bins(), L);
      if (opts_.use_power) {
        mel.noalias() = mel_ * P;
      } else {
        mag = P.array().sqrt();
        mel.noalias() = mel_ * mag;
      }
      if (opts_.use_log_fbank) mel.array() = mel.array().max(floor).log();
      out.block(f0, mel_col, count, mel_.rows()) = mel.leftCols(count).transpose();
      if (opts_.use_energy)
        for (Index l = 0; l < count; ++l) {
          S e = log_energy[l];
          if (opts_.energy_floor > 0 && e < static_cast<S>(log_energy_floor_)) e = static_cast<S>(log_energy_floor_);
          out(f0 + l, energy_col) = e;
        }
    });
    return out;
  }

  /// As compute(signal), after checking the sample rate. @throws InvalidArgument when it differs
  template <class Derived>
  Matrix<S> compute(const Eigen::MatrixBase<Derived>& signal, double sample_rate) const {
    detail::check_sample_rate(sample_rate, opts_.frame, "Fbank::compute");
    return compute(signal);
  }

  template <class T>
  Matrix<S> compute(const std::vector<T>& signal) const {
    return compute(Eigen::Map<const Vector<T>>(signal.data(), static_cast<Index>(signal.size())));
  }
  template <class T>
  Matrix<S> compute(const std::vector<T>& signal, double sample_rate) const {
    return compute(Eigen::Map<const Vector<T>>(signal.data(), static_cast<Index>(signal.size())), sample_rate);
  }

 private:
  FbankOptions opts_;
  detail::SpectralFrontEnd<S> fe_;
  Matrix<S> mel_;
  double log_energy_floor_ = 0;
};

/// One-shot filter bank: Fbank<S>(opts).compute(signal).
template <class S = float, class Derived>
Matrix<S> compute_fbank(const Eigen::MatrixBase<Derived>& signal, const FbankOptions& opts = FbankOptions{}) {
  return Fbank<S>(opts).compute(signal);
}

template <class S = float, class T>
Matrix<S> compute_fbank(const std::vector<T>& signal, const FbankOptions& opts = FbankOptions{}) {
  return Fbank<S>(opts).compute(signal);
}

}  // namespace ivkit
