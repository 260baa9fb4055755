// EM statistics (accumulate_em_stats, EmAccumulator) and the M-step (em_update) against naive
// double-precision references.
#include <doctest/doctest.h>

#include <ivkit/gmm/diag_gmm.hpp>
#include <ivkit/gmm/em_accumulator.hpp>
#include <ivkit/gmm/em_update.hpp>
#include <ivkit/gmm/full_gmm.hpp>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "support/reference.hpp"

using namespace ivkit_test;
using ivkit::AccumulateOptions;
using ivkit::DiagGmm;
using ivkit::EmAccumulator;
using ivkit::EmUpdateOptions;
using ivkit::EmUpdateReport;
using ivkit::FramesAsCols;
using ivkit::FramesAsRows;
using ivkit::FullGmm;
using ivkit::LowOccupancy;

namespace {

// Tolerances on statistics, relative to the largest entry of the reference (scaled_diff), and on
// the summed log-likelihood relative to its size. float: per-frame log-likelihoods are computed in
// float from terms of size ~50 and each block's partial sums are float sums; the worst observed
// error is 5e-7 (statistics) and 1e-7 (log-likelihood), so 5e-6 leaves a 10x margin. double:
// observed <= 1.5e-15. A wrong posterior, centre or missing frame gives errors of 1e-3 or more.
template <class S>
double stats_tol() {
  return tol<S>(5e-6, 1e-13);
}

EmAccumulator to_accumulator(const NaiveStats& s, bool full) {
  EmAccumulator a;
  a.centre = s.centre;
  a.occupancy = s.occupancy;
  a.first = s.first;
  a.second = s.second;
  a.log_likelihood = s.log_likelihood;
  a.num_frames = s.num_frames;
  a.full_covariance = full;
  return a;
}

NaiveStats to_naive(const EmAccumulator& a) {
  NaiveStats s;
  s.centre = a.centre;
  s.occupancy = a.occupancy;
  s.first = a.first;
  s.second = a.second;
  s.log_likelihood = a.log_likelihood;
  s.num_frames = a.num_frames;
  return s;
}

template <class S>
void check_stats(const EmAccumulator& acc, const NaiveStats& ref) {
  const double t = stats_tol<S>();
  CHECK(acc.num_frames == ref.num_frames);
  CHECK(acc.centre == ref.centre);
  REQUIRE(acc.occupancy.size() == ref.occupancy.size());
  REQUIRE(acc.first.rows() == ref.first.rows());
  REQUIRE(acc.first.cols() == ref.first.cols());
  REQUIRE(acc.second.rows() == ref.second.rows());
  REQUIRE(acc.second.cols() == ref.second.cols());
  CHECK(scaled_diff(acc.occupancy, ref.occupancy) <= t);
  CHECK(scaled_diff(acc.first, ref.first) <= t);
  CHECK(scaled_diff(acc.second, ref.second) <= t);
  CHECK(std::abs(acc.log_likelihood - ref.log_likelihood) <= t * std::max(1.0, std::abs(ref.log_likelihood)));
}

/// The model's centre must be the weighted mean of its means (computed here in double).
template <class Model>
void check_center(const Model& gmm, const EmAccumulator& acc) {
  using S = typename Model::Scalar;
  const Index C = gmm.num_components(), D = gmm.dim();
  REQUIRE(acc.centre.size() == D);
  for (Index d = 0; d < D; ++d) {
    double o = 0.0;
    for (Index c = 0; c < C; ++c) o += static_cast<double>(gmm.weights()(c)) * static_cast<double>(gmm.means()(c, d));
    CHECK(std::abs(acc.centre(d) - o) <= tol<S>(1e-5, 1e-12) * std::max(1.0, std::abs(o)));
  }
}

/// Frames as the model's scalar sees them, back in double (so the reference uses the same inputs).
template <class S>
MatD rounded(const MatD& X) {
  return X.cast<S>().template cast<double>();
}

/// Naive statistics of X under a diagonal model, dense or with the top-n rule.
NaiveStats naive_stats(const DiagParams& p, const MatD& X, const VecD& center, Index top_n = 0, double min_post = 0.0) {
  const MatD ll = naive_diag_loglikes(p, X);
  MatD post = naive_posteriors(ll);
  if (top_n > 0) post = naive_top_n(post, top_n, min_post);
  return naive_em_stats(post, X, center, false, naive_log_sum_exp_rows(ll));
}

NaiveStats naive_stats(const FullParams& p, const MatD& X, const VecD& center, Index top_n = 0, double min_post = 0.0) {
  const MatD ll = naive_full_loglikes(p, X);
  MatD post = naive_posteriors(ll);
  if (top_n > 0) post = naive_top_n(post, top_n, min_post);
  return naive_em_stats(post, X, center, true, naive_log_sum_exp_rows(ll));
}

/// Overlapping test data with a large offset (exercises the centring): frames from one random
/// diagonal mixture, model another one, so posteriors are soft.
struct AccFixture {
  MatD X;
  DiagParams diag;
  FullParams full;
};

AccFixture make_fixture(Index C, Index D, Index N, std::uint64_t seed) {
  ivkit::Random rng(seed);
  AccFixture f;
  const DiagParams gen = random_diag_params(3, D, rng, 2.0, 10.0);
  f.X = sample_diag_gmm(gen, N, rng);
  f.diag = random_diag_params(C, D, rng, 2.0, 10.0);
  f.full = random_full_params(C, D, rng, 2.0, 10.0);
  return f;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// accumulate_em_stats against naive statistics

TEST_CASE_TEMPLATE("accumulate_em_stats(DiagGmm) matches naive statistics in every layout", S, float, double) {
  const AccFixture f = make_fixture(5, 3, 257, 11);
  const DiagGmm<S> gmm = make_diag<S>(f.diag);
  const MatD X = rounded<S>(f.X);
  AccumulateOptions opts;
  opts.block_frames = 64;  // 257 frames: four full blocks and a partial one
  for_each_layout<S>(f.X, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    EmAccumulator acc(gmm);
    CHECK_FALSE(acc.full_covariance);
    ivkit::accumulate_em_stats<L>(gmm, frames, acc, opts);
    check_center(gmm, acc);
    check_stats<S>(acc, naive_stats(params_of(gmm), X, acc.centre));
  });
}

TEST_CASE_TEMPLATE("accumulate_em_stats(FullGmm) matches naive statistics in every layout", S, float, double) {
  const AccFixture f = make_fixture(4, 3, 257, 12);
  const FullGmm<S> gmm = make_full<S>(f.full);
  const MatD X = rounded<S>(f.X);
  AccumulateOptions opts;
  opts.block_frames = 64;
  for_each_layout<S>(f.X, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    EmAccumulator acc(gmm);
    CHECK(acc.full_covariance);
    CHECK(acc.second.cols() == 6);
    ivkit::accumulate_em_stats<L>(gmm, frames, acc, opts);
    check_center(gmm, acc);
    check_stats<S>(acc, naive_stats(params_of(gmm), X, acc.centre));
  });
}

TEST_CASE_TEMPLATE("accumulate_em_stats: no frames, one component, one dimension", S, float, double) {
  SUBCASE("N = 0 leaves the accumulator at zero") {
    const AccFixture f = make_fixture(3, 2, 10, 13);
    const DiagGmm<S> diag = make_diag<S>(f.diag);
    const FullGmm<S> full = make_full<S>(f.full);
    const ivkit::Matrix<S> rows(0, 2);
    const ColMajor<S> cols(2, 0);
    for (const bool is_full : {false, true}) {
      CAPTURE(is_full);
      EmAccumulator acc = is_full ? EmAccumulator(full) : EmAccumulator(diag);
      AccumulateOptions dense, sparse;
      sparse.top_n = 2;
      for (const auto& opts : {dense, sparse}) {
        if (is_full) {
          ivkit::accumulate_em_stats<FramesAsRows>(full, rows, acc, opts);
          ivkit::accumulate_em_stats<FramesAsCols>(full, cols, acc, opts);
        } else {
          ivkit::accumulate_em_stats<FramesAsRows>(diag, rows, acc, opts);
          ivkit::accumulate_em_stats<FramesAsCols>(diag, cols, acc, opts);
        }
      }
      CHECK(acc.num_frames == 0.0);
      CHECK(acc.log_likelihood == 0.0);
      CHECK(acc.occupancy == Eigen::VectorXd::Zero(3));
      CHECK(acc.first == ivkit::Matrix<double>::Zero(3, 2));
      CHECK(acc.second == ivkit::Matrix<double>::Zero(3, is_full ? 3 : 2));
      CHECK(acc.average_log_likelihood() == 0.0);
    }
  }
  SUBCASE("C = 1: every posterior is one") {
    ivkit::Random rng(14);
    const MatD X0 = sample_diag_gmm(random_diag_params(2, 3, rng, 2.0, -5.0), 100, rng);
    const DiagParams p = random_diag_params(1, 3, rng, 2.0, -5.0);
    const MatD X = rounded<S>(X0);
    const ivkit::Matrix<S> frames = X0.cast<S>();
    const DiagGmm<S> diag = make_diag<S>(p);
    const FullGmm<S> full = ivkit::to_full(diag);
    EmAccumulator acc_d(diag), acc_f(full);
    ivkit::accumulate_em_stats(diag, frames, acc_d);
    ivkit::accumulate_em_stats(full, frames, acc_f);
    const MatD ones = MatD::Ones(100, 1);
    const VecD ll_d = naive_log_sum_exp_rows(naive_diag_loglikes(params_of(diag), X));
    const VecD ll_f = naive_log_sum_exp_rows(naive_full_loglikes(params_of(full), X));
    check_stats<S>(acc_d, naive_em_stats(ones, X, acc_d.centre, false, ll_d));
    check_stats<S>(acc_f, naive_em_stats(ones, X, acc_f.centre, true, ll_f));
    CHECK(std::abs(acc_d.occupancy(0) - 100.0) <= tol<S>(1e-4, 1e-12));
    // The centre of a one-component model is its mean.
    CHECK(max_abs_diff(acc_d.centre, params_of(diag).means.row(0).transpose()) == 0.0);
  }
  SUBCASE("D = 1") {
    const AccFixture f = make_fixture(3, 1, 150, 15);
    const DiagGmm<S> diag = make_diag<S>(f.diag);
    const FullGmm<S> full = make_full<S>(f.full);
    const MatD X = rounded<S>(f.X);
    const ColMajor<S> cols = f.X.transpose().cast<S>();  // 1 x N
    EmAccumulator acc_d(diag), acc_f(full);
    ivkit::accumulate_em_stats<FramesAsCols>(diag, cols, acc_d);
    ivkit::accumulate_em_stats<FramesAsCols>(full, cols, acc_f);
    CHECK(acc_f.second.cols() == 1);
    check_stats<S>(acc_d, naive_stats(params_of(diag), X, acc_d.centre));
    check_stats<S>(acc_f, naive_stats(params_of(full), X, acc_f.centre));
  }
  SUBCASE("C = 1 and D = 1") {
    ivkit::Random rng(16);
    const MatD X0 = sample_diag_gmm(random_diag_params(2, 1, rng), 77, rng);
    const DiagParams p = random_diag_params(1, 1, rng);
    const MatD X = rounded<S>(X0);
    const ivkit::Matrix<S> frames = X0.cast<S>();
    const DiagGmm<S> diag = make_diag<S>(p);
    EmAccumulator acc(diag);
    ivkit::accumulate_em_stats(diag, frames, acc);
    check_stats<S>(acc, naive_stats(params_of(diag), X, acc.centre));
  }
}

// ---------------------------------------------------------------------------------------------
// Top-N accumulation

TEST_CASE_TEMPLATE("top-N accumulation follows Kaldi's rule", S, float, double) {
  // Strongly overlapping components so that frames have several sizeable posteriors.
  ivkit::Random rng(21);
  const Index C = 8, D = 3, N = 300;
  const MatD X0 = sample_diag_gmm(random_diag_params(3, D, rng, 1.0, 4.0), N, rng);
  const DiagGmm<S> gmm = make_diag<S>(random_diag_params(C, D, rng, 1.5, 4.0));
  const MatD X = rounded<S>(X0);
  const NaiveStats dense = naive_stats(params_of(gmm), X, gmm.centre().template cast<double>());
  struct Case {
    Index n;
    double min_post;
  };
  const Case cases[] = {{1, 0.0}, {2, 0.0}, {3, 0.0}, {3, 0.1}, {5, 0.05}, {7, 0.2}, {3, 0.9},
                        {8, 0.1} /* n = C */, {20, 0.05} /* n > C */};
  const ivkit::Matrix<S> rows = X0.cast<S>();
  const ColMajor<S> cols = X0.transpose().cast<S>();
  for (const Case& k : cases) {
    CAPTURE(k.n);
    CAPTURE(k.min_post);
    const NaiveStats ref = naive_stats(params_of(gmm), X, gmm.centre().template cast<double>(), k.n, k.min_post);
    // The rule must change the statistics, or this case would not test it.
    CHECK(scaled_diff(ref.occupancy, dense.occupancy) > 1e-3);
    AccumulateOptions opts;
    opts.top_n = k.n;
    opts.min_post = k.min_post;
    opts.block_frames = 32;
    EmAccumulator acc_r(gmm), acc_c(gmm);
    ivkit::accumulate_em_stats<FramesAsRows>(gmm, rows, acc_r, opts);
    ivkit::accumulate_em_stats<FramesAsCols>(gmm, cols, acc_c, opts);
    check_stats<S>(acc_r, ref);
    check_stats<S>(acc_c, ref);
    // The occupancy still sums to the number of frames (posteriors renormalised per frame).
    CHECK(std::abs(acc_r.occupancy.sum() - static_cast<double>(N)) <= tol<S>(1e-3, 1e-9));
  }
}

TEST_CASE("top-N accumulation for a FullGmm follows Kaldi's rule") {
  const AccFixture f = make_fixture(6, 3, 200, 22);
  const FullGmm<double> gmm = make_full<double>(f.full);
  for (const auto& cfg : {std::pair<Index, double>{2, 0.0}, {3, 0.1}}) {
    // Plain variables, not structured bindings: doctest's CAPTURE makes a lambda, and capturing a
    // binding is C++20 (Clang rejects it in C++17).
    const Index n = cfg.first;
    const double min_post = cfg.second;
    CAPTURE(n);
    CAPTURE(min_post);
    AccumulateOptions opts;
    opts.top_n = n;
    opts.min_post = min_post;
    EmAccumulator acc(gmm);
    ivkit::accumulate_em_stats(gmm, f.X, acc, opts);
    check_stats<double>(acc, naive_stats(params_of(gmm), f.X, acc.centre, n, min_post));
  }
}

// ---------------------------------------------------------------------------------------------
// EmAccumulator::operator+=

namespace {
/// A Gaussian selection that is not the top-n of the model: n distinct components per frame drawn
/// at random (as a selection made from another model, e.g. the initial one, would be).
ivkit::GaussianSelection random_selection(Index N, Index C, Index n, ivkit::Random& rng) {
  ivkit::GaussianSelection sel;
  sel.indices.resize(N, n);
  for (Index t = 0; t < N; ++t) {
    std::vector<Index> all(static_cast<std::size_t>(C));
    for (Index c = 0; c < C; ++c) all[static_cast<std::size_t>(c)] = c;
    for (Index k = 0; k < n; ++k) {
      const auto j = static_cast<std::size_t>(k) + static_cast<std::size_t>(rng.uniform_index(static_cast<std::uint64_t>(C - k)));
      std::swap(all[static_cast<std::size_t>(k)], all[j]);
      sel.indices(t, k) = static_cast<int>(all[static_cast<std::size_t>(k)]);
    }
  }
  return sel;
}

/// Naive statistics with each frame's posteriors a softmax over its selected components only.
NaiveStats naive_selected_stats(const MatD& ll, const ivkit::GaussianSelection& sel, const MatD& X, const VecD& center, bool full) {
  MatD post = MatD::Zero(ll.rows(), ll.cols());
  VecD lse(ll.rows());
  for (Index t = 0; t < ll.rows(); ++t) {
    double m = -std::numeric_limits<double>::infinity();
    for (Index k = 0; k < sel.num_selected(); ++k) m = std::max(m, ll(t, sel.indices(t, k)));
    double z = 0.0;
    for (Index k = 0; k < sel.num_selected(); ++k) z += std::exp(ll(t, sel.indices(t, k)) - m);
    lse(t) = m + std::log(z);
    for (Index k = 0; k < sel.num_selected(); ++k) post(t, sel.indices(t, k)) = std::exp(ll(t, sel.indices(t, k)) - lse(t));
  }
  return naive_em_stats(post, X, center, full, lse);
}
}  // namespace

TEST_CASE_TEMPLATE("accumulation restricted to a Gaussian selection matches naive statistics", S, float, double) {
  ivkit::Random rng(23);
  const Index C = 8, D = 3, N = 300;
  const MatD X0 = sample_diag_gmm(random_diag_params(3, D, rng, 1.0, 4.0), N, rng);
  const MatD X = rounded<S>(X0);
  const ivkit::Matrix<S> rows = X0.cast<S>();
  const ColMajor<S> cols = X0.transpose().cast<S>();
  const DiagGmm<S> diag = make_diag<S>(random_diag_params(C, D, rng, 1.5, 4.0));
  const FullGmm<S> full = make_full<S>(random_full_params(C, D, rng, 1.5, 4.0));
  for (const Index n : {1, 3, 8}) {
    CAPTURE(n);
    const ivkit::GaussianSelection sel = random_selection(N, C, n, rng);
    AccumulateOptions opts;
    opts.block_frames = 32;
    {
      const NaiveStats ref = naive_selected_stats(naive_diag_loglikes(params_of(diag), X), sel, X, diag.centre().template cast<double>(), false);
      EmAccumulator acc_r(diag), acc_c(diag);
      ivkit::accumulate_em_stats<FramesAsRows>(diag, rows, sel, acc_r, opts);
      ivkit::accumulate_em_stats<FramesAsCols>(diag, cols, sel, acc_c, opts);
      check_stats<S>(acc_r, ref);
      check_stats<S>(acc_c, ref);
      if (n == C) {  // every component selected: exact EM
        EmAccumulator dense(diag);
        ivkit::accumulate_em_stats(diag, rows, dense, opts);
        check_stats<S>(acc_r, to_naive(dense));
      }
    }
    {
      const NaiveStats ref = naive_selected_stats(naive_full_loglikes(params_of(full), X), sel, X, full.centre().template cast<double>(), true);
      EmAccumulator acc(full);
      ivkit::accumulate_em_stats(full, rows, sel, acc, opts);
      check_stats<S>(acc, ref);
    }
  }
  // Results do not depend on the number of threads.
  const ivkit::GaussianSelection sel = random_selection(N, C, 3, rng);
  AccumulateOptions one, many;
  one.block_frames = many.block_frames = 16;
  many.num_threads = 3;
  EmAccumulator a(diag), b(diag);
  ivkit::accumulate_em_stats(diag, rows, sel, a, one);
  ivkit::accumulate_em_stats(diag, rows, sel, b, many);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.log_likelihood == b.log_likelihood);
}

TEST_CASE("accumulation restricted to a Gaussian selection: bad input") {
  ivkit::Random rng(5);
  const DiagGmm<double> gmm = make_diag<double>(random_diag_params(4, 2, rng, 1.0, 0.0));
  const MatD X = MatD::Random(10, 2);
  EmAccumulator acc(gmm);
  ivkit::GaussianSelection sel = random_selection(9, 4, 2, rng);
  CHECK_THROWS_AS(ivkit::accumulate_em_stats(gmm, X, sel, acc), ivkit::DimensionMismatch);
  sel = random_selection(10, 4, 2, rng);
  sel.indices(3, 1) = 4;
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats(gmm, X, sel, acc),
                       "accumulate_em_stats (Gaussian selection): frame 3 selects component 4 but the model has 4 components",
                       ivkit::DimensionMismatch);
  sel.indices(3, 1) = 0;
  AccumulateOptions top;
  top.top_n = 2;
  CHECK_THROWS_AS(ivkit::accumulate_em_stats(gmm, X, sel, acc, top), ivkit::InvalidArgument);
  CHECK(acc.num_frames == 0.0);  // nothing was added by the failed calls
}

TEST_CASE_TEMPLATE("EmAccumulator::operator+=: two halves add up to the whole", S, float, double) {
  const AccFixture f = make_fixture(4, 3, 500, 31);
  const DiagGmm<S> diag = make_diag<S>(f.diag);
  const FullGmm<S> full = make_full<S>(f.full);
  const ivkit::Matrix<S> X = f.X.cast<S>();
  const Index split = 203;  // not a multiple of the block size
  AccumulateOptions opts;
  opts.block_frames = 32;
  auto check_halves = [&](const auto& gmm) {
    EmAccumulator whole(gmm), first(gmm), second(gmm);
    ivkit::accumulate_em_stats(gmm, X, whole, opts);
    ivkit::accumulate_em_stats(gmm, X.topRows(split), first, opts);
    ivkit::accumulate_em_stats(gmm, X.bottomRows(X.rows() - split), second, opts);
    CHECK(first.num_frames == static_cast<double>(split));
    EmAccumulator& sum = (first += second);
    CHECK(&sum == &first);
    // The halves are summed in another order than the whole: equal to rounding only.
    check_stats<S>(first, to_naive(whole));
    CHECK(first.num_frames == 500.0);
    // The halves alone differ from the whole: the test would notice a += that did nothing.
    CHECK(scaled_diff(second.first, whole.first) > 0.1);
  };
  SUBCASE("DiagGmm") { check_halves(diag); }
  SUBCASE("FullGmm") { check_halves(full); }
}

TEST_CASE("EmAccumulator::operator+=: accumulators of different models throw") {
  ivkit::Random rng(32);
  const DiagGmm<double> a = make_diag<double>(random_diag_params(3, 2, rng));
  const DiagGmm<double> b = make_diag<double>(random_diag_params(4, 2, rng));
  const DiagGmm<double> c = make_diag<double>(random_diag_params(3, 5, rng));
  const DiagGmm<double> a2 = make_diag<double>(random_diag_params(3, 2, rng));  // same shape, other centre
  EmAccumulator acc_a(a);
  acc_a.occupancy.setConstant(1.0);
  const EmAccumulator before = acc_a;
  CHECK_THROWS_WITH_AS(acc_a += EmAccumulator(b), "EmAccumulator::operator+=: accumulators differ (C = 3 vs 4, D = 2 vs 2)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(acc_a += EmAccumulator(c), "EmAccumulator::operator+=: accumulators differ (C = 3 vs 3, D = 2 vs 5)",
                       ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(acc_a += EmAccumulator(ivkit::to_full(a)),
                       "EmAccumulator::operator+=: accumulators differ (C = 3 vs 3, D = 2 vs 2)", ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(acc_a += EmAccumulator(a2),
                       "EmAccumulator::operator+=: accumulators are centred differently (different models)",
                       ivkit::DimensionMismatch);
  // A failed += leaves the accumulator as it was.
  CHECK(acc_a.occupancy == before.occupancy);
  CHECK(acc_a.first == before.first);
  CHECK(acc_a.second == before.second);
  // The same model's accumulators add fine.
  acc_a += EmAccumulator(a);
  CHECK(acc_a.occupancy == before.occupancy);
}

// ---------------------------------------------------------------------------------------------
// Thread determinism

// On one thread the dense statistics go straight into the totals through the GEMM kernel (no
// partial); on several, through per-block partials added in order: both must give the same bits.
TEST_CASE_TEMPLATE("accumulation is bit-identical for 1, 2, 3 and all threads", S, float, double) {
  const AccFixture f = make_fixture(12, 4, 1000, 41);
  const DiagGmm<S> diag = make_diag<S>(f.diag);
  const FullGmm<S> full = make_full<S>(f.full);
  const ivkit::Matrix<S> X = f.X.cast<S>();
  auto run = [&](const auto& gmm, int threads, Index top_n) {
    AccumulateOptions opts;
    opts.num_threads = threads;
    opts.block_frames = 16;  // 63 blocks
    opts.top_n = top_n;
    opts.min_post = top_n > 0 ? 0.05 : 0.0;
    EmAccumulator acc(gmm);
    ivkit::accumulate_em_stats(gmm, X, acc, opts);
    return acc;
  };
  for (const Index top_n : {Index{0}, Index{3}}) {
    CAPTURE(top_n);
    const EmAccumulator d1 = run(diag, 1, top_n), f1 = run(full, 1, top_n);
    for (const int threads : {2, 3, 0}) {
      CAPTURE(threads);
      const EmAccumulator dn = run(diag, threads, top_n), fn = run(full, threads, top_n);
      CHECK(dn.occupancy == d1.occupancy);
      CHECK(dn.first == d1.first);
      CHECK(dn.second == d1.second);
      CHECK(dn.log_likelihood == d1.log_likelihood);
      CHECK(dn.num_frames == d1.num_frames);
      CHECK(fn.occupancy == f1.occupancy);
      CHECK(fn.first == f1.first);
      CHECK(fn.second == f1.second);
      CHECK(fn.log_likelihood == f1.log_likelihood);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// em_update: plain M-step

TEST_CASE_TEMPLATE("em_update matches the naive M-step when no floor is hit", S, float, double) {
  // Statistics from naive double posteriors, handed to em_update directly: the M-step alone is tested.
  const AccFixture f = make_fixture(4, 3, 2000, 51);
  // float output: parameters rounded to float (relative 6e-8) after a double computation.
  const double t = tol<S>(1e-6, 1e-11);
  SUBCASE("DiagGmm") {
    const DiagGmm<S> gmm = make_diag<S>(f.diag);
    const NaiveStats stats = naive_stats(params_of(gmm), f.X, gmm.centre().template cast<double>());
    const DiagParams ref = naive_diag_mstep(stats);
    EmUpdateReport rep;
    rep.floored = 99;  // must be overwritten
    const DiagGmm<S> next = ivkit::em_update(gmm, to_accumulator(stats, false), EmUpdateOptions{}, &rep);
    REQUIRE(next.num_components() == 4);
    CHECK(scaled_diff(next.weights(), ref.weights) <= t);
    CHECK(scaled_diff(next.means(), ref.means) <= t);
    CHECK(scaled_diff(next.variances(), ref.vars) <= t);
    CHECK(rep.floored == 0);
    CHECK(rep.removed.empty());
    CHECK(rep.split.empty());
    CHECK(rep.kept_previous.empty());
    CHECK_FALSE(rep.structure_changed());
    // The update moved the model (so equality above is not with the input).
    CHECK(scaled_diff(ref.means, f.diag.means) > 1e-2);
    SUBCASE("update flags") {
      EmUpdateOptions only_means;
      only_means.update_weights = false;
      only_means.update_variances = false;
      const DiagGmm<S> m = ivkit::em_update(gmm, to_accumulator(stats, false), only_means);
      CHECK(scaled_diff(m.weights(), gmm.weights()) <= t);  // renormalised: equal to rounding
      CHECK(m.variances() == gmm.variances());
      CHECK(scaled_diff(m.means(), ref.means) <= t);
    }
  }
  SUBCASE("FullGmm") {
    const FullGmm<S> gmm = make_full<S>(f.full);
    const NaiveStats stats = naive_stats(params_of(gmm), f.X, gmm.centre().template cast<double>());
    const FullParams ref = naive_full_mstep(stats);
    EmUpdateReport rep;
    const FullGmm<S> next = ivkit::em_update(gmm, to_accumulator(stats, true), EmUpdateOptions{}, &rep);
    REQUIRE(next.num_components() == 4);
    CHECK(scaled_diff(next.weights(), ref.weights) <= t);
    CHECK(scaled_diff(next.means(), ref.means) <= t);
    for (Index c = 0; c < 4; ++c) {
      CAPTURE(c);
      CHECK(scaled_diff(next.covariances()[static_cast<std::size_t>(c)], ref.covs[static_cast<std::size_t>(c)]) <=
            tol<S>(1e-6, 1e-10));
      CHECK(scaled_diff(ref.covs[static_cast<std::size_t>(c)], f.full.covs[static_cast<std::size_t>(c)]) > 1e-2);
    }
    CHECK(rep.floored == 0);
    CHECK_FALSE(rep.structure_changed());
  }
}

// ---------------------------------------------------------------------------------------------
// em_update: variance floor

TEST_CASE_TEMPLATE("em_update(DiagGmm) floors variances relative to the global variance", S, float, double) {
  const AccFixture f = make_fixture(3, 2, 1500, 61);
  const DiagGmm<S> gmm = make_diag<S>(f.diag);
  NaiveStats stats = naive_stats(params_of(gmm), f.X, gmm.centre().template cast<double>());
  // Component 1 gets a tiny variance (1e-6) in dimension 0.
  const double occ = stats.occupancy(1), m = stats.first(1, 0) / occ;
  stats.second(1, 0) = occ * (m * m + 1e-6);
  const VecD gvar = naive_global_variance(stats, false);
  const DiagParams raw = naive_diag_mstep(stats);
  REQUIRE(std::abs(raw.vars(1, 0) - 1e-6) < 1e-9);
  for (const double floor_rel : {1e-3, 0.3, 0.6}) {
    CAPTURE(floor_rel);
    EmUpdateOptions opts;
    opts.variance_floor = floor_rel;
    EmUpdateReport rep;
    const DiagGmm<S> next = ivkit::em_update(gmm, to_accumulator(stats, false), opts, &rep);
    Index expected_floored = 0;
    MatD expected = raw.vars;
    for (Index c = 0; c < 3; ++c)
      for (Index d = 0; d < 2; ++d)
        if (raw.vars(c, d) < floor_rel * gvar(d)) {
          expected(c, d) = floor_rel * gvar(d);
          ++expected_floored;
        }
    CHECK(rep.floored == expected_floored);
    if (floor_rel == 1e-3) CHECK(expected_floored == 1);
    if (floor_rel == 0.6) CHECK(expected_floored >= 2);
    CHECK(scaled_diff(next.variances(), expected) <= tol<S>(1e-6, 1e-12));
    // The floored entry is exactly at the floor (relative to its size).
    CHECK(std::abs(static_cast<double>(next.variances()(1, 0)) - floor_rel * gvar(0)) <=
          tol<S>(1e-6, 1e-12) * floor_rel * gvar(0));
    CHECK(scaled_diff(next.means(), raw.means) <= tol<S>(1e-6, 1e-11));
    CHECK_FALSE(rep.structure_changed());
  }
}

TEST_CASE_TEMPLATE("em_update(DiagGmm) absolute variance floor (Kaldi's --min-variance)", S, float, double) {
  const AccFixture f = make_fixture(3, 2, 1500, 61);
  const DiagGmm<S> gmm = make_diag<S>(f.diag);
  NaiveStats stats = naive_stats(params_of(gmm), f.X, gmm.centre().template cast<double>());
  const double occ = stats.occupancy(1), m = stats.first(1, 0) / occ;
  stats.second(1, 0) = occ * (m * m + 1e-6);
  const VecD gvar = naive_global_variance(stats, false);
  const DiagParams raw = naive_diag_mstep(stats);
  struct Case {
    double relative, absolute;
  };
  // Absolute alone (Kaldi's convention), absolute above the relative one, relative above absolute.
  for (const Case k : {Case{0.0, 1e-3}, Case{1e-3, 0.05}, Case{0.6, 1e-3}}) {
    CAPTURE(k.relative);
    CAPTURE(k.absolute);
    EmUpdateOptions opts;
    opts.variance_floor = k.relative;
    opts.absolute_variance_floor = k.absolute;
    EmUpdateReport rep;
    const DiagGmm<S> next = ivkit::em_update(gmm, to_accumulator(stats, false), opts, &rep);
    MatD expected = raw.vars;
    Index floored = 0;
    for (Index c = 0; c < 3; ++c)
      for (Index d = 0; d < 2; ++d) {
        const double fl = std::max(k.relative * gvar(d), k.absolute);
        if (raw.vars(c, d) < fl) {
          expected(c, d) = fl;
          ++floored;
        }
      }
    CHECK(floored >= 1);
    CHECK(rep.floored == floored);
    CHECK(scaled_diff(next.variances(), expected) <= tol<S>(1e-6, 1e-12));
  }
  // Kaldi's absolute floor differs from ivkit's relative one when the data's scale is far from 1.
  EmUpdateOptions kaldi = EmUpdateOptions::kaldi(false), ivkit_default;
  kaldi.min_weight = ivkit_default.min_weight;
  const DiagGmm<S> a = ivkit::em_update(gmm, to_accumulator(stats, false), kaldi);
  const DiagGmm<S> b = ivkit::em_update(gmm, to_accumulator(stats, false), ivkit_default);
  CHECK(std::abs(static_cast<double>(a.variances()(1, 0)) - 1e-3) <= tol<S>(1e-6, 1e-12) * 1e-3);
  CHECK(std::abs(static_cast<double>(b.variances()(1, 0)) - 1e-3 * gvar(0)) <= tol<S>(1e-6, 1e-12) * 1e-3 * gvar(0));
  CHECK(std::abs(gvar(0) - 1.0) > 0.5);
  EmUpdateOptions bad;
  bad.absolute_variance_floor = -1.0;
  CHECK_THROWS_AS(ivkit::em_update(gmm, to_accumulator(stats, false), bad), ivkit::InvalidArgument);
}

namespace {
/// Eigen-decomposition of a symmetric 2 x 2 matrix in closed form: S = sum_k lambda_k v_k v_k^T.
void eig2(const MatD& S, double lambda[2], VecD v[2]) {
  const double a = S(0, 0), b = S(0, 1), c = S(1, 1);
  const double mid = 0.5 * (a + c), r = std::sqrt(0.25 * (a - c) * (a - c) + b * b);
  lambda[0] = mid + r;
  lambda[1] = mid - r;
  for (int k = 0; k < 2; ++k) {
    // Every matrix this is used on has b != 0: (b, lambda - a) is then a nonzero eigenvector.
    REQUIRE(std::abs(b) > 0.0);
    VecD e(2);
    e << b, lambda[k] - a;
    v[k] = e / e.norm();
  }
  // The smaller eigenvalue from the product, which keeps its relative accuracy.
  lambda[1] = (a * c - b * b) / lambda[0];
}
}  // namespace

TEST_CASE("em_update(FullGmm) floors eigenvalues") {
  // D = 2, two components with known covariances; component 0 is nearly singular, rotated 30 degrees.
  const double th = M_PI / 6;
  MatD R(2, 2);
  R << std::cos(th), -std::sin(th), std::sin(th), std::cos(th);
  MatD L0 = MatD::Zero(2, 2);
  L0(0, 0) = 2.0;
  L0(1, 1) = 1e-6;
  const MatD S0 = R * L0 * R.transpose();
  MatD S1(2, 2);
  S1 << 1.5, 0.4, 0.4, 0.8;
  const double occ[2] = {400.0, 600.0};
  VecD mu[2] = {VecD(2), VecD(2)};
  mu[0] << 1.0, -0.5;
  mu[1] << -2.0, 3.0;
  const MatD S[2] = {S0, S1};

  FullParams p;
  p.weights = VecD::Constant(2, 0.5);
  p.means = MatD(2, 2);
  p.means << 0.0, 0.0, 1.0, 1.0;
  p.covs = {MatD::Identity(2, 2), MatD::Identity(2, 2)};
  const FullGmm<double> gmm = make_full<double>(p);
  const VecD o = gmm.centre();
  NaiveStats stats;
  stats.centre = o;
  stats.occupancy = VecD(2);
  stats.first = MatD(2, 2);
  stats.second = MatD(2, 3);
  for (int c = 0; c < 2; ++c) {
    stats.occupancy(c) = occ[c];
    const VecD m = mu[c] - o;  // centred mean
    stats.first.row(c) = occ[c] * m.transpose();
    const MatD M = occ[c] * (S[c] + m * m.transpose());
    stats.second(c, 0) = M(0, 0);
    stats.second(c, 1) = M(0, 1);
    stats.second(c, 2) = M(1, 1);
  }
  const VecD gvar = naive_global_variance(stats, true);
  const FullParams raw = naive_full_mstep(stats);

  struct Case {
    double variance_floor, max_condition, absolute = 0.0;
  };
  for (const Case k : {Case{1e-3, 1e4}, Case{0.0, 100.0}, Case{0.5, 1e4}, Case{0.0, 1e4, 0.9}, Case{1e-3, 1e4, 0.9}}) {
    CAPTURE(k.variance_floor);
    CAPTURE(k.max_condition);
    CAPTURE(k.absolute);
    EmUpdateOptions opts;
    opts.variance_floor = k.variance_floor;
    opts.max_condition = k.max_condition;
    opts.absolute_variance_floor = k.absolute;
    EmUpdateReport rep;
    const FullGmm<double> next = ivkit::em_update(gmm, to_accumulator(stats, true), opts, &rep);
    Index expected_floored = 0;
    for (int c = 0; c < 2; ++c) {
      CAPTURE(c);
      double lambda[2];
      VecD v[2];
      eig2(raw.covs[static_cast<std::size_t>(c)], lambda, v);
      const double fl = std::max({lambda[0] / k.max_condition, k.variance_floor * 0.5 * (gvar(0) + gvar(1)), k.absolute});
      MatD expected = MatD::Zero(2, 2);
      for (int j = 0; j < 2; ++j) {
        double l = lambda[j];
        if (l < fl) {
          l = fl;
          ++expected_floored;
        }
        expected += l * v[j] * v[j].transpose();
      }
      CHECK(max_abs_diff(next.covariances()[static_cast<std::size_t>(c)], expected) <= 1e-9);
      CHECK(max_abs_diff(next.means().row(c).transpose(), mu[c]) <= 1e-12);
    }
    CHECK(rep.floored == expected_floored);
    CHECK(expected_floored >= 1);  // component 0 is always floored here
    if (k.variance_floor == 0.5) CHECK(expected_floored == 3);
    if (k.absolute == 0.9) CHECK(expected_floored == 2);  // and component 1's smaller eigenvalue (0.62)
  }
}

// ---------------------------------------------------------------------------------------------
// em_update: low occupancy

namespace {
/// Three components near the data, component 2 one hundred standard deviations away.
struct LowOccFixture {
  MatD X;
  DiagParams model;
};

LowOccFixture make_low_occ_fixture() {
  ivkit::Random rng(71);
  LowOccFixture f;
  DiagParams gen = random_diag_params(3, 3, rng, 4.0, 0.0);
  f.X = sample_diag_gmm(gen, 3000, rng);
  DiagParams m = random_diag_params(4, 3, rng, 4.0, 0.0);
  m.means.row(2).setConstant(150.0);
  f.model = m;
  return f;
}
}  // namespace

TEST_CASE_TEMPLATE("em_update(DiagGmm) low-occupancy policies", S, float, double) {
  const LowOccFixture f = make_low_occ_fixture();
  const DiagGmm<S> gmm = make_diag<S>(f.model);
  EmAccumulator acc(gmm);
  ivkit::accumulate_em_stats(gmm, f.X.cast<S>(), acc);
  REQUIRE(acc.occupancy(2) < 1e-6);
  for (Index c : {0, 1, 3}) REQUIRE(acc.occupancy(c) > 100.0);
  const DiagParams ref = naive_diag_mstep(to_naive(acc));  // row 2 is meaningless (0 / 0)
  const double t = tol<S>(1e-6, 1e-11);
  EmUpdateOptions opts;
  EmUpdateReport rep;

  SUBCASE("Remove") {
    opts.low_occupancy = LowOccupancy::Remove;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 3);
    CHECK(rep.removed == std::vector<Index>{2});
    CHECK(rep.split.empty());
    CHECK(rep.kept_previous.empty());
    CHECK(rep.structure_changed());
    const std::vector<Index> kept = {0, 1, 3};
    double wsum = 0.0;
    for (Index c : kept) wsum += ref.weights(c);
    for (Index k = 0; k < 3; ++k) {
      const Index c = kept[static_cast<std::size_t>(k)];
      CAPTURE(c);
      CHECK(std::abs(next.weights()(k) - ref.weights(c) / wsum) <= t);
      CHECK(scaled_diff(next.means().row(k), ref.means.row(c)) <= t);
      CHECK(scaled_diff(next.variances().row(k), ref.vars.row(c)) <= t);
    }
  }
  SUBCASE("KeepPrevious") {
    opts.low_occupancy = LowOccupancy::KeepPrevious;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    CHECK(rep.kept_previous == std::vector<Index>{2});
    CHECK(rep.removed.empty());
    CHECK(rep.split.empty());
    CHECK(rep.structure_changed());
    CHECK(next.means().row(2) == gmm.means().row(2));
    CHECK(next.variances().row(2) == gmm.variances().row(2));
    // Weights: the new ones of the others and the old one of component 2, renormalised.
    VecD w = ref.weights;
    w(2) = static_cast<double>(gmm.weights()(2));
    w /= w.sum();
    CHECK(scaled_diff(next.weights(), w) <= t);
    for (Index c : {0, 1, 3}) {
      CHECK(scaled_diff(next.means().row(c), ref.means.row(c)) <= t);
      CHECK(scaled_diff(next.variances().row(c), ref.vars.row(c)) <= t);
    }
  }
  SUBCASE("KeepPreviousMinWeight") {
    // Kaldi with --remove-low-count-gaussians=false: previous mean and variances, weight
    // max(share, min_weight); ivkit then divides all weights by their sum.
    opts.low_occupancy = LowOccupancy::KeepPreviousMinWeight;
    opts.min_weight = 1e-3;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    CHECK(rep.kept_previous == std::vector<Index>{2});
    CHECK(next.means().row(2) == gmm.means().row(2));
    CHECK(next.variances().row(2) == gmm.variances().row(2));
    VecD w = ref.weights;
    w(2) = 1e-3;  // its share is ~0
    const double kaldi_sum = w.sum();
    CHECK(kaldi_sum > 1.0);
    w /= kaldi_sum;
    CHECK(scaled_diff(next.weights(), w) <= t);
    for (Index c : {0, 1, 3}) CHECK(scaled_diff(next.means().row(c), ref.means.row(c)) <= t);
  }
  SUBCASE("the limits are exclusive, as Kaldi's") {
    // A component whose occupancy equals min_occupancy is low; with both limits 0 an empty
    // component is still low (its mean would be 0 / 0).
    opts.low_occupancy = LowOccupancy::Remove;
    opts.min_occupancy = acc.occupancy(1);
    opts.min_weight = 0.0;
    ivkit::em_update(gmm, acc, opts, &rep);
    CHECK(std::find(rep.removed.begin(), rep.removed.end(), Index{1}) != rep.removed.end());
    opts.min_occupancy = 0.0;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    CHECK(rep.removed == std::vector<Index>{2});
    CHECK(next.means().allFinite());
  }
  SUBCASE("SplitHeaviest") {
    opts.low_occupancy = LowOccupancy::SplitHeaviest;
    opts.split_perturbation = 0.2;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    Index heavy = 0;
    for (Index c : {1, 3})
      if (acc.occupancy(c) > acc.occupancy(heavy)) heavy = c;
    CHECK(rep.split == std::vector<std::pair<Index, Index>>{{2, heavy}});
    CHECK(rep.removed.empty());
    CHECK(rep.kept_previous.empty());
    CHECK(rep.structure_changed());
    // The heavy component's weight is shared by the two halves, its variances copied, and its mean
    // moved by +- 0.2 standard deviations times a normal deviate along each dimension.
    CHECK(std::abs(next.weights()(2) - ref.weights(heavy) / 2) <= t);
    CHECK(std::abs(next.weights()(heavy) - ref.weights(heavy) / 2) <= t);
    CHECK(scaled_diff(next.variances().row(2), ref.vars.row(heavy)) <= t);
    CHECK(scaled_diff(next.variances().row(heavy), ref.vars.row(heavy)) <= t);
    for (Index d = 0; d < 3; ++d) {
      CAPTURE(d);
      const double a = next.means()(2, d), b = next.means()(heavy, d), sd = std::sqrt(ref.vars(heavy, d));
      CHECK(std::abs(0.5 * (a + b) - ref.means(heavy, d)) <= t * std::max(1.0, std::abs(ref.means(heavy, d))));
      const double z = (b - a) / (2 * 0.2 * sd);  // the normal deviate
      CHECK(std::abs(z) > 1e-6);
      CHECK(std::abs(z) < 6.0);
    }
    for (Index c : {0, 1, 3})
      if (c != heavy) {
        CHECK(std::abs(next.weights()(c) - ref.weights(c)) <= t);
        CHECK(scaled_diff(next.means().row(c), ref.means.row(c)) <= t);
      }
    // The split direction comes from the seed.
    EmUpdateOptions other = opts;
    other.seed = 12345;
    const DiagGmm<S> next2 = ivkit::em_update(gmm, acc, other);
    CHECK(next2.means().row(2) != next.means().row(2));
    const DiagGmm<S> next3 = ivkit::em_update(gmm, acc, opts);
    CHECK(next3.means() == next.means());
  }
  SUBCASE("SplitHeaviest into two slots: each component estimated, and its floors counted, once") {
    // Component 2 is empty; the lightest of the others is made low too (the limit is exclusive).
    Index light = 0;
    for (Index c : {1, 3})
      if (acc.occupancy(c) < acc.occupancy(light)) light = c;
    opts.low_occupancy = LowOccupancy::SplitHeaviest;
    opts.min_occupancy = acc.occupancy(light);
    opts.variance_floor = 0.5;
    const VecD gvar = naive_global_variance(to_naive(acc), false);
    Index expected_floored = 0;
    for (Index c : {0, 1, 3})
      if (c != light)
        for (Index d = 0; d < ref.vars.cols(); ++d)
          if (ref.vars(c, d) < 0.5 * gvar(d)) ++expected_floored;
    REQUIRE(expected_floored > 0);
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    REQUIRE(rep.split.size() == 2);
    CHECK(rep.split[0].first == std::min<Index>(2, light));
    CHECK(rep.split[1].first == std::max<Index>(2, light));
    CHECK(rep.floored == expected_floored);
    CHECK(std::abs(static_cast<double>(next.weights().sum()) - 1.0) <= t);
    // Every variance is at or above the floor, the split halves' included.
    for (Index c = 0; c < 4; ++c)
      for (Index d = 0; d < ref.vars.cols(); ++d) CHECK(static_cast<double>(next.variances()(c, d)) >= 0.5 * gvar(d) * (1 - t));
    const DiagGmm<S> again = ivkit::em_update(gmm, acc, opts);
    CHECK(again.means() == next.means());
    CHECK(again.variances() == next.variances());
  }
  SUBCASE("min_weight") {
    // Component weights below min_weight count as low even with a big occupancy.
    opts.low_occupancy = LowOccupancy::Remove;
    opts.min_occupancy = 0.0;
    double wmin = 1.0;
    Index lightest = 0;
    for (Index c : {0, 1, 3})
      if (ref.weights(c) < wmin) {
        wmin = ref.weights(c);
        lightest = c;
      }
    opts.min_weight = wmin * 1.01;
    const DiagGmm<S> next = ivkit::em_update(gmm, acc, opts, &rep);
    std::vector<Index> expected = {2, lightest};
    std::sort(expected.begin(), expected.end());
    CHECK(rep.removed == expected);
    CHECK(next.num_components() == 2);
  }
  SUBCASE("every component low") {
    opts.min_occupancy = 5000.0;
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc, opts),
                         "em_update(DiagGmm): every component is below the occupancy limits (total occupancy 3000)",
                         ivkit::NumericalError);
  }
}

TEST_CASE("em_update(FullGmm) low-occupancy policies") {
  const LowOccFixture f = make_low_occ_fixture();
  const FullGmm<double> gmm = ivkit::to_full(make_diag<double>(f.model));
  EmAccumulator acc(gmm);
  ivkit::accumulate_em_stats(gmm, f.X, acc);
  REQUIRE(acc.occupancy(2) < 1e-6);
  const FullParams ref = naive_full_mstep(to_naive(acc));
  EmUpdateOptions opts;
  EmUpdateReport rep;
  SUBCASE("Remove") {
    opts.low_occupancy = LowOccupancy::Remove;
    const FullGmm<double> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 3);
    CHECK(rep.removed == std::vector<Index>{2});
    CHECK(scaled_diff(next.covariances()[2], ref.covs[3]) <= 1e-10);
  }
  SUBCASE("KeepPrevious") {
    opts.low_occupancy = LowOccupancy::KeepPrevious;
    const FullGmm<double> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    CHECK(rep.kept_previous == std::vector<Index>{2});
    CHECK(next.covariances()[2] == gmm.covariances()[2]);
    CHECK(next.means().row(2) == gmm.means().row(2));
  }
  SUBCASE("SplitHeaviest") {
    opts.low_occupancy = LowOccupancy::SplitHeaviest;
    const FullGmm<double> next = ivkit::em_update(gmm, acc, opts, &rep);
    REQUIRE(next.num_components() == 4);
    Index heavy = 0;
    for (Index c : {1, 3})
      if (acc.occupancy(c) > acc.occupancy(heavy)) heavy = c;
    CHECK(rep.split == std::vector<std::pair<Index, Index>>{{2, heavy}});
    CHECK(scaled_diff(next.covariances()[2], ref.covs[static_cast<std::size_t>(heavy)]) <= 1e-10);
    CHECK(scaled_diff(next.covariances()[static_cast<std::size_t>(heavy)], ref.covs[static_cast<std::size_t>(heavy)]) <= 1e-10);
    const VecD mid = 0.5 * (next.means().row(2) + next.means().row(heavy)).transpose();
    CHECK(max_abs_diff(mid, ref.means.row(heavy).transpose()) <= 1e-10);
    CHECK(max_abs_diff(next.means().row(2), next.means().row(heavy)) > 1e-6);
    CHECK(std::abs(next.weights()(2) - next.weights()(heavy)) <= 1e-12);
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("em_update: bad accumulators and options") {
  ivkit::Random rng(81);
  const DiagGmm<double> gmm = make_diag<double>(random_diag_params(4, 2, rng));
  const DiagGmm<double> other = make_diag<double>(random_diag_params(4, 2, rng));  // same shape, other centre
  const DiagGmm<double> smaller = make_diag<double>(random_diag_params(3, 2, rng));
  const FullGmm<double> full = ivkit::to_full(gmm);
  const MatD X = sample_diag_gmm(params_of(gmm), 400, rng);
  auto filled = [&](const auto& model) {
    EmAccumulator acc(model);
    ivkit::accumulate_em_stats(model, X, acc);
    return acc;
  };
  SUBCASE("accumulator of another model") {
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, filled(other)), "em_update(DiagGmm): the accumulator was made for another model",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, filled(smaller)),
                         "em_update(DiagGmm): the accumulator (C = 3, D = 2) does not match the model (C = 4, D = 2)",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(ivkit::em_update(full, filled(gmm)),
                         "em_update(FullGmm): the accumulator (C = 4, D = 2) does not match the model (C = 4, D = 2)",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, filled(full)),
                         "em_update(DiagGmm): the accumulator (C = 4, D = 2) does not match the model (C = 4, D = 2)",
                         ivkit::DimensionMismatch);
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, EmAccumulator{}),
                         "em_update(DiagGmm): the accumulator (C = 0, D = 0) does not match the model (C = 4, D = 2)",
                         ivkit::DimensionMismatch);
  }
  SUBCASE("no data") {
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, EmAccumulator(gmm)), "em_update(DiagGmm): no data accumulated (total occupancy is 0)",
                         ivkit::InvalidArgument);
    CHECK_THROWS_WITH_AS(ivkit::em_update(full, EmAccumulator(full)), "em_update(FullGmm): no data accumulated (total occupancy is 0)",
                         ivkit::InvalidArgument);
    EmAccumulator acc(gmm);
    ivkit::accumulate_em_stats(gmm, X.topRows(0), acc);
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc), "em_update(DiagGmm): no data accumulated (total occupancy is 0)",
                         ivkit::InvalidArgument);
  }
  SUBCASE("corrupt statistics") {
    EmAccumulator acc = filled(gmm);
    acc.occupancy(1) = -1.0;
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc), "em_update(DiagGmm): the accumulator holds negative or non-finite occupancies",
                         ivkit::InvalidArgument);
    acc = filled(gmm);
    acc.second(0, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc), "em_update(DiagGmm): the accumulator holds NaN or Inf statistics",
                         ivkit::InvalidArgument);
  }
  SUBCASE("data without variance") {
    // Every frame equals the model's centre in dimension 1.
    MatD Y = X;
    Y.col(1).setConstant(gmm.centre()(1));
    EmAccumulator acc = EmAccumulator(gmm);
    ivkit::accumulate_em_stats(gmm, Y, acc);
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc),
                         "em_update(DiagGmm): the data have zero variance in dimension 1; a GMM cannot be fitted",
                         ivkit::NumericalError);
  }
  SUBCASE("options") {
    const EmAccumulator acc = filled(gmm);
    EmUpdateOptions o;
    o.variance_floor = -1.0;
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc, o), "em_update(DiagGmm): variance_floor must be >= 0, got -1",
                         ivkit::InvalidArgument);
    o = EmUpdateOptions{};
    o.min_weight = 1.0;
    CHECK_THROWS_WITH_AS(ivkit::em_update(gmm, acc, o), "em_update(DiagGmm): min_weight must be in [0, 1), got 1",
                         ivkit::InvalidArgument);
    o = EmUpdateOptions{};
    o.max_condition = 0.5;
    CHECK_THROWS_WITH_AS(ivkit::em_update(full, filled(full), o), "em_update(FullGmm): max_condition must be >= 1, got 0.5",
                         ivkit::InvalidArgument);
  }
}

TEST_CASE("accumulate_em_stats: bad input") {
  ivkit::Random rng(91);
  const DiagGmm<double> gmm = make_diag<double>(random_diag_params(4, 2, rng));
  const DiagGmm<double> other = make_diag<double>(random_diag_params(4, 2, rng));
  MatD X = sample_diag_gmm(params_of(gmm), 100, rng);
  EmAccumulator acc(gmm);
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats(other, X, acc),
                       "accumulate_em_stats: the accumulator (C = 4, D = 2) was not made for this model (C = 4, D = 2)",
                       ivkit::DimensionMismatch);
  const MatD X3 = MatD::Zero(10, 3);
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats(gmm, X3, acc),
                       "accumulate_em_stats: frames have dimension 3 (FramesAsRows, matrix 10 x 3) but the model has dimension 2",
                       ivkit::DimensionMismatch);
  AccumulateOptions o;
  o.top_n = -1;
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats(gmm, X, acc, o), "accumulate_em_stats: top_n must be >= 0, got -1",
                       ivkit::InvalidArgument);
  o = AccumulateOptions{};
  o.top_n = 2;
  o.min_post = 1.0;
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats(gmm, X, acc, o), "accumulate_em_stats: min_post must be in [0, 1), got 1",
                       ivkit::InvalidArgument);
  X(37, 1) = std::numeric_limits<double>::quiet_NaN();
  o = AccumulateOptions{};
  o.block_frames = 16;
  o.num_threads = 2;
  CHECK_THROWS_WITH_AS(ivkit::accumulate_em_stats<FramesAsCols>(gmm, X.transpose(), acc, o),
                       "accumulate_em_stats: frame 37 holds NaN or Inf", ivkit::NonFiniteInput);
}
