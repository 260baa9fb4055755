/// @file
/// Energy-based voice activity detection as Kaldi's compute-vad
/// (src/ivector/voice-activity-detection.cc, ComputeVadEnergy) and selection of the voiced frames
/// as select-voiced-frames.
///
/// On the first feature column (the log energy C0 of MFCCs with use_energy, before any
/// normalisation): threshold = vad_energy_threshold + vad_energy_mean_scale * mean_t(C0_t); frame
/// t is voiced when at least vad_proportion_threshold of the frames t - c .. t + c inside the
/// utterance (c = vad_frames_context) have C0 above the threshold.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/feature_layout.hpp"

namespace ivkit {

/// compute-vad options, with Kaldi's defaults.
struct VadOptions {
  double energy_threshold = 5.0;      ///< --vad-energy-threshold
  double energy_mean_scale = 0.5;     ///< --vad-energy-mean-scale (0: the threshold is absolute)
  int frames_context = 0;             ///< --vad-frames-context
  double proportion_threshold = 0.6;  ///< --vad-proportion-threshold, in (0, 1)
};

/// One decision per frame, true for voiced. Zero frames give an empty vector.
/// @throws InvalidArgument for invalid options or features without a column,
///   NonFiniteInput for NaN or Inf in the first column
template <class Layout = FramesAsRows, class Derived>
std::vector<bool> compute_vad(const Eigen::MatrixBase<Derived>& feats, const VadOptions& opts = VadOptions{}) {
  IVKIT_CHECK_LAYOUT(Layout);
  const char* who = "compute_vad";
  if (!(opts.energy_mean_scale >= 0))
    throw InvalidArgument(detail::message(who, ": energy_mean_scale must be >= 0, got ", opts.energy_mean_scale));
  if (opts.frames_context < 0)
    throw InvalidArgument(detail::message(who, ": frames_context must be >= 0, got ", opts.frames_context));
  if (!(opts.proportion_threshold > 0 && opts.proportion_threshold < 1))
    throw InvalidArgument(detail::message(who, ": proportion_threshold must be in (0, 1), got ", opts.proportion_threshold));
  if (!std::isfinite(opts.energy_threshold))
    throw InvalidArgument(detail::message(who, ": energy_threshold must be finite, got ", opts.energy_threshold));
  const Index n = num_frames<Layout>(feats);
  if (feature_dim<Layout>(feats) < 1)
    throw InvalidArgument(detail::message(who, ": the features have no column (", detail::LayoutTraits<Layout>::name,
                                          ", matrix ", feats.rows(), " x ", feats.cols(), "); the log energy C0 is expected first"));
  std::vector<double> e(static_cast<size_t>(n));
  double sum = 0;
  for (Index t = 0; t < n; ++t) {
    const double v = static_cast<double>(std::is_same_v<Layout, FramesAsRows> ? feats(t, 0) : feats(0, t));
    if (!std::isfinite(v)) throw NonFiniteInput(detail::message(who, ": frame ", t, " holds NaN or Inf"));
    e[static_cast<size_t>(t)] = v;
    sum += v;
  }
  std::vector<bool> voiced(static_cast<size_t>(n), false);
  if (n == 0) return voiced;
  double threshold = opts.energy_threshold;
  if (opts.energy_mean_scale != 0.0) threshold += opts.energy_mean_scale * sum / static_cast<double>(n);
  const Index c = opts.frames_context;
  for (Index t = 0; t < n; ++t) {
    Index num = 0, den = 0;
    for (Index u = std::max<Index>(0, t - c); u <= std::min<Index>(n - 1, t + c); ++u) {
      ++den;
      if (e[static_cast<size_t>(u)] > threshold) ++num;
    }
    voiced[static_cast<size_t>(t)] = static_cast<double>(num) >= static_cast<double>(den) * opts.proportion_threshold;
  }
  return voiced;
}

/// The voiced frames of an utterance, in order, in the input's layout; no voiced frame gives an
/// empty (0 x D) result (Kaldi skips such an utterance with a warning).
/// @throws DimensionMismatch when the decisions do not cover the frames one to one
template <class Layout = FramesAsRows, class Derived>
FeatureMatrix<Layout, typename Derived::Scalar> select_voiced_frames(const Eigen::MatrixBase<Derived>& feats,
                                                                      const std::vector<bool>& voiced) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_LAYOUT(Layout);
  IVKIT_CHECK_SCALAR(S);
  const Index n = num_frames<Layout>(feats), d = feature_dim<Layout>(feats);
  if (static_cast<Index>(voiced.size()) != n)
    throw DimensionMismatch(detail::message("select_voiced_frames: ", voiced.size(), " VAD decisions for ", n,
                                            " frames (", detail::LayoutTraits<Layout>::name, ", matrix ", feats.rows(),
                                            " x ", feats.cols(), ")"));
  Index kept = 0;
  for (bool v : voiced) kept += v ? 1 : 0;
  FeatureMatrix<Layout, S> out;
  if constexpr (std::is_same_v<Layout, FramesAsRows>) {
    out.resize(kept, d);
    for (Index t = 0, k = 0; t < n; ++t)
      if (voiced[static_cast<size_t>(t)]) out.row(k++) = feats.row(t);
  } else {
    out.resize(d, kept);
    for (Index t = 0, k = 0; t < n; ++t)
      if (voiced[static_cast<size_t>(t)]) out.col(k++) = feats.col(t);
  }
  return out;
}

/// Overload for a Kaldi VAD vector (vad.scp: 1.0 voiced, 0.0 not): non-zero entries are voiced.
template <class Layout = FramesAsRows, class Derived, class DerivedVad>
FeatureMatrix<Layout, typename Derived::Scalar> select_voiced_frames(const Eigen::MatrixBase<Derived>& feats,
                                                                      const Eigen::MatrixBase<DerivedVad>& vad) {
  std::vector<bool> voiced(static_cast<size_t>(vad.size()));
  for (Index i = 0; i < vad.size(); ++i) voiced[static_cast<size_t>(i)] = vad.reshaped()(i) != 0;
  return select_voiced_frames<Layout>(feats, voiced);
}

/// Number of voiced frames in a decision vector.
inline Index count_voiced(const std::vector<bool>& voiced) {
  Index k = 0;
  for (bool v : voiced) k += v ? 1 : 0;
  return k;
}

}  // namespace ivkit
