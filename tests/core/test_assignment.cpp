// Minimum-cost assignment against brute force over all permutations; component matching.
#include <doctest/doctest.h>

#include <algorithm>
#include <ivkit/core/assignment.hpp>
#include <ivkit/core/random.hpp>
#include <ivkit/gmm/compare.hpp>
#include <numeric>

using namespace ivkit;

TEST_CASE("min_cost_assignment finds the brute-force optimum") {
  Random rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    const Index n = 1 + static_cast<Index>(rng.uniform_index(6));
    const Index m = n + static_cast<Index>(rng.uniform_index(2));
    Eigen::MatrixXd cost(n, m);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < m; ++j) cost(i, j) = std::floor(10 * rng.uniform());  // ties on purpose
    const auto a = min_cost_assignment(cost);
    double got = 0;
    std::vector<char> used(static_cast<std::size_t>(m), 0);
    for (Index i = 0; i < n; ++i) {
      REQUIRE(a[static_cast<std::size_t>(i)] >= 0);
      CHECK(!used[static_cast<std::size_t>(a[static_cast<std::size_t>(i)])]);
      used[static_cast<std::size_t>(a[static_cast<std::size_t>(i)])] = 1;
      got += cost(i, a[static_cast<std::size_t>(i)]);
    }
    std::vector<Index> perm(static_cast<std::size_t>(m));
    std::iota(perm.begin(), perm.end(), Index{0});
    double best = 1e300;
    do {
      double c = 0;
      for (Index i = 0; i < n; ++i) c += cost(i, perm[static_cast<std::size_t>(i)]);
      best = std::min(best, c);
    } while (std::next_permutation(perm.begin(), perm.end()));
    CHECK(got == best);
  }
  CHECK_THROWS_WITH_AS(min_cost_assignment(Eigen::MatrixXd::Zero(3, 2)),
                       "min_cost_assignment: 3 rows cannot be assigned to 2 columns", InvalidArgument);
}

TEST_CASE("match_components undoes a permutation of the components") {
  Vector<double> w(3);
  w << 0.2, 0.3, 0.5;
  Matrix<double> mu(3, 2), var = Matrix<double>::Ones(3, 2);
  mu << 0, 0, 10, 0, 0, 10;
  const DiagGmm<double> ref(w, mu, var);
  Vector<float> w2(3);
  w2 << 0.5f, 0.2f, 0.3f;
  Matrix<float> mu2(3, 2);
  mu2 << 0.f, 10.5f, 0.f, 0.f, 10.f, 0.f;
  const DiagGmm<float> est(w2, mu2, Matrix<float>::Ones(3, 2));
  const ComponentMatch m = match_components(est, ref);
  CHECK(m.reference_of == std::vector<Index>{2, 0, 1});
  CHECK(m.max_distance == doctest::Approx(std::sqrt(0.25 / 2)));
  CHECK(m.max_weight_error == doctest::Approx(0.0).epsilon(1e-6));
  CHECK_THROWS_AS(match_components(DiagGmm<double>(Vector<double>::Ones(1), Matrix<double>::Zero(1, 2),
                                                   Matrix<double>::Ones(1, 2)),
                                   ref),
                  DimensionMismatch);
}
