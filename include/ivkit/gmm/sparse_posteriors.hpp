/// @file
/// Sparse per-frame posteriors (Kaldi's `Posterior` for one utterance) and Gaussian selections
/// (Kaldi's `gmm-gselect` output).
#pragma once

#include <cstdint>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Posteriors of a few components per frame, in compressed-row form: the entries of frame t are
/// `components[offsets[t] .. offsets[t+1])` with their `values`, in decreasing order of posterior.
/// The values of each frame sum to one.
template <class Scalar>
struct SparsePosteriors {
  std::vector<Index> offsets{0};          ///< N + 1 entries
  std::vector<std::int32_t> components;   ///< component index of each entry
  std::vector<Scalar> values;             ///< posterior of each entry
  Vector<Scalar> frame_log_likelihoods;   ///< (N) log p(x_t) under the full model

  Index num_frames() const { return static_cast<Index>(offsets.size()) - 1; }
  Index num_entries() const { return static_cast<Index>(values.size()); }
  Index begin(Index t) const { return offsets[static_cast<std::size_t>(t)]; }
  Index end(Index t) const { return offsets[static_cast<std::size_t>(t) + 1]; }

  /// Dense (N x C) copy, zeros where an entry was pruned.
  Matrix<Scalar> to_dense(Index num_components) const {
    Matrix<Scalar> dense = Matrix<Scalar>::Zero(num_frames(), num_components);
    for (Index t = 0; t < num_frames(); ++t)
      for (Index k = begin(t); k < end(t); ++k) {
        const auto c = components[static_cast<std::size_t>(k)];
        if (c < 0 || c >= num_components)
          throw DimensionMismatch(detail::message("SparsePosteriors::to_dense: frame ", t, " names component ", c,
                                                  " but num_components is ", num_components));
        dense(t, c) = values[static_cast<std::size_t>(k)];
      }
    return dense;
  }
};

/// Gaussian selection: for each frame the indices of the n components with the highest
/// log-likelihood, best first (Kaldi's `gmm-gselect --n`). Later evaluation of this model, or of
/// a full-covariance model with the same components, can be restricted to them.
struct GaussianSelection {
  IndexMatrix indices;                    ///< (N x n) component indices, best first
  Vector<double> frame_log_likelihoods;   ///< (N) log-sum-exp over the selected components only

  Index num_frames() const { return indices.rows(); }
  Index num_selected() const { return indices.cols(); }
};

}  // namespace ivkit
