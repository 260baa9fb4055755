// detail::select_top_n (threshold first) against a naive stable selection: the n largest entries,
// best first, ties in index order; rows in random order, sorted, constant, with many ties, with -inf,
// shorter than n, and of every length around the 32-entry chunks the threshold is built from (and
// the vector paths' groups: the test runs again as @avx2 and @baseline).
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/gmm/detail/top_n.hpp"

using ivkit::Index;

namespace {

template <class S>
std::vector<std::pair<S, std::int32_t>> naive_top_n(const std::vector<S>& x, Index n) {
  std::vector<std::pair<S, std::int32_t>> all;
  for (std::size_t i = 0; i < x.size(); ++i) all.push_back({x[i], static_cast<std::int32_t>(i)});
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  all.resize(std::min<std::size_t>(all.size(), static_cast<std::size_t>(std::max<Index>(n, 0))));
  return all;
}

template <class S>
void check_row(const std::vector<S>& x, Index n) {
  CAPTURE(x.size());
  CAPTURE(n);
  std::vector<std::pair<S, std::int32_t>> out(static_cast<std::size_t>(std::max<Index>(n, 1)));
  const Index m = ivkit::detail::select_top_n(x.data(), static_cast<Index>(x.size()), n, out.data());
  const auto ref = naive_top_n(x, n);
  REQUIRE(m == static_cast<Index>(ref.size()));
  for (Index i = 0; i < m; ++i) {
    CHECK(out[static_cast<std::size_t>(i)].second == ref[static_cast<std::size_t>(i)].second);
    CHECK(out[static_cast<std::size_t>(i)].first == ref[static_cast<std::size_t>(i)].first);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("select_top_n equals a naive stable selection", S, float, double) {
  ivkit::Random rng(11);
  const S inf = std::numeric_limits<S>::infinity();
  for (Index len : {Index(0), Index(1), Index(5), Index(31), Index(32), Index(63), Index(64), Index(65), Index(100), Index(257), Index(512), Index(640), Index(2048),
                    // the vector paths' groups: shrunk for short rows, capped at 256 for long ones
                    Index(256), Index(300), Index(1024), Index(2079), Index(4096), Index(9000), Index(16384)})
    for (Index n : {Index(0), Index(1), Index(3), Index(20), Index(64), Index(100)}) {
      std::vector<S> x(static_cast<std::size_t>(len));
      for (auto& v : x) v = static_cast<S>(rng.normal());
      check_row(x, n);
      for (auto& v : x) v = static_cast<S>(std::floor(4 * rng.uniform()));  // many ties
      check_row(x, n);
      std::vector<S> sorted = x;
      std::sort(sorted.begin(), sorted.end());
      check_row(sorted, n);  // ascending: every entry beats the previous ones
      std::reverse(sorted.begin(), sorted.end());
      check_row(sorted, n);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 7 == 3) ? static_cast<S>(rng.normal()) : -inf;  // mostly -inf
      check_row(x, n);
      std::fill(x.begin(), x.end(), S(2));  // constant
      check_row(x, n);
    }
}
