/// @file
/// Training the two-covariance PLDA model by EM, as Kaldi's `ivector-compute-plda`
/// (PldaStats / PldaEstimator): the class means are the hidden variables, the within-class scatter
/// around each class mean and the posterior of each class mean give the statistics, and each
/// iteration re-estimates the between- and within-class covariances. Batched: classes with the same
/// number of examples share one posterior covariance, and their posterior means are one matrix product.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <map>
#include <vector>

#include "ivkit/backend/labels.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

struct PldaTrainingOptions {
  int num_em_iters = 10;  ///< Kaldi's `--num-em-iters` default
};

/// The EM objective (Kaldi's PldaEstimator::ComputeObjf: the log-likelihood of the class means and the
/// within-class offsets, per example) after each iteration; it never decreases.
struct PldaTrainingReport {
  std::vector<double> objective;
  Index num_classes = 0;
  Index num_examples = 0;
};

/// Sufficient statistics of labelled embeddings for two-covariance PLDA, in double.
struct PldaStats {
  Vector<double> mean;              ///< average of the class means (Kaldi: sum of class means / classes)
  ColMatrix<double> within_scatter; ///< sum over examples of (x - class mean)(x - class mean)^T
  /// Class means centred on `mean`, grouped by number of examples: count -> (classes x dim).
  std::map<Index, Matrix<double>> centred_means_by_count;
  Index num_classes = 0;
  Index num_examples = 0;
};

namespace detail {

/// plda_stats naming `fn` (the function the caller called) in its error messages.
template <class Derived>
PldaStats plda_stats(const char* fn, const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
  const ClassIndex classes = index_classes(fn, labels, x.rows());
  detail::check_finite_rows(fn, "embedding", x);
  const Index d = x.cols();
  if (x.rows() <= d)
    throw InvalidArgument(detail::message(fn, ": ", x.rows(), " embeddings of dimension ", d,
                                          "; PLDA needs more embeddings than dimensions"));
  if (classes.num_classes() == x.rows())
    throw InvalidArgument(detail::message(fn, ": every one of the ", classes.num_classes(),
                                          " speakers has a single embedding; PLDA needs speakers with two or more"));
  PldaStats st;
  st.num_classes = classes.num_classes();
  st.num_examples = x.rows();
  const Matrix<double> xd = x.template cast<double>();
  Matrix<double> class_means(st.num_classes, d);
  for (Index k = 0; k < st.num_classes; ++k) {
    Vector<double> m = Vector<double>::Zero(d);
    for (Index r : classes.rows_of[static_cast<std::size_t>(k)]) m += xd.row(r).transpose();
    class_means.row(k) = (m / static_cast<double>(classes.counts[static_cast<std::size_t>(k)])).transpose();
  }
  st.mean = class_means.colwise().mean().transpose();
  // Within-class scatter: one product of the offsets from the class means.
  Matrix<double> offsets(x.rows(), d);
  for (Index r = 0; r < x.rows(); ++r) offsets.row(r) = xd.row(r) - class_means.row(classes.of_row[static_cast<std::size_t>(r)]);
  st.within_scatter = offsets.transpose() * offsets;
  // A rank-deficient within-class scatter has no maximum-likelihood W: EM would shrink W towards
  // singular forever. Refuse it (Kaldi does not check; its W just becomes ill-conditioned).
  {
    Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(st.within_scatter, Eigen::EigenvaluesOnly);
    const Vector<double>& ev = eig.eigenvalues();
    const double top = ev(d - 1);
    Index rank = 0;
    for (Index i = 0; i < d; ++i) rank += ev(i) > 1e-10 * top;
    if (!(top > 0) || rank < d)
      throw NumericalError(detail::message(fn, ": the within-class scatter of ", x.rows(), " embeddings in ", st.num_classes,
                                           " speakers has rank ", top > 0 ? rank : 0, " < dimension ", d,
                                           "; reduce the dimension first (LDA or PCA) or add speakers with several embeddings"));
  }
  std::map<Index, std::vector<Index>> by_count;
  for (Index k = 0; k < st.num_classes; ++k) by_count[classes.counts[static_cast<std::size_t>(k)]].push_back(k);
  for (const auto& [n, ks] : by_count) {
    Matrix<double> m(static_cast<Index>(ks.size()), d);
    for (std::size_t j = 0; j < ks.size(); ++j) m.row(static_cast<Index>(j)) = class_means.row(ks[j]) - st.mean.transpose();
    st.centred_means_by_count.emplace(n, std::move(m));
  }
  return st;
}

}  // namespace detail

/// Statistics of `x` (one embedding per row) with speaker labels `labels` (one per row); errors
/// name train_plda.
/// @throws DimensionMismatch, NonFiniteInput (names the row), InvalidArgument (too little data:
/// no more examples than dimensions, or no class with two or more examples; Kaldi's checks)
template <class Derived>
PldaStats plda_stats(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
  return detail::plda_stats("train_plda", x, labels);
}

namespace detail {

inline ColMatrix<double> spd_inverse(const char* fn, const char* what, const ColMatrix<double>& a, double* logdet = nullptr) {
  Eigen::LLT<ColMatrix<double>> llt(a);
  if (llt.info() != Eigen::Success)
    throw NumericalError(detail::message(fn, ": the ", what, " (", a.rows(), " x ", a.cols(), ") is not positive definite"));
  if (logdet) *logdet = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return llt.solve(ColMatrix<double>::Identity(a.rows(), a.cols()));
}

/// Kaldi's PldaEstimator::ComputeObjf, per example.
inline double plda_objective(const PldaStats& st, const ColMatrix<double>& within, const ColMatrix<double>& between) {
  constexpr const char* fn = "train_plda";
  const Index d = within.rows();
  double within_logdet = 0;
  const ColMatrix<double> w_inv = spd_inverse(fn, "within-class covariance", within, &within_logdet);
  const double within_count = static_cast<double>(st.num_examples - st.num_classes);
  double objf = -0.5 * (within_count * (within_logdet + kLog2Pi * d) + (w_inv.cwiseProduct(st.within_scatter)).sum());
  for (const auto& [n, m] : st.centred_means_by_count) {
    double logdet = 0;
    const ColMatrix<double> inv = spd_inverse(fn, "class-mean covariance", between + within / static_cast<double>(n), &logdet);
    const double quad = ((m * inv).cwiseProduct(m)).sum();
    objf += -0.5 * (static_cast<double>(m.rows()) * (logdet + kLog2Pi * d) + quad);
  }
  return objf / static_cast<double>(st.num_examples);
}

}  // namespace detail

/// One EM iteration from (within, between); returns the new pair (Kaldi's EstimateOneIter).
inline void plda_em_iteration(const PldaStats& st, ColMatrix<double>& within, ColMatrix<double>& between) {
  constexpr const char* fn = "train_plda";
  const Index d = within.rows();
  const ColMatrix<double> b_inv = detail::spd_inverse(fn, "between-class covariance", between);
  const ColMatrix<double> w_inv = detail::spd_inverse(fn, "within-class covariance", within);
  ColMatrix<double> within_stats = st.within_scatter;
  double within_count = static_cast<double>(st.num_examples - st.num_classes);
  ColMatrix<double> between_stats = ColMatrix<double>::Zero(d, d);
  double between_count = 0;
  for (const auto& [n, m] : st.centred_means_by_count) {
    const double nd = static_cast<double>(n), k = static_cast<double>(m.rows());
    // Posterior of a class mean given its n examples: covariance (B^-1 + n W^-1)^-1, mean mixed n W^-1 m.
    const ColMatrix<double> mixed = detail::spd_inverse(fn, "class posterior precision", b_inv + nd * w_inv);
    const ColMatrix<double> gain = nd * mixed * w_inv;  // w = gain m
    const Matrix<double> w = m * gain.transpose();
    const Matrix<double> m_w = m - w;
    between_stats += k * mixed + w.transpose() * w;
    between_count += k;
    within_stats += nd * (k * mixed + m_w.transpose() * m_w);
    within_count += k;
  }
  within = within_stats / within_count;
  between = between_stats / between_count;
  within = 0.5 * (within + within.transpose()).eval();
  between = 0.5 * (between + between.transpose()).eval();
}

/// Trains two-covariance PLDA on `x` (one embedding per row) labelled by speaker: EM from
/// W = B = I, then the simultaneous diagonalisation (Kaldi's ivector-compute-plda). Every speaker
/// counts, also those with one embedding (they inform the between-class covariance only).
/// @throws as plda_stats, and NumericalError when a covariance stops being positive definite
template <class S, class Derived>
Plda<S> train_plda(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels, const PldaTrainingOptions& options = {},
                   PldaTrainingReport* report = nullptr) {
  if (options.num_em_iters < 0) throw InvalidArgument(detail::message("train_plda: num_em_iters ", options.num_em_iters, " is negative"));
  const PldaStats st = plda_stats(x, labels);
  const Index d = x.cols();
  ColMatrix<double> within = ColMatrix<double>::Identity(d, d), between = ColMatrix<double>::Identity(d, d);
  if (report) {
    report->objective.clear();
    report->num_classes = st.num_classes;
    report->num_examples = st.num_examples;
  }
  for (int it = 0; it < options.num_em_iters; ++it) {
    plda_em_iteration(st, within, between);
    if (report) report->objective.push_back(detail::plda_objective(st, within, between));
  }
  return Plda<S>::from_covariances(st.mean, between, within);
}

}  // namespace ivkit
