/// @file
/// Multi-embedding enrolment: one model per speaker from several embeddings. Two ways to score it:
///  - by the book (count-aware): average the embeddings and keep their number; PLDA scoring then uses
///    the exact posterior of the speaker's class given n embeddings (PldaScorer::enrol with counts);
///  - embedding averaging: average, then score the average as one embedding (cosine, or PLDA with
///    count 1).
/// Where length normalisation happens relative to averaging changes the result, so the order is a
/// required argument: Kaldi's sid recipes average raw i-vectors and normalise the mean
/// (`ivector-mean | ivector-normalize-length`: MeanThenNorm); many x-vector recipes normalise each
/// embedding first (NormThenMean, or NormMeanNorm).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "ivkit/backend/labels.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Order of averaging and length normalisation (to unit L2 norm) for an enrolment model.
enum class EnrolmentAveraging {
  Mean,          ///< plain average
  NormThenMean,  ///< average of unit-length embeddings
  MeanThenNorm,  ///< unit-length average (Kaldi's sid recipes)
  NormMeanNorm,  ///< unit-length average of unit-length embeddings
};

/// Enrolment models: `means` (one row per model) and the number of embeddings behind each.
template <class S>
struct EnrolmentModels {
  Matrix<S> means;
  std::vector<Index> counts;
};

/// One model per group: `groups[k]` lists the rows of `x` that enrol model k.
/// @throws InvalidArgument (an empty group, a row index out of range, a zero vector to normalise),
/// NonFiniteInput (names the row)
template <class S, class Derived>
EnrolmentModels<S> average_embeddings(const Eigen::MatrixBase<Derived>& x, const std::vector<std::vector<Index>>& groups,
                                      EnrolmentAveraging order) {
  constexpr const char* fn = "average_embeddings";
  const bool norm_before = order == EnrolmentAveraging::NormThenMean || order == EnrolmentAveraging::NormMeanNorm;
  const bool norm_after = order == EnrolmentAveraging::MeanThenNorm || order == EnrolmentAveraging::NormMeanNorm;
  EnrolmentModels<S> out;
  out.means.resize(static_cast<Index>(groups.size()), x.cols());
  out.counts.resize(groups.size());
  for (std::size_t k = 0; k < groups.size(); ++k) {
    if (groups[k].empty()) throw InvalidArgument(detail::message(fn, ": enrolment model ", k, " has no embeddings"));
    Vector<double> sum = Vector<double>::Zero(x.cols());
    for (Index r : groups[k]) {
      if (r < 0 || r >= x.rows())
        throw InvalidArgument(detail::message(fn, ": enrolment model ", k, " lists row ", r, " of ", x.rows(), " embeddings"));
      Vector<double> v = x.row(r).transpose().template cast<double>();
      if (!v.allFinite()) throw NonFiniteInput(detail::message(fn, ": embedding ", r, " holds NaN or Inf"));
      if (norm_before) {
        const double n = v.norm();
        if (!(n > 0)) throw InvalidArgument(detail::message(fn, ": embedding ", r, " is the zero vector; it cannot be length-normalised"));
        v /= n;
      }
      sum += v;
    }
    sum /= static_cast<double>(groups[k].size());
    if (norm_after) {
      const double n = sum.norm();
      if (!(n > 0)) throw InvalidArgument(detail::message(fn, ": the mean of enrolment model ", k, " is the zero vector"));
      sum /= n;
    }
    out.means.row(static_cast<Index>(k)) = sum.transpose().cast<S>();
    out.counts[k] = static_cast<Index>(groups[k].size());
  }
  return out;
}

/// One model per distinct label (speaker), in order of first appearance (see labels.hpp).
template <class S, class Derived>
EnrolmentModels<S> average_by_label(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels, EnrolmentAveraging order) {
  const ClassIndex c = index_classes("average_by_label", labels, x.rows());
  return average_embeddings<S>(x, c.rows_of, order);
}

}  // namespace ivkit
