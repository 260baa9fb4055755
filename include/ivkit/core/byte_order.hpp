/// @file
/// The host's byte order, probed once for every binary format ivkit reads and writes (its model
/// container, Kaldi's binary objects, NumPy's .npy).
#pragma once

#include <cstdint>
#include <cstring>

namespace ivkit {
namespace detail {

/// True on little-endian hosts (x86-64, aarch64 as configured everywhere ivkit runs).
inline bool host_is_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b = 0;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

}  // namespace detail
}  // namespace ivkit
