// On every path this machine has (AVX-512, AVX2): the Cholesky factorisation, triangular inverse
// and Gram product of small SPD matrices (ivkit/core/spd_kernel.hpp), against Eigen in double, in float and double, on sizes with partial
// panels and partial tiles; indefinite and non-finite input is reported, not factorised.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/packed.hpp"
#include "ivkit/core/spd_kernel.hpp"
#include "ivkit/core/types.hpp"
#include "support/isa.hpp"

using ivkit::Index;

namespace {

/// A well-conditioned SPD matrix: G G^T / R + I, with G (R x 2R) uniform.
Eigen::MatrixXd spd(Index R, unsigned seed) {
  std::srand(seed);
  const Eigen::MatrixXd G = Eigen::MatrixXd::Random(R, 2 * R);
  return G * G.transpose() / static_cast<double>(R) + Eigen::MatrixXd::Identity(R, R);
}

template <class T>
void check_against_eigen(Index R, double tol) {
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  CAPTURE(R);
  const Eigen::MatrixXd A = spd(R, static_cast<unsigned>(R));
  const Index ld = R + 3;  // a leading dimension larger than R
  M K = M::Constant(ld, R, T(777));
  K.topRows(R) = A.cast<T>();
  K.topRows(R).template triangularView<Eigen::StrictlyUpper>().setConstant(T(-555));  // never read
  REQUIRE(ivkit::detail::spd_cholesky_lower(K.data(), R, ld));
  CHECK((K.bottomRows(3).array() == T(777)).all());  // rows past R untouched
  const Eigen::MatrixXd Kl = K.topRows(R).template cast<double>().template triangularView<Eigen::Lower>();
  const Eigen::MatrixXd Kref = A.llt().matrixL();
  CHECK((Kl - Kref).norm() <= tol * Kref.norm());

  // Z = K^-T: upper triangular, the strict lower triangle zero.
  M Z = M::Constant(ld, R, T(9));
  ivkit::detail::spd_inverse_transpose_lower(K.data(), R, ld, Z.data(), ld);
  const Eigen::MatrixXd Zd = Z.topRows(R).template cast<double>();
  CHECK(Zd.template triangularView<Eigen::StrictlyLower>().toDenseMatrix().isZero(0));
  const Eigen::MatrixXd Zref = Kref.transpose().triangularView<Eigen::Upper>().solve(Eigen::MatrixXd::Identity(R, R));
  CHECK((Zd - Zref).norm() <= tol * Zref.norm());

  // S = Z Z^T = A^-1, lower triangle; the upper triangle outside the diagonal blocks untouched.
  M S = M::Constant(ld, R, T(5));
  ivkit::detail::spd_gram_upper(Z.data(), R, ld, S.data(), ld);
  const Eigen::MatrixXd Ainv = A.inverse();
  const Eigen::MatrixXd Sl = S.topRows(R).template cast<double>().template triangularView<Eigen::Lower>();
  CHECK((Sl - Eigen::MatrixXd(Ainv.triangularView<Eigen::Lower>())).norm() <= tol * Ainv.norm());
  for (Index c = 0; c < R; ++c)
    for (Index r = 0; r < c; ++r)
      if (r / ivkit::detail::kSpdPanel != c / ivkit::detail::kSpdPanel) REQUIRE(S(r, c) == T(5));

  Eigen::Matrix<T, Eigen::Dynamic, 1> v(R);
  ivkit::detail::spd_row_squared_norms(Z.data(), R, ld, v.data());
  CHECK((v.template cast<double>() - Ainv.diagonal()).norm() <= tol * Ainv.diagonal().norm());
}

}  // namespace

TEST_CASE("spd kernels match Eigen in double on ragged sizes") {
  ivkit_test::for_each_isa([&](ivkit::Isa) {
    for (Index R : {1, 2, 7, 8, 9, 16, 47, 48, 49, 97, 150}) {
      check_against_eigen<float>(R, 2e-6);
      check_against_eigen<double>(R, 1e-13);
    }
  }, ivkit::Isa::avx2);
}

TEST_CASE("spd_cholesky_lower reports indefinite and non-finite matrices") {
  ivkit_test::for_each_isa([&](ivkit::Isa) {
    for (Index R : {5, 30, 100}) {
      CAPTURE(R);
      // One negative eigenvalue, large or small.
      for (double lowest : {-1.0, -0.01}) {
        Eigen::MatrixXd A = spd(R, 3);
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(A);
        Eigen::VectorXd ev = eig.eigenvalues();
        ev(0) = lowest;
        A = eig.eigenvectors() * ev.asDiagonal() * eig.eigenvectors().transpose();
        Eigen::MatrixXd K = A;
        CHECK_FALSE(ivkit::detail::spd_cholesky_lower(K.data(), R, R));
      }
      Eigen::MatrixXd K = spd(R, 4);
      K(R - 1, R / 2) = std::numeric_limits<double>::quiet_NaN();
      CHECK_FALSE(ivkit::detail::spd_cholesky_lower(K.data(), R, R));
    }
  }, ivkit::Isa::avx2);
}

TEST_CASE("spd_packed_times_add and the portable packed_symmetric_times_add: y + P w in double from packed float P") {
  {
    for (Index R : {1, 2, 7, 15, 16, 17, 32, 33, 150}) {
      CAPTURE(R);
      const Eigen::MatrixXf Pf = spd(R, 5).cast<float>();
      // Packed column by column from the lower triangle only; the float entries are exact in double.
      std::vector<float> packed;
      for (Index j = 0; j < R; ++j)
        for (Index i = j; i < R; ++i) packed.push_back(Pf(i, j));
      const Eigen::MatrixXd P = Pf.cast<double>().selfadjointView<Eigen::Lower>();
      const Eigen::VectorXd w = Eigen::VectorXd::Random(R), y0 = Eigen::VectorXd::Random(R);
      // The reference in long double: the kernel's double sums are then within a few ulps.
      Eigen::VectorXd ref(R);
      for (Index i = 0; i < R; ++i) {
        long double s = y0(i);
        for (Index j = 0; j < R; ++j) s += static_cast<long double>(P(i, j)) * w(j);
        ref(i) = static_cast<double>(s);
      }
      Eigen::VectorXd y = y0;
      ivkit::packed_symmetric_times_add(packed.data(), R, w, y);
      CHECK((y - ref).norm() <= 1e-14 * ref.norm());
      Eigen::VectorXd short_y(R + 1);
      CHECK_THROWS_AS(ivkit::packed_symmetric_times_add(packed.data(), R, w, short_y), ivkit::DimensionMismatch);
      if (ivkit::cpu_isa() >= ivkit::Isa::avx2) {
        ivkit_test::for_each_isa([&](ivkit::Isa) {
          y = y0;
          ivkit::detail::spd_packed_times_add(packed.data(), R, w.data(), y.data());
          CHECK((y - ref).norm() <= 1e-14 * ref.norm());
        }, ivkit::Isa::avx2);
      } else if (R == 1) {
        ivkit_test::skip_test_case("no AVX2 on this CPU: spd_packed_times_add cannot run (the portable function was checked)");
      }
    }
  }
}
