// The i-vector extractor against the dense textbook formula computed naively in double; training
// on statistics drawn from a known model; conventions, threads, bad input.
#include <doctest/doctest.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <ivkit/ivector/trainer.hpp>

using namespace ivkit;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

namespace {

struct Problem {
  DiagGmm<double> ubm;
  MatD T_true;          // (C*D x R)
  StatsSet<double> stats;
};

/// Statistics of utterances drawn from a known total-variability model: per component, N_c frames
/// from N(mu_c + T_c w, Sigma_c), first order centred on mu_c.
Problem make_problem(Index C, Index D, Index R, Index U, std::uint64_t seed, double t_scale = 0.7) {
  Random rng(seed);
  Vector<double> w = Vector<double>::Constant(C, 1.0 / static_cast<double>(C));
  Matrix<double> mu(C, D), var(C, D);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = rng.normal();
      var(c, d) = 0.5 + rng.uniform();
    }
  Problem p{DiagGmm<double>(w, mu, var), MatD(C * D, R), StatsSet<double>(C, D)};
  for (Index i = 0; i < C * D; ++i)
    for (Index r = 0; r < R; ++r) p.T_true(i, r) = t_scale * rng.normal();
  for (Index u = 0; u < U; ++u) {
    VecD wv(R);
    for (Index r = 0; r < R; ++r) wv(r) = rng.normal();
    VecD n(C);
    Matrix<double> f(C, D);
    for (Index c = 0; c < C; ++c) {
      n(c) = (u % 17 == 5) ? 0.0 : std::floor(3 + 20 * rng.uniform());  // some utterances miss components
      const VecD m = p.T_true.middleRows(c * D, D) * wv;
      for (Index d = 0; d < D; ++d) {
        double s = 0;
        for (int t = 0; t < static_cast<int>(n(c)); ++t) s += m(d) + std::sqrt(var(c, d)) * rng.normal();
        f(c, d) = s;
      }
    }
    p.stats.add("utt" + std::to_string(u), n, f);
  }
  return p;
}

/// Textbook posterior (naive, double, explicit inverse):
/// L = I + sum_c N_c T_c^T S_c^-1 T_c, w = L^-1 (mu_w + sum_c T_c^T S_c^-1 (F_c - N_c (m_c - mu_c))).
template <class E>
void naive_posterior(const E& e, const VecD& n, const VecD& f, VecD& w, MatD& cov) {
  const Index C = e.num_components(), D = e.dim(), R = e.ivector_dim();
  MatD L = MatD::Identity(R, R);
  VecD b = e.prior_mean().template cast<double>();
  for (Index c = 0; c < C; ++c) {
    const MatD Tc = e.T().middleRows(c * D, D).template cast<double>();
    MatD Sinv;
    if (e.full_covariance())
      Sinv = e.covariances()[static_cast<std::size_t>(c)].template cast<double>().inverse();
    else
      Sinv = e.variances().row(c).transpose().template cast<double>().cwiseInverse().asDiagonal();
    L += n(c) * Tc.transpose() * Sinv * Tc;
    const VecD delta = (e.m().row(c) - e.ubm_means().row(c)).transpose().template cast<double>();
    b += Tc.transpose() * Sinv * (f.segment(c * D, D) - n(c) * delta);
  }
  cov = L.inverse();
  w = cov * b;
}

double min_principal_cosine(const MatD& A, const MatD& B) {
  const MatD Qa = Eigen::HouseholderQR<MatD>(A).householderQ() * MatD::Identity(A.rows(), A.cols());
  const MatD Qb = Eigen::HouseholderQR<MatD>(B).householderQ() * MatD::Identity(B.rows(), B.cols());
  return Eigen::JacobiSVD<MatD>(Qa.transpose() * Qb).singularValues().minCoeff();
}

template <class S>
constexpr double tol() { return std::is_same_v<S, float> ? 2e-3 : 1e-9; }

}  // namespace

TEST_CASE_TEMPLATE("Batched extraction equals the dense textbook formula", S, float, double) {
  const Problem p = make_problem(12, 3, 4, 40, 1);
  for (auto conv : {PriorConvention::ZeroMean, PriorConvention::KaldiOffset}) {
    CAPTURE(static_cast<int>(conv));
    const auto e = init_extractor_random(p.ubm.cast<S>(), 4, 7, 0.5, conv, 10.0);
    CHECK(e.convention() == conv);
    ExtractOptions o;
    o.covariances = true;
    o.batch_size = 16;
    const Ivectors<S> iv = e.extract(p.stats, o);
    CHECK(iv.ids == p.stats.ids());
    ExtractOptions variances_only;
    variances_only.batch_size = 7;
    const Ivectors<S> iv2 = e.extract(p.stats, variances_only);  // the triangular-inverse path
    CHECK(iv2.covariances.empty());
    for (Index u = 0; u < p.stats.size(); ++u) {
      VecD w;
      MatD cov;
      naive_posterior(e, p.stats.zeroth().row(u).transpose(), p.stats.first().row(u).transpose(), w, cov);
      CHECK((iv.means.row(u).transpose().template cast<double>() - w).norm() <= tol<S>() * (1.0 + w.norm()));
      CHECK((iv.variances.row(u).transpose().template cast<double>() - cov.diagonal()).cwiseAbs().maxCoeff() <= tol<S>());
      CHECK((iv2.variances.row(u).transpose().template cast<double>() - cov.diagonal()).cwiseAbs().maxCoeff() <= tol<S>());
      CHECK((iv2.means.row(u).transpose().template cast<double>() - w).norm() <= tol<S>() * (1.0 + w.norm()));
      CHECK((iv.covariances[static_cast<std::size_t>(u)].template cast<double>() - cov).cwiseAbs().maxCoeff() <= tol<S>());
    }
    // An utterance without frames gets the prior: mean mu_w, covariance I.
    const Index empty = p.stats.index_of("utt5");
    REQUIRE(p.stats.zeroth().row(empty).sum() == 0.0);
    CHECK((iv.means.row(empty) - e.prior_mean().transpose()).cwiseAbs().maxCoeff() <= tol<S>());
    CHECK((iv.variances.row(empty).array() - S(1)).abs().maxCoeff() <= tol<S>());
  }
}

TEST_CASE("Full-covariance extractor equals the textbook formula") {
  const Problem p = make_problem(6, 3, 3, 20, 2);
  Random rng(3);
  std::vector<ColMatrix<double>> covs;
  for (Index c = 0; c < 6; ++c) {
    MatD A(3, 3);
    for (Index i = 0; i < 9; ++i) A.data()[i] = rng.normal();
    covs.push_back(A * A.transpose() / 3.0 + 0.5 * MatD::Identity(3, 3));
  }
  const IvectorExtractor<double> e(p.ubm.means(), p.ubm.means(), p.T_true, covs, Vector<double>::Zero(3));
  const Ivectors<double> iv = e.extract(p.stats);
  for (Index u = 0; u < p.stats.size(); ++u) {
    VecD w;
    MatD cov;
    naive_posterior(e, p.stats.zeroth().row(u).transpose(), p.stats.first().row(u).transpose(), w, cov);
    CHECK((iv.means.row(u).transpose() - w).norm() <= 1e-9 * (1.0 + w.norm()));
    CHECK((iv.variances.row(u).transpose() - cov.diagonal()).cwiseAbs().maxCoeff() <= 1e-9);
  }
}

TEST_CASE("The derived tables are made once, on first use, even from many threads; copies share them") {
  const Problem p = make_problem(8, 3, 4, 30, 21);
  const auto e = init_extractor_random(p.ubm, 4, 5, 0.5, PriorConvention::KaldiOffset, 30.0).cast<float>();
  const auto copy = e;
  // First use from four threads at once: one table, the same for all.
  std::vector<Ivectors<float>> out(4);
  parallel_for_blocks(4, 4, [&](Index i) { out[static_cast<std::size_t>(i)] = (i % 2 ? copy : e).extract(p.stats); });
  for (const auto& o : out) CHECK(o.means == out[0].means);
  CHECK(&copy.U_packed() == &e.U_packed());
  CHECK(&copy.sigma_inv_T() == &e.sigma_inv_T());
  // The table against its definition, U_c = T_c^T Sigma_c^-1 T_c in double.
  for (Index c = 0; c < e.num_components(); ++c) {
    const MatD Tc = e.T_block(c).cast<double>();
    const MatD U = Tc.transpose() * e.variances().row(c).cast<double>().cwiseInverse().asDiagonal() * Tc;
    const MatD packed = unpack_symmetric<double>(e.U_packed().row(c), 4);
    CHECK((packed - U).cwiseAbs().maxCoeff() <= 1e-5 * U.cwiseAbs().maxCoeff());
  }
  // New approximation weights change the approximate i-vectors of this extractor only.
  auto reweighted = e;
  Vector<float> w = Vector<float>::Ones(8);
  w(0) = 20.0f;
  reweighted.set_approximation_weights(w);
  ExtractOptions approx;
  approx.method = ExtractionMethod::Approximate;
  const Ivectors<float> before = e.extract(p.stats, approx), after = reweighted.extract(p.stats, approx);
  CHECK(after.means != before.means);
  CHECK(e.extract(p.stats, approx).means == before.means);
  CHECK(&reweighted.U_packed() == &e.U_packed());
}

TEST_CASE("Conventions convert exactly; float agrees with double; threads and batch size do not matter") {
  const Problem p = make_problem(10, 3, 4, 60, 4);
  const auto kaldi = init_extractor_random(p.ubm, 4, 9, 0.5, PriorConvention::KaldiOffset, 50.0);
  const auto zero = kaldi.to_zero_mean();
  const Ivectors<double> a = kaldi.extract(p.stats), b = zero.extract(p.stats);
  CHECK(((a.means.rowwise() - kaldi.prior_mean().transpose()) - b.means).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((a.variances - b.variances).cwiseAbs().maxCoeff() < 1e-12);

  const Ivectors<float> f = kaldi.cast<float>().extract(p.stats);
  CHECK((f.means.cast<double>() - a.means).cwiseAbs().maxCoeff() / a.means.cwiseAbs().maxCoeff() < 1e-4);

  ExtractOptions one, many;
  one.batch_size = many.batch_size = 8;
  many.num_threads = 3;
  const auto e32 = zero.cast<float>();
  CHECK(e32.extract(p.stats, one).means == e32.extract(p.stats, many).means);
}

TEST_CASE("Approximate extraction (Glembek et al. 2011) stays close to the exact i-vectors") {
  const Problem p = make_problem(32, 4, 6, 100, 5, 0.5);
  auto e = init_extractor_random(p.ubm, 6, 11, 0.5);
  const auto trained = train_extractor(e, p.stats, IvectorTrainOptions{3, {}, {}, {}});
  ExtractOptions approx;
  approx.method = ExtractionMethod::Approximate;
  const Ivectors<double> exact = trained.extract(p.stats), fast = trained.extract(p.stats, approx);
  double mean_cos = 0;
  Index counted = 0;
  for (Index u = 0; u < p.stats.size(); ++u) {
    if (p.stats.zeroth().row(u).sum() == 0) continue;
    mean_cos += exact.means.row(u).dot(fast.means.row(u)) / (exact.means.row(u).norm() * fast.means.row(u).norm());
    ++counted;
  }
  mean_cos /= static_cast<double>(counted);
  MESSAGE("mean cosine similarity of approximate to exact i-vectors: " << mean_cos);
  CHECK(mean_cos > 0.97);
  CHECK(mean_cos < 1.0);  // it is an approximation: a test that it is not silently the exact path
}

TEST_CASE("EM recovers a known total-variability subspace; the objective never decreases") {
  const Problem p = make_problem(16, 4, 3, 400, 6);
  SUBCASE("zero-mean convention") {
    IvectorTrainOptions o;
    o.num_iterations = 12;
    o.accumulate.batch_size = 64;
    IvectorTrainReport rep;
    const auto e = train_extractor(init_extractor_random(p.ubm, 3, 12, 0.3), p.stats, o, &rep);
    for (std::size_t i = 1; i < rep.iterations.size(); ++i)
      CHECK(rep.iterations[i].objective >= rep.iterations[i - 1].objective - 1e-6 * std::abs(rep.iterations[i - 1].objective));
    CHECK(min_principal_cosine(p.T_true, e.T()) > 0.999);
  }
  SUBCASE("Kaldi's convention, one extra dimension for the mean") {
    IvectorTrainOptions o;
    o.num_iterations = 12;
    IvectorTrainReport rep;
    const auto e = train_extractor(init_extractor_random(p.ubm, 4, 13, 0.3, PriorConvention::KaldiOffset, 10.0), p.stats, o, &rep);
    CHECK(e.convention() == PriorConvention::KaldiOffset);
    for (std::size_t i = 1; i < rep.iterations.size(); ++i)
      CHECK(rep.iterations[i].objective >= rep.iterations[i - 1].objective - 1e-6 * std::abs(rep.iterations[i - 1].objective));
    // The true subspace lies in the learned one (which also carries the mean direction).
    const MatD Q = Eigen::HouseholderQR<MatD>(e.T()).householderQ() * MatD::Identity(e.T().rows(), 4);
    const MatD Qt = Eigen::HouseholderQR<MatD>(p.T_true).householderQ() * MatD::Identity(p.T_true.rows(), 3);
    CHECK(Eigen::JacobiSVD<MatD>(Q.transpose() * Qt).singularValues().minCoeff() > 0.999);
  }
}

TEST_CASE("PCA initialisation starts near the true subspace and EM improves on it") {
  const Problem p = make_problem(16, 4, 3, 400, 16);
  const auto init = init_extractor_pca(p.ubm, p.stats, 3);
  const double start = min_principal_cosine(p.T_true, init.T());
  MESSAGE("PCA start: smallest principal cosine " << start);
  CHECK(start > 0.95);
  IvectorTrainReport rep;
  const auto e = train_extractor(init, p.stats, IvectorTrainOptions{5, {}, {}, {}}, &rep);
  CHECK(min_principal_cosine(p.T_true, e.T()) > 0.999);
  CHECK(rep.iterations.back().objective >= rep.iterations.front().objective);
  CHECK_THROWS_WITH_AS(init_extractor_pca(p.ubm, p.stats.rows(0, 3), 3),
                       "init_extractor_pca: 3 utterances are too few for R = 3 (need at least R + 1)", InvalidArgument);
}

TEST_CASE("The covariance update recovers the within-component variances") {
  // Frames drawn with variances 0.6 times the UBM's; the update must find them.
  Random rng(31);
  const Index C = 8, D = 3, R = 2, U = 300;
  Matrix<double> mu(C, D), var(C, D);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = rng.normal();
      var(c, d) = 0.5 + rng.uniform();
    }
  const DiagGmm<double> ubm(Vector<double>::Constant(C, 1.0 / C), mu, var);
  MatD T(C * D, R);
  for (Index i = 0; i < C * D; ++i)
    for (Index r = 0; r < R; ++r) T(i, r) = 0.6 * rng.normal();
  StatsSet<double> stats(C, D);
  Matrix<double> second = Matrix<double>::Zero(C, D);
  for (Index u = 0; u < U; ++u) {
    VecD w(R);
    for (Index r = 0; r < R; ++r) w(r) = rng.normal();
    VecD n(C);
    Matrix<double> f = Matrix<double>::Zero(C, D);
    for (Index c = 0; c < C; ++c) {
      n(c) = 20;
      const VecD m = T.middleRows(c * D, D) * w;
      for (int t = 0; t < 20; ++t)
        for (Index d = 0; d < D; ++d) {
          const double y = m(d) + std::sqrt(0.6 * var(c, d)) * rng.normal();  // x - mu_c
          f(c, d) += y;
          second(c, d) += y * y;
        }
    }
    stats.add("u" + std::to_string(u), n, f);
  }
  IvectorTrainOptions o;
  o.num_iterations = 10;
  o.update.second_order = &second;
  const auto e = train_extractor(init_extractor_random(ubm, R, 3, 0.3), stats, o);
  const double rel = ((e.variances().array() / (0.6 * var.array())) - 1.0).abs().maxCoeff();
  MESSAGE("largest relative error of the updated variances: " << rel);
  CHECK(rel < 0.1);
  CHECK(min_principal_cosine(T, e.T()) > 0.99);
  Matrix<double> wrong(C, D + 1);
  o.update.second_order = &wrong;
  CHECK_THROWS_WITH_AS(train_extractor(e, stats, o),
                       "update_extractor: second-order totals are 8 x 4 but must be 8 x 3 and finite", DimensionMismatch);
}

TEST_CASE("The full-covariance update recovers the within-component covariances") {
  Random rng(37);
  const Index C = 6, D = 3, R = 2, U = 300;
  Matrix<double> mu(C, D);
  std::vector<ColMatrix<double>> truth, start;
  for (Index c = 0; c < C; ++c) {
    MatD a(D, D);
    for (Index i = 0; i < D; ++i) {
      mu(c, i) = rng.normal();
      for (Index j = 0; j < D; ++j) a(i, j) = 0.6 * rng.normal();
    }
    truth.push_back(a * a.transpose() + 0.3 * MatD::Identity(D, D));
    start.push_back(ColMatrix<double>::Identity(D, D));
  }
  MatD T(C * D, R);
  for (Index i = 0; i < C * D; ++i)
    for (Index r = 0; r < R; ++r) T(i, r) = 0.6 * rng.normal();
  StatsSet<double> stats(C, D);
  Matrix<double> second = Matrix<double>::Zero(C, D * (D + 1) / 2);
  for (Index u = 0; u < U; ++u) {
    VecD w(R);
    for (Index r = 0; r < R; ++r) w(r) = rng.normal();
    VecD n = VecD::Constant(C, 20.0);
    Matrix<double> f = Matrix<double>::Zero(C, D);
    for (Index c = 0; c < C; ++c) {
      const MatD L = truth[static_cast<std::size_t>(c)].llt().matrixL();
      const VecD m = T.middleRows(c * D, D) * w;
      MatD scatter = MatD::Zero(D, D);
      for (int t = 0; t < 20; ++t) {
        VecD e(D);
        for (Index d = 0; d < D; ++d) e(d) = rng.normal();
        const VecD y = m + L * e;  // x - mu_c
        f.row(c) += y.transpose();
        scatter += y * y.transpose();
      }
      Eigen::VectorXd packed(D * (D + 1) / 2);
      ivkit::pack_symmetric(scatter, packed);
      second.row(c) += packed.transpose();
    }
    stats.add("u" + std::to_string(u), n, f);
  }
  MatD T0(C * D, R);
  for (Index i = 0; i < C * D; ++i)
    for (Index r = 0; r < R; ++r) T0(i, r) = 0.3 * rng.normal();
  const IvectorExtractor<double> init(mu, mu, T0, start, Vector<double>::Zero(R));
  IvectorTrainOptions o;
  o.num_iterations = 12;
  o.update.second_order = &second;
  const auto e = train_extractor(init, stats, o);
  double worst = 0;
  for (Index c = 0; c < C; ++c)
    worst = std::max(worst, (e.covariances()[static_cast<std::size_t>(c)] - truth[static_cast<std::size_t>(c)]).norm() /
                                truth[static_cast<std::size_t>(c)].norm());
  MESSAGE("largest relative error of the updated covariances: " << worst);
  CHECK(worst < 0.1);
  CHECK(min_principal_cosine(T, e.T()) > 0.99);
  Matrix<double> diag_shaped(C, D);
  o.update.second_order = &diag_shaped;
  CHECK_THROWS_WITH_AS(train_extractor(e, stats, o),
                       "update_extractor: second-order totals are 6 x 3 but must be 6 x 6 and finite", DimensionMismatch);
  // A floor reference that does not fit the model, and floors that mean nothing.
  o.update.second_order = &second;
  IvectorTrainerStats acc(C, D, R);
  accumulate_ivector_stats(e, stats, acc);
  CovarianceFloorReference<double> ref = CovarianceFloorReference<double>::of(e);
  ref.covariances.pop_back();
  CHECK_THROWS_WITH_AS(update_extractor(e, acc, o.update, &ref), "update_extractor: the floor reference has 5 covariances for 6 components",
                       DimensionMismatch);
  ref = CovarianceFloorReference<double>::of(e);
  ref.covariances[2] = -ref.covariances[2];
  CHECK_THROWS_WITH_AS(update_extractor(e, acc, o.update, &ref),
                       "update_extractor: floor reference covariance 2 is not finite and positive definite", InvalidArgument);
  o.update.reference_floor = -1;
  CHECK_THROWS_AS(update_extractor(e, acc, o.update), InvalidArgument);
}

TEST_CASE_TEMPLATE("Accumulators equal the naive sums over textbook posteriors", S, float, double) {
  // Y_c = sum_u (F_uc - N_uc (m_c - mu_c)) w_u^T and R_c = sum_u N_uc (cov_u + w_u w_u^T), naive in
  // double. Sizes with ragged edges for the float kernel's tiles (C D = 69 rows of Y, R = 11, 37
  // utterances in batches of 16).
  const Index C = 23, D = 3, R = 11, U = 37;
  const Problem p = make_problem(C, D, R, U, 21);
  const auto e = init_extractor_random(p.ubm, R, 5, 0.5).template cast<S>();
  IvectorTrainerStats acc(C, D, R);
  IvectorAccumulateOptions o;
  o.batch_size = 16;
  accumulate_ivector_stats(e, p.stats, acc, o);
  MatD Y = MatD::Zero(C * D, R), Rp = MatD::Zero(C, packed_size(R));
  for (Index u = 0; u < U; ++u) {
    const VecD n = p.stats.zeroth().row(u).transpose(), f = p.stats.first().row(u).transpose();
    VecD w;
    MatD cov;
    naive_posterior(e, n, f, w, cov);
    const MatD second = cov + w * w.transpose();
    VecD packed(packed_size(R));
    pack_symmetric(second, packed);
    for (Index c = 0; c < C; ++c) {
      const VecD delta = (e.m().row(c) - e.ubm_means().row(c)).transpose().template cast<double>();
      Y.middleRows(c * D, D) += (f.segment(c * D, D) - n(c) * delta) * w.transpose();
      Rp.row(c) += n(c) * packed.transpose();
    }
  }
  CHECK((acc.Y - Y).cwiseAbs().maxCoeff() / Y.cwiseAbs().maxCoeff() < tol<S>());
  CHECK((acc.R_packed - Rp).cwiseAbs().maxCoeff() / Rp.cwiseAbs().maxCoeff() < tol<S>());
  CHECK(acc.num_utterances == U);
}

TEST_CASE("Accumulators add; accumulation is identical for any thread count") {
  const Problem p = make_problem(8, 3, 3, 90, 7);
  const auto e = init_extractor_random(p.ubm, 3, 14, 0.5);
  IvectorTrainerStats whole(8, 3, 3), a(8, 3, 3), b(8, 3, 3), threaded(8, 3, 3);
  IvectorAccumulateOptions o;
  o.batch_size = 32;
  accumulate_ivector_stats(e, p.stats, whole, o);
  accumulate_ivector_stats(e, p.stats.rows(0, 40), a, o);
  accumulate_ivector_stats(e, p.stats.rows(40, 50), b, o);
  a += b;
  CHECK((a.Y - whole.Y).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((a.R_packed - whole.R_packed).cwiseAbs().maxCoeff() < 1e-9);
  CHECK(a.num_utterances == 90);
  CHECK(std::abs(a.objective - whole.objective) < 1e-9 * std::abs(whole.objective));
  o.num_threads = 3;
  accumulate_ivector_stats(e, p.stats, threaded, o);
  CHECK(threaded.Y == whole.Y);
  CHECK(threaded.R_packed == whole.R_packed);
  CHECK(threaded.objective == whole.objective);
  IvectorTrainerStats wrong(8, 3, 2);
  CHECK_THROWS_AS(a += wrong, DimensionMismatch);
}

TEST_CASE("Bad statistics and models raise clear errors") {
  const Problem p = make_problem(4, 2, 2, 5, 8);
  const auto e = init_extractor_random(p.ubm, 2, 15);
  CHECK_THROWS_WITH_AS(e.extract_matrices(Matrix<double>::Ones(3, 5), Matrix<double>::Zero(3, 8)),
                       "IvectorExtractor::extract: statistics are 3 x 5 and 3 x 8 but the extractor has C = 4, D = 2",
                       DimensionMismatch);
  Matrix<double> n = Matrix<double>::Ones(2, 4), f = Matrix<double>::Zero(2, 8);
  n(1, 2) = -1;
  CHECK_THROWS_WITH_AS(e.extract_matrices(n, f), "IvectorExtractor::extract: utterance 1 has negative or non-finite counts",
                       InvalidArgument);
  n(1, 2) = 1;
  f(0, 3) = std::nan("");
  CHECK_THROWS_WITH_AS(e.extract_matrices(n, f),
                       "IvectorExtractor::extract: utterance 0 has NaN or Inf first-order statistics", InvalidArgument);
  StatsSet<double> other(3, 2);
  IvectorTrainerStats acc(4, 2, 2);
  CHECK_THROWS_WITH_AS(accumulate_ivector_stats(e, other, acc),
                       "accumulate_ivector_stats: statistics are for C = 3, D = 2 but the extractor has C = 4, D = 2",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(update_extractor(e, acc), "update_extractor: no utterances accumulated", InvalidArgument);
  CHECK_THROWS_WITH_AS(IvectorExtractor<double>(p.ubm.means(), p.ubm.means(), Matrix<double>::Zero(7, 2), p.ubm.variances(),
                                                Vector<double>::Zero(2)),
                       "IvectorExtractor: T is 7 x 2 but must be 8 x R, R >= 1", DimensionMismatch);
  Matrix<double> bad_var = p.ubm.variances();
  bad_var(2, 1) = 0;
  CHECK_THROWS_WITH_AS(IvectorExtractor<double>(p.ubm.means(), p.ubm.means(), e.T(), bad_var, Vector<double>::Zero(2)),
                       "IvectorExtractor: variance of component 2, dimension 1 is 0; variances must be positive and finite",
                       InvalidArgument);
}

TEST_CASE("M-step without minimum divergence: T_c = Y_c R_c^-1 by a naive solve; the rest unchanged") {
  // The update's subspace against Gauss-Jordan elimination of R_c (partial pivoting, double), on
  // accumulators of a real E-step; with minimum_divergence = false nothing else moves. R = 100 takes
  // the kernel path's blocked solve through two whole 48-row blocks and a partial one.
  for (const Index R : {Index{5}, Index{100}}) {
    CAPTURE(R);
    const Index C = 7, D = 3, U = 40;
    const Problem p = make_problem(C, D, R, U, 31);
    const auto e = init_extractor_random(p.ubm, R, 9, 0.5);
    IvectorTrainerStats acc(C, D, R);
    accumulate_ivector_stats(e, p.stats, acc);
    IvectorUpdateOptions o;
    o.minimum_divergence = false;
    const auto next = update_extractor(e, acc, o);
    for (Index c = 0; c < C; ++c) {
      CAPTURE(c);
      MatD a = unpack_symmetric<double>(acc.R_packed.row(c), R);
      MatD inv = MatD::Identity(R, R);
      for (Index k = 0; k < R; ++k) {  // Gauss-Jordan: [A | I] -> [I | A^-1]
        Index piv = k;
        for (Index i = k + 1; i < R; ++i)
          if (std::abs(a(i, k)) > std::abs(a(piv, k))) piv = i;
        a.row(k).swap(a.row(piv));
        inv.row(k).swap(inv.row(piv));
        const double d = a(k, k);
        a.row(k) /= d;
        inv.row(k) /= d;
        for (Index i = 0; i < R; ++i)
          if (i != k) {
            const double f = a(i, k);
            a.row(i) -= f * a.row(k);
            inv.row(i) -= f * inv.row(k);
          }
      }
      const MatD expected = acc.Y.middleRows(c * D, D) * inv;
      const MatD got = next.T().middleRows(c * D, D).template cast<double>();
      CHECK((got - expected).cwiseAbs().maxCoeff() <= 1e-9 * std::max(1.0, expected.cwiseAbs().maxCoeff()));
      // The update moved T: the check is not of an unchanged model.
      CHECK((got - e.T().middleRows(c * D, D).template cast<double>()).cwiseAbs().maxCoeff() > 1e-3);
    }
    CHECK(next.prior_mean() == e.prior_mean());
    CHECK(next.m() == e.m());
    CHECK(next.variances() == e.variances());
  }
}

TEST_CASE("Minimum divergence: the new prior reproduces the empirical mean T h and covariance T G T^T of T w") {
  // h = w_sum / U and G = ww_sum / U - h h^T, from the accumulators; T the subspace of the update
  // without minimum divergence. The implementation's choice of square root (Cholesky, a
  // Householder rotation for Kaldi's offset) is free; these rotation-invariant quantities are not.
  const Index C = 6, D = 3, R = 4, U = 60;
  const Problem p = make_problem(C, D, R, U, 41);
  for (auto conv : {PriorConvention::ZeroMean, PriorConvention::KaldiOffset}) {
    CAPTURE(static_cast<int>(conv));
    const auto e = init_extractor_random(p.ubm, R, 5, 0.5, conv, 10.0);
    IvectorTrainerStats acc(C, D, R);
    accumulate_ivector_stats(e, p.stats, acc);
    IvectorUpdateOptions plain;
    plain.minimum_divergence = false;
    const auto t_only = update_extractor(e, acc, plain);
    const auto md = update_extractor(e, acc);
    const VecD h = acc.w_sum / acc.num_utterances;
    const MatD G = unpack_symmetric<double>(acc.ww_sum, R) / acc.num_utterances - h * h.transpose();
    const MatD T = t_only.T(), T2 = md.T();
    const MatD cov_ref = T * G * T.transpose();
    CHECK((T2 * T2.transpose() - cov_ref).cwiseAbs().maxCoeff() <= 1e-9 * (1.0 + cov_ref.cwiseAbs().maxCoeff()));
    // Mean of the supervector offset m + T w under the new prior.
    const VecD mean_ref = Eigen::Map<const VecD>(MatD(t_only.m().transpose()).data(), C * D) + T * h;
    const VecD mean_new = Eigen::Map<const VecD>(MatD(md.m().transpose()).data(), C * D) + T2 * md.prior_mean();
    CHECK((mean_new - mean_ref).cwiseAbs().maxCoeff() <= 1e-9 * (1.0 + mean_ref.cwiseAbs().maxCoeff()));
    if (conv == PriorConvention::KaldiOffset) {
      // Kaldi's convention survives: m = 0 and a prior mean (p, 0, ..., 0) with p = sqrt(h^T G^-1 h).
      CHECK(md.m().cwiseAbs().maxCoeff() == 0.0);
      CHECK(md.prior_mean().tail(R - 1).cwiseAbs().maxCoeff() <= 1e-12);
      CHECK(md.prior_mean()(0) == doctest::Approx(std::sqrt(h.dot(G.ldlt().solve(h)))).epsilon(1e-9));
    } else {
      CHECK(md.prior_mean().cwiseAbs().maxCoeff() == 0.0);
    }
  }
}

TEST_CASE_TEMPLATE("Approximate extraction equals a naive implementation of its formula", S, float, double) {
  // Glembek et al. 2011: N_uc replaced by n_u w_c in the precision only, L_u = I + n_u sum_c w_c
  // T_c^T Sigma_c^-1 T_c; the linear term is the exact one. Computed naively in double here.
  const Index C = 9, D = 3, R = 5;
  const Problem p = make_problem(C, D, R, 30, 43);
  auto e = init_extractor_random(p.ubm.cast<S>(), R, 3, 0.5);
  Vector<S> weights(C);
  for (Index c = 0; c < C; ++c) weights(c) = static_cast<S>(1 + c % 4);
  e.set_approximation_weights(weights);
  const VecD w = weights.template cast<double>() / weights.template cast<double>().sum();
  ExtractOptions o;
  o.method = ExtractionMethod::Approximate;
  o.covariances = true;
  const Ivectors<S> iv = e.extract(p.stats, o);
  MatD U = MatD::Zero(R, R);
  std::vector<MatD> tsinv;  // T_c^T Sigma_c^-1
  for (Index c = 0; c < C; ++c) {
    const MatD Tc = e.T().middleRows(c * D, D).template cast<double>();
    tsinv.push_back(Tc.transpose() * e.variances().row(c).transpose().template cast<double>().cwiseInverse().asDiagonal());
    U += w(c) * tsinv.back() * Tc;
  }
  for (Index u = 0; u < p.stats.size(); ++u) {
    CAPTURE(u);
    const VecD n = p.stats.zeroth().row(u).transpose(), f = p.stats.first().row(u).transpose();
    VecD b = e.prior_mean().template cast<double>();
    for (Index c = 0; c < C; ++c) {
      const VecD delta = (e.m().row(c) - e.ubm_means().row(c)).transpose().template cast<double>();
      b += tsinv[static_cast<std::size_t>(c)] * (f.segment(c * D, D) - n(c) * delta);
    }
    const MatD L = MatD::Identity(R, R) + n.sum() * U;
    const MatD cov = L.inverse();
    const VecD mean = cov * b;
    CHECK((iv.means.row(u).transpose().template cast<double>() - mean).norm() <= tol<S>() * (1.0 + mean.norm()));
    CHECK((iv.variances.row(u).transpose().template cast<double>() - cov.diagonal()).cwiseAbs().maxCoeff() <= tol<S>());
  }
}
