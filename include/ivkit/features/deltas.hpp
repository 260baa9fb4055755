/// @file
/// Delta and delta-delta features as Kaldi's add-deltas (src/feat/feature-functions.cc,
/// DeltaFeatures / ComputeDeltas).
///
/// Order 0 is the input. The filter of order i is the filter of order i - 1 convolved with
/// h_j = j / sum_{j'=-W..W} j'^2, j = -W .. W (W = window): order 1 is
/// d_t = sum_j j x_{t+j} / sum_j j^2 (for W = 2: (-2, -1, 0, 1, 2) / 10), order 2 applies it twice
/// (9 taps for W = 2). Frames outside the utterance are replaced by the first or last frame
/// (edge replication). The output is [x, d, dd] (N x D (order + 1)).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/features/detail/feature_layout.hpp"

namespace ivkit {

/// Kaldi's add-deltas options.
struct DeltaOptions {
  int order = 2;   ///< --delta-order: 0 (copy), 1 (deltas), 2 (deltas and delta-deltas), ...
  int window = 2;  ///< --delta-window: each order's filter spans 2 window + 1 frames
};

/// The filters of orders 0 .. order (Kaldi's DeltaFeatures scales): filter i has 2 i window + 1
/// taps, for frame offsets -i window .. i window. @throws InvalidArgument for order < 0 or window < 1
inline std::vector<Eigen::VectorXd> delta_filters(const DeltaOptions& opts) {
  if (opts.order < 0 || opts.order > 100)
    throw InvalidArgument(detail::message("delta_filters: order must be in [0, 100], got ", opts.order));
  if (opts.window < 1 || opts.window > 1000)
    throw InvalidArgument(detail::message("delta_filters: window must be in [1, 1000], got ", opts.window));
  std::vector<Eigen::VectorXd> scales(static_cast<size_t>(opts.order) + 1);
  scales[0] = Eigen::VectorXd::Ones(1);
  const int w = opts.window;
  double normaliser = 0;
  for (int j = -w; j <= w; ++j) normaliser += static_cast<double>(j) * j;
  for (int i = 1; i <= opts.order; ++i) {
    const Eigen::VectorXd& prev = scales[static_cast<size_t>(i) - 1];
    const Index prev_off = (prev.size() - 1) / 2, cur_off = prev_off + w;
    Eigen::VectorXd cur = Eigen::VectorXd::Zero(prev.size() + 2 * w);
    for (int j = -w; j <= w; ++j)
      for (Index k = -prev_off; k <= prev_off; ++k) cur(j + k + cur_off) += j * prev(k + prev_off);
    scales[static_cast<size_t>(i)] = cur / normaliser;
  }
  return scales;
}

/// [features, deltas, delta-deltas, ...] of an utterance, N x D (order + 1) in the input's layout
/// (FramesAsCols: D (order + 1) x N).
/// @throws InvalidArgument for invalid options, NonFiniteInput for NaN or Inf
template <class Layout = FramesAsRows, class Derived>
FeatureMatrix<Layout, typename Derived::Scalar> add_deltas(const Eigen::MatrixBase<Derived>& feats,
                                                            const DeltaOptions& opts = DeltaOptions{}) {
  using S = typename Derived::Scalar;
  IVKIT_CHECK_LAYOUT(Layout);
  const std::vector<Eigen::VectorXd> filters = delta_filters(opts);
  const Matrix<S> x = detail::frames_as_rows<Layout>(feats);
  detail::check_finite_frames(x, "add_deltas");
  const Index n = x.rows(), d = x.cols();
  Matrix<S> out = Matrix<S>::Zero(n, d * (opts.order + 1));
  out.leftCols(d) = x;
  // No frames: nothing to filter (and no block of an empty matrix may be taken at an offset).
  for (int i = 1; i <= opts.order && n > 0; ++i) {
    const Eigen::VectorXd& h = filters[static_cast<size_t>(i)];
    const Index off = (h.size() - 1) / 2;
    auto block = out.middleCols(i * d, d);
    // Interior frames: one scaled block of rows per tap, over all frames at once.
    const Index inner = std::max<Index>(0, n - 2 * off);
    for (Index j = -off; j <= off && inner > 0; ++j) {
      const S s = static_cast<S>(h(j + off));
      if (s != S(0)) block.middleRows(off, inner) += s * x.middleRows(off + j, inner);
    }
    // Edge frames: offsets clamped to the first or last frame.
    for (Index t = 0; t < n; ++t) {
      if (t >= off && t < n - off) continue;
      for (Index j = -off; j <= off; ++j) {
        const S s = static_cast<S>(h(j + off));
        if (s == S(0)) continue;
        const Index u = std::clamp<Index>(t + j, 0, n - 1);
        block.row(t) += s * x.row(u);
      }
    }
  }
  return detail::to_layout<Layout>(std::move(out));
}

}  // namespace ivkit
