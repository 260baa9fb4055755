#include <ivkit/ivkit.hpp>

#include <iostream>

int main() {
  ivkit::Vector<float> w(2);
  w << 0.5f, 0.5f;
  ivkit::Matrix<float> mu(2, 1), var(2, 1);
  mu << -1.0f, 1.0f;
  var << 1.0f, 1.0f;
  const ivkit::DiagGmm<float> gmm(w, mu, var);
  ivkit::Matrix<float> x(1, 1);
  x << 0.0f;
  const auto post = gmm.posteriors(x);
  const bool ok = std::abs(post(0, 0) - 0.5f) < 1e-5f;
  std::cout << (ok ? "ok" : "wrong") << " (" << ivkit::simd::instruction_set() << ")\n";
  return ok ? 0 : 1;
}
