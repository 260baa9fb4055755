// Binary encodings for the tests that build files byte by byte (Kaldi objects, .npy, zip), written
// with shifts and memcpy, independently of the library's writers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace ivkit_test {

/// Little-endian unsigned integers of 2, 4 and 8 bytes.
inline std::string le16(std::uint32_t v) { return {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)}; }
inline std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
inline std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
inline std::string i32(std::int32_t v) { return le32(static_cast<std::uint32_t>(v)); }

/// IEEE floats, little-endian.
inline std::string f32(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return le32(u);
}
inline std::string f64(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  return le64(u);
}

/// Kaldi's binary int32 and double, each with its size byte, and the binary-mode marker.
inline std::string kint(std::int32_t v) { return std::string(1, '\x04') + i32(v); }
inline std::string kreal(double d) { return std::string(1, '\x08') + f64(d); }
inline const std::string kMarker("\0B", 2);

}  // namespace ivkit_test
