/// @file
/// Statistics of sliding windows over one utterance (pyannote's 2 s windows every 0.2 s) from
/// prefix sums: the utterance is cut into chunks of g = gcd(window, step) frames, each chunk's
/// statistics are computed once, and any window's statistics are a difference of two prefix sums,
/// O(C D) per window whatever its length.
#pragma once

#include <numeric>
#include <string>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/stats/baum_welch.hpp"
#include "ivkit/stats/stats_set.hpp"

namespace ivkit {

/// One window: frames [begin, end).
struct FrameWindow {
  Index begin = 0, end = 0;
};

/// Statistics of the windows of `window` frames every `step` frames (the last window ends at or
/// before the last frame; an utterance shorter than one window gives one window over all of it).
/// Window ids are "<prefix><begin>-<end>" in frames.
/// @param windows if not null, receives the frame range of each window
/// @throws InvalidArgument (window or step < 1, no frames), and as compute_stats
template <class Scalar, class Layout = FramesAsRows, class Model, class Derived>
StatsSet<Scalar> sliding_window_stats(const Model& ubm, const Eigen::MatrixBase<Derived>& frames, Index window, Index step,
                                      const StatsOptions& opts = {}, const std::string& prefix = "",
                                      std::vector<FrameWindow>* windows = nullptr) {
  constexpr const char* fn = "sliding_window_stats";
  if (window < 1 || step < 1)
    throw InvalidArgument(detail::message(fn, ": window and step must be >= 1 frame, got ", window, " and ", step));
  if (opts.max_count > 0.0)
    throw InvalidArgument(detail::message(fn, ": max_count applies per window; scale the windows' statistics afterwards"));
  const Index n = num_frames<Layout>(frames);
  if (n == 0) throw InvalidArgument(detail::message(fn, ": no frames"));
  const Index C = ubm.num_components(), D = ubm.dim();
  const Index g = std::gcd(window, step);
  const Index chunks = num_blocks(n, g);
  // prefix_n.row(k), prefix_f.row(k): statistics of frames [0, min(k g, n)).
  Matrix<double> prefix_n = Matrix<double>::Zero(chunks + 1, C), prefix_f = Matrix<double>::Zero(chunks + 1, C * D);
  for (Index k = 0; k < chunks; ++k) {
    const Index b = k * g, cnt = std::min(g, n - b);
    const UtteranceStats st =
        compute_stats<FramesAsRows>(ubm, detail::LayoutTraits<Layout>::frames(frames, b, cnt), opts);
    prefix_n.row(k + 1) = prefix_n.row(k) + st.zeroth.transpose();
    prefix_f.row(k + 1) = prefix_f.row(k) + Eigen::Map<const Eigen::RowVectorXd>(st.first.data(), C * D);
  }
  StatsSet<Scalar> out(C, D);
  std::vector<FrameWindow> ranges;
  if (n <= window) {
    ranges.push_back({0, n});
  } else {
    for (Index b = 0; b + window <= n; b += step) ranges.push_back({b, b + window});
  }
  Matrix<double> first(C, D);
  for (const FrameWindow& w : ranges) {
    const Index k0 = w.begin / g, k1 = num_blocks(w.end, g);
    const Eigen::VectorXd zeroth = (prefix_n.row(k1) - prefix_n.row(k0)).transpose().cwiseMax(0.0);
    const Eigen::RowVectorXd f = prefix_f.row(k1) - prefix_f.row(k0);
    first = Eigen::Map<const Matrix<double>>(f.data(), C, D);
    out.add(detail::message(prefix, w.begin, "-", w.end), zeroth, first);
  }
  if (windows) *windows = std::move(ranges);
  return out;
}

}  // namespace ivkit
