/// @file
/// Sliding-window cepstral mean (and variance) normalisation as Kaldi's apply-cmvn-sliding
/// (src/feat/feature-functions.cc, SlidingWindowCmnInternal), computed in double.
///
/// Frame t is normalised with the statistics of frames [s, e):
///  - center: s = t - window / 2, e = s + window; otherwise s = t - window, e = t + 1;
///  - if s < 0 the window moves right: e -= s, s = 0;
///  - not center: if e > t then e = max(t + 1, min_window);
///  - if e > N the window moves left: s -= e - N, e = N, and s = max(s, 0).
/// So with center every frame uses min(window, N) frames; without, the first frames use
/// min_window frames (look-ahead) and later ones the window frames to their left (t included).
/// The output is x_t - mean; with norm_vars it is divided by the standard deviation
/// (variance floored at 1e-10; 0 when the window holds one frame).
///
/// ivkit's defaults are those of the speaker-recognition recipes (apply-cmvn-sliding
/// --norm-vars=false --center=true --cmn-window=300); Kaldi's own program defaults are
/// cmn_window 600 and center false.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/feature_layout.hpp"

namespace ivkit {

/// Sliding CMVN options (Kaldi's SlidingWindowCmnOptions with the speaker-recognition settings).
struct SlidingCmvnOptions {
  int cmn_window = 300;         ///< --cmn-window, frames
  int min_window = 100;         ///< --min-cmn-window (used only when center is false)
  bool center = true;           ///< --center: window centred on the frame
  bool norm_vars = false;       ///< --norm-vars: also divide by the standard deviation
};

/// The window [start, end) that frame t of an utterance of n frames is normalised with.
/// @throws InvalidArgument for invalid options
inline std::pair<Index, Index> cmvn_window(Index t, Index n, const SlidingCmvnOptions& opts) {
  if (opts.cmn_window < 1)
    throw InvalidArgument(detail::message("cmvn_window: cmn_window must be positive, got ", opts.cmn_window));
  if (opts.center && (opts.min_window < 1 || opts.min_window > opts.cmn_window))
    throw InvalidArgument(detail::message("cmvn_window: min_window must be in [1, cmn_window = ", opts.cmn_window,
                                          "], got ", opts.min_window));
  Index start, end;
  if (opts.center) {
    start = t - opts.cmn_window / 2;
    end = start + opts.cmn_window;
  } else {
    start = t - opts.cmn_window;
    end = t + 1;
  }
  if (start < 0) {
    end -= start;
    start = 0;
  }
  if (!opts.center && end > t) end = std::max<Index>(t + 1, opts.min_window);
  if (end > n) {
    start -= end - n;
    end = n;
    if (start < 0) start = 0;
  }
  return {start, end};
}

/// Sliding-window CMVN of an utterance, in the input's layout. Zero frames give an empty result.
/// @throws InvalidArgument for invalid options, NonFiniteInput for NaN or Inf
template <class Layout = FramesAsRows, class Derived>
FeatureMatrix<Layout, typename Derived::Scalar> apply_cmvn_sliding(const Eigen::MatrixBase<Derived>& feats,
                                                                    const SlidingCmvnOptions& opts = SlidingCmvnOptions{}) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_LAYOUT(Layout);
  cmvn_window(0, 1, opts);  // validates
  const Matrix<S> x = detail::frames_as_rows<Layout>(feats);
  detail::check_finite_frames(x, "apply_cmvn_sliding");
  const Index n = x.rows(), d = x.cols();
  Matrix<S> out(n, d);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(d), sumsq = Eigen::VectorXd::Zero(d), var(d);
  Eigen::VectorXd frame(d);
  Index last_start = -1, last_end = -1;
  for (Index t = 0; t < n; ++t) {
    const auto [start, end] = cmvn_window(t, n, opts);
    if (last_start < 0) {
      for (Index u = start; u < end; ++u) {
        frame = x.row(u).transpose().template cast<double>();
        sum += frame;
        if (opts.norm_vars) sumsq += frame.cwiseAbs2();
      }
    } else {
      // The window moves by at most one frame at each end (Kaldi asserts the same).
      IVKIT_ASSERT(start == last_start || start == last_start + 1);
      IVKIT_ASSERT(end == last_end || end == last_end + 1);
      if (start > last_start) {
        frame = x.row(last_start).transpose().template cast<double>();
        sum -= frame;
        if (opts.norm_vars) sumsq -= frame.cwiseAbs2();
      }
      if (end > last_end) {
        frame = x.row(last_end).transpose().template cast<double>();
        sum += frame;
        if (opts.norm_vars) sumsq += frame.cwiseAbs2();
      }
    }
    last_start = start;
    last_end = end;
    const double count = static_cast<double>(end - start);
    frame = x.row(t).transpose().template cast<double>() - sum / count;
    if (opts.norm_vars) {
      if (end - start == 1) {
        frame.setZero();
      } else {
        var = sumsq / count - (sum / count).cwiseAbs2();
        frame = frame.cwiseQuotient(var.cwiseMax(1.0e-10).cwiseSqrt());
      }
    }
    out.row(t) = frame.transpose().template cast<S>();
  }
  return detail::to_layout<Layout>(std::move(out));
}

}  // namespace ivkit
