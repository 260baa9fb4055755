// Sliding CMVN: constant input gives zeros; every frame against a naive reference that sums its
// window directly (window bounds in closed form: centred windows clamped into the utterance, or
// the frames to the left with a minimum look-ahead); both layouts; the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <ivkit/core/random.hpp>
#include <ivkit/features/cmvn.hpp>

using namespace ivkit;

namespace {

std::pair<Index, Index> naive_window(Index t, Index n, const SlidingCmvnOptions& o) {
  const Index w = o.cmn_window;
  if (o.center) {
    const Index s = std::clamp<Index>(t - w / 2, 0, std::max<Index>(n - w, 0));
    return {s, std::min(s + w, n)};
  }
  Index s = std::max<Index>(0, t - w), e = std::max<Index>(t + 1, o.min_window);
  if (e > n) {
    s = std::max<Index>(0, s - (e - n));
    e = n;
  }
  return {s, e};
}

Eigen::MatrixXd naive_cmvn(const Eigen::MatrixXd& x, const SlidingCmvnOptions& o) {
  Eigen::MatrixXd out(x.rows(), x.cols());
  for (Index t = 0; t < x.rows(); ++t) {
    const auto [s, e] = naive_window(t, x.rows(), o);
    for (Index k = 0; k < x.cols(); ++k) {
      double mean = 0, sq = 0;
      for (Index u = s; u < e; ++u) mean += x(u, k);
      mean /= static_cast<double>(e - s);
      for (Index u = s; u < e; ++u) sq += (x(u, k) - mean) * (x(u, k) - mean);
      out(t, k) = x(t, k) - mean;
      if (o.norm_vars) out(t, k) = e - s == 1 ? 0.0 : out(t, k) / std::sqrt(std::max(sq / static_cast<double>(e - s), 1e-10));
    }
  }
  return out;
}

std::vector<SlidingCmvnOptions> option_set() {
  std::vector<SlidingCmvnOptions> v;
  for (bool center : {true, false})
    for (bool vars : {false, true})
      for (int w : {1, 4, 7, 300}) {
        SlidingCmvnOptions o;
        o.center = center;
        o.norm_vars = vars;
        o.cmn_window = w;
        o.min_window = std::min(w, 3);
        v.push_back(o);
      }
  SlidingCmvnOptions look;  // left window with more look-ahead than the window itself
  look.center = false;
  look.cmn_window = 4;
  look.min_window = 9;
  v.push_back(look);
  return v;
}

}  // namespace

TEST_CASE_TEMPLATE("CMVN of a constant is zero", S, float, double) {
  const Matrix<S> x = Matrix<S>::Constant(50, 6, S(-3.25));
  for (const auto& o : option_set()) CHECK(apply_cmvn_sliding(x, o).cwiseAbs().maxCoeff() < 1e-6);
}

TEST_CASE_TEMPLATE("CMVN against directly summed windows, both layouts", S, float, double) {
  Random rng(17);
  for (Index n : {1, 2, 5, 12, 25}) {
    Eigen::MatrixXd x(n, 3);
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = 10 * rng.normal() + 5 * (i % 3);
    for (const auto& o : option_set()) {
      CAPTURE(n);
      CAPTURE(o.cmn_window);
      CAPTURE(o.center);
      CAPTURE(o.norm_vars);
      const Eigen::MatrixXd ref = naive_cmvn(x, o);
      for (Index t = 0; t < n; ++t) REQUIRE(cmvn_window(t, n, o) == naive_window(t, n, o));
      const Matrix<S> rows = apply_cmvn_sliding(Matrix<S>(x.cast<S>()), o);
      CHECK((rows.template cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-4);
      const ColMatrix<S> cols = apply_cmvn_sliding<FramesAsCols>(ColMatrix<S>(x.transpose().cast<S>()), o);
      CHECK((cols.transpose().template cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-4);
    }
  }
  CHECK(apply_cmvn_sliding(Matrix<S>(0, 4)).rows() == 0);
}

TEST_CASE("CMVN errors") {
  SlidingCmvnOptions o;
  o.cmn_window = 0;
  CHECK_THROWS_WITH_AS(apply_cmvn_sliding(Matrix<float>(3, 2), o), "cmvn_window: cmn_window must be positive, got 0", InvalidArgument);
  o = SlidingCmvnOptions{};
  o.cmn_window = 50;  // min_window 100 > 50: Kaldi refuses this with center too
  CHECK_THROWS_WITH_AS(apply_cmvn_sliding(Matrix<float>(3, 2), o), "cmvn_window: min_window must be in [1, cmn_window = 50], got 100",
                       InvalidArgument);
  Matrix<double> bad = Matrix<double>::Zero(4, 2);
  bad(2, 0) = std::nan("");
  CHECK_THROWS_WITH_AS(apply_cmvn_sliding(bad), "apply_cmvn_sliding: frame 2 holds NaN or Inf", NonFiniteInput);
}
