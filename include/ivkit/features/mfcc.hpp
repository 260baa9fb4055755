/// @file
/// MFCC features as Kaldi's compute-mfcc-feats (src/feat/feature-mfcc.cc), batched.
///
/// Per frame: power spectrum p (spectrum.hpp), mel energies m = M^T p (mel.hpp, 23 bins by
/// default), log(max(m, FLT_EPSILON)), cepstra c = diag(lifter) D log m with D the first num_ceps
/// rows of Kaldi's DCT-II (dct.hpp) and lifter 1 + Q/2 sin(pi k / Q), Q = 22. With use_energy
/// (default) c_0 is replaced by the frame's log energy, computed before pre-emphasis and window
/// (raw_energy) and floored at log(energy_floor) when energy_floor > 0. With htk_compat the
/// energy (or C0, times sqrt 2) moves to the last column.
///
/// Over all frames this is two matrix products per block of frames: (mel x bins) times the
/// (bins x frames) power spectra, then (ceps x mel) times the log mel energies.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/dct.hpp"
#include "ivkit/features/detail/spectral_frontend.hpp"
#include "ivkit/features/framing.hpp"
#include "ivkit/features/mel.hpp"

namespace ivkit {

/// MFCC options: the names and defaults of Kaldi's compute-mfcc-feats, except dither (off, see
/// framing.hpp).
struct MfccOptions {
  FrameOptions frame;            ///< framing, window, pre-emphasis, dither
  MelOptions mel;                ///< --num-mel-bins 23, --low-freq 20, --high-freq 0
  int num_ceps = 13;             ///< --num-ceps, counting C0, at most mel.num_bins
  bool use_energy = true;        ///< --use-energy: log energy in place of C0
  double energy_floor = 0.0;     ///< --energy-floor (absolute; 0 = none, only FLT_EPSILON)
  bool raw_energy = true;        ///< --raw-energy: energy before pre-emphasis and window
  double cepstral_lifter = 22.0; ///< --cepstral-lifter (0 = none)
  bool htk_compat = false;       ///< --htk-compat: energy/C0 last, C0 times sqrt(2)
};

namespace detail {

/// @throws InvalidArgument when the signal's rate differs from the options'
inline void check_sample_rate(double sample_rate, const FrameOptions& o, const char* who) {
  if (static_cast<float>(sample_rate) != static_cast<float>(o.sample_frequency))
    throw InvalidArgument(message(who, ": the signal's sample rate is ", sample_rate,
                                  " Hz but the options expect ", o.sample_frequency,
                                  " Hz (FrameOptions::sample_frequency; ivkit does not resample)"));
}

}  // namespace detail

/// MFCC extractor: validates the options and builds the window, mel bank and DCT once; compute()
/// may then be called on any number of signals (concurrently too: it keeps no state).
template <class S = float>
class Mfcc {
  IVKIT_CHECK_SCALAR(S);

 public:
  /// @throws InvalidArgument for invalid options (see FrameOptions, MelOptions, mel_banks)
  explicit Mfcc(const MfccOptions& opts = MfccOptions{}) : opts_(opts), fe_(opts.frame, "Mfcc") {
    const int bins = opts.mel.num_bins;
    if (opts.num_ceps < 1 || opts.num_ceps > bins)
      throw InvalidArgument(detail::message("Mfcc: num_ceps must be in [1, ", bins, "] (mel.num_bins), got ",
                                            opts.num_ceps));
    if (!(opts.cepstral_lifter >= 0) || !std::isfinite(opts.cepstral_lifter))
      throw InvalidArgument(detail::message("Mfcc: cepstral_lifter must be >= 0, got ", opts.cepstral_lifter));
    if (!(opts.energy_floor >= 0) || !std::isfinite(opts.energy_floor))
      throw InvalidArgument(detail::message("Mfcc: energy_floor must be >= 0, got ", opts.energy_floor));
    MelBanks mb = mel_banks(opts.mel, opts.frame);
    mel_ = mb.weights.transpose().cast<S>();
    Eigen::MatrixXd d = ivkit::dct_matrix(opts.num_ceps, bins);
    if (opts.cepstral_lifter != 0.0) d = lifter_coefficients(opts.cepstral_lifter, opts.num_ceps).asDiagonal() * d;
    if (opts.htk_compat) {
      Eigen::MatrixXd r(opts.num_ceps, bins);
      r.topRows(opts.num_ceps - 1) = d.bottomRows(opts.num_ceps - 1);
      r.row(opts.num_ceps - 1) = d.row(0) * (opts.use_energy ? 1.0 : std::sqrt(2.0));
      d = r;
    }
    dct_ = d.cast<S>();
    energy_col_ = opts.htk_compat ? opts.num_ceps - 1 : 0;
    if (opts.energy_floor > 0) log_energy_floor_ = std::log(opts.energy_floor);
  }

  /// Feature dimension (num_ceps).
  Index dim() const { return opts_.num_ceps; }
  const MfccOptions& options() const { return opts_; }
  /// mel.num_bins x (P/2 + 1) mel weights (the transpose of MelBanks::weights).
  const Matrix<S>& mel_matrix() const { return mel_; }
  /// num_ceps x mel.num_bins: DCT rows times the lifter (rows reordered for htk_compat).
  const Matrix<S>& cepstral_matrix() const { return dct_; }

  /// N x num_ceps MFCCs of `signal` (any Eigen vector expression; samples on Kaldi's scale, i.e.
  /// 16-bit integer values, for Kaldi-identical energies), one frame per row.
  /// @throws InvalidArgument for a signal too short for one frame, NonFiniteInput for NaN/Inf
  template <class Derived>
  Matrix<S> compute(const Eigen::MatrixBase<Derived>& signal) const {
    const char* who = "Mfcc::compute";
    detail::SignalView<S> x(signal, who);
    x.check_finite(who);
    const Index frames = fe_.checked_num_frames(x.size(), who);
    constexpr int L = detail::SpectralFrontEnd<S>::kLanes;
    using LM = typename detail::SpectralFrontEnd<S>::LaneMatrix;
    Matrix<S> out(frames, dim());
    LM mel(mel_.rows(), L), ceps(dct_.rows(), L);
    const detail::FrameEnergy energy = !opts_.use_energy ? detail::FrameEnergy::None
                                       : opts_.raw_energy ? detail::FrameEnergy::Raw
                                                          : detail::FrameEnergy::Windowed;
    const S floor = static_cast<S>(detail::kEnergyFloor);
    fe_.run(x.data(), x.size(), energy, [&](Index f0, Index count, const S* power, const S* log_energy) {
      Eigen::Map<const LM> P(power, fe_.num_bins(), L);
      mel.noalias() = mel_ * P;
      mel.array() = mel.array().max(floor).log();
      ceps.noalias() = dct_ * mel;
      if (opts_.use_energy)
        for (Index l = 0; l < count; ++l) {
          S e = log_energy[l];
          if (opts_.energy_floor > 0 && e < static_cast<S>(log_energy_floor_)) e = static_cast<S>(log_energy_floor_);
          ceps(energy_col_, l) = e;
        }
      out.middleRows(f0, count) = ceps.leftCols(count).transpose();
    });
    return out;
  }

  /// As compute(signal), after checking that `sample_rate` equals the options' sample_frequency.
  /// @throws InvalidArgument when the rates differ
  template <class Derived>
  Matrix<S> compute(const Eigen::MatrixBase<Derived>& signal, double sample_rate) const {
    detail::check_sample_rate(sample_rate, opts_.frame, "Mfcc::compute");
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
  MfccOptions opts_;
  detail::SpectralFrontEnd<S> fe_;
  Matrix<S> mel_, dct_;
  Index energy_col_ = 0;
  double log_energy_floor_ = 0;
};

/// One-shot MFCC: Mfcc<S>(opts).compute(signal). Build an Mfcc once for many signals.
template <class S = float, class Derived>
Matrix<S> compute_mfcc(const Eigen::MatrixBase<Derived>& signal, const MfccOptions& opts = MfccOptions{}) {
  return Mfcc<S>(opts).compute(signal);
}

template <class S = float, class T>
Matrix<S> compute_mfcc(const std::vector<T>& signal, const MfccOptions& opts = MfccOptions{}) {
  return Mfcc<S>(opts).compute(signal);
}

}  // namespace ivkit
