/// @file
/// Storage-layout tags for feature matrices: frames as rows (Kaldi, NumPy, SIDEKIT) or frames
/// as columns (Eigen-style column-major, mlpack). Either storage order works with either tag.
#pragma once

#include <Eigen/Core>

#include "ivkit/core/types.hpp"

namespace ivkit {

/// Feature matrix is N x D: one frame per row.
struct FramesAsRows {};
/// Feature matrix is D x N: one frame per column.
struct FramesAsCols {};

namespace detail {

template <class Layout>
struct LayoutTraits;

template <>
struct LayoutTraits<FramesAsRows> {
  template <class Derived>
  static Index num_frames(const Eigen::MatrixBase<Derived>& m) { return m.rows(); }
  template <class Derived>
  static Index dim(const Eigen::MatrixBase<Derived>& m) { return m.cols(); }
  /// Frames [begin, begin + count) as a (count x D) expression, no copy.
  template <class Derived>
  static auto frames(const Eigen::MatrixBase<Derived>& m, Index begin, Index count) {
    return m.middleRows(begin, count);
  }
  static constexpr const char* name = "FramesAsRows";
};

template <>
struct LayoutTraits<FramesAsCols> {
  template <class Derived>
  static Index num_frames(const Eigen::MatrixBase<Derived>& m) { return m.cols(); }
  template <class Derived>
  static Index dim(const Eigen::MatrixBase<Derived>& m) { return m.rows(); }
  template <class Derived>
  static auto frames(const Eigen::MatrixBase<Derived>& m, Index begin, Index count) {
    return m.middleCols(begin, count).transpose();
  }
  static constexpr const char* name = "FramesAsCols";
};

template <class Layout>
inline constexpr bool is_layout_v =
    std::is_same_v<Layout, FramesAsRows> || std::is_same_v<Layout, FramesAsCols>;

}  // namespace detail

/// Number of frames in a feature matrix of the given layout.
template <class Layout, class Derived>
Index num_frames(const Eigen::MatrixBase<Derived>& frames) {
  return detail::LayoutTraits<Layout>::num_frames(frames);
}

/// Feature dimension of a feature matrix of the given layout.
template <class Layout, class Derived>
Index feature_dim(const Eigen::MatrixBase<Derived>& frames) {
  return detail::LayoutTraits<Layout>::dim(frames);
}

}  // namespace ivkit

#define IVKIT_CHECK_LAYOUT(Layout) \
  static_assert(::ivkit::detail::is_layout_v<Layout>, "ivkit: Layout must be FramesAsRows or FramesAsCols")
