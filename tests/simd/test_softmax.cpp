// The SIMD row kernels against scalar double computations, every length around the SIMD width, on
// every kernel path this machine has (support/isa.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <ivkit/core/random.hpp>
#include <ivkit/simd/softmax.hpp>
#include <limits>
#include <vector>

#include "support/isa.hpp"

using namespace ivkit;

TEST_CASE_TEMPLATE("softmax_inplace and log_sum_exp match double precision for every length", S, float, double) {
  ivkit_test::for_each_isa([&](Isa) {
    Random rng(1);
    const double tol = std::is_same_v<S, float> ? 2e-6 : 1e-14;
    for (Index n = 1; n <= 70; ++n) {
      std::vector<S> x(static_cast<std::size_t>(n)), off(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) {
        x[static_cast<std::size_t>(i)] = static_cast<S>(-50.0 + 20.0 * rng.normal());
        off[static_cast<std::size_t>(i)] = static_cast<S>(rng.normal());
      }
      double m = -1e300;
      for (Index i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x[static_cast<std::size_t>(i)] + off[static_cast<std::size_t>(i)]));
      double sum = 0;
      for (Index i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[static_cast<std::size_t>(i)] + off[static_cast<std::size_t>(i)]) - m);
      const double lse = m + std::log(sum);
      std::vector<S> y = x;
      for (Index i = 0; i < n; ++i) y[static_cast<std::size_t>(i)] += off[static_cast<std::size_t>(i)];
      CHECK(std::abs(static_cast<double>(simd::log_sum_exp(y.data(), n)) - lse) <= tol * std::abs(lse) + tol);
      const S got = simd::softmax_inplace(x.data(), off.data(), n);
      CHECK(std::abs(static_cast<double>(got) - lse) <= tol * std::abs(lse) + tol);
      double total = 0;
      for (Index i = 0; i < n; ++i) {
        const double ref = std::exp(static_cast<double>(y[static_cast<std::size_t>(i)]) - lse);
        CHECK(std::abs(static_cast<double>(x[static_cast<std::size_t>(i)]) - ref) <= 10 * tol);
        total += static_cast<double>(x[static_cast<std::size_t>(i)]);
      }
      CHECK(std::abs(total - 1.0) <= 10 * tol * static_cast<double>(n));
    }
  });
}

TEST_CASE("Edge rows: empty, very negative, non-finite") {
  ivkit_test::for_each_isa([&](Isa) {
    CHECK(simd::log_sum_exp<float>(nullptr, 0) == -std::numeric_limits<float>::infinity());
    std::vector<float> far(20, -1e30f);
    far[3] = -9.9e29f;
    const float lse = simd::softmax_inplace<float>(far.data(), nullptr, 20);
    CHECK(std::isfinite(lse));
    CHECK(far[3] == doctest::Approx(1.0f));
    std::vector<double> bad(9, 0.0);
    bad[4] = std::numeric_limits<double>::infinity();
    CHECK(std::isinf(simd::softmax_inplace<double>(bad.data(), nullptr, 9)));
    CHECK(std::string(simd::instruction_set()).size() > 0);
    // A NaN anywhere in a row gives a NaN log-sum-exp (callers report it), on every path.
    for (Index n : {3, 8, 17, 40}) {
      std::vector<float> row(static_cast<std::size_t>(n), -1.0f);
      row[static_cast<std::size_t>(n / 2)] = std::numeric_limits<float>::quiet_NaN();
      CHECK_FALSE(std::isfinite(simd::log_sum_exp(row.data(), n)));
    }
  });
}

TEST_CASE_TEMPLATE("dot matches a long double sum for every length", S, float, double) {
  ivkit_test::for_each_isa([&](Isa) {
    Random rng(2);
    const double tol = std::is_same_v<S, float> ? 1e-6 : 1e-15;
    for (Index n = 0; n <= 100; ++n) {
      std::vector<S> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
      long double ref = 0, scale = 0;
      for (Index i = 0; i < n; ++i) {
        a[static_cast<std::size_t>(i)] = static_cast<S>(rng.normal());
        b[static_cast<std::size_t>(i)] = static_cast<S>(rng.normal());
        ref += static_cast<long double>(a[static_cast<std::size_t>(i)]) * b[static_cast<std::size_t>(i)];
        scale += std::abs(static_cast<long double>(a[static_cast<std::size_t>(i)]) * b[static_cast<std::size_t>(i)]);
      }
      CAPTURE(n);
      CHECK(std::abs(static_cast<long double>(simd::dot(a.data(), b.data(), n)) - ref) <= tol * (scale + 1));
    }
  });
}

TEST_CASE("add_widened adds floats into doubles exactly, every length, every path") {
  ivkit_test::for_each_isa([&](Isa) {
    Random rng(3);
    for (Index n = 0; n <= 40; ++n) {
      std::vector<float> x(static_cast<std::size_t>(n));
      std::vector<double> acc(static_cast<std::size_t>(n)), ref(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) {
        x[static_cast<std::size_t>(i)] = static_cast<float>(rng.normal());
        acc[static_cast<std::size_t>(i)] = ref[static_cast<std::size_t>(i)] = 1e8 * rng.normal();
        ref[static_cast<std::size_t>(i)] += static_cast<double>(x[static_cast<std::size_t>(i)]);
      }
      simd::add_widened(acc.data(), x.data(), n);
      CAPTURE(n);
      CHECK(acc == ref);  // one rounding in double either way
    }
  });
}
