/// @file
/// Batched evaluation of any GMM whose per-component log-likelihood is linear in an expansion of
/// the frame: log p_c(x) = phi(x - o) . W_c + g_c (DiagGmm: phi(y) = [y, y*y]; FullGmm:
/// phi(y) = [y, vech(y y^T)]; o is a fixed centre that keeps the expansion well conditioned).
///
/// A block of frames is expanded once, multiplied by W^T in one matrix product (`../shared/DESIGN.md`
/// formulations 1 and 2), and the rows go through the SIMD log-sum-exp. DiagGmm and FullGmm expose
/// these as member functions through detail::GmmScoring.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/gemm_kernel.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/detail/top_n.hpp"
#include "ivkit/gmm/scoring_options.hpp"
#include "ivkit/gmm/sparse_posteriors.hpp"
#include "ivkit/simd/softmax.hpp"

namespace ivkit {
namespace detail {

/// Frames per block: about 512 KiB of log-likelihoods (B x C), so a block's rows stay in L2 between
/// the matrix product and the softmax, and at most about 4 MiB of expanded frames (B x F, which
/// only binds for full covariance, F = D + D(D+1)/2); never fewer than 64 frames nor more than 1024.
/// Thin blocks cost more than they save: EM's statistics product (C x B by B x F) has inner
/// dimension B, and every block pays the fixed costs again (packing W, adding a C x F partial into
/// the accumulator). Measured with bench/gmm (docs/benchmarks.md): 64 instead of 32 frames made
/// double C = 2048 accumulation 24% faster, and 256-512 instead of 64 frames made full-covariance
/// (D = 60, float, C = 256 and 512) accumulation 24% and posteriors 8-13% faster. Depends on the
/// model only, never on the thread count.
template <class Model>
Index block_frames_for(const Model& model, const ScoringOptions& opts) {
  if (opts.block_frames < 0)
    throw InvalidArgument(message("ScoringOptions: block_frames must be >= 0, got ", opts.block_frames));
  if (opts.block_frames > 0) return opts.block_frames;
  using Scalar = typename Model::Scalar;
  const Index scalar_bytes = static_cast<Index>(sizeof(Scalar));
  const Index loglik_bytes = std::max<Index>(model.num_components() * scalar_bytes, 1);
  const Index phi_bytes = std::max<Index>(model.expansion_dim() * scalar_bytes, 1);
  const Index b = std::min((Index{512} * 1024) / loglik_bytes, (Index{4} * 1024 * 1024) / phi_bytes);
  return std::clamp<Index>(b / 16 * 16, 64, 1024);
}

template <class Layout, class Model, class Derived>
void check_frame_dim(const Model& model, const Eigen::MatrixBase<Derived>& frames, const char* fn) {
  IVKIT_CHECK_LAYOUT(Layout);
  const Index d = feature_dim<Layout>(frames);
  if (d != model.dim())
    throw DimensionMismatch(message(fn, ": frames have dimension ", d, " (", LayoutTraits<Layout>::name,
                                    ", matrix ", frames.rows(), " x ", frames.cols(), ") but the model has dimension ",
                                    model.dim()));
}

/// Copies frames [begin, begin + count) into `y` (count x D, row-major), minus the model's centre,
/// converting to the model's scalar; throws NonFiniteInput naming the first bad frame.
template <class Layout, class Model, class Derived>
void load_centred_frames(const Model& model, const Eigen::MatrixBase<Derived>& frames, Index begin, Index count,
                         Matrix<typename Model::Scalar>& y, const char* fn) {
  using Scalar = typename Model::Scalar;
  y.resize(count, model.dim());
  y.noalias() = LayoutTraits<Layout>::frames(frames, begin, count).template cast<Scalar>();
  if (!y.allFinite()) {
    // Find the frame in the caller's data (not after the cast, which could overflow on its own).
    for (Index i = 0; i < count; ++i) {
      const auto row = LayoutTraits<Layout>::frames(frames, begin + i, 1);
      if (!row.allFinite())
        throw NonFiniteInput(message(fn, ": frame ", begin + i, " holds NaN or Inf"));
      if (!y.row(i).allFinite())
        throw NonFiniteInput(message(fn, ": frame ", begin + i, " overflows the model's scalar type"));
    }
  }
  y.rowwise() -= model.centre().transpose();
}

/// Per-block scratch space, one per block so that blocks are independent.
template <class Scalar>
struct ScoringWorkspace {
  Matrix<Scalar> y;       ///< centred frames (B x D)
  Matrix<Scalar> phi;     ///< expanded frames (B x F)
  Matrix<Scalar> loglik;  ///< (B x C), without the log-constants
};

/// Loads, centres and expands frames [begin, begin + count) into ws.y and ws.phi (count x F).
template <class Layout, class Model, class Derived>
void load_expanded_frames(const Model& model, const Eigen::MatrixBase<Derived>& frames, Index begin, Index count,
                          ScoringWorkspace<typename Model::Scalar>& ws, const char* fn) {
  load_centred_frames<Layout>(model, frames, begin, count, ws.y, fn);
  ws.phi.resize(count, model.expansion_dim());
  model.expand(ws.y, ws.phi);
}

/// out (count x C, row stride ldo) = phi (count x F) * W^T for the model's scoring weights W (C x F):
/// ivkit's GEMM kernel on the AVX-512 and AVX2 paths, so that the speed does not depend on the
/// compile flags (core/isa.hpp); Eigen's product on the baseline path.
template <class Model>
void times_scoring_weights(const Model& model, const Matrix<typename Model::Scalar>& phi, typename Model::Scalar* out,
                           Index ldo) {
  using Scalar = typename Model::Scalar;
  const Index count = phi.rows(), C = model.num_components(), F = model.expansion_dim();
  // Only the matrix the path reads is asked for: each is made on first use.
  if (have_gemm_kernel()) {
    const Matrix<Scalar>& Wt = model.scoring_weights_transposed();
    gemm(count, C, F, Wt.data(), Wt.outerStride(), phi.data(), phi.outerStride(), Index{1}, out, ldo);
  } else {
    Eigen::Map<Matrix<Scalar>, 0, Eigen::OuterStride<>>(out, count, C, Eigen::OuterStride<>(ldo)).noalias() =
        phi * model.scoring_weights().transpose();
  }
}

/// Expands a block and multiplies it by W^T. Afterwards ws.loglik(i, c) + g_c is the log-likelihood
/// of frame begin + i under component c.
template <class Layout, class Model, class Derived>
void block_linear_terms(const Model& model, const Eigen::MatrixBase<Derived>& frames, Index begin, Index count,
                        ScoringWorkspace<typename Model::Scalar>& ws, const char* fn) {
  load_expanded_frames<Layout>(model, frames, begin, count, ws, fn);
  ws.loglik.resize(count, model.num_components());
  times_scoring_weights(model, ws.phi, ws.loglik.data(), ws.loglik.outerStride());
}

[[noreturn]] inline void throw_non_finite_loglik(const char* fn, Index frame) {
  throw NumericalError(message(fn, ": frame ", frame,
                               " has a non-finite log-likelihood (feature values too large for the model's scalar type)"));
}

}  // namespace detail

/// Log-likelihood of every frame under every component.
/// @tparam Layout FramesAsRows (frames is N x D) or FramesAsCols (D x N); either storage order
/// @return (N x C)
/// @throws DimensionMismatch, NonFiniteInput
template <class Layout = FramesAsRows, class Model, class Derived>
Matrix<typename Model::Scalar> component_log_likelihoods(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                                         const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "component_log_likelihoods";
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), C = model.num_components(), B = detail::block_frames_for(model, opts);
  Matrix<Scalar> out(n, C);
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return detail::ScoringWorkspace<Scalar>(); },
                                 [&](Index b, detail::ScoringWorkspace<Scalar>& ws) {
    const Index begin = b * B, count = std::min(B, n - begin);
    detail::load_expanded_frames<Layout>(model, frames, begin, count, ws, fn);
    auto rows = out.middleRows(begin, count);
    detail::times_scoring_weights(model, ws.phi, rows.data(), rows.outerStride());
    for (Index i = 0; i < count; ++i) simd::add_inplace(&rows(i, 0), model.log_constants().data(), C);
  });
  return out;
}

/// Dense posteriors written into a caller-owned row-major matrix, e.g. one reused across
/// utterances: a fresh result of N x C x sizeof(Scalar) bytes costs a page fault per 4 KiB page on
/// first write (tens of ms at N = 20000, C = 2048), as much as a third of the whole computation.
/// Like every `_into` function, `out` is resized to the result's shape (N x C), which allocates
/// nothing when it already has it.
/// @param out receives the posteriors (rows sum to one)
/// @throws DimensionMismatch, NonFiniteInput, NumericalError
template <class Layout = FramesAsRows, class Model, class Derived>
void posteriors_into(const Model& model, const Eigen::MatrixBase<Derived>& frames, Matrix<typename Model::Scalar>& out,
                     Vector<typename Model::Scalar>* frame_log_likelihoods = nullptr, const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "posteriors";
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), C = model.num_components(), B = detail::block_frames_for(model, opts);
  out.resize(n, C);
  if (frame_log_likelihoods) frame_log_likelihoods->resize(n);
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return detail::ScoringWorkspace<Scalar>(); },
                                 [&](Index b, detail::ScoringWorkspace<Scalar>& ws) {
    const Index begin = b * B, count = std::min(B, n - begin);
    detail::load_expanded_frames<Layout>(model, frames, begin, count, ws, fn);
    auto rows = out.middleRows(begin, count);
    detail::times_scoring_weights(model, ws.phi, rows.data(), rows.outerStride());
    for (Index i = 0; i < count; ++i) {
      const Scalar lse = simd::softmax_inplace(&rows(i, 0), model.log_constants().data(), C);
      if (!std::isfinite(lse)) detail::throw_non_finite_loglik(fn, begin + i);
      if (frame_log_likelihoods) (*frame_log_likelihoods)(begin + i) = lse;
    }
  });
}

/// Dense posteriors of every component for every frame (rows sum to one).
/// @param frame_log_likelihoods if not null, receives log p(x_t) (N)
/// @return (N x C)
/// @throws DimensionMismatch, NonFiniteInput, NumericalError (log-likelihood overflow)
template <class Layout = FramesAsRows, class Model, class Derived>
Matrix<typename Model::Scalar> posteriors(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                          Vector<typename Model::Scalar>* frame_log_likelihoods = nullptr,
                                          const ScoringOptions& opts = {}) {
  detail::check_frame_dim<Layout>(model, frames, "posteriors");
  Matrix<typename Model::Scalar> out(num_frames<Layout>(frames), model.num_components());
  posteriors_into<Layout>(model, frames, out, frame_log_likelihoods, opts);
  return out;
}

/// log p(x_t) for every frame.
/// @return (N)
template <class Layout = FramesAsRows, class Model, class Derived>
Vector<typename Model::Scalar> frame_log_likelihoods(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                                     const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "frame_log_likelihoods";
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), C = model.num_components(), B = detail::block_frames_for(model, opts);
  Vector<Scalar> out(n);
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return detail::ScoringWorkspace<Scalar>(); },
                                 [&](Index b, detail::ScoringWorkspace<Scalar>& ws) {
    const Index begin = b * B, count = std::min(B, n - begin);
    detail::block_linear_terms<Layout>(model, frames, begin, count, ws, fn);
    for (Index i = 0; i < count; ++i) {
      Scalar* row = &ws.loglik(i, 0);
      simd::add_inplace(row, model.log_constants().data(), C);
      const Scalar lse = simd::log_sum_exp(row, C);
      if (!std::isfinite(lse)) detail::throw_non_finite_loglik(fn, begin + i);
      out(begin + i) = lse;
    }
  });
  return out;
}

/// Average per-frame log-likelihood (sum accumulated in double, in block order).
/// @throws InvalidArgument for zero frames
template <class Layout = FramesAsRows, class Model, class Derived>
double average_log_likelihood(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                              const ScoringOptions& opts = {}) {
  const Index n = num_frames<Layout>(frames);
  if (n == 0) throw InvalidArgument("average_log_likelihood: no frames");
  const auto ll = frame_log_likelihoods<Layout>(model, frames, opts);
  return ll.template cast<double>().sum() / static_cast<double>(n);
}

/// Top-N posteriors per frame, Kaldi's `gmm-global-get-post`: posteriors over all components,
/// keep the n largest, drop those below min_post (the best is always kept), renormalise.
/// @throws InvalidArgument if n < 1 or min_post outside [0, 1)
template <class Layout = FramesAsRows, class Model, class Derived>
SparsePosteriors<typename Model::Scalar> top_n_posteriors(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                                          const TopNOptions& top, const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "top_n_posteriors";
  if (top.n < 1) throw InvalidArgument(detail::message(fn, ": n must be >= 1, got ", top.n));
  if (!(top.min_post >= 0.0 && top.min_post < 1.0))
    throw InvalidArgument(detail::message(fn, ": min_post must be in [0, 1), got ", top.min_post));
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), C = model.num_components(), B = detail::block_frames_for(model, opts);
  const Index keep = std::min(top.n, C);
  SparsePosteriors<Scalar> out;
  out.frame_log_likelihoods.resize(n);
  out.offsets.reserve(static_cast<std::size_t>(n) + 1);
  out.components.reserve(static_cast<std::size_t>(n * keep));
  out.values.reserve(static_cast<std::size_t>(n * keep));
  struct Partial {
    std::vector<Index> counts;
    std::vector<std::int32_t> components;
    std::vector<Scalar> values;
    detail::ScoringWorkspace<Scalar> ws;  // scratch, reused with the partial
  };
  ordered_block_reduce(
      num_blocks(n, B), opts.num_threads, [] { return Partial{}; },
      [&](Index b, Partial& p) {
        p.counts.clear();
        p.components.clear();
        p.values.clear();
        const Index begin = b * B, count = std::min(B, n - begin);
        auto& ws = p.ws;
        detail::block_linear_terms<Layout>(model, frames, begin, count, ws, fn);
        std::vector<std::pair<Scalar, std::int32_t>> best(static_cast<std::size_t>(keep));
        for (Index i = 0; i < count; ++i) {
          Scalar* row = &ws.loglik(i, 0);
          const Scalar lse = simd::softmax_inplace(row, model.log_constants().data(), C);
          if (!std::isfinite(lse)) detail::throw_non_finite_loglik(fn, begin + i);
          out.frame_log_likelihoods(begin + i) = lse;
          Index m = detail::select_top_n(row, C, keep, best.data());
          while (m > 1 && best[static_cast<std::size_t>(m - 1)].first < static_cast<Scalar>(top.min_post)) --m;
          Scalar total = 0;
          for (Index k = 0; k < m; ++k) total += best[static_cast<std::size_t>(k)].first;
          for (Index k = 0; k < m; ++k) {
            p.components.push_back(best[static_cast<std::size_t>(k)].second);
            p.values.push_back(best[static_cast<std::size_t>(k)].first / total);
          }
          p.counts.push_back(m);
        }
      },
      [&](Partial& p) {
        for (Index c : p.counts) out.offsets.push_back(out.offsets.back() + c);
        out.components.insert(out.components.end(), p.components.begin(), p.components.end());
        out.values.insert(out.values.end(), p.values.begin(), p.values.end());
      });
  return out;
}

/// Gaussian selection, Kaldi's `gmm-gselect --n`: the n components with the highest
/// log-likelihood per frame, best first.
/// @return indices (N x min(n, C)) and, per frame, the log-sum-exp over the selected components
template <class Layout = FramesAsRows, class Model, class Derived>
GaussianSelection gaussian_selection(const Model& model, const Eigen::MatrixBase<Derived>& frames, Index n_select,
                                     const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "gaussian_selection";
  if (n_select < 1) throw InvalidArgument(detail::message(fn, ": n must be >= 1, got ", n_select));
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), C = model.num_components(), B = detail::block_frames_for(model, opts);
  const Index keep = std::min(n_select, C);
  GaussianSelection out;
  out.indices.resize(n, keep);
  out.frame_log_likelihoods.resize(n);
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return detail::ScoringWorkspace<Scalar>(); },
                                 [&](Index b, detail::ScoringWorkspace<Scalar>& ws) {
    const Index begin = b * B, count = std::min(B, n - begin);
    detail::block_linear_terms<Layout>(model, frames, begin, count, ws, fn);
    std::vector<std::pair<Scalar, std::int32_t>> best(static_cast<std::size_t>(keep));
    std::vector<Scalar> selected(static_cast<std::size_t>(keep));
    for (Index i = 0; i < count; ++i) {
      Scalar* row = &ws.loglik(i, 0);
      simd::add_inplace(row, model.log_constants().data(), C);
      detail::select_top_n(row, C, keep, best.data());
      for (Index k = 0; k < keep; ++k) {
        out.indices(begin + i, k) = best[static_cast<std::size_t>(k)].second;
        selected[static_cast<std::size_t>(k)] = best[static_cast<std::size_t>(k)].first;
      }
      const Scalar lse = simd::log_sum_exp(selected.data(), keep);
      if (!std::isfinite(lse)) detail::throw_non_finite_loglik(fn, begin + i);
      out.frame_log_likelihoods(begin + i) = static_cast<double>(lse);
    }
  });
  return out;
}

namespace detail {
template <class Model>
void check_selection(const Model& model, const GaussianSelection& sel, Index n, const char* fn) {
  if (sel.num_frames() != n)
    throw DimensionMismatch(message(fn, ": the Gaussian selection has ", sel.num_frames(), " frames but the data has ", n));
  if (n > 0 && sel.num_selected() < 1) throw InvalidArgument(message(fn, ": the Gaussian selection is empty"));
  for (Index t = 0; t < sel.indices.rows(); ++t)
    for (Index k = 0; k < sel.indices.cols(); ++k) {
      const auto c = sel.indices(t, k);
      if (c < 0 || c >= model.num_components())
        throw DimensionMismatch(message(fn, ": frame ", t, " selects component ", c, " but the model has ",
                                        model.num_components(), " components"));
    }
}
}  // namespace detail

namespace detail {

/// Models with inverse Cholesky factors of their covariances (FullGmm).
template <class Model, class = void>
struct HasInverseCholesky : std::false_type {};
template <class Model>
struct HasInverseCholesky<Model, std::void_t<decltype(std::declval<const Model&>().inverse_cholesky_packed())>> : std::true_type {};

/// Frames per block of the whitened selected log-likelihoods: the block's frames (240 B each at
/// D = 60, 1 MB in all) stay in L2 while its components are visited; the longer the block, the
/// more frames share each component's factor (20 of 2,048 selected per frame: 3 frames per
/// component in 64 frames, 8 in a 770-frame utterance, about 40 in 4,096 frames of a batch of
/// utterances). Fixed, so results do not depend on the thread count.
inline constexpr Index kWhitenedBlockFrames = 4096;

/// Selected log-likelihoods of a full-covariance model as log w_c - (D log 2 pi + log |S_c|) / 2
/// - ||K_c (y - m_c)||^2 / 2, K_c = L_c^-1 (S_c = L_c L_c^T), y the centred frame and m_c the
/// centred mean. The selected (frame, component) pairs of a block are grouped by component
/// (counting sort), and each component's packed K_c (10 KB at D = 60 in float) is read once per
/// block for all its frames, four at a time (simd::whitened_norms). The expanded form read the
/// component's F = D + D (D + 1) / 2 weights and the frame's F expanded values for every pair
/// (15 KB); this one needs no expansion and has no cancellation between a linear and a quadratic
/// term (bench/gmm/bench_scoring.cpp: 2.2x faster on the AVX-512 path).
template <class Layout, class Model, class Derived>
void selected_log_likelihoods_whitened(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                       const GaussianSelection& selection, Matrix<typename Model::Scalar>& out,
                                       const ScoringOptions& opts, const char* fn) {
  using Scalar = typename Model::Scalar;
  const Index n = out.rows(), k_sel = out.cols(), C = model.num_components(), D = model.dim();
  const Matrix<Scalar>& K = model.inverse_cholesky_packed();
  const Matrix<Scalar>& means = model.centred_means();
  const Vector<Scalar>& norms = model.log_normalisers();
  struct Workspace {
    Matrix<Scalar> y;
    std::vector<std::int32_t> starts, order;
    std::vector<Scalar> d;
  };
  const Index B = kWhitenedBlockFrames;
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return Workspace(); }, [&](Index b, Workspace& ws) {
    const Index begin = b * B, count = std::min(B, n - begin), pairs = count * k_sel;
    load_centred_frames<Layout>(model, frames, begin, count, ws.y, fn);
    // Pairs p = i k_sel + k in order of component: starts[c] .. starts[c + 1].
    ws.starts.assign(static_cast<std::size_t>(C + 1), 0);
    ws.order.resize(static_cast<std::size_t>(pairs));
    ws.d.resize(static_cast<std::size_t>(4 * D));
    for (Index i = 0; i < count; ++i)
      for (Index k = 0; k < k_sel; ++k) ++ws.starts[static_cast<std::size_t>(selection.indices(begin + i, k)) + 1];
    for (Index c = 0; c < C; ++c) ws.starts[static_cast<std::size_t>(c + 1)] += ws.starts[static_cast<std::size_t>(c)];
    for (Index i = 0; i < count; ++i)
      for (Index k = 0; k < k_sel; ++k)
        ws.order[static_cast<std::size_t>(ws.starts[static_cast<std::size_t>(selection.indices(begin + i, k))]++)] =
            static_cast<std::int32_t>(i * k_sel + k);
    // starts[c] is now the end of component c's pairs, the start of c + 1's.
    Index first = 0;
    for (Index c = 0; c < C; ++c) {
      const Index last = ws.starts[static_cast<std::size_t>(c)];
      const Scalar* Kc = &K(c, 0);
      const Scalar* mc = &means(c, 0);
      for (Index g = first; g < last; g += 4) {
        const Index m = std::min<Index>(4, last - g);
        Scalar sq[4];
        for (Index f = 0; f < m; ++f) {
          const Scalar* yt = &ws.y(ws.order[static_cast<std::size_t>(g + f)] / k_sel, 0);
          Scalar* df = ws.d.data() + f * D;
          for (Index j = 0; j < D; ++j) df[j] = yt[j] - mc[j];
        }
        simd::whitened_norms(Kc, ws.d.data(), D, m, sq);
        for (Index f = 0; f < m; ++f) {
          const std::int32_t p = ws.order[static_cast<std::size_t>(g + f)];
          out(begin + p / k_sel, p % k_sel) = norms(c) - Scalar(0.5) * sq[f];
        }
      }
      first = last;
    }
  });
}

}  // namespace detail

/// Log-likelihoods of each frame under its selected components only (Kaldi's
/// `LogLikelihoodsPreselect`); cost O(N n F) instead of O(N C F).
/// @return (N x n), column k for component selection.indices(t, k)
template <class Layout = FramesAsRows, class Model, class Derived>
Matrix<typename Model::Scalar> selected_log_likelihoods(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                                        const GaussianSelection& selection,
                                                        const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "selected_log_likelihoods";
  detail::check_frame_dim<Layout>(model, frames, fn);
  const Index n = num_frames<Layout>(frames), B = detail::block_frames_for(model, opts);
  detail::check_selection(model, selection, n, fn);
  const Index k_sel = selection.num_selected();
  Matrix<Scalar> out(n, k_sel);
  if constexpr (detail::HasInverseCholesky<Model>::value) {
    detail::selected_log_likelihoods_whitened<Layout>(model, frames, selection, out, opts, fn);
    return out;
  }
  const auto& W = model.scoring_weights();
  const auto& g = model.log_constants();
  parallel_for_blocks_with_state(num_blocks(n, B), opts.num_threads, [] { return detail::ScoringWorkspace<Scalar>(); },
                                 [&](Index b, detail::ScoringWorkspace<Scalar>& ws) {
    const Index begin = b * B, count = std::min(B, n - begin);
    detail::load_expanded_frames<Layout>(model, frames, begin, count, ws, fn);
    for (Index i = 0; i < count; ++i)
      for (Index k = 0; k < k_sel; ++k) {
        const auto c = selection.indices(begin + i, k);
        out(begin + i, k) = simd::dot(&ws.phi(i, 0), &W(c, 0), W.cols()) + g(c);
      }
  });
  return out;
}

/// Posteriors restricted to a Gaussian selection (Kaldi's `fgmm-global-gselect-to-post`): softmax
/// over the selected components, drop entries below min_post (the best is kept), renormalise.
/// frame_log_likelihoods holds the log-sum-exp over the selected components.
template <class Layout = FramesAsRows, class Model, class Derived>
SparsePosteriors<typename Model::Scalar> selected_posteriors(const Model& model, const Eigen::MatrixBase<Derived>& frames,
                                                             const GaussianSelection& selection, double min_post = 0.0,
                                                             const ScoringOptions& opts = {}) {
  using Scalar = typename Model::Scalar;
  constexpr const char* fn = "selected_posteriors";
  if (!(min_post >= 0.0 && min_post < 1.0))
    throw InvalidArgument(detail::message(fn, ": min_post must be in [0, 1), got ", min_post));
  Matrix<Scalar> ll = selected_log_likelihoods<Layout>(model, frames, selection, opts);
  const Index n = ll.rows(), k_sel = ll.cols();
  SparsePosteriors<Scalar> out;
  out.frame_log_likelihoods.resize(n);
  std::vector<std::pair<Scalar, std::int32_t>> best(static_cast<std::size_t>(k_sel));
  for (Index t = 0; t < n; ++t) {
    Scalar* row = &ll(t, 0);
    const Scalar lse = simd::softmax_inplace<Scalar>(row, nullptr, k_sel);
    if (!std::isfinite(lse)) detail::throw_non_finite_loglik(fn, t);
    out.frame_log_likelihoods(t) = lse;
    Index m = detail::select_top_n(row, k_sel, k_sel, best.data());
    while (m > 1 && best[static_cast<std::size_t>(m - 1)].first < static_cast<Scalar>(min_post)) --m;
    Scalar total = 0;
    for (Index k = 0; k < m; ++k) total += best[static_cast<std::size_t>(k)].first;
    for (Index k = 0; k < m; ++k) {
      out.components.push_back(selection.indices(t, best[static_cast<std::size_t>(k)].second));
      out.values.push_back(best[static_cast<std::size_t>(k)].first / total);
    }
    out.offsets.push_back(out.offsets.back() + m);
  }
  return out;
}

namespace detail {

/// Gives a model the batched evaluation as member functions (CRTP); the free functions above do
/// the work.
template <class Derived, class ScalarT>
class GmmScoring {
 public:
  template <class Layout = FramesAsRows, class Frames>
  Matrix<ScalarT> component_log_likelihoods(const Eigen::MatrixBase<Frames>& frames, const ScoringOptions& opts = {}) const {
    return ivkit::component_log_likelihoods<Layout>(self(), frames, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  Vector<ScalarT> log_likelihoods(const Eigen::MatrixBase<Frames>& frames, const ScoringOptions& opts = {}) const {
    return ivkit::frame_log_likelihoods<Layout>(self(), frames, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  double average_log_likelihood(const Eigen::MatrixBase<Frames>& frames, const ScoringOptions& opts = {}) const {
    return ivkit::average_log_likelihood<Layout>(self(), frames, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  Matrix<ScalarT> posteriors(const Eigen::MatrixBase<Frames>& frames, Vector<ScalarT>* frame_log_likelihoods = nullptr,
                             const ScoringOptions& opts = {}) const {
    return ivkit::posteriors<Layout>(self(), frames, frame_log_likelihoods, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  void posteriors_into(const Eigen::MatrixBase<Frames>& frames, Matrix<ScalarT>& out,
                       Vector<ScalarT>* frame_log_likelihoods = nullptr, const ScoringOptions& opts = {}) const {
    ivkit::posteriors_into<Layout>(self(), frames, out, frame_log_likelihoods, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  SparsePosteriors<ScalarT> top_n_posteriors(const Eigen::MatrixBase<Frames>& frames, const TopNOptions& top,
                                             const ScoringOptions& opts = {}) const {
    return ivkit::top_n_posteriors<Layout>(self(), frames, top, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  GaussianSelection gaussian_selection(const Eigen::MatrixBase<Frames>& frames, Index n,
                                       const ScoringOptions& opts = {}) const {
    return ivkit::gaussian_selection<Layout>(self(), frames, n, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  Matrix<ScalarT> selected_log_likelihoods(const Eigen::MatrixBase<Frames>& frames, const GaussianSelection& selection,
                                           const ScoringOptions& opts = {}) const {
    return ivkit::selected_log_likelihoods<Layout>(self(), frames, selection, opts);
  }
  template <class Layout = FramesAsRows, class Frames>
  SparsePosteriors<ScalarT> selected_posteriors(const Eigen::MatrixBase<Frames>& frames,
                                                const GaussianSelection& selection, double min_post = 0.0,
                                                const ScoringOptions& opts = {}) const {
    return ivkit::selected_posteriors<Layout>(self(), frames, selection, min_post, opts);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace detail
}  // namespace ivkit
