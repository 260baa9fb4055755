// The AVX-512 float kernel used by the i-vector products, against a double product, on shapes with
// edges in every dimension (M not a multiple of 8, N not of 48, K over one 4096 block) and with B
// read through both strides (row-major and transposed).
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
      ivkit::detail::gemm_f32(M, N, K, A.data(), A.cols(), B.data(), K, 1, out.data(), out.cols());
      const double scale = std::sqrt(static_cast<double>(K));
      CHECK((out.leftCols(N).cast<double>() - ref).cwiseAbs().maxCoeff() <= 1e-5 * scale);
      CHECK((out.rightCols(5).array() == 7.0f).all());
      Matrix<float> out2(M, N);
      ivkit::detail::gemm_f32(M, N, K, A.data(), A.cols(), Bt.data(), 1, M, out2.data(), N);
      CHECK(out2 == out.leftCols(N));
    }
  }
}
