// The GEMM kernel used by the i-vector products, on every path this machine has (AVX-512, AVX2),
// in float and double, overwriting and added into double, against a wider product, on shapes with
// edges in every dimension (M not a multiple of the tile's rows, N not of the panel width, K over
// one 4096 block) and with B read through both strides. On AVX-512 the last column panels cover
// the 1-, 2- and 3-vector tiles: N = 100 ends in 4 columns (one vector in float and double), 211 in
// 19 (two vectors in float, three in double), 400 in 16 (one vector in float, two in double).
#include <doctest/doctest.h>

#include <Eigen/Dense>

#include "ivkit/core/gemm_kernel.hpp"
#include "ivkit/core/types.hpp"
#include "support/isa.hpp"

using ivkit::Index;
using ivkit::Matrix;

namespace {

/// The kernel in T against a product in long double (so that double's rounding is measured too).
template <class T>
void check_ragged_shapes(double tol) {
  using Wide = long double;
  for (const auto& [M, N, K] : {std::tuple<Index, Index, Index>{1, 1, 1}, {13, 100, 37}, {8, 48, 256}, {9, 400, 64}, {37, 211, 5000}}) {
    const Matrix<T> A = Matrix<T>::Random(K, N + 3);  // row stride N + 3
    const Matrix<T> B = Matrix<T>::Random(M, K);
    const Matrix<T> Bt = B.transpose();
    const Matrix<Wide> ref = B.template cast<Wide>() * A.leftCols(N).template cast<Wide>();
    Matrix<T> out = Matrix<T>::Constant(M, N + 5, T(7));  // row stride N + 5; the padding stays
    ivkit::detail::gemm(M, N, K, A.data(), A.cols(), B.data(), K, 1, out.data(), out.cols());
    const Wide scale = std::sqrt(static_cast<Wide>(K));
    CHECK((out.leftCols(N).template cast<Wide>() - ref).cwiseAbs().maxCoeff() <= static_cast<Wide>(tol) * scale);
    CHECK((out.rightCols(5).array() == T(7)).all());
    Matrix<T> out2(M, N);
    ivkit::detail::gemm(M, N, K, A.data(), A.cols(), Bt.data(), 1, M, out2.data(), N);
    CHECK(out2 == out.leftCols(N));
  }
}

}  // namespace

TEST_CASE("gemm matches a wider product on ragged shapes, in float and double") {
  ivkit_test::for_each_isa([&](ivkit::Isa) {
    check_ragged_shapes<float>(1e-5);
    check_ragged_shapes<double>(1e-14);
  }, ivkit::Isa::avx2);
}

TEST_CASE("gemm_add adds the float product to a double accumulator") {
  ivkit_test::for_each_isa([&](ivkit::Isa) {
    // M over two tiles of rows (the output prefetch runs two tiles ahead), N with a partial panel.
    for (const auto& [M, N, K] : {std::tuple<Index, Index, Index>{1, 1, 1}, {13, 100, 37}, {40, 211, 256}}) {
      const Matrix<float> A = Matrix<float>::Random(K, N);
      const Matrix<float> B = Matrix<float>::Random(M, K);
      const Matrix<double> start = Matrix<double>::Random(M, N + 2);  // row stride N + 2; the padding stays
      Matrix<double> acc = start;
      ivkit::detail::gemm_add(M, N, K, A.data(), N, B.data(), K, 1, acc.data(), acc.cols());
      // Exactly the float result added in double (K is within one block).
      Matrix<float> product(M, N);
      ivkit::detail::gemm(M, N, K, A.data(), N, B.data(), K, 1, product.data(), N);
      CHECK(acc.leftCols(N) == start.leftCols(N) + product.cast<double>());
      CHECK(acc.rightCols(2) == start.rightCols(2));
      const Matrix<double> ref = start.leftCols(N) + B.cast<double>() * A.cast<double>();
      CHECK((acc.leftCols(N) - ref).cwiseAbs().maxCoeff() <= 1e-5 * std::sqrt(static_cast<double>(K)));
    }
  }, ivkit::Isa::avx2);
}

TEST_CASE("gemm_add in double adds the double product to the accumulator") {
  ivkit_test::for_each_isa([&](ivkit::Isa) {
    // The double model's training path; M over two tiles of rows, N with a partial panel of 24.
    for (const auto& [M, N, K] : {std::tuple<Index, Index, Index>{1, 1, 1}, {40, 107, 300}}) {
      const Matrix<double> A = Matrix<double>::Random(K, N);
      const Matrix<double> B = Matrix<double>::Random(M, K);
      const Matrix<double> start = Matrix<double>::Random(M, N + 2);
      Matrix<double> acc = start;
      ivkit::detail::gemm_add(M, N, K, A.data(), N, B.data(), K, 1, acc.data(), acc.cols());
      CHECK(acc.rightCols(2) == start.rightCols(2));
      const Matrix<long double> ref = start.leftCols(N).cast<long double>() + B.cast<long double>() * A.cast<long double>();
      CHECK((acc.leftCols(N).cast<long double>() - ref).cwiseAbs().maxCoeff() <= 1e-14L * std::sqrt(static_cast<long double>(K)));
    }
  }, ivkit::Isa::avx2);
}
