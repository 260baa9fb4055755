// Deterministic block loops and reductions; the portable random source.
#include <doctest/doctest.h>

#include <atomic>
#include <ivkit/core/parallel.hpp>
#include <ivkit/core/random.hpp>
#include <numeric>
#include <stdexcept>
#include <vector>

using namespace ivkit;

TEST_CASE("parallel_for_blocks visits every block once") {
  for (int threads : {1, 2, 5}) {
    std::vector<std::atomic<int>> hits(37);
    parallel_for_blocks(37, threads, [&](Index b) { hits[static_cast<std::size_t>(b)]++; });
    for (auto& h : hits) CHECK(h.load() == 1);
  }
  parallel_for_blocks(0, 4, [](Index) { FAIL("no block expected"); });
}

TEST_CASE("parallel_for_blocks_with_state makes one state per thread and reuses it") {
  for (int threads : {1, 2, 5}) {
    std::atomic<int> made{0};
    std::vector<std::atomic<int>> hits(41);
    struct Scratch {
      std::vector<double> buffer;
      const double* data_seen = nullptr;
      int uses = 0;
    };
    std::atomic<int> reused{0};
    parallel_for_blocks_with_state(
        41, threads,
        [&] {
          made++;
          return Scratch{};
        },
        [&](Index b, Scratch& s) {
          s.buffer.resize(1000);  // the second block of a thread finds the first's allocation
          if (s.uses++ > 0 && s.data_seen == s.buffer.data()) reused++;
          s.data_seen = s.buffer.data();
          hits[static_cast<std::size_t>(b)]++;
        });
    for (auto& h : hits) CHECK(h.load() == 1);
    CHECK(made.load() >= 1);
    CHECK(made.load() <= threads);
    CHECK(reused.load() == 41 - made.load());
  }
  int made = 0;
  parallel_for_blocks_with_state(0, 3, [&] { return ++made; }, [](Index, int&) { FAIL("no block expected"); });
  CHECK(made == 0);
  for (int threads : {1, 3}) {
    CHECK_THROWS_WITH(parallel_for_blocks_with_state(
                          20, threads, [] { return 0; },
                          [](Index b, int&) {
                            if (b >= 7) throw std::runtime_error("block " + std::to_string(b));
                          }),
                      "block 7");
    CHECK_THROWS_WITH(parallel_for_blocks_with_state(
                          20, threads, []() -> int { throw std::runtime_error("no scratch"); }, [](Index, int&) {}),
                      "no scratch");
  }
}

TEST_CASE("ordered_block_reduce combines partials in block order for any thread count") {
  // Floating-point sums of values of very different magnitude depend on the order: the
  // reduction must give the same bits as the serial loop.
  std::vector<double> values(5000);
  Random rng(3);
  for (auto& v : values) v = rng.normal() * std::pow(10.0, static_cast<double>(rng.uniform_index(16)));
  auto run = [&](int threads) {
    double total = 0;
    std::vector<Index> order;
    ordered_block_reduce(
        Index{50}, threads, [] { return 0.0; },
        [&](Index b, double& p) {
          p = 0;
          for (Index i = b * 100; i < (b + 1) * 100; ++i) p += values[static_cast<std::size_t>(i)];
        },
        [&](double& p) { total += p; order.push_back(static_cast<Index>(order.size())); });
    CHECK(order.size() == 50);
    return total;
  };
  const double serial = run(1);
  CHECK(run(2) == serial);
  CHECK(run(3) == serial);
  CHECK(run(8) == serial);
}

TEST_CASE("The lowest failing block's exception is rethrown, whatever the thread count") {
  for (int threads : {1, 2, 4}) {
    auto body = [](Index b) {
      if (b == 13 || b == 30) throw std::runtime_error("block " + std::to_string(b));
    };
    CHECK_THROWS_WITH(parallel_for_blocks(40, threads, body), "block 13");
    CHECK_THROWS_WITH(ordered_block_reduce(
                          Index{40}, threads, [] { return 0; }, [&](Index b, int&) { body(b); }, [](int&) {}),
                      "block 13");
  }
  CHECK_THROWS_WITH_AS(resolve_num_threads(-1), "resolve_num_threads: num_threads must be >= 0, got -1", InvalidArgument);
  CHECK(resolve_num_threads(0) >= 1);
}

TEST_CASE("Random is reproducible and has the right moments") {
  Random a(42), b(42);
  for (int i = 0; i < 10; ++i) CHECK(a.normal() == b.normal());
  Random r(7);
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    s2 += x * x;
  }
  CHECK(std::abs(s / n) < 0.01);
  CHECK(std::abs(s2 / n - 1.0) < 0.02);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 50000; ++i) counts[static_cast<std::size_t>(r.uniform_index(5))]++;
  for (int c : counts) CHECK(std::abs(c - 10000) < 400);
  CHECK_THROWS_AS(r.uniform_index(0), InvalidArgument);
}
