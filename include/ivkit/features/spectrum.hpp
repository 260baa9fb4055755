/// @file
/// Power spectra of the frames of a signal: Kaldi's frame processing (framing, dither, DC
/// removal, pre-emphasis, window, zero padding) followed by |FFT|^2 of each frame, unnormalised.
/// Row t holds |X_t(k)|^2 for k = 0 .. P/2 (frequency k fs / P), P = padded_window_size().
#pragma once

#include <Eigen/Core>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/spectral_frontend.hpp"
#include "ivkit/features/framing.hpp"

namespace ivkit {

/// N x (P/2 + 1) power spectra of the frames of `signal` (any Eigen vector expression), one
/// frame per row (FramesAsRows).
/// @throws InvalidArgument for invalid options or a signal too short for one frame,
///   NonFiniteInput for NaN or Inf samples
template <class S = float, class Derived>
Matrix<S> compute_power_spectrum(const Eigen::MatrixBase<Derived>& signal, const FrameOptions& opts) {
  IVKIT_CHECK_SCALAR(S);
  const char* who = "compute_power_spectrum";
  detail::SpectralFrontEnd<S> fe(opts, who);
  detail::SignalView<S> x(signal, who);
  x.check_finite(who);
  const Index frames = fe.checked_num_frames(x.size(), who);
  Matrix<S> out(frames, fe.num_bins());
  constexpr int L = detail::SpectralFrontEnd<S>::kLanes;
  fe.run(x.data(), x.size(), detail::FrameEnergy::None, [&](Index f0, Index count, const S* power, const S*) {
    Eigen::Map<const typename detail::SpectralFrontEnd<S>::LaneMatrix> P(power, fe.num_bins(), L);
    out.middleRows(f0, count) = P.leftCols(count).transpose();
  });
  return out;
}

/// Overload for a std::vector of samples.
template <class S = float, class T>
Matrix<S> compute_power_spectrum(const std::vector<T>& signal, const FrameOptions& opts) {
  return compute_power_spectrum<S>(Eigen::Map<const Vector<T>>(signal.data(), static_cast<Index>(signal.size())), opts);
}

}  // namespace ivkit
