// Batched GMM evaluation (dense, top-N, Gaussian selection, restricted) against naive
// double-precision per-frame, per-component loops; both layouts, both storage orders, edge sizes.
#include <doctest/doctest.h>

#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <ivkit/core/random.hpp>
#include <ivkit/gmm/full_gmm.hpp>
#include <vector>

#include "support/reference.hpp"

using namespace ivkit;

namespace {

template <class S>
constexpr double scoring_tol() { return std::is_same_v<S, float> ? 2e-4 : 1e-10; }

template <class S>
DiagGmm<S> random_diag(Index C, Index D, std::uint64_t seed, double offset = 0.0) {
  Random rng(seed);
  Vector<S> w(C);
  Matrix<S> mu(C, D), var(C, D);
  double sum = 0;
  for (Index c = 0; c < C; ++c) sum += (w(c) = static_cast<S>(0.5 + rng.uniform()));
  w /= static_cast<S>(sum);
  for (Index c = 0; c < C; ++c)
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = static_cast<S>(offset + 2.0 * rng.normal());
      var(c, d) = static_cast<S>(0.3 + 2.0 * rng.uniform());
    }
  return DiagGmm<S>(w, mu, var);
}

template <class S>
FullGmm<S> random_full(Index C, Index D, std::uint64_t seed) {
  Random rng(seed);
  const auto diag = random_diag<S>(C, D, seed + 1);
  std::vector<ColMatrix<S>> covs;
  for (Index c = 0; c < C; ++c) {
    ColMatrix<double> A(D, D);
    for (Index i = 0; i < D; ++i)
      for (Index j = 0; j < D; ++j) A(i, j) = rng.normal();
    covs.push_back((A * A.transpose() / static_cast<double>(D) + 0.5 * ColMatrix<double>::Identity(D, D)).cast<S>());
  }
  return FullGmm<S>(diag.weights(), diag.means(), covs);
}

/// Naive log N(x; mu_c, diag var_c) + log w_c in double.
template <class S>
Eigen::MatrixXd naive_loglik(const DiagGmm<S>& g, const Eigen::MatrixXd& x) {
  Eigen::MatrixXd out(x.rows(), g.num_components());
  for (Index t = 0; t < x.rows(); ++t)
    for (Index c = 0; c < g.num_components(); ++c) {
      double s = std::log(static_cast<double>(g.weights()(c)));
      for (Index d = 0; d < g.dim(); ++d) {
        const double v = g.variances()(c, d), diff = x(t, d) - static_cast<double>(g.means()(c, d));
        s -= 0.5 * (std::log(2.0 * M_PI * v) + diff * diff / v);
      }
      out(t, c) = s;
    }
  return out;
}

template <class S>
Eigen::MatrixXd naive_loglik(const FullGmm<S>& g, const Eigen::MatrixXd& x) {
  Eigen::MatrixXd out(x.rows(), g.num_components());
  const Index D = g.dim();
  for (Index c = 0; c < g.num_components(); ++c) {
    const Eigen::MatrixXd S_ = g.covariances()[static_cast<std::size_t>(c)].template cast<double>();
    const Eigen::MatrixXd P = S_.inverse();
    const double logdet = std::log(S_.determinant());
    for (Index t = 0; t < x.rows(); ++t) {
      const Eigen::VectorXd diff = x.row(t).transpose() - g.means().row(c).transpose().template cast<double>();
      out(t, c) = std::log(static_cast<double>(g.weights()(c))) -
                  0.5 * (static_cast<double>(D) * std::log(2.0 * M_PI) + logdet + diff.dot(P * diff));
    }
  }
  return out;
}

Eigen::VectorXd naive_lse(const Eigen::MatrixXd& ll) {
  Eigen::VectorXd out(ll.rows());
  for (Index t = 0; t < ll.rows(); ++t) {
    const double m = ll.row(t).maxCoeff();
    out(t) = m + std::log((ll.row(t).array() - m).exp().sum());
  }
  return out;
}

Eigen::MatrixXd random_frames(Index N, Index D, std::uint64_t seed, double scale = 2.5) {
  Random rng(seed);
  Eigen::MatrixXd x(N, D);
  for (Index t = 0; t < N; ++t)
    for (Index d = 0; d < D; ++d) x(t, d) = scale * rng.normal();
  return x;
}

template <class S, class Model>
void check_dense_against_naive(const Model& g, const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd ref_ll = naive_loglik(g, x.cast<S>().template cast<double>());
  const Eigen::VectorXd ref_lse = naive_lse(ref_ll);
  ivkit_test::for_each_layout<S>(x, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    ScoringOptions opts;
    opts.block_frames = 16;  // several blocks and a partial one
    const Matrix<S> ll = g.template component_log_likelihoods<L>(frames, opts);
    REQUIRE(ll.rows() == x.rows());
    REQUIRE(ll.cols() == g.num_components());
    if (x.rows() > 0) CHECK((ll.template cast<double>() - ref_ll).cwiseAbs().maxCoeff() <= scoring_tol<S>() * 50);
    Vector<S> frame_ll;
    const Matrix<S> post = g.template posteriors<L>(frames, &frame_ll, opts);
    REQUIRE(post.rows() == x.rows());
    for (Index t = 0; t < x.rows(); ++t) {
      CHECK(std::abs(static_cast<double>(frame_ll(t)) - ref_lse(t)) <= scoring_tol<S>() * 50);
      CHECK(std::abs(post.row(t).template cast<double>().sum() - 1.0) <= scoring_tol<S>());
      for (Index c = 0; c < g.num_components(); ++c)
        CHECK(std::abs(static_cast<double>(post(t, c)) - std::exp(ref_ll(t, c) - ref_lse(t))) <= scoring_tol<S>());
    }
    Matrix<S> reused = Matrix<S>::Constant(x.rows(), g.num_components(), S(-7));
    g.template posteriors_into<L>(frames, reused, nullptr, opts);
    CHECK(reused == post);
    Matrix<S> resized(x.rows() + 3, 1);  // the _into contract: resized to the result's shape
    g.template posteriors_into<L>(frames, resized, nullptr, opts);
    CHECK(resized == post);
    const Vector<S> ll2 = g.template log_likelihoods<L>(frames, opts);
    if (x.rows() > 0) CHECK((ll2.template cast<double>() - ref_lse).cwiseAbs().maxCoeff() <= scoring_tol<S>() * 50);
  });
}

}  // namespace

TEST_CASE_TEMPLATE("DiagGmm: batched log-likelihoods and posteriors match the naive loop", S, float, double) {
  SUBCASE("C = 7, D = 5, N = 53") { check_dense_against_naive<S>(random_diag<S>(7, 5, 1), random_frames(53, 5, 2)); }
  SUBCASE("C = 1") { check_dense_against_naive<S>(random_diag<S>(1, 4, 3), random_frames(20, 4, 4)); }
  SUBCASE("D = 1") { check_dense_against_naive<S>(random_diag<S>(6, 1, 5), random_frames(20, 1, 6)); }
  SUBCASE("N = 0") { check_dense_against_naive<S>(random_diag<S>(3, 2, 7), random_frames(0, 2, 8)); }
  SUBCASE("C = 67 (SIMD tail), D = 13") { check_dense_against_naive<S>(random_diag<S>(67, 13, 9), random_frames(40, 13, 10)); }
}

TEST_CASE_TEMPLATE("FullGmm: batched log-likelihoods and posteriors match the naive loop", S, float, double) {
  SUBCASE("C = 5, D = 4, N = 37") { check_dense_against_naive<S>(random_full<S>(5, 4, 11), random_frames(37, 4, 12)); }
  SUBCASE("C = 1, D = 1") { check_dense_against_naive<S>(random_full<S>(1, 1, 13), random_frames(9, 1, 14)); }
  SUBCASE("N = 0") { check_dense_against_naive<S>(random_full<S>(3, 3, 15), random_frames(0, 3, 16)); }
}

TEST_CASE_TEMPLATE("Features with a large common offset keep float accuracy (centred expansion)", S, float, double) {
  // MFCC-like C0 around 1000: without centring, float cancellation would cost whole nats.
  const auto g = random_diag<S>(8, 6, 21, 1000.0);
  Eigen::MatrixXd x = random_frames(30, 6, 22);
  x.array() += 1000.0;
  const Eigen::MatrixXd ref = naive_loglik(g, x.cast<S>().template cast<double>());
  const Matrix<S> ll = g.component_log_likelihoods(x.cast<S>());
  CHECK((ll.template cast<double>() - ref).cwiseAbs().maxCoeff() <= (std::is_same_v<S, float> ? 2e-2 : 1e-8));
}

TEST_CASE_TEMPLATE("Frames far from every component give finite log-likelihoods and posteriors summing to one", S,
                   float, double) {
  const auto g = random_diag<S>(16, 4, 31);
  Matrix<S> x(3, 4);
  x.row(0).setConstant(S(1e3));
  x.row(1).setConstant(S(-5e3));
  x.row(2) << S(1e4), S(-1e4), S(0), S(7);
  Vector<S> ll;
  const Matrix<S> post = g.posteriors(x, &ll);
  CHECK(ll.allFinite());
  CHECK(post.allFinite());
  for (Index t = 0; t < 3; ++t) CHECK(std::abs(static_cast<double>(post.row(t).sum()) - 1.0) < 1e-5);
  const auto full = to_full(g);
  CHECK(full.posteriors(x).allFinite());
}

TEST_CASE_TEMPLATE("top_n_posteriors follows Kaldi's gmm-global-get-post rule", S, float, double) {
  const auto g = random_diag<S>(12, 3, 41);
  const Eigen::MatrixXd x = random_frames(60, 3, 42);
  const Eigen::MatrixXd ll = naive_loglik(g, x.cast<S>().template cast<double>());
  const Eigen::VectorXd lse = naive_lse(ll);
  const Index n = 4;
  const double min_post = 0.05;
  ivkit_test::for_each_layout<S>(x, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    ScoringOptions opts;
    opts.block_frames = 16;
    opts.num_threads = 2;
    const auto sp = g.template top_n_posteriors<L>(frames, TopNOptions{n, min_post}, opts);
    REQUIRE(sp.num_frames() == x.rows());
    for (Index t = 0; t < x.rows(); ++t) {
      // Reference: posteriors over all components, the n largest, prune below min_post (keep the best), renormalise.
      std::vector<std::pair<double, int>> p;
      for (Index c = 0; c < ll.cols(); ++c) p.emplace_back(std::exp(ll(t, c) - lse(t)), static_cast<int>(c));
      std::sort(p.begin(), p.end(), [](auto a, auto b) { return a.first > b.first; });
      p.resize(static_cast<std::size_t>(n));
      while (p.size() > 1 && p.back().first < min_post) p.pop_back();
      double tot = 0;
      for (auto& e : p) tot += e.first;
      REQUIRE(sp.end(t) - sp.begin(t) == static_cast<Index>(p.size()));
      for (std::size_t k = 0; k < p.size(); ++k) {
        CHECK(sp.components[static_cast<std::size_t>(sp.begin(t)) + k] == p[k].second);
        CHECK(std::abs(static_cast<double>(sp.values[static_cast<std::size_t>(sp.begin(t)) + k]) - p[k].first / tot) <=
              scoring_tol<S>());
      }
      CHECK(std::abs(static_cast<double>(sp.frame_log_likelihoods(t)) - lse(t)) <= scoring_tol<S>() * 50);
    }
  });
}

TEST_CASE_TEMPLATE("Gaussian selection and evaluation restricted to it", S, float, double) {
  const auto diag = random_diag<S>(20, 4, 51);
  const auto full = random_full<S>(20, 4, 52);
  const Eigen::MatrixXd x = random_frames(45, 4, 53);
  const Eigen::MatrixXd ll = naive_loglik(diag, x.cast<S>().template cast<double>());
  const Eigen::MatrixXd ll_full = naive_loglik(full, x.cast<S>().template cast<double>());
  const Index n = 5;
  ivkit_test::for_each_layout<S>(x, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    const GaussianSelection sel = diag.template gaussian_selection<L>(frames, n);
    REQUIRE(sel.num_frames() == x.rows());
    REQUIRE(sel.num_selected() == n);
    for (Index t = 0; t < x.rows(); ++t) {
      std::vector<std::pair<double, int>> p;
      for (Index c = 0; c < ll.cols(); ++c) p.emplace_back(ll(t, c), static_cast<int>(c));
      std::sort(p.begin(), p.end(), [](auto a, auto b) { return a.first > b.first; });
      double m = p[0].first, s = 0;
      for (Index k = 0; k < n; ++k) {
        CHECK(sel.indices(t, k) == p[static_cast<std::size_t>(k)].second);
        s += std::exp(p[static_cast<std::size_t>(k)].first - m);
      }
      CHECK(std::abs(sel.frame_log_likelihoods(t) - (m + std::log(s))) <= scoring_tol<S>() * 50);
    }
    // The full-covariance model evaluated on the diagonal model's selection (Kaldi's fgmm-gselect path).
    const Matrix<S> restricted = full.template selected_log_likelihoods<L>(frames, sel);
    const auto sp = full.template selected_posteriors<L>(frames, sel, 0.0);
    for (Index t = 0; t < x.rows(); ++t) {
      double m = -1e300;
      for (Index k = 0; k < n; ++k) {
        const double ref = ll_full(t, sel.indices(t, k));
        CHECK(std::abs(static_cast<double>(restricted(t, k)) - ref) <= scoring_tol<S>() * 50);
        m = std::max(m, ref);
      }
      double s = 0;
      for (Index k = 0; k < n; ++k) s += std::exp(ll_full(t, sel.indices(t, k)) - m);
      REQUIRE(sp.end(t) - sp.begin(t) == n);
      double total = 0;
      for (Index k = sp.begin(t); k < sp.end(t); ++k) {
        const auto c = sp.components[static_cast<std::size_t>(k)];
        CHECK(std::abs(static_cast<double>(sp.values[static_cast<std::size_t>(k)]) - std::exp(ll_full(t, c) - m) / s) <=
              scoring_tol<S>());
        total += static_cast<double>(sp.values[static_cast<std::size_t>(k)]);
      }
      CHECK(std::abs(total - 1.0) <= scoring_tol<S>());
    }
  });
}

TEST_CASE_TEMPLATE("FullGmm: selected log-likelihoods over several blocks and row blocks of the factor match the naive loop", S, float,
                   double) {
  // D = 37 and 60: factors of three and four 16-row blocks with a partial last one; N = 1100
  // frames: three blocks of 512; a component shared by 1 to 4+ frames of a block (groups of four
  // and their remainders); random selections with repeats, as a table from elsewhere may have.
  for (const Index D : {Index{37}, Index{60}}) {
    CAPTURE(D);
    const Index C = 24, N = 1100, n = 7;
    const auto full = random_full<S>(C, D, 70 + static_cast<std::uint64_t>(D));
    const Eigen::MatrixXd x = random_frames(N, D, 71, 1.5);
    const Eigen::MatrixXd ref = naive_loglik(full, x.cast<S>().template cast<double>());
    Random rng(72);
    GaussianSelection sel;
    sel.indices.resize(N, n);
    for (Index t = 0; t < N; ++t)
      for (Index k = 0; k < n; ++k) sel.indices(t, k) = static_cast<std::int32_t>(rng.uniform() * static_cast<double>(C)) % C;
    const Matrix<S> frames = x.cast<S>();
    ScoringOptions one, two;
    one.num_threads = 1;
    two.num_threads = 2;
    const Matrix<S> ll = full.selected_log_likelihoods(frames, sel, one);
    double worst = 0;
    for (Index t = 0; t < N; ++t)
      for (Index k = 0; k < n; ++k) {
        const double r = ref(t, sel.indices(t, k));
        worst = std::max(worst, std::abs(static_cast<double>(ll(t, k)) - r) / (1.0 + std::abs(r)));
      }
    CHECK(worst <= (std::is_same_v<S, float> ? 2e-6 : 1e-13));
    CHECK(full.selected_log_likelihoods(frames, sel, two) == ll);
    // Frames 600-609 alone: other groups, other blocks, the same values.
    GaussianSelection part;
    part.indices = sel.indices.middleRows(600, 10);
    const Matrix<S> alone = full.selected_log_likelihoods(Matrix<S>(frames.middleRows(600, 10)), part, one);
    CHECK(alone == ll.middleRows(600, 10));
  }
}

TEST_CASE("Selection larger than C keeps every component; n is validated") {
  const auto g = random_diag<double>(3, 2, 61);
  const Matrix<double> x = random_frames(4, 2, 62);
  CHECK(g.gaussian_selection(x, 10).num_selected() == 3);
  CHECK(g.top_n_posteriors(x, TopNOptions{10, 0.0}).end(0) == 3);
  CHECK_THROWS_WITH_AS(g.gaussian_selection(x, 0), "gaussian_selection: n must be >= 1, got 0", InvalidArgument);
  CHECK_THROWS_WITH_AS(g.top_n_posteriors(x, TopNOptions{2, 1.5}), "top_n_posteriors: min_post must be in [0, 1), got 1.5",
                       InvalidArgument);
  GaussianSelection bad = g.gaussian_selection(x, 2);
  bad.indices(1, 1) = 7;
  CHECK_THROWS_WITH_AS(g.selected_log_likelihoods(x, bad),
                       "selected_log_likelihoods: frame 1 selects component 7 but the model has 3 components",
                       DimensionMismatch);
  const GaussianSelection short_sel = g.gaussian_selection(Matrix<double>(x.topRows(2)), 2);
  CHECK_THROWS_WITH_AS(g.selected_log_likelihoods(x, short_sel),
                       "selected_log_likelihoods: the Gaussian selection has 2 frames but the data has 4",
                       DimensionMismatch);
}

TEST_CASE("Results are bit-identical for any thread count") {
  const auto g = random_diag<float>(33, 7, 71);
  const Matrix<float> x = random_frames(1000, 7, 72).cast<float>();
  ScoringOptions one, many;
  one.block_frames = many.block_frames = 32;
  one.num_threads = 1;
  many.num_threads = 3;
  Vector<float> ll1, ll3;
  CHECK(g.posteriors(x, &ll1, one) == g.posteriors(x, &ll3, many));
  CHECK(ll1 == ll3);
  const auto a = g.top_n_posteriors(x, TopNOptions{5, 0.01}, one), b = g.top_n_posteriors(x, TopNOptions{5, 0.01}, many);
  CHECK(a.offsets == b.offsets);
  CHECK(a.components == b.components);
  CHECK(a.values == b.values);
  CHECK(g.gaussian_selection(x, 4, one).indices == g.gaussian_selection(x, 4, many).indices);
}

TEST_CASE_TEMPLATE("Bad frames raise errors that name the frame and the sizes", S, float, double) {
  const auto g = random_diag<S>(4, 3, 81);
  Matrix<S> x = random_frames(40, 3, 82).cast<S>();
  x(27, 1) = std::numeric_limits<S>::quiet_NaN();
  CHECK_THROWS_WITH_AS(g.posteriors(x), "posteriors: frame 27 holds NaN or Inf", NonFiniteInput);
  ScoringOptions threads;
  threads.num_threads = 2;
  threads.block_frames = 8;
  x(9, 0) = std::numeric_limits<S>::infinity();
  CHECK_THROWS_WITH_AS(g.component_log_likelihoods(x, threads), "component_log_likelihoods: frame 9 holds NaN or Inf",
                       NonFiniteInput);
  const Matrix<S> wrong(5, 4);
  CHECK_THROWS_WITH_AS(g.posteriors(wrong),
                       "posteriors: frames have dimension 4 (FramesAsRows, matrix 5 x 4) but the model has dimension 3",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(g.template posteriors<FramesAsCols>(wrong),
                       "posteriors: frames have dimension 5 (FramesAsCols, matrix 5 x 4) but the model has dimension 3",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(g.average_log_likelihood(Matrix<S>(0, 3)), "average_log_likelihood: no frames", InvalidArgument);
}
