/// @file
/// Total-variability (i-vector extractor) training by EM with Kaldi's accumulators, batched.
///
/// For each utterance the E-step gives the posterior mean w_u and covariance L_u^-1. With first
/// order statistics taken about the model's m (F'_uc = F_uc - N_uc (m_c - mu_c)), Kaldi's
/// accumulators are (Kaldi's IvectorExtractorStats; docs/ivector.md)
///   Y_c = sum_u F'_uc w_u^T                       (D x R)  one product F'^T W per batch
///   R_c = sum_u N_uc (L_u^-1 + w_u w_u^T)         (packed) one product N^T Phi per batch
///   gamma_c = sum_u N_uc,  plus sum_u w_u and sum_u (L_u^-1 + w_u w_u^T) for the prior.
/// M-step: T_c = Y_c R_c^-1. Minimum divergence (Brummer; Kaldi's UpdatePrior) then maps the
/// i-vector distribution seen in training, mean h and covariance G = chol L_G L_G^T, back to the
/// prior: zero-mean convention: T <- T L_G, m <- m + T h; Kaldi's convention: w <- Q L_G^-1 w with
/// the Householder Q that sends L_G^-1 h to ||L_G^-1 h|| e_1, so T <- T L_G Q^T and the prior
/// offset becomes ||L_G^-1 h||. Both leave the likelihood unchanged.
///
/// The objective reported per iteration is the marginal log-likelihood of the statistics under
/// the model (up to a constant that depends on the data and on Sigma only), per utterance; EM
/// never lowers it while Sigma is fixed (with the covariance update the Sigma terms are not in it).
/// Parallel work is split in fixed chunks (utterances for the E-step, rows of Y and R for the
/// accumulation), so results are bit-identical for any thread count.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/gemm_kernel.hpp"
#include "ivkit/core/large_buffer.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/spd_kernel.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/ivector/extractor.hpp"
#include "ivkit/ivector/init.hpp"
#include "ivkit/stats/stats_set.hpp"

namespace ivkit {

/// Kaldi's accumulators (in double); add together across threads, processes and MPI ranks.
struct IvectorTrainerStats {
  Matrix<double> Y;                 ///< (C*D x R)
  Matrix<double> R_packed;          ///< (C x R(R+1)/2)
  Eigen::VectorXd gamma;            ///< (C)
  Eigen::VectorXd f_sum;            ///< (C*D) sum_u F_uc, about the UBM means (for the covariance update)
  Eigen::VectorXd w_sum;            ///< (R)
  Eigen::VectorXd ww_sum;           ///< (R(R+1)/2) sum of L^-1 + w w^T
  double num_utterances = 0.0;
  double objective = 0.0;           ///< sum over utterances of the marginal log-likelihood (up to a constant)

  IvectorTrainerStats() = default;
  IvectorTrainerStats(Index C, Index D, Index R)
      : Y(C * D, R), R_packed(C, packed_size(R)), gamma(Eigen::VectorXd::Zero(C)), f_sum(Eigen::VectorXd::Zero(C * D)),
        w_sum(Eigen::VectorXd::Zero(R)), ww_sum(Eigen::VectorXd::Zero(packed_size(R))) {
    // 1.7 GB at C = 2048, R = 400, D = 60, added to by every batch: huge pages, present before
    // they are zeroed (core/large_buffer.hpp).
    detail::prepare_large_table(Y.data(), sizeof(double) * static_cast<std::size_t>(Y.size()));
    detail::prepare_large_table(R_packed.data(), sizeof(double) * static_cast<std::size_t>(R_packed.size()));
    Y.setZero();
    R_packed.setZero();
  }

  IvectorTrainerStats& operator+=(const IvectorTrainerStats& o) {
    if (o.Y.rows() != Y.rows() || o.Y.cols() != Y.cols() || o.R_packed.rows() != R_packed.rows())
      throw DimensionMismatch(detail::message("IvectorTrainerStats::operator+=: accumulators of different sizes (",
                                              Y.rows(), " x ", Y.cols(), " vs ", o.Y.rows(), " x ", o.Y.cols(), ")"));
    Y += o.Y;
    R_packed += o.R_packed;
    gamma += o.gamma;
    f_sum += o.f_sum;
    w_sum += o.w_sum;
    ww_sum += o.ww_sum;
    num_utterances += o.num_utterances;
    objective += o.objective;
    return *this;
  }
};

struct IvectorAccumulateOptions {
  /// Utterances per batch. The accumulators (1.7 GB at C = 2048, R = 400) are read and written once
  /// per batch, so larger batches amortise them; the batch's precisions take batch x R(R+1)/2 scalars
  /// (164 MB at 512 x 400 in float).
  Index batch_size = 512;
  int num_threads = 1;      ///< 0 = all hardware threads; results identical for any value
};

namespace detail {
inline constexpr Index kIvectorUtteranceChunk = 16;  ///< utterances per E-step task
inline constexpr Index kIvectorRowChunk = 1024;      ///< rows of Y (about) per accumulation task
/// Tiles of the R accumulation. With ivkit's GEMM kernel, tall tiles: each packed panel of Phi (read
/// from far-apart rows) then serves 2048 components instead of 512, 4% faster; columns a multiple
/// of the kernel's panel width (48 floats, 24 doubles), so no tile has a partial panel in its middle.
/// Eigen's path keeps its float copy of a tile at 4 MB.
inline Index ivector_r_tile_components() { return have_gemm_kernel() ? 2048 : 512; }
inline constexpr Index kIvectorRTileColumns = 2016;
}  // namespace detail

/// E-step over a set of statistics: adds to `acc` (made as IvectorTrainerStats(C, D, R)).
/// @throws DimensionMismatch, InvalidArgument, NumericalError
template <class Scalar, class S>
void accumulate_ivector_stats(const IvectorExtractor<Scalar>& model, const StatsSet<S>& stats, IvectorTrainerStats& acc,
                              const IvectorAccumulateOptions& opts = {}) {
  constexpr const char* fn = "accumulate_ivector_stats";
  const Index C = model.num_components(), D = model.dim(), R = model.ivector_dim(), P = packed_size(R);
  const Index U = stats.size();
  if (stats.num_components() != C || stats.dim() != D)
    throw DimensionMismatch(detail::message(fn, ": statistics are for C = ", stats.num_components(), ", D = ", stats.dim(),
                                            " but the extractor has C = ", C, ", D = ", D));
  if (acc.Y.rows() != C * D || acc.Y.cols() != R || acc.R_packed.cols() != P)
    throw DimensionMismatch(detail::message(fn, ": the accumulator is not sized for C = ", C, ", D = ", D, ", R = ", R));
  if (opts.batch_size < 1) throw InvalidArgument(detail::message(fn, ": batch_size must be >= 1, got ", opts.batch_size));

  // Model constants of the objective: k_c = m_c^T Sigma_c^-1 (mu_c - m_c / 2), and Sigma_c^-1 m_c.
  Vector<Scalar> sigma_inv_m(C * D);
  Vector<Scalar> k(C);
  Matrix<Scalar> delta_rows(C, D);  // m_c - mu_c
  for (Index c = 0; c < C; ++c) {
    const Eigen::VectorXd mc = model.m().row(c).transpose().template cast<double>();
    const Eigen::VectorXd muc = model.ubm_means().row(c).transpose().template cast<double>();
    const Eigen::VectorXd sim = model.sigma_inv_times(c, mc);
    sigma_inv_m.segment(c * D, D) = sim.template cast<Scalar>();
    k(c) = static_cast<Scalar>(sim.dot(muc - 0.5 * mc));
    delta_rows.row(c) = (mc - muc).transpose().template cast<Scalar>();
  }
  const Vector<Scalar> prior = model.prior_mean();
  const double prior_term = -0.5 * prior.template cast<double>().squaredNorm();

  const Eigen::MatrixXd delta_d = delta_rows.template cast<double>();
  const Index B = opts.batch_size;
  // Per-batch precisions (164 MB at 512 x 400 in float), kept per calling thread and reused by later
  // calls (see IvectorExtractor::extract_matrices). Each utterance's row is overwritten by its second
  // moment once it has been solved, so the batch needs one such buffer, not two.
  thread_local detail::LargeBuffer<Scalar> prec_buffer;
  Matrix<Scalar> W;
  for (Index begin = 0; begin < U; begin += B) {
    const Index count = std::min(B, U - begin);
    // No copies when the statistics already are in the model's scalar type.
    const Eigen::Ref<const Matrix<Scalar>> n = stats.zeroth().middleRows(begin, count).template cast<Scalar>();
    const Eigen::Ref<const Matrix<Scalar>> f = stats.first().middleRows(begin, count).template cast<Scalar>();
    for (Index i = 0; i < count; ++i) acc.f_sum += stats.first().row(begin + i).transpose().template cast<double>();
    // Objective terms that need the statistics about the UBM means.
    const Vector<Scalar> data_term = f * sigma_inv_m + n * k;
    // Linear terms with F' = F - N (m - mu) about m, as the extractor computes them.
    const Matrix<Scalar> linear = model.linear_terms(n, f, opts.num_threads);
    auto prec = detail::packed_precisions(n, model.U_packed(), prec_buffer, opts.num_threads);
    W.resize(count, R);
    // Row i of the same buffer becomes vech(L_i^-1 + w_i w_i^T) once the solver is done with its precision.
    auto& Phi = prec;
    std::vector<double> utt_objective(static_cast<std::size_t>(count));
    parallel_for_blocks(num_blocks(count, detail::kIvectorUtteranceChunk), opts.num_threads, [&](Index chunk) {
      const Index u0 = chunk * detail::kIvectorUtteranceChunk;
      const Index u1 = std::min(count, u0 + detail::kIvectorUtteranceChunk);
      thread_local detail::PosteriorSolver<Scalar> solver;
      for (Index i = u0; i < u1; ++i) {
        if (!solver.factor(prec.row(i).data(), R))
          throw NumericalError(detail::message(fn, ": the precision of utterance ", begin + i, " is not positive definite"));
        const Eigen::VectorXd w = solver.mean(linear.row(i).transpose());
        const Vector<Scalar> ws = w.template cast<Scalar>();
        W.row(i) = ws.transpose();
        // vech(L^-1 + w w^T): the packed upper triangle row by row is the lower one column by column.
        const ColMatrix<Scalar>& cov = solver.covariance();
        Scalar* phi = Phi.row(i).data();
        for (Index j = 0; j < R; phi += R - j, ++j)
          Eigen::Map<Vector<Scalar>>(phi, R - j) = cov.col(j).tail(R - j) + ws(j) * ws.tail(R - j);
        utt_objective[static_cast<std::size_t>(i)] = static_cast<double>(data_term(i)) +
                                                     0.5 * linear.row(i).template cast<double>().dot(w) - 0.5 * solver.log_det() +
                                                     prior_term;
      }
    });
    // Y += F'^T W = F^T W - (m_c - mu_c) (n_c^T W) per component, and R += N^T Phi, in fixed tiles
    // each written by one task.
    const Matrix<Scalar> NW = n.transpose() * W;  // (C x R)
    const Index comps_per_y = std::max<Index>(1, detail::kIvectorRowChunk / D);
    const Index y_tasks = num_blocks(C, comps_per_y);
    const Index r_tile_components = detail::ivector_r_tile_components();
    const Index r_comp_tasks = num_blocks(C, r_tile_components);
    const Index r_col_tasks = num_blocks(P, detail::kIvectorRTileColumns);
    parallel_for_blocks(y_tasks + r_comp_tasks * r_col_tasks, opts.num_threads, [&](Index task) {
      thread_local Matrix<Scalar> part;
      if (task < y_tasks) {
        const Index c0 = task * comps_per_y, cn = std::min(comps_per_y, C - c0);
        auto y = acc.Y.middleRows(c0 * D, cn * D);
        if (detail::have_gemm_kernel()) {
          // Added straight into the double accumulator (one pass over it, no float copy).
          detail::gemm_add(cn * D, R, count, W.data(), R, f.data() + c0 * D, 1, f.outerStride(), y.data(), R);
        } else {
          part.noalias() = f.middleCols(c0 * D, cn * D).transpose() * W;
          y += part.template cast<double>();
        }
        for (Index c = c0; c < c0 + cn; ++c)
          y.middleRows((c - c0) * D, D).noalias() -= delta_d.row(c).transpose() * NW.row(c).template cast<double>();
      } else {
        const Index t = task - y_tasks;
        const Index c0 = (t / r_col_tasks) * r_tile_components, cn = std::min(r_tile_components, C - c0);
        const Index p0 = (t % r_col_tasks) * detail::kIvectorRTileColumns, pn = std::min(detail::kIvectorRTileColumns, P - p0);
        if (detail::have_gemm_kernel()) {
          detail::gemm_add(cn, pn, count, Phi.data() + p0, P, n.data() + c0, 1, n.outerStride(),
                           acc.R_packed.data() + c0 * P + p0, P);
        } else {
          part.noalias() = n.middleCols(c0, cn).transpose() * Phi.middleCols(p0, pn);
          acc.R_packed.block(c0, p0, cn, pn) += part.template cast<double>();
        }
      }
    });
    for (Index i = 0; i < count; ++i) {
      acc.gamma += n.row(i).transpose().template cast<double>();
      acc.w_sum += W.row(i).transpose().template cast<double>();
      acc.ww_sum += Phi.row(i).transpose().template cast<double>();
    }
    acc.num_utterances += static_cast<double>(count);
    for (double o : utt_objective) acc.objective += o;
  }
}

struct IvectorUpdateOptions {
  bool minimum_divergence = true;  ///< re-estimate the prior (keeps the likelihood, speeds convergence)
  double min_gamma = 1e-3;         ///< components with less occupancy keep their T_c
  /// Covariance update (Kaldi's --update-variances): needs the corpus totals of the second-order
  /// statistics about the UBM means, sum_u S_uc: diagonal (C x D) for a diagonal model, packed full
  /// (C x D(D+1)/2, as compute_stats with a full UBM gives) for a full-covariance model; e.g. the sum of
  /// compute_stats(..., second_order = true).second over the training utterances. Null: Sigma is kept.
  const Matrix<double>* second_order = nullptr;
  /// Updated variances >= variance_floor * the current ones; for full covariances, the eigenvalues of
  /// the new covariance relative to the current one (in the current one's Cholesky basis) are floored.
  double variance_floor = 0.01;
  /// With a reference model (update_extractor's `reference`; train_extractor passes the model it
  /// started from, i.e. the UBM's covariances): updated covariances >= reference_floor * the
  /// reference ones, in the same sense. The floor relative to the current model alone lets the
  /// covariances shrink geometrically when R is large for the number of utterances (maximum
  /// likelihood is then unbounded); this one keeps them at a fixed fraction of the UBM's.
  double reference_floor = 0.01;
};

/// M-step: T_c = Y_c R_c^-1, then minimum divergence in the model's convention.
/// @throws DimensionMismatch, InvalidArgument (no utterances), NumericalError
namespace detail {

/// sigma raised so that sigma >= floor * base in the positive semi-definite sense: the eigenvalues
/// of sigma in base's Cholesky basis floored at `floor`.
inline ColMatrix<double> floor_covariance(const ColMatrix<double>& sigma, const ColMatrix<double>& base, double floor) {
  const Index D = sigma.rows();
  Eigen::LLT<ColMatrix<double>> llt(base);
  const ColMatrix<double> L = llt.matrixL();
  const ColMatrix<double> Linv = L.triangularView<Eigen::Lower>().solve(ColMatrix<double>::Identity(D, D));
  ColMatrix<double> rel = Linv * sigma * Linv.transpose();
  rel = 0.5 * (rel + rel.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(rel);
  const Eigen::VectorXd ev = eig.eigenvalues().cwiseMax(floor);
  const ColMatrix<double> out = L * (eig.eigenvectors() * ev.asDiagonal() * eig.eigenvectors().transpose()) * L.transpose();
  return 0.5 * (out + out.transpose());
}

}  // namespace detail

/// The covariances that bound the updated ones from below (IvectorUpdateOptions::reference_floor).
template <class Scalar>
struct CovarianceFloorReference {
  Matrix<Scalar> variances;                    ///< diagonal models (C x D)
  std::vector<ColMatrix<Scalar>> covariances;  ///< full models
  static CovarianceFloorReference of(const IvectorExtractor<Scalar>& m) { return {m.variances(), m.covariances()}; }
};

namespace detail {

/// The reference has the model's shape, positive finite variances or positive definite covariances.
template <class Scalar>
void check_floor_reference(const char* fn, const CovarianceFloorReference<Scalar>& ref, bool full, Index C, Index D) {
  if (full) {
    if (static_cast<Index>(ref.covariances.size()) != C)
      throw DimensionMismatch(message(fn, ": the floor reference has ", ref.covariances.size(), " covariances for ", C, " components"));
    for (Index c = 0; c < C; ++c) {
      const ColMatrix<Scalar>& S = ref.covariances[static_cast<std::size_t>(c)];
      if (S.rows() != D || S.cols() != D)
        throw DimensionMismatch(message(fn, ": floor reference covariance ", c, " is ", S.rows(), " x ", S.cols(), " but D = ", D));
      if (!S.allFinite() || Eigen::LLT<ColMatrix<double>>(S.template cast<double>()).info() != Eigen::Success)
        throw InvalidArgument(message(fn, ": floor reference covariance ", c, " is not finite and positive definite"));
    }
  } else {
    if (ref.variances.rows() != C || ref.variances.cols() != D)
      throw DimensionMismatch(message(fn, ": the floor reference variances are ", ref.variances.rows(), " x ", ref.variances.cols(),
                                      " but C = ", C, ", D = ", D));
    if (!ref.variances.allFinite() || (ref.variances.array() <= Scalar(0)).any())
      throw InvalidArgument(message(fn, ": the floor reference variances must be finite and positive"));
  }
}

}  // namespace detail

/// `reference` (optional): covariances of the same shape as the model's, e.g. of the model training
/// started from (train_extractor passes those), that bound the update from below.
namespace detail {

/// T = T M (T: rows x R in Scalar, M: R x R) computed in double, a block of rows at a time (no
/// double copy of the whole T: 393 MB at C = 2048, R = 400, D = 60), through the GEMM kernel where
/// the path has it (4 x 10^10 flops at that size).
template <class Scalar>
void right_multiply_in_double(Matrix<Scalar>& T, const ColMatrix<double>& M) {
  const Index R = T.cols(), rows = T.rows();
  const Matrix<double> A = M;  // row-major: the kernel's A (K x N)
  constexpr Index kBlock = 240;
  Matrix<double> in(std::min(kBlock, rows), R), out(std::min(kBlock, rows), R);
  for (Index r0 = 0; r0 < rows; r0 += kBlock) {
    const Index rn = std::min(kBlock, rows - r0);
    in.topRows(rn) = T.middleRows(r0, rn).template cast<double>();
    if (have_gemm_kernel())
      gemm(rn, R, R, A.data(), R, in.data(), R, Index{1}, out.data(), R);
    else
      out.topRows(rn).noalias() = in.topRows(rn) * A;
    T.middleRows(r0, rn) = out.topRows(rn).template cast<Scalar>();
  }
}

/// Workspace of solve_spd_transposed, reused across the M-step's components.
struct SpdSolveWorkspace {
  static constexpr Index kBlock = 48;  ///< rows per block: whole panels of the kernels (8 rows; 24 or 12 doubles)
  std::vector<double> diag_inverses;   ///< Z_j = K_jj^-T of each diagonal block, column-major kBlock x kBlock
  std::vector<double> update;          ///< one block's product with the rows already solved (kBlock x N)
};

/// X <- R^-1 X for R = K K^T, given its lower Cholesky factor K (R x R, column-major, leading
/// dimension ldk; only the lower triangle is read), and X (R x N, row-major, row stride N) by two
/// blocked triangular solves, K^-1 X and then K^-T of that, 48 rows at a time: the product with
/// the rows already solved through the GEMM kernel (the bulk), then the block itself times the
/// explicit inverse of K's 48 x 48 diagonal block. 2 N R^2 flops after the factorisation, where
/// forming R^-1 and multiplying (triangular inverse, Gram product, product) takes 2 R^3 / 3 + 2 N R^2.
/// Needs the SPD and GEMM kernels (have_spd_kernel(), have_gemm_kernel()).
inline void solve_spd_transposed(const double* K, Index R, Index ldk, double* X, Index N, SpdSolveWorkspace& ws) {
  constexpr Index nb = SpdSolveWorkspace::kBlock;
  const Index blocks = num_blocks(R, nb);
  ws.diag_inverses.resize(static_cast<std::size_t>(blocks * nb * nb));
  ws.update.resize(static_cast<std::size_t>(nb * N));
  for (Index j = 0; j < blocks; ++j) {
    const Index j0 = j * nb, nj = std::min(nb, R - j0);
    spd_inverse_transpose_lower(K + j0 * ldk + j0, nj, ldk, ws.diag_inverses.data() + j * nb * nb, nb);
  }
  double* tmp = ws.update.data();
  // Block j: X_j <- (inverse of the diagonal block, read through Z with strides zs) * (X_j - tmp), tmp
  // holding the product with the rows already solved (absent for the first block solved).
  auto finish_block = [&](Index j0, Index nj, bool have_update, const double* Z, Index zs_i, Index zs_k) {
    double* xj = X + j0 * N;
    if (have_update)
      for (Index i = 0; i < nj * N; ++i) tmp[i] = xj[i] - tmp[i];
    else
      std::copy(xj, xj + nj * N, tmp);
    gemm(nj, N, nj, tmp, N, Z, zs_i, zs_k, xj, N);
  };
  // Forward: K_jj X_j = X_j - K[j, <j] X[<j]; K_jj^-1 (i, k) = Z_j(k, i).
  for (Index j = 0; j < blocks; ++j) {
    const Index j0 = j * nb, nj = std::min(nb, R - j0);
    if (j0 > 0) gemm(nj, N, j0, X, N, K + j0, Index{1}, ldk, tmp, N);  // b(i, k) = K(j0 + i, k)
    finish_block(j0, nj, j0 > 0, ws.diag_inverses.data() + j * nb * nb, nb, Index{1});
  }
  // Backward: K_jj^T X_j = X_j - K[>j, j]^T X[>j]; K_jj^-T (i, k) = Z_j(i, k).
  for (Index j = blocks - 1; j >= 0; --j) {
    const Index j0 = j * nb, nj = std::min(nb, R - j0), j1 = j0 + nj;
    if (j1 < R) gemm(nj, N, R - j1, X + j1 * N, N, K + j0 * ldk + j1, ldk, Index{1}, tmp, N);  // b(i, k) = K(j1 + k, j0 + i)
    finish_block(j0, nj, j1 < R, ws.diag_inverses.data() + j * nb * nb, Index{1}, nb);
  }
}

}  // namespace detail

template <class Scalar>
IvectorExtractor<Scalar> update_extractor(const IvectorExtractor<Scalar>& model, const IvectorTrainerStats& acc,
                                          const IvectorUpdateOptions& opts = {},
                                          const CovarianceFloorReference<Scalar>* reference = nullptr) {
  constexpr const char* fn = "update_extractor";
  const Index C = model.num_components(), D = model.dim(), R = model.ivector_dim();
  if (acc.Y.rows() != C * D || acc.Y.cols() != R || acc.R_packed.rows() != C || acc.R_packed.cols() != packed_size(R))
    throw DimensionMismatch(detail::message(fn, ": the accumulator does not match the extractor (C = ", C, ", D = ", D, ", R = ", R, ")"));
  if (!(acc.num_utterances > 0)) throw InvalidArgument(detail::message(fn, ": no utterances accumulated"));
  Matrix<Scalar> T = model.T();
  // T_c = Y_c R_c^-1 for every component (8 x 10^10 flops at C = 2048, R = 400, D = 60). With the
  // SPD kernels (core/spd_kernel.hpp): R_c = K K^T, then T_c^T = R_c^-1 Y_c^T by two blocked
  // triangular solves through the GEMM kernel, so that the speed does not depend on the compile
  // flags; otherwise Eigen's Cholesky solve.
  const bool kernels = detail::have_spd_kernel() && detail::have_gemm_kernel();
  ColMatrix<double> K;
  Matrix<double> Tt;  // T_c^T (R x D, row-major)
  detail::SpdSolveWorkspace solve_ws;
  for (Index c = 0; c < C; ++c) {
    if (!(acc.gamma(c) > opts.min_gamma)) continue;
    if (kernels) {
      K = unpack_symmetric<double>(acc.R_packed.row(c), R);
      if (!detail::spd_cholesky_lower(K.data(), R, R))
        throw NumericalError(detail::message(fn, ": R of component ", c, " is not positive definite"));
      Tt = acc.Y.middleRows(c * D, D).transpose();
      detail::solve_spd_transposed(K.data(), R, R, Tt.data(), D, solve_ws);
      T.middleRows(c * D, D) = Tt.transpose().template cast<Scalar>();
    } else {
      Eigen::LLT<ColMatrix<double>> llt(unpack_symmetric<double>(acc.R_packed.row(c), R));
      if (llt.info() != Eigen::Success)
        throw NumericalError(detail::message(fn, ": R of component ", c, " is not positive definite"));
      // T_c = Y_c R_c^-1, i.e. solve R_c T_c^T = Y_c^T.
      const ColMatrix<double> Tt = llt.solve(acc.Y.middleRows(c * D, D).transpose());
      T.middleRows(c * D, D) = Tt.transpose().template cast<Scalar>();
    }
  }
  Matrix<Scalar> m = model.m();
  Vector<Scalar> prior = model.prior_mean();
  Matrix<Scalar> variances = model.variances();
  std::vector<ColMatrix<Scalar>> covariances;
  if (opts.second_order) {
    // Sigma_c = (S'_c - T_c Y_c^T) / gamma_c with S'_c the scatter about m_c (Kaldi's UpdateVariances,
    // simplified with T_c R_c = Y_c); S about the UBM means moves to m_c with a_c = m_c - mu_c:
    // S' = S - 2 a F + gamma a^2 (diagonal).
    const Matrix<double>& S2 = *opts.second_order;
    const Index cols = model.full_covariance() ? packed_size(D) : D;
    if (S2.rows() != C || S2.cols() != cols || !S2.allFinite())
      throw DimensionMismatch(detail::message(fn, ": second-order totals are ", S2.rows(), " x ", S2.cols(), " but must be ", C,
                                              " x ", cols, " and finite"));
    if (!(opts.variance_floor >= 0 && std::isfinite(opts.variance_floor)) || !(opts.reference_floor >= 0 && std::isfinite(opts.reference_floor)))
      throw InvalidArgument(detail::message(fn, ": variance_floor (", opts.variance_floor, ") and reference_floor (", opts.reference_floor,
                                            ") must be finite and >= 0"));
    if (reference) detail::check_floor_reference(fn, *reference, model.full_covariance(), C, D);
    if (model.full_covariance()) {
      // Full: S' = S - a F^T - F a^T + gamma a a^T, Sigma_c = sym(S' - T_c Y_c^T) / gamma_c, then
      // floored against the current covariance.
      covariances = model.covariances();
      for (Index c = 0; c < C; ++c) {
        const double g = acc.gamma(c);
        if (!(g > opts.min_gamma)) continue;
        const Eigen::VectorXd a = (model.m().row(c) - model.ubm_means().row(c)).transpose().template cast<double>();
        const Eigen::VectorXd F = acc.f_sum.segment(c * D, D);
        ColMatrix<double> s_about_m = unpack_symmetric<double>(S2.row(c), D) - a * F.transpose() - F * a.transpose() + g * a * a.transpose();
        ColMatrix<double> sigma = (s_about_m - T.middleRows(c * D, D).template cast<double>() * acc.Y.middleRows(c * D, D).transpose()) / g;
        sigma = 0.5 * (sigma + sigma.transpose()).eval();
        const ColMatrix<double> old = model.covariances()[static_cast<std::size_t>(c)].template cast<double>();
        sigma = detail::floor_covariance(sigma, old, opts.variance_floor);
        // Raising sigma in the PSD order keeps the floor above satisfied.
        if (reference)
          sigma = detail::floor_covariance(sigma, reference->covariances[static_cast<std::size_t>(c)].template cast<double>(),
                                           opts.reference_floor);
        covariances[static_cast<std::size_t>(c)] = sigma.template cast<Scalar>();
      }
    }
    for (Index c = 0; c < C && !model.full_covariance(); ++c) {
      const double g = acc.gamma(c);
      if (!(g > opts.min_gamma)) continue;
      const Eigen::ArrayXd a = (model.m().row(c) - model.ubm_means().row(c)).transpose().template cast<double>().array();
      const Eigen::ArrayXd F = acc.f_sum.segment(c * D, D).array();
      const Eigen::ArrayXd s_about_m = S2.row(c).transpose().array() - 2.0 * a * F + g * a.square();
      const Eigen::ArrayXd explained =
          (T.middleRows(c * D, D).template cast<double>().cwiseProduct(acc.Y.middleRows(c * D, D))).rowwise().sum().array();
      const Eigen::ArrayXd v = (s_about_m - explained) / g;
      const Eigen::ArrayXd old = model.variances().row(c).transpose().template cast<double>().array();
      Eigen::ArrayXd floored = v.max(opts.variance_floor * old);
      if (reference) floored = floored.max(opts.reference_floor * reference->variances.row(c).transpose().template cast<double>().array());
      variances.row(c) = floored.transpose().template cast<Scalar>();
    }
  }
  if (opts.minimum_divergence) {
    const double U = acc.num_utterances;
    const Eigen::VectorXd h = acc.w_sum / U;
    ColMatrix<double> G = unpack_symmetric<double>(acc.ww_sum, R) / U - h * h.transpose();
    Eigen::LLT<ColMatrix<double>> llt(G);
    if (llt.info() != Eigen::Success)
      throw NumericalError(detail::message(fn, ": the i-vector covariance is not positive definite (too few utterances for R = ", R, "?)"));
    const ColMatrix<double> LG = llt.matrixL();
    if (model.convention() == PriorConvention::KaldiOffset) {
      // w' = Q LG^-1 w: mean ||v|| e_1 with v = LG^-1 h, covariance I; T' = T LG Q^T.
      const Eigen::VectorXd v = LG.triangularView<Eigen::Lower>().solve(h);
      const double norm = v.norm();
      Eigen::VectorXd u = v;
      u(0) -= norm;  // Householder vector sending v to norm * e_1
      ColMatrix<double> Q = ColMatrix<double>::Identity(R, R);
      if (u.squaredNorm() > 1e-300) Q -= 2.0 * u * u.transpose() / u.squaredNorm();
      detail::right_multiply_in_double(T, LG * Q.transpose());
      prior.setZero();
      prior(0) = static_cast<Scalar>(norm);
    } else {
      // m + T w = (m + T h) + (T LG) w' with w' = LG^-1 (w - h) ~ N(0, I): any prior mean is absorbed.
      for (Index c = 0; c < C; ++c)
        m.row(c) += (T.middleRows(c * D, D).template cast<double>() * h).transpose().template cast<Scalar>();
      detail::right_multiply_in_double(T, LG);
      prior.setZero();
    }
  }
  if (opts.second_order && model.full_covariance()) return model.rebuild(std::move(m), std::move(T), std::move(prior), nullptr, &covariances);
  return model.rebuild(std::move(m), std::move(T), std::move(prior), opts.second_order ? &variances : nullptr);
}

/// One training iteration as reported.
struct IvectorIteration {
  int iteration = 0;
  double objective = 0.0;  ///< per utterance, of the model before this iteration's update
};

struct IvectorTrainOptions {
  int num_iterations = 5;
  IvectorAccumulateOptions accumulate;
  IvectorUpdateOptions update;
  std::function<void(const IvectorIteration&)> progress;
  /// Called on each iteration's accumulator before the M-step: sums it over processes, e.g.
  /// [&](IvectorTrainerStats& a) { ivkit::mpi::allreduce(a, MPI_COMM_WORLD); } (ivkit/mpi/allreduce.hpp).
  /// Each process passes its own share of the statistics; all end with the same model.
  std::function<void(IvectorTrainerStats&)> reduce;
};

struct IvectorTrainReport {
  std::vector<IvectorIteration> iterations;
};

/// EM from an initial extractor (init_extractor_random or init_extractor_pca) on in-memory statistics.
template <class Scalar, class S>
IvectorExtractor<Scalar> train_extractor(IvectorExtractor<Scalar> model, const StatsSet<S>& stats,
                                         const IvectorTrainOptions& opts = {}, IvectorTrainReport* report = nullptr) {
  if (stats.size() == 0 && !opts.reduce) throw InvalidArgument("train_extractor: no utterances");
  IvectorTrainReport rep;
  // The covariance update is floored against the starting model's covariances (the UBM's).
  const auto start = opts.update.second_order ? CovarianceFloorReference<Scalar>::of(model) : CovarianceFloorReference<Scalar>{};
  for (int it = 0; it < opts.num_iterations; ++it) {
    IvectorTrainerStats acc(model.num_components(), model.dim(), model.ivector_dim());
    accumulate_ivector_stats(model, stats, acc, opts.accumulate);
    if (opts.reduce) opts.reduce(acc);
    rep.iterations.push_back({it, acc.objective / acc.num_utterances});
    if (opts.progress) opts.progress(rep.iterations.back());
    model = update_extractor(model, acc, opts.update, opts.update.second_order ? &start : nullptr);
  }
  if (report) *report = std::move(rep);
  return model;
}

}  // namespace ivkit
