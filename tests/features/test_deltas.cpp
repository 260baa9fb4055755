// Deltas: a linear ramp has constant deltas and zero delta-deltas away from the edges; every
// frame against a naive reference (filters built here by explicit convolution of
// j / sum j^2, input frames clamped to the utterance); both layouts; the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/features/deltas.hpp>

using namespace ivkit;

namespace {

// Filter of each order: order 0 is [1], order i is order i-1 convolved with j / sum_j j^2.
std::vector<std::vector<double>> naive_filters(int order, int window) {
  double norm = 0;
  for (int j = -window; j <= window; ++j) norm += j * j;
  std::vector<std::vector<double>> h{{1.0}};
  for (int i = 1; i <= order; ++i) {
    const std::vector<double>& p = h.back();
    std::vector<double> c(p.size() + 2 * static_cast<size_t>(window), 0.0);
    for (size_t a = 0; a < p.size(); ++a)
      for (int j = -window; j <= window; ++j) c[a + static_cast<size_t>(j + window)] += p[a] * j / norm;
    h.push_back(c);
  }
  return h;
}

Eigen::MatrixXd naive_deltas(const Eigen::MatrixXd& x, int order, int window) {
  const auto h = naive_filters(order, window);
  const Index n = x.rows(), d = x.cols();
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(n, d * (order + 1));
  for (int i = 0; i <= order; ++i) {
    const Index off = static_cast<Index>(h[static_cast<size_t>(i)].size() - 1) / 2;
    for (Index t = 0; t < n; ++t)
      for (Index j = -off; j <= off; ++j)
        for (Index k = 0; k < d; ++k)
          out(t, i * d + k) += h[static_cast<size_t>(i)][static_cast<size_t>(j + off)] * x(std::clamp<Index>(t + j, 0, n - 1), k);
  }
  return out;
}

}  // namespace

TEST_CASE_TEMPLATE("deltas of a linear ramp", S, float, double) {
  const Index n = 30, d = 3;
  Matrix<S> x(n, d);
  for (Index t = 0; t < n; ++t)
    for (Index k = 0; k < d; ++k) x(t, k) = static_cast<S>((k + 1) * 0.5 * t - 2.0 * k);
  const Matrix<S> out = add_deltas(x);
  REQUIRE(out.rows() == n);
  REQUIRE(out.cols() == 3 * d);
  CHECK(out.leftCols(d) == x);
  for (Index t = 2; t < n - 2; ++t)
    for (Index k = 0; k < d; ++k) CHECK(out(t, d + k) == doctest::Approx((k + 1) * 0.5).epsilon(1e-6));
  for (Index t = 4; t < n - 4; ++t)
    for (Index k = 0; k < d; ++k) CHECK(std::abs(out(t, 2 * d + k)) < 1e-5);
  // At the first frame the replicated edge halves the slope seen by the filter: (0 + 0 + 0 + 1 + 2 * 2) / 10 = 0.5 steps.
  CHECK(out(0, d) == doctest::Approx(0.5 * 0.5).epsilon(1e-6));
}

TEST_CASE_TEMPLATE("deltas against the naive filter, both layouts", S, float, double) {
  Random rng(3);
  for (Index n : {1, 3, 8, 9, 40}) {
    Eigen::MatrixXd x(n, 4);
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.normal();
    for (const DeltaOptions o : {DeltaOptions{}, DeltaOptions{1, 2}, DeltaOptions{3, 3}, DeltaOptions{0, 2}, DeltaOptions{2, 1}}) {
      const Eigen::MatrixXd ref = naive_deltas(x, o.order, o.window);
      const Matrix<S> rows = add_deltas(Matrix<S>(x.cast<S>()), o);
      CHECK((rows.template cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-5);
      const ColMatrix<S> cols = add_deltas<FramesAsCols>(ColMatrix<S>(x.transpose().cast<S>()), o);
      CHECK(cols.rows() == ref.cols());
      CHECK((cols.transpose().template cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-5);
    }
  }
  CHECK(add_deltas(Matrix<S>(0, 5)).cols() == 15);
}

TEST_CASE("delta filters and errors") {
  const auto f = delta_filters(DeltaOptions{});
  REQUIRE(f.size() == 3);
  CHECK(f[1].size() == 5);
  CHECK(f[1](4) == doctest::Approx(0.2));
  CHECK(f[2].size() == 9);
  CHECK(f[2](4) == doctest::Approx(-10.0 / 100.0));  // sum_j (j/10)(-j/10)
  CHECK_THROWS_WITH_AS(delta_filters(DeltaOptions{-1, 2}), "delta_filters: order must be in [0, 100], got -1", InvalidArgument);
  CHECK_THROWS_WITH_AS(add_deltas(Matrix<float>(3, 2), DeltaOptions{2, 0}), "delta_filters: window must be in [1, 1000], got 0",
                       InvalidArgument);
  Matrix<float> bad = Matrix<float>::Zero(5, 2);
  bad(3, 1) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(add_deltas(bad), "add_deltas: frame 3 holds NaN or Inf", NonFiniteInput);
}
