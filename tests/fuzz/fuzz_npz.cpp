// Fuzz harness: NumPy .npz archives (ivkit/io/npz.hpp parse_npz: zip directory, zip64, stored and
// deflated members, CRC-32, each member a .npy file). The arrays of a parsed archive written back
// with NpzWriter must read back to the same names, shapes and values.
#include "harness.hpp"
#include "ivkit/io/npz.hpp"

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  const auto arrays = ivkit::parse_npz<double>(bytes, "fuzz.npz");
  ivkit::NpzWriteOptions options;
  options.compress = bytes.size() % 2 == 1;
  ivkit::NpzWriter w(options);
  try {
    for (const auto& [name, a] : arrays) w.add(name, a);
  } catch (const ivkit::InvalidArgument&) {
    return;  // a member name the writer refuses (empty, NUL, too long): nothing to compare
  }
  ivkit_fuzz::must_succeed("re-reading an NpzWriter archive of parsed arrays", [&] {
    const auto again = ivkit::parse_npz<double>(w.bytes(), "again.npz");
    ivkit_fuzz::require(again.size() == arrays.size(), "npz round trip: member count");
    for (const auto& [name, a] : arrays) {
      const auto it = again.find(name);
      ivkit_fuzz::require(it != again.end(), "npz round trip: member names");
      ivkit_fuzz::require(it->second.ndim == a.ndim && ivkit_fuzz::same_values(it->second.values, a.values), "npz round trip: values");
    }
  });
}
