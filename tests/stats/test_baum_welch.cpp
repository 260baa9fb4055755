// Baum-Welch statistics, the statistics set, MAP adaptation and GMM-UBM scoring against naive
// double-precision references and hand-computed cases.
#include <doctest/doctest.h>

#include <ivkit/gmm/gmm_ubm_score.hpp>
#include <ivkit/gmm/map.hpp>
#include <ivkit/stats/baum_welch.hpp>

#include "support/reference.hpp"

using namespace ivkit;
using namespace ivkit_test;

namespace {
/// Naive statistics centred on each component's mean: N, F, diagonal S.
struct CentredStats {
  VecD n;
  MatD f, s;
};
CentredStats naive_centred(const MatD& post, const MatD& X, const MatD& means) {
  const Index C = post.cols(), D = X.cols();
  CentredStats r{VecD::Zero(C), MatD::Zero(C, D), MatD::Zero(C, D)};
  for (Index t = 0; t < X.rows(); ++t)
    for (Index c = 0; c < C; ++c) {
      const double g = post(t, c);
      r.n(c) += g;
      for (Index d = 0; d < D; ++d) {
        const double y = X(t, d) - means(c, d);
        r.f(c, d) += g * y;
        r.s(c, d) += g * y * y;
      }
    }
  return r;
}
}  // namespace

TEST_CASE_TEMPLATE("compute_stats matches naive statistics centred on the UBM means", S, float, double) {
  Random rng(11);
  const DiagParams p = random_diag_params(6, 3, rng, 3.0, 5.0);
  const auto ubm = make_diag<S>(p);
  const MatD X = sample_diag_gmm(p, 150, rng);
  const MatD post = naive_posteriors(naive_diag_loglikes(params_of(ubm), X.cast<S>().template cast<double>()));
  const CentredStats ref = naive_centred(post, X.cast<S>().template cast<double>(), params_of(ubm).means);
  const double t = tol<S>(2e-3, 1e-9);
  for_each_layout<S>(X, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    StatsOptions o;
    o.second_order = true;
    o.block_frames = 32;
    const UtteranceStats st = compute_stats<L>(ubm, frames, o);
    CHECK(st.num_frames == 150);
    CHECK(scaled_diff(st.zeroth, ref.n) < t);
    CHECK(scaled_diff(st.first, ref.f) < t);
    CHECK(scaled_diff(st.second, ref.s) < t);
    // From precomputed posteriors, dense and sparse, the same statistics.
    const UtteranceStats dense = stats_from_posteriors<L>(post, frames, ubm.means(), o);
    CHECK(scaled_diff(dense.first, ref.f) < t);
    CHECK(scaled_diff(dense.second, ref.s) < t);
    const auto sparse_post = ubm.template top_n_posteriors<L>(frames, TopNOptions{6, 0.0});
    const UtteranceStats sparse = stats_from_posteriors<L>(sparse_post, frames, ubm.means(), o);
    CHECK(scaled_diff(sparse.zeroth, ref.n) < t);
    CHECK(scaled_diff(sparse.first, ref.f) < t);
    CHECK(scaled_diff(sparse.second, ref.s) < t);
  });
}

TEST_CASE("Full-covariance UBM statistics: packed second order centred on the means") {
  Random rng(12);
  const FullParams p = random_full_params(3, 2, rng, 2.0, 1.0);
  const auto ubm = make_full<double>(p);
  const MatD X = sample_diag_gmm(random_diag_params(3, 2, rng, 2.0, 1.0), 80, rng);
  const MatD post = naive_posteriors(naive_full_loglikes(p, X));
  StatsOptions o;
  o.second_order = true;
  const UtteranceStats st = compute_stats(ubm, X, o);
  for (Index c = 0; c < 3; ++c) {
    MatD scatter = MatD::Zero(2, 2);
    for (Index t = 0; t < 80; ++t) {
      const VecD y = X.row(t).transpose() - p.means.row(c).transpose();
      scatter += post(t, c) * y * y.transpose();
    }
    CHECK(st.second(c, 0) == doctest::Approx(scatter(0, 0)).epsilon(1e-9));
    CHECK(st.second(c, 1) == doctest::Approx(scatter(0, 1)).epsilon(1e-9));
    CHECK(st.second(c, 2) == doctest::Approx(scatter(1, 1)).epsilon(1e-9));
  }
}

TEST_CASE("stats_from_posteriors: the packed full scatter, dense and sparse, against a naive loop") {
  Random rng(13);
  const Index C = 4, D = 3, N = 1500;  // more frames than one block of the dense path
  const MatD X = sample_diag_gmm(random_diag_params(C, D, rng, 2.0, 1.0), N, rng);
  const DiagParams p = random_diag_params(C, D, rng, 2.0, 1.0);
  const MatD post = naive_posteriors(naive_diag_loglikes(p, X));
  // Sparse: each frame's two best components, renormalised.
  SparsePosteriors<double> sparse;
  MatD post2 = MatD::Zero(N, C);
  for (Index t = 0; t < N; ++t) {
    Index a = 0, b = 1;
    for (Index c = 0; c < C; ++c) {
      if (post(t, c) > post(t, a)) { b = a; a = c; }
      else if (c != a && (b == a || post(t, c) > post(t, b))) b = c;
    }
    if (a == b) b = (a + 1) % C;
    const double z = post(t, a) + post(t, b);
    post2(t, a) = post(t, a) / z;
    post2(t, b) = post(t, b) / z;
    sparse.components.push_back(static_cast<std::int32_t>(a));
    sparse.components.push_back(static_cast<std::int32_t>(b));
    sparse.values.push_back(post2(t, a));
    sparse.values.push_back(post2(t, b));
    sparse.offsets.push_back(static_cast<Index>(sparse.values.size()));
  }
  StatsOptions o;
  o.second_order = true;
  o.full_second_order = true;
  o.posterior_scale = 0.5;
  const UtteranceStats dense = stats_from_posteriors(post, X, p.means, o);
  const UtteranceStats sp = stats_from_posteriors(sparse, X, p.means, o);
  for (const auto& [st, g] : {std::pair<const UtteranceStats*, const MatD*>{&dense, &post}, {&sp, &post2}}) {
    REQUIRE(st->second.rows() == C);
    REQUIRE(st->second.cols() == packed_size(D));
    for (Index c = 0; c < C; ++c) {
      MatD scatter = MatD::Zero(D, D);
      for (Index t = 0; t < N; ++t) {
        const VecD y = X.row(t).transpose() - p.means.row(c).transpose();
        scatter += 0.5 * (*g)(t, c) * y * y.transpose();
      }
      for (Index i = 0, k = 0; i < D; ++i)
        for (Index j = i; j < D; ++j, ++k) CHECK(st->second(c, k) == doctest::Approx(scatter(i, j)).epsilon(1e-9));
    }
  }
  // Its diagonal is the diagonal second order.
  o.full_second_order = false;
  const UtteranceStats diag = stats_from_posteriors(sparse, X, p.means, o);
  for (Index c = 0; c < C; ++c)
    for (Index i = 0, k = 0; i < D; k += D - i, ++i) CHECK(diag.second(c, i) == doctest::Approx(sp.second(c, k)).epsilon(1e-12));
  // compute_stats cannot give it for a diagonal model.
  o.full_second_order = true;
  CHECK_THROWS_AS(compute_stats(make_diag<double>(p), X, o), InvalidArgument);
}

TEST_CASE("Posterior scaling and the maximum count scale the statistics linearly") {
  Random rng(13);
  const DiagParams p = random_diag_params(4, 2, rng);
  const auto ubm = make_diag<double>(p);
  const MatD X = sample_diag_gmm(p, 100, rng);
  const UtteranceStats plain = compute_stats(ubm, X);
  StatsOptions scaled;
  scaled.posterior_scale = 0.1;
  const UtteranceStats s = compute_stats(ubm, X, scaled);
  CHECK(s.total_count() == doctest::Approx(10.0));
  CHECK(scaled_diff(s.first, (0.1 * plain.first).eval()) < 1e-12);
  StatsOptions capped;
  capped.max_count = 40.0;
  const UtteranceStats c = compute_stats(ubm, X, capped);
  CHECK(c.total_count() == doctest::Approx(40.0));
  CHECK(scaled_diff(c.first, (0.4 * plain.first).eval()) < 1e-12);
  capped.max_count = 1000.0;  // above the total: unchanged
  CHECK(compute_stats(ubm, X, capped).total_count() == doctest::Approx(100.0));
  StatsOptions bad;
  bad.posterior_scale = 0.0;
  CHECK_THROWS_WITH_AS(compute_stats(ubm, X, bad), "compute_stats: posterior_scale must be positive, got 0", InvalidArgument);
}

TEST_CASE("StatsSet adds, merges, subsets and rejects bad statistics") {
  StatsSet<float> set(2, 3);
  Eigen::Vector2d n(1.0, 2.0);
  Matrix<double> f(2, 3);
  f << 1, 2, 3, 4, 5, 6;
  set.add("a", n, f);
  set.add("b", (2 * n).eval(), (2 * f).eval());
  CHECK(set.size() == 2);
  CHECK(set.first()(1, 3) == 8.0f);  // component 1, dimension 0 of utterance b
  CHECK(set.index_of("b") == 1);
  StatsSet<float> other(2, 3);
  other.add("c", n, f);
  set.merge(other);
  CHECK(set.ids() == std::vector<std::string>{"a", "b", "c"});
  const auto sub = set.subset({"c", "a"});
  CHECK(sub.ids() == std::vector<std::string>{"c", "a"});
  CHECK(sub.zeroth().row(0) == set.zeroth().row(2));
  CHECK(set.rows(1, 2).ids() == std::vector<std::string>{"b", "c"});
  CHECK_THROWS_WITH_AS(set.add("a", n, f), "StatsSet::add: duplicate utterance 'a'", InvalidArgument);
  CHECK_THROWS_WITH_AS(set.add("d", Eigen::Vector2d(1.0, -1.0), f),
                       "StatsSet::add: utterance 'd' has count -1 for component 1; counts must be finite and non-negative",
                       InvalidArgument);
  Matrix<double> nan_f = f;
  nan_f(0, 1) = std::nan("");
  CHECK_THROWS_WITH_AS(set.add("d", n, nan_f), "StatsSet::add: utterance 'd' has NaN or Inf first-order statistics",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(set.add("d", n, Matrix<double>(2, 2)),
                       "StatsSet::add: utterance 'd' has statistics of size 2 and 2 x 2 but the set holds C = 2, D = 3",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(set.subset({"zz"}), "StatsSet: no utterance 'zz'", InvalidArgument);
  CHECK_THROWS_AS(set.merge(other), InvalidArgument);  // c again
}

TEST_CASE("add_to with many utterances equals adding them one by one, and adds nothing when one is refused") {
  std::vector<std::string> ids{"u1", "u2", "u3"};
  std::vector<UtteranceStats> stats(3);
  for (int i = 0; i < 3; ++i) {
    stats[static_cast<std::size_t>(i)].zeroth = Eigen::Vector2d(1.0 + i, 0.5 * i);
    stats[static_cast<std::size_t>(i)].first = Matrix<double>::Constant(2, 3, 0.25 * (i + 1));
  }
  StatsSet<float> one_by_one(2, 3), at_once(2, 3);
  one_by_one.add("x", stats[0].zeroth, stats[0].first);
  at_once.add("x", stats[0].zeroth, stats[0].first);
  for (std::size_t i = 0; i < 3; ++i) add_to(one_by_one, ids[i], stats[i]);
  add_to(at_once, ids, stats);
  CHECK(at_once.ids() == one_by_one.ids());
  CHECK(at_once.zeroth() == one_by_one.zeroth());
  CHECK(at_once.first() == one_by_one.first());
  CHECK(at_once.index_of("u3") == 3);
  // A duplicate inside the list, one already in the set, a bad count: refused, the set unchanged.
  CHECK_THROWS_WITH_AS(add_to(at_once, {"v", "v"}, {stats[0], stats[1]}), "StatsSet::add: duplicate utterance 'v'", InvalidArgument);
  CHECK_THROWS_WITH_AS(add_to(at_once, {"w", "u2"}, {stats[0], stats[1]}), "StatsSet::add: duplicate utterance 'u2'", InvalidArgument);
  UtteranceStats bad = stats[1];
  bad.zeroth(1) = -1.0;
  CHECK_THROWS_AS(add_to(at_once, {"w", "z"}, {stats[0], bad}), InvalidArgument);
  CHECK_THROWS_AS(add_to(at_once, {"w"}, {stats[0], stats[1]}), DimensionMismatch);
  CHECK(at_once.size() == 4);
  CHECK(at_once.find("w") == -1);
}

TEST_CASE("MAP adaptation against a hand-computed case") {
  // One component, D = 1, UBM N(0, 1); frames 2 and 4 with posterior 1 each.
  // N = 2, sum x = 6, sum x^2 = 20.  mean_tau = 1: mu' = (1*0 + 6) / (1 + 2) = 2.
  // variance_tau = 2: var' = (2 * (1 + 0) + 20) / (2 + 2) - 2^2 = 5.5 - 4 = 1.5.
  const DiagGmm<double> ubm(Vector<double>::Ones(1), Matrix<double>::Zero(1, 1), Matrix<double>::Ones(1, 1));
  Matrix<double> x(2, 1);
  x << 2, 4;
  StatsOptions so;
  so.second_order = true;
  const UtteranceStats st = compute_stats(ubm, x, so);
  MapOptions mo;
  mo.mean_tau = 1.0;
  mo.variance_tau = 2.0;
  const DiagGmm<double> a = map_adapt(ubm, st, mo);
  CHECK(a.means()(0, 0) == doctest::Approx(2.0));
  CHECK(a.variances()(0, 0) == doctest::Approx(1.5));
  CHECK(a.weights()(0) == doctest::Approx(1.0));
}

TEST_CASE("MAP weights and SIDEKIT's means-only relevance factor") {
  // Two far-apart components; all frames go to component 0 (N = (4, 0)).
  Vector<double> w(2);
  w << 0.5, 0.5;
  Matrix<double> mu(2, 1), var = Matrix<double>::Ones(2, 1);
  mu << 0, 100;
  const DiagGmm<double> ubm(w, mu, var);
  Matrix<double> x(4, 1);
  x << 1, 1, 1, 1;
  const UtteranceStats st = compute_stats(ubm, x);
  const DiagGmm<double> a = map_adapt(ubm, st, MapOptions::means_only(16.0));
  CHECK(a.means()(0, 0) == doctest::Approx(4.0 / 20.0));  // alpha = 4 / (4 + 16), data mean 1
  CHECK(a.means()(1, 0) == 100.0);
  CHECK(a.variances() == ubm.variances());
  MapOptions wo;
  wo.update_means = wo.update_variances = false;
  wo.weight_tau = 10.0;
  const DiagGmm<double> b = map_adapt(ubm, st, wo);
  CHECK(b.weights()(0) == doctest::Approx((4.0 + 5.0) / 14.0));
  CHECK(b.weights()(1) == doctest::Approx(5.0 / 14.0));
  CHECK_THROWS_WITH_AS(map_adapt(ubm, st, MapOptions{}),
                       "map_adapt: variance adaptation needs diagonal second-order statistics (StatsOptions::second_order)",
                       InvalidArgument);
}

TEST_CASE_TEMPLATE("GMM-UBM score: average log-likelihood ratio, exact and top-N", S, float, double) {
  Random rng(14);
  const DiagParams p = random_diag_params(16, 4, rng, 4.0);
  const auto ubm = make_diag<S>(p);
  const MatD enrol = sample_diag_gmm(p, 300, rng);
  StatsOptions so;
  so.second_order = true;
  const auto spk = map_adapt(ubm, compute_stats(ubm, enrol.cast<S>().eval(), so));
  const MatD test = sample_diag_gmm(p, 120, rng);
  const VecD la = naive_log_sum_exp_rows(naive_diag_loglikes(params_of(spk), test.cast<S>().template cast<double>()));
  const VecD lb = naive_log_sum_exp_rows(naive_diag_loglikes(params_of(ubm), test.cast<S>().template cast<double>()));
  const double ref = (la - lb).mean();
  CHECK(gmm_ubm_score(spk, ubm, test.cast<S>().eval(), 0) == doctest::Approx(ref).epsilon(tol<S>(1e-4, 1e-10)));
  // Top-N with every component selected is exact; with 5 of 16 it stays close.
  CHECK(gmm_ubm_score(spk, ubm, test.cast<S>().eval(), 16) == doctest::Approx(ref).epsilon(tol<S>(1e-4, 1e-10)));
  CHECK(std::abs(gmm_ubm_score(spk, ubm, test.cast<S>().eval(), 5) - ref) < 0.02);
  CHECK(gmm_ubm_score(ubm, ubm, test.cast<S>().eval(), 5) == doctest::Approx(0.0));
  CHECK_THROWS_WITH_AS(gmm_ubm_score(spk, ubm, Matrix<S>(0, 4)), "gmm_ubm_score: no frames", InvalidArgument);
}

TEST_CASE("Supervectors stack means; the KL supervector is zero for the UBM itself") {
  Random rng(15);
  const auto ubm = make_diag<double>(random_diag_params(3, 2, rng));
  const Vector<double> sv = mean_supervector(ubm);
  REQUIRE(sv.size() == 6);
  CHECK(sv(3) == ubm.means()(1, 1));
  CHECK(kl_supervector(ubm, ubm).norm() == 0.0);
}
