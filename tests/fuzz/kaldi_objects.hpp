// One Kaldi object read from, or written to, bytes in memory, with its binary marker: shared by the
// harnesses of single Kaldi objects (fuzz_kaldi_object.cpp) and Kaldi model files
// (fuzz_kaldi_model.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "ivkit/io/kaldi_io.hpp"

namespace ivkit_fuzz {

/// Reads the object in `data` with `read(KaldiInput&)`; `known_size`: as from a regular file (else
/// as from stdin). Returns the value and whether the object was binary.
template <class ReadFn>
auto read_object(const std::string& data, bool known_size, ReadFn read) {
  std::istringstream s(data);
  ivkit::KaldiInput in(s, "fuzz.ark", "fuzz", 0, known_size ? std::optional<std::uint64_t>(data.size()) : std::nullopt);
  in.read_binary_marker();
  auto value = read(in);
  return std::make_pair(std::move(value), in.binary());
}

/// Writes `value` with `write(KaldiOutput&, value)` in the given mode, binary marker first.
template <class WriteFn, class T>
std::string write_object(bool binary, WriteFn write, const T& value) {
  std::ostringstream os;
  ivkit::KaldiOutput out(os, binary, "again.ark", "fuzz");
  out.write_binary_marker();
  write(out, value);
  return os.str();
}

}  // namespace ivkit_fuzz
