/// @file
/// Checks shared by the GMM constructors.
#pragma once

#include <cmath>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit::detail {

/// Tolerance on |sum(weights) - 1|: loose enough for weights written as text in float.
template <class Scalar>
constexpr double weight_sum_tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-4 : 1e-6;
}

template <class Scalar>
void validate_weights(const char* cls, const Vector<Scalar>& weights) {
  if (weights.size() == 0) throw InvalidArgument(message(cls, ": a GMM needs at least one component"));
  double sum = 0.0;
  for (Index c = 0; c < weights.size(); ++c) {
    const double w = weights(c);
    if (!(std::isfinite(w) && w > 0.0))
      throw InvalidArgument(message(cls, ": weight of component ", c, " is ", w, "; weights must be positive and finite"));
    sum += w;
  }
  if (std::abs(sum - 1.0) > weight_sum_tolerance<Scalar>())
    throw InvalidArgument(message(cls, ": weights sum to ", sum, " (C = ", weights.size(), "); they must sum to one"));
}

template <class Scalar>
void validate_means(const char* cls, const Matrix<Scalar>& means, Index C) {
  if (means.rows() != C)
    throw DimensionMismatch(message(cls, ": means are ", means.rows(), " x ", means.cols(), " but there are ", C,
                                    " weights"));
  if (means.cols() == 0) throw InvalidArgument(message(cls, ": feature dimension must be at least 1"));
  for (Index c = 0; c < means.rows(); ++c)
    if (!means.row(c).allFinite())
      throw InvalidArgument(message(cls, ": mean of component ", c, " holds NaN or Inf"));
}

}  // namespace ivkit::detail
