/// @file
/// The scoring matrix W of a GMM and its transpose, each made on first use.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include "ivkit/core/types.hpp"

namespace ivkit::detail {

/// Holds W (C x F) and W^T (F x C) of a GMM's batched formulation, each made the first time it is
/// asked for. A model keeps both only when both are used: the dense products read W^T, the
/// selected-component paths and the baseline path read W, and many models are never scored at all
/// (the new model of an EM update, one that is converted or only written). At C = 2048 they are
/// 1 MB each for a diagonal model of D = 60 and 15.5 MB each for a full one.
///
/// Thread-safe: the first callers wait on a mutex, later ones read an atomic flag. Copies share
/// the tables, which is right because a model's parameters never change after construction.
template <class Scalar>
class LazyScoringWeights {
 public:
  /// W, made by make(Matrix<Scalar>& W) on first use.
  template <class Make>
  const Matrix<Scalar>& weights(Make&& make) const {
    if (!state_) return empty();
    State& s = *state_;
    return once(s, s.w_ready, s.w, [&] { make(s.w); });
  }

  /// Lets go of W and W^T (made again on next use); copies keep what they share.
  void release() { state_ = std::make_shared<State>(); }

  /// W^T; made from W when W is already there, else from a W that is not kept.
  template <class Make>
  const Matrix<Scalar>& transposed(Make&& make) const {
    if (!state_) return empty();
    State& s = *state_;
    return once(s, s.wt_ready, s.wt, [&] {
      if (s.w_ready.load(std::memory_order_relaxed)) {
        s.wt = s.w.transpose();
      } else {
        Matrix<Scalar> w;
        make(w);
        s.wt = w.transpose();
      }
    });
  }

 private:
  struct State {
    std::mutex mutex;
    std::atomic<bool> w_ready{false}, wt_ready{false};
    Matrix<Scalar> w, wt;
  };

  // fill() the first time, under the mutex; afterwards the flag alone is read.
  template <class Fill>
  static const Matrix<Scalar>& once(State& s, std::atomic<bool>& ready, const Matrix<Scalar>& m, Fill&& fill) {
    if (!ready.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (!ready.load(std::memory_order_relaxed)) {
        fill();
        ready.store(true, std::memory_order_release);
      }
    }
    return m;
  }

  // A model that was moved from holds no parameters and no tables.
  static const Matrix<Scalar>& empty() {
    static const Matrix<Scalar> none;
    return none;
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace ivkit::detail
