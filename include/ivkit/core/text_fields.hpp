/// @file
/// The one field splitter of ivkit's text formats (trial lists, score files, Kaldi data folders,
/// RTTM): fields are separated by spaces, tabs and carriage returns (a CRLF line end is ignored).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace ivkit {
namespace detail {

/// Splits `line` at spaces, tabs and carriage returns; stores the first `max` fields in `out` and
/// returns how many fields there are (also those beyond `max`, so that a wrong count can be named).
inline std::size_t split_fields_into(std::string_view line, std::string_view* out, std::size_t max) {
  // One table lookup per byte (the separators' bytes are 1): the hot loop of reading score files.
  static constexpr unsigned char kSeparator[256] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1 /* \t */, 0, 0, 0, 1 /* \r */, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            0, 0, 0, 0,            0, 0,
                                                    1 /* space */};
  std::size_t count = 0;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(line.data());
  const unsigned char* const end = p + line.size();
  while (true) {
    while (p < end && kSeparator[*p]) ++p;
    if (p == end) return count;
    const unsigned char* start = p;
    while (p < end && !kSeparator[*p]) ++p;
    if (count < max) out[count] = std::string_view(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
    ++count;
  }
}

/// All the fields of `line` (views into it).
inline std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out(split_fields_into(line, nullptr, 0));
  split_fields_into(line, out.data(), out.size());
  return out;
}

}  // namespace detail
}  // namespace ivkit
