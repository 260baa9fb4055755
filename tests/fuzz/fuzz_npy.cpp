// Fuzz harness: NumPy .npy files (ivkit/io/npy.hpp parse_npy). A parsed array written back with
// npy_bytes must read back to the same shape and values.
#include "harness.hpp"
#include "ivkit/io/npy.hpp"

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  const auto f = ivkit::parse_npy<float>(bytes, "fuzz.npy");
  const auto d = ivkit::parse_npy<double>(bytes, "fuzz.npy");
  ivkit_fuzz::require(f.ndim == d.ndim && f.descr == d.descr && f.values.rows() == d.values.rows() && f.values.cols() == d.values.cols(),
                      "float and double reads of one file agree on dtype and shape");
  ivkit_fuzz::must_succeed("re-reading npy_bytes of a parsed array", [&] {
    const auto again = ivkit::parse_npy<double>(ivkit::npy_bytes(d), "again.npy");
    ivkit_fuzz::require(again.ndim == d.ndim && ivkit_fuzz::same_values(again.values, d.values), "npy_bytes round trip (double)");
    const auto again_f = ivkit::parse_npy<float>(ivkit::npy_bytes(f), "again.npy");
    ivkit_fuzz::require(again_f.ndim == f.ndim && ivkit_fuzz::same_values(again_f.values, f.values), "npy_bytes round trip (float)");
  });
}
