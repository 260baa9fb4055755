/// @file
/// Scores of every pair of a recording's windows, for clustering (diar/clustering.hpp): PLDA
/// log-likelihood ratios after a recording-dependent PCA (Kaldi's ivector-plda-scoring-dense), or
/// cosine scores; one batched product per recording, returned symmetric in double.
///
/// The PCA (`target_energy` < 1) is fitted to the recording's own embeddings: the eigenvectors of
/// their centred covariance, largest first, as many as Kaldi keeps (it adds components while the
/// energy kept is at most `target_energy` of the total, which keeps one more than the energy needs:
/// target 0.5 with eigenvalue shares 0.6, 0.3, 0.1 keeps two). The embeddings are projected without
/// centring and the PLDA model is mapped through the same projection (Plda::apply_transform).
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <string>

#include "ivkit/backend/cosine.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/diar/clustering.hpp"

namespace ivkit {

/// The recording-dependent PCA of Kaldi's ivector-plda-scoring-dense: (k x dim), rows the
/// eigenvectors of the embeddings' centred covariance in decreasing order of eigenvalue, k chosen by
/// Kaldi's rule from `target_energy` in (0, 1]. target_energy 1 (within 1e-3) or fewer than 2
/// embeddings: the identity (no PCA, as Kaldi).
/// @throws InvalidArgument (target_energy outside (0, 1]; no embeddings), NonFiniteInput
template <class S>
ColMatrix<double> recording_pca(const Matrix<S>& x, double target_energy) {
  constexpr const char* fn = "recording_pca";
  if (!(target_energy > 0.0 && target_energy <= 1.0))
    throw InvalidArgument(detail::message(fn, ": target_energy must be in (0, 1], got ", target_energy));
  if (x.rows() == 0) throw InvalidArgument(detail::message(fn, ": no embeddings"));
  if (!x.allFinite()) throw NonFiniteInput(detail::message(fn, ": the embeddings hold NaN or Inf"));
  const Index d = x.cols();
  if (std::abs(target_energy - 1.0) <= 1e-3 || x.rows() < 2) return ColMatrix<double>::Identity(d, d);
  const Matrix<double> xd = x.template cast<double>();
  const Eigen::RowVectorXd mean = xd.colwise().mean();
  const Matrix<double> centred = xd.rowwise() - mean;
  const ColMatrix<double> cov = (centred.transpose() * centred) / static_cast<double>(x.rows());
  Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(cov);
  if (eig.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": the eigendecomposition failed"));
  // Eigen gives increasing eigenvalues: walk them from the largest.
  const Eigen::VectorXd s = eig.eigenvalues().reverse().cwiseMax(0.0);
  const double total = s.sum();
  if (!(total > 0.0)) return ColMatrix<double>::Identity(d, d);  // identical embeddings: nothing to rank
  Index k = 1;
  double energy = 0.0;
  while (k <= d && energy / total <= target_energy) {
    energy += s(k - 1);
    ++k;
  }
  k = std::min(k, d);
  return eig.eigenvectors().rowwise().reverse().leftCols(k).transpose();
}

struct DenseScoringOptions {
  double target_energy = 0.5;  ///< PLDA: the recording's PCA (1 = none); Kaldi's default 0.5
  PldaOptions plda;            ///< length normalisation (Kaldi's defaults)
  int num_threads = 1;
};

/// PLDA log-likelihood ratios of every pair of windows (rows of x, after any global transform), as
/// Kaldi's ivector-plda-scoring-dense: the recording's PCA, the model mapped through it, each
/// window enrolled once. (n x n), symmetric.
/// @throws DimensionMismatch (x and the model differ in dimension), and recording_pca's errors
template <class S>
Matrix<double> dense_plda_scores(const Plda<S>& plda, const Matrix<S>& x, const DenseScoringOptions& opts = {}) {
  if (x.cols() != plda.dim())
    throw DimensionMismatch(detail::message("dense_plda_scores: the embeddings have dimension ", x.cols(), " but the PLDA model ", plda.dim()));
  const ColMatrix<double> p = recording_pca(x, opts.target_energy);
  if (p.rows() == x.cols() && p.isIdentity(0.0)) {
    const PldaScorer<S> scorer(plda, opts.plda);
    return symmetric_part(scorer.score_matrix(scorer.enrol(x), scorer.test(x), ThreadOptions{opts.num_threads}));
  }
  const Matrix<S> projected = (x.template cast<double>() * p.transpose()).template cast<S>();
  const PldaScorer<S> scorer(plda.apply_transform(p), opts.plda);
  return symmetric_part(scorer.score_matrix(scorer.enrol(projected), scorer.test(projected), ThreadOptions{opts.num_threads}));
}

/// Cosine scores of every pair of windows. (n x n), symmetric.
template <class S>
Matrix<double> dense_cosine_scores(const Matrix<S>& x, const ThreadOptions& opts = {}) {
  return symmetric_part(cosine_score_matrix<S>(x, x, opts));
}

}  // namespace ivkit
