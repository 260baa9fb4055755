// Sliding-window statistics from prefix sums equal the statistics computed on each window directly.
#include <doctest/doctest.h>

#include <ivkit/ivector/init.hpp>
#include <ivkit/stats/sliding_window.hpp>

#include "support/reference.hpp"

using namespace ivkit;
using namespace ivkit_test;

TEST_CASE_TEMPLATE("Window statistics equal direct statistics of each window", S, float, double) {
  Random rng(21);
  const DiagParams p = random_diag_params(5, 3, rng);
  const auto ubm = make_diag<double>(p);
  const MatD X = sample_diag_gmm(p, 97, rng);
  for_each_layout<double>(X, [&](auto layout, const auto& frames) {
    using L = decltype(layout);
    std::vector<FrameWindow> windows;
    const StatsSet<S> set = sliding_window_stats<S, L>(ubm, frames, 20, 6, {}, "utt_", &windows);
    // gcd(20, 6) = 2: windows start every 6 frames and end by frame 97.
    REQUIRE(set.size() == 13);
    REQUIRE(windows.size() == 13);
    CHECK(set.ids().front() == "utt_0-20");
    CHECK(set.ids().back() == "utt_72-92");
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const MatD xw = X.middleRows(windows[i].begin, windows[i].end - windows[i].begin);
      const UtteranceStats direct = compute_stats(ubm, xw);
      const Index u = static_cast<Index>(i);
      CHECK((set.zeroth().row(u).transpose().template cast<double>() - direct.zeroth).cwiseAbs().maxCoeff() <
            tol<S>(1e-4, 1e-10) * 20);
      for (Index c = 0; c < 5; ++c)
        CHECK((set.first().row(u).segment(c * 3, 3).transpose().template cast<double>() - direct.first.row(c).transpose())
                  .cwiseAbs()
                  .maxCoeff() < tol<S>(1e-3, 1e-9) * 20);
    }
  });
}

TEST_CASE("Short utterances give one window; bad arguments are rejected") {
  Random rng(22);
  const DiagParams p = random_diag_params(3, 2, rng);
  const auto ubm = make_diag<double>(p);
  const MatD X = sample_diag_gmm(p, 15, rng);
  const StatsSet<double> set = sliding_window_stats<double>(ubm, X, 200, 20);
  REQUIRE(set.size() == 1);
  CHECK(set.ids()[0] == "0-15");
  CHECK(set.zeroth().sum() == doctest::Approx(15.0));
  CHECK_THROWS_WITH_AS(sliding_window_stats<double>(ubm, X, 0, 20),
                       "sliding_window_stats: window and step must be >= 1 frame, got 0 and 20", InvalidArgument);
  CHECK_THROWS_WITH_AS(sliding_window_stats<double>(ubm, MatD(0, 2), 10, 2), "sliding_window_stats: no frames",
                       InvalidArgument);
  // The windows go through the extractor in one batch.
  const auto e = init_extractor_random(ubm, 2, 1);
  const StatsSet<double> many = sliding_window_stats<double>(ubm, sample_diag_gmm(p, 400, rng), 200, 20);
  CHECK(e.extract(many).means.rows() == 11);
}
