/// @file
/// A set of per-utterance Baum-Welch statistics (utterance ids, zeroth and first order), the
/// counterpart of SIDEKIT's StatServer. Rows are utterances, so a batch of utterances is a block
/// of rows ready for the batched i-vector products.
#pragma once

#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Zeroth- and first-order statistics of U utterances for a C-component, D-dimensional UBM.
///   zeroth (U x C):   N_uc = sum_t gamma_utc
///   first (U x C*D):  F_uc = sum_t gamma_utc (x_ut - mu_c), component c in columns [c D, (c+1) D)
/// First-order statistics are centred on the UBM means (Kaldi's and SIDEKIT's convention for
/// i-vectors). Accumulated in double, stored in Scalar.
template <class ScalarT>
class StatsSet {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;

  StatsSet() = default;
  StatsSet(Index num_components, Index dim) : C_(num_components), D_(dim), zeroth_(0, num_components), first_(0, num_components * dim) {
    if (num_components < 1 || dim < 1)
      throw InvalidArgument(detail::message("StatsSet: need C >= 1 and D >= 1, got C = ", num_components, ", D = ", dim));
  }

  Index size() const { return static_cast<Index>(ids_.size()); }
  Index num_components() const { return C_; }
  Index dim() const { return D_; }
  const std::vector<std::string>& ids() const { return ids_; }
  const Matrix<Scalar>& zeroth() const { return zeroth_; }  ///< (U x C)
  const Matrix<Scalar>& first() const { return first_; }    ///< (U x C*D)
  Matrix<Scalar>& zeroth() { return zeroth_; }
  Matrix<Scalar>& first() { return first_; }

  /// Row of utterance `id`, or -1.
  Index find(const std::string& id) const {
    const auto it = index_.find(id);
    return it == index_.end() ? -1 : it->second;
  }

  /// Row of utterance `id`; throws InvalidArgument when absent.
  Index index_of(const std::string& id) const {
    const Index i = find(id);
    if (i < 0) throw InvalidArgument(detail::message("StatsSet: no utterance '", id, "'"));
    return i;
  }

  /// Appends one utterance. @param zeroth (C) @param first (C x D), centred on the UBM means
  /// @throws InvalidArgument (duplicate id, negative or non-finite counts), DimensionMismatch
  template <class DZ, class DF>
  void add(const std::string& id, const Eigen::MatrixBase<DZ>& zeroth, const Eigen::MatrixBase<DF>& first) {
    check_utterance(id, zeroth, first);
    const Index u = size();
    zeroth_.conservativeResize(u + 1, C_);
    first_.conservativeResize(u + 1, C_ * D_);
    store(u, id, zeroth, first);
  }

  /// Appends ids.size() utterances in one step: `zeroth_of(i)` and `first_of(i)` give utterance i's
  /// statistics as add() takes them. One allocation, where add() one by one copies the whole set
  /// each time (quadratic: 0.8 s for a batch of 100 utterances at C = 2048, D = 60). Nothing is
  /// added when any utterance is refused. @throws as add()
  template <class ZerothOf, class FirstOf>
  void add_all(const std::vector<std::string>& ids, ZerothOf&& zeroth_of, FirstOf&& first_of) {
    std::unordered_map<std::string, Index> seen;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      check_utterance(ids[i], zeroth_of(i), first_of(i));
      if (!seen.emplace(ids[i], Index(0)).second)
        throw InvalidArgument(detail::message("StatsSet::add: duplicate utterance '", ids[i], "'"));
    }
    const Index u0 = size();
    zeroth_.conservativeResize(u0 + static_cast<Index>(ids.size()), C_);
    first_.conservativeResize(u0 + static_cast<Index>(ids.size()), C_ * D_);
    for (std::size_t i = 0; i < ids.size(); ++i) store(u0 + static_cast<Index>(i), ids[i], zeroth_of(i), first_of(i));
  }

  /// Appends every utterance of `other` (same C and D, no shared ids).
  void merge(const StatsSet& other) {
    if (other.C_ != C_ || other.D_ != D_)
      throw DimensionMismatch(detail::message("StatsSet::merge: C = ", other.C_, ", D = ", other.D_, " into C = ", C_,
                                              ", D = ", D_));
    for (const auto& id : other.ids_)
      if (index_.count(id)) throw InvalidArgument(detail::message("StatsSet::merge: duplicate utterance '", id, "'"));
    const Index u0 = size(), n = other.size();
    zeroth_.conservativeResize(u0 + n, C_);
    first_.conservativeResize(u0 + n, C_ * D_);
    zeroth_.bottomRows(n) = other.zeroth_;
    first_.bottomRows(n) = other.first_;
    for (Index i = 0; i < n; ++i) {
      ids_.push_back(other.ids_[static_cast<std::size_t>(i)]);
      index_.emplace(ids_.back(), u0 + i);
    }
  }

  /// The utterances named in `ids`, in that order. @throws InvalidArgument for an unknown id
  StatsSet subset(const std::vector<std::string>& ids) const {
    StatsSet out(C_, D_);
    out.zeroth_.resize(static_cast<Index>(ids.size()), C_);
    out.first_.resize(static_cast<Index>(ids.size()), C_ * D_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const Index u = index_of(ids[i]);
      if (out.index_.count(ids[i])) throw InvalidArgument(detail::message("StatsSet::subset: duplicate utterance '", ids[i], "'"));
      out.zeroth_.row(static_cast<Index>(i)) = zeroth_.row(u);
      out.first_.row(static_cast<Index>(i)) = first_.row(u);
      out.ids_.push_back(ids[i]);
      out.index_.emplace(ids[i], static_cast<Index>(i));
    }
    return out;
  }

  /// Rows [begin, begin + count) as a new set (a batch for streaming extraction).
  StatsSet rows(Index begin, Index count) const {
    if (begin < 0 || count < 0 || begin + count > size())
      throw InvalidArgument(detail::message("StatsSet::rows: [", begin, ", ", begin + count, ") outside 0..", size()));
    std::vector<std::string> ids(ids_.begin() + begin, ids_.begin() + begin + count);
    return subset(ids);
  }

 private:
  template <class DZ, class DF>
  void check_utterance(const std::string& id, const Eigen::MatrixBase<DZ>& zeroth, const Eigen::MatrixBase<DF>& first) const {
    if (zeroth.size() != C_ || first.rows() != C_ || first.cols() != D_)
      throw DimensionMismatch(detail::message("StatsSet::add: utterance '", id, "' has statistics of size ", zeroth.size(),
                                              " and ", first.rows(), " x ", first.cols(), " but the set holds C = ", C_,
                                              ", D = ", D_));
    if (index_.count(id)) throw InvalidArgument(detail::message("StatsSet::add: duplicate utterance '", id, "'"));
    for (Index c = 0; c < C_; ++c) {
      const double n = static_cast<double>(zeroth(c));
      if (!(std::isfinite(n) && n >= 0.0))
        throw InvalidArgument(detail::message("StatsSet::add: utterance '", id, "' has count ", n, " for component ", c,
                                              "; counts must be finite and non-negative"));
    }
    if (!first.allFinite())
      throw InvalidArgument(detail::message("StatsSet::add: utterance '", id, "' has NaN or Inf first-order statistics"));
  }

  /// Writes utterance `id` into row u (already allocated).
  template <class DZ, class DF>
  void store(Index u, const std::string& id, const Eigen::MatrixBase<DZ>& zeroth, const Eigen::MatrixBase<DF>& first) {
    zeroth_.row(u) = zeroth.transpose().template cast<Scalar>();
    for (Index c = 0; c < C_; ++c) first_.row(u).segment(c * D_, D_) = first.row(c).template cast<Scalar>();
    ids_.push_back(id);
    index_.emplace(id, u);
  }

  Index C_ = 0, D_ = 0;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, Index> index_;
  Matrix<Scalar> zeroth_, first_;
};

}  // namespace ivkit
