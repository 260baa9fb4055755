// The AVX-512 float kernel used by the i-vector products (into float, and added into double),
// against a double product, on shapes with edges in every dimension (M not a multiple of 8, N not of
// 48, K over one 4096 block) and with B read through both strides (row-major and transposed).
#include <doctest/doctest.h>

#include <Eigen/Dense>

#include "ivkit/core/gemm_kernel.hpp"
#include "ivkit/core/types.hpp"

using ivkit::Index;
using ivkit::Matrix;

TEST_CASE("gemm_f32 matches a double product on ragged shapes") {
  if constexpr (!ivkit::detail::kHaveGemmKernel) {
    MESSAGE("no AVX-512: the kernel is not built");
    return;
  } else {
    for (const auto& [M, N, K] : {std::tuple<Index, Index, Index>{1, 1, 1}, {13, 100, 37}, {8, 48, 256}, {37, 211, 5000}}) {
      const Matrix<float> A = Matrix<float>::Random(K, N + 3);  // row stride N + 3
      const Matrix<float> B = Matrix<float>::Random(M, K);
      const Matrix<float> Bt = B.transpose();
      const Matrix<double> ref = B.cast<double>() * A.leftCols(N).cast<double>();
      Matrix<float> out = Matrix<float>::Constant(M, N + 5, 7.0f);  // row stride N + 5; the padding stays
      ivkit::detail::gemm(M, N, K, A.data(), A.cols(), B.data(), K, 1, out.data(), out.cols());
      const double scale = std::sqrt(static_cast<double>(K));
      CHECK((out.leftCols(N).cast<double>() - ref).cwiseAbs().maxCoeff() <= 1e-5 * scale);
      CHECK((out.rightCols(5).array() == 7.0f).all());
      Matrix<float> out2(M, N);
      ivkit::detail::gemm(M, N, K, A.data(), A.cols(), Bt.data(), 1, M, out2.data(), N);
      CHECK(out2 == out.leftCols(N));
    }
  }
}

TEST_CASE("gemm_f32_into adds the float product to a double accumulator") {
  if constexpr (!ivkit::detail::kHaveGemmKernel) {
    return;
  } else {
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
  }
}
