/// @file
/// Simplified PLDA (Prince & Elder 2007, as trained by SIDEKIT's `FactorAnalyser.plda` and
/// SpeechBrain's `PLDA`): an embedding x of speaker s is
///
///   x = mu + F y_s + e,   y_s ~ N(0, I_r) shared by the speaker's embeddings,   e ~ N(0, Sigma) full,
///
/// with a speaker subspace F of chosen rank r. Trained by EM; speakers with the same number of
/// embeddings share one posterior covariance, so each E-step is a few matrix products. For scoring
/// it converts exactly into the two-covariance model (B = F F^T, W = Sigma) and uses PldaScorer.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <map>
#include <vector>

#include "ivkit/backend/labels.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_train.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

struct SimplifiedPldaOptions {
  Index rank = 100;               ///< speaker-subspace dimension r (capped at nothing: must be <= dim)
  int num_iters = 10;             ///< EM iterations (SIDEKIT's and SpeechBrain's default)
  bool minimum_divergence = true; ///< rescale F so that the speaker factors' second moment is I (as SIDEKIT)
};

/// Log-likelihood of the training data after each iteration's update (first entry: the initial model).
struct SimplifiedPldaReport {
  std::vector<double> log_likelihood;  ///< per embedding
};

/// The model x = mu + F y + e. `Scalar` is float or double.
template <class Scalar>
class SimplifiedPlda {
  IVKIT_CHECK_SCALAR(Scalar);

 public:
  using S = Scalar;
  static constexpr const char* kFileKind = "SimplifiedPlda";
  static constexpr std::uint32_t kFileVersion = 1;

  /// @throws DimensionMismatch, NonFiniteInput, NumericalError (Sigma not positive definite)
  SimplifiedPlda(Vector<S> mean, ColMatrix<S> speaker_loading, ColMatrix<S> residual_covariance)
      : mean_(std::move(mean)), f_(std::move(speaker_loading)), sigma_(std::move(residual_covariance)) {
    constexpr const char* fn = "SimplifiedPlda";
    const Index d = mean_.size();
    if (d == 0 || f_.rows() != d || f_.cols() < 1 || f_.cols() > d || sigma_.rows() != d || sigma_.cols() != d)
      throw DimensionMismatch(detail::message(fn, ": mean has ", d, " entries, F is ", f_.rows(), " x ", f_.cols(), ", Sigma is ",
                                              sigma_.rows(), " x ", sigma_.cols(), " (F must be dim x rank, 1 <= rank <= dim)"));
    if (!mean_.allFinite() || !f_.allFinite() || !sigma_.allFinite())
      throw NonFiniteInput(detail::message(fn, ": the parameters hold NaN or Inf"));
    if (Eigen::LLT<ColMatrix<double>>(sigma_.template cast<double>()).info() != Eigen::Success)
      throw NumericalError(detail::message(fn, ": the residual covariance (", d, " x ", d, ") is not positive definite"));
  }

  Index dim() const { return mean_.size(); }
  Index rank() const { return f_.cols(); }
  const Vector<S>& mean() const { return mean_; }
  const ColMatrix<S>& speaker_loading() const { return f_; }
  const ColMatrix<S>& residual_covariance() const { return sigma_; }

  /// The same model as two-covariance PLDA: B = F F^T, W = Sigma (exact; B has rank r).
  Plda<S> to_plda() const {
    const ColMatrix<double> f = f_.template cast<double>();
    return Plda<S>::from_covariances(mean_.template cast<double>(), ColMatrix<double>(f * f.transpose()), sigma_.template cast<double>());
  }

  template <class Other>
  SimplifiedPlda<Other> cast() const {
    return SimplifiedPlda<Other>(mean_.template cast<Other>(), f_.template cast<Other>(), sigma_.template cast<Other>());
  }

  void save(const std::string& path) const { to_writer().save(path); }
  std::string to_bytes() const { return to_writer().bytes(); }
  static SimplifiedPlda load(const std::string& path) { return from_reader(ModelReader(path, kFileKind, kFileVersion)); }
  static SimplifiedPlda from_bytes(std::string bytes, const std::string& source = "<memory>") {
    return from_reader(ModelReader(std::move(bytes), source, kFileKind, kFileVersion));
  }

 private:
  ModelWriter to_writer() const {
    ModelWriter w(kFileKind, kFileVersion);
    w.integer("dim", dim()).integer("rank", rank()).matrix("mean", mean_).matrix("F", f_).matrix("Sigma", sigma_);
    return w;
  }
  static SimplifiedPlda from_reader(const ModelReader& r) {
    const Index d = r.integer("dim"), k = r.integer("rank");
    if (d <= 0 || k <= 0 || k > d) r.fail(0, detail::message("has dimension ", d, " and rank ", k));
    try {
      return SimplifiedPlda(r.vector<S>("mean", d), r.matrix<S>("F", d, k), r.matrix<S>("Sigma", d, d));
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(detail::message("ModelReader: '", r.source(), "' holds an invalid simplified PLDA model: ", e.what()));
    }
  }

  Vector<S> mean_;
  ColMatrix<S> f_;
  ColMatrix<S> sigma_;
};

namespace detail {

/// Per-speaker sums of centred embeddings grouped by count, and the total scatter: all EM needs.
struct SimplifiedPldaData {
  Vector<double> mean;
  ColMatrix<double> scatter;                 // sum_i (x_i - mu)(x_i - mu)^T
  std::map<Index, Matrix<double>> sums_by_count;  // n -> (speakers with n embeddings) x dim
  Index num_examples = 0;
  Index num_speakers = 0;
};

/// E-step and log-likelihood for (F, Sigma). Accumulates A = sum_s f_s E[y_s]^T, R = sum_s n_s E[y_s y_s^T],
/// Ryy = sum_s E[y_s y_s^T]; returns the log-likelihood of all the data.
inline double simplified_plda_estep(const SimplifiedPldaData& data, const ColMatrix<double>& f, const ColMatrix<double>& sigma,
                                    ColMatrix<double>* a, ColMatrix<double>* r, ColMatrix<double>* ryy) {
  constexpr const char* fn = "train_simplified_plda";
  const Index d = f.rows(), k = f.cols();
  Eigen::LLT<ColMatrix<double>> llt(sigma);
  if (llt.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": the residual covariance became singular"));
  const double logdet_sigma = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  const ColMatrix<double> sigma_inv = llt.solve(ColMatrix<double>::Identity(d, d));
  const ColMatrix<double> g = f.transpose() * sigma_inv;  // r x d
  const ColMatrix<double> ftsf = g * f;
  double ll = -0.5 * (static_cast<double>(data.num_examples) * (d * kLog2Pi + logdet_sigma) + sigma_inv.cwiseProduct(data.scatter).sum());
  if (a) {
    a->setZero(d, k);
    r->setZero(k, k);
    ryy->setZero(k, k);
  }
  for (const auto& [n, sums] : data.sums_by_count) {
    const double nd = static_cast<double>(n), count = static_cast<double>(sums.rows());
    ColMatrix<double> l = ColMatrix<double>::Identity(k, k) + nd * ftsf;
    Eigen::LLT<ColMatrix<double>> l_llt(l);
    const double logdet_l = 2.0 * l_llt.matrixLLT().diagonal().array().log().sum();
    const ColMatrix<double> l_inv = l_llt.solve(ColMatrix<double>::Identity(k, k));
    const Matrix<double> b = sums * g.transpose();  // speakers x r
    const Matrix<double> ey = b * l_inv;            // posterior means
    ll += -0.5 * count * logdet_l + 0.5 * (ey.cwiseProduct(b)).sum();
    if (a) {
      a->noalias() += sums.transpose() * ey;
      const ColMatrix<double> second = count * l_inv + ey.transpose() * ey;
      *r += nd * second;
      *ryy += second;
    }
  }
  return ll;
}

}  // namespace detail

/// Trains simplified PLDA on `x` (one embedding per row) labelled by speaker. The mean is the data
/// mean; F starts from the top-r eigenvectors of the between-speaker covariance (scaled by the square
/// roots of their eigenvalues) and Sigma from the within-speaker covariance. Each EM iteration never
/// decreases the log-likelihood (reported per embedding).
/// @throws DimensionMismatch, NonFiniteInput, InvalidArgument (rank outside 1..dim, too little data),
/// NumericalError (singular within-speaker covariance)
template <class S, class Derived>
SimplifiedPlda<S> train_simplified_plda(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels,
                                        const SimplifiedPldaOptions& options = {}, SimplifiedPldaReport* report = nullptr) {
  constexpr const char* fn = "train_simplified_plda";
  const Index d = x.cols();
  if (options.rank < 1 || options.rank > d)
    throw InvalidArgument(detail::message(fn, ": rank ", options.rank, " is outside 1..", d, " (the embedding dimension)"));
  if (options.num_iters < 0) throw InvalidArgument(detail::message(fn, ": num_iters ", options.num_iters, " is negative"));
  // The two-covariance statistics give the class structure and the checks (enough data, full-rank
  // within-class scatter), their messages naming train_simplified_plda.
  const PldaStats two_cov = detail::plda_stats(fn, x, labels);
  const ClassIndex classes = index_classes(fn, labels, x.rows());
  detail::SimplifiedPldaData data;
  data.num_examples = x.rows();
  data.num_speakers = classes.num_classes();
  data.mean = x.template cast<double>().colwise().mean().transpose();
  Matrix<double> centred = x.template cast<double>();
  centred.rowwise() -= data.mean.transpose();
  data.scatter = centred.transpose() * centred;
  std::map<Index, std::vector<Index>> by_count;
  for (Index s = 0; s < classes.num_classes(); ++s) by_count[classes.counts[static_cast<std::size_t>(s)]].push_back(s);
  for (const auto& [n, speakers] : by_count) {
    Matrix<double> sums = Matrix<double>::Zero(static_cast<Index>(speakers.size()), d);
    for (std::size_t j = 0; j < speakers.size(); ++j)
      for (Index row : classes.rows_of[static_cast<std::size_t>(speakers[j])]) sums.row(static_cast<Index>(j)) += centred.row(row);
    data.sums_by_count.emplace(n, std::move(sums));
  }

  // Initialisation from the between- and within-speaker covariances.
  ColMatrix<double> sigma = two_cov.within_scatter / static_cast<double>(data.num_examples - data.num_speakers);
  ColMatrix<double> between = ColMatrix<double>::Zero(d, d);
  for (const auto& [n, m] : two_cov.centred_means_by_count) between += m.transpose() * m;
  between /= static_cast<double>(data.num_speakers);
  Eigen::SelfAdjointEigenSolver<ColMatrix<double>> eig(between);
  ColMatrix<double> f(d, options.rank);
  for (Index j = 0; j < options.rank; ++j)
    f.col(j) = eig.eigenvectors().col(d - 1 - j) * std::sqrt(std::max(eig.eigenvalues()(d - 1 - j), 1e-12 * eig.eigenvalues()(d - 1)));

  if (report) report->log_likelihood.clear();
  const double per = 1.0 / static_cast<double>(data.num_examples);
  ColMatrix<double> a, r, ryy;
  for (int it = 0; it < options.num_iters; ++it) {
    const double ll = detail::simplified_plda_estep(data, f, sigma, &a, &r, &ryy);
    if (report) report->log_likelihood.push_back(ll * per);
    // M-step: F = A R^-1, Sigma = (scatter - F A^T) / N.
    Eigen::LLT<ColMatrix<double>> r_llt(r);
    if (r_llt.info() != Eigen::Success) throw NumericalError(detail::message(fn, ": the speaker-factor statistics became singular"));
    f = r_llt.solve(a.transpose()).transpose();
    sigma = (data.scatter - f * a.transpose()) * per;
    sigma = 0.5 * (sigma + sigma.transpose()).eval();
    if (options.minimum_divergence) {
      // E[y y^T] averaged over speakers should be I; absorb it into F (the likelihood is unchanged).
      Eigen::LLT<ColMatrix<double>> c_llt(ryy / static_cast<double>(data.num_speakers));
      if (c_llt.info() == Eigen::Success) f = (f * c_llt.matrixL()).eval();
    }
  }
  if (report) report->log_likelihood.push_back(detail::simplified_plda_estep(data, f, sigma, nullptr, nullptr, nullptr) * per);
  return SimplifiedPlda<S>(data.mean.cast<S>(), f.cast<S>(), sigma.cast<S>());
}

}  // namespace ivkit
