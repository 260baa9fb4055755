/// @file
/// Character-level helpers shared by KaldiInput and KaldiOutput: Kaldi's white space, printable
/// excerpts for messages, and reals parsed and printed the way Kaldi's text mode needs them.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "ivkit/core/error.hpp"

namespace ivkit {

namespace detail {

inline bool kaldi_is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// A printable rendering of a word read from a file, for messages (at most 40 characters,
/// control bytes as \xNN).
inline std::string kaldi_printable(std::string_view s) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(s.size(), 40);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 32 && c < 127) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

/// A single byte for messages: 'x', or \xNN, or "the end of the data" for EOF (-1).
inline std::string kaldi_describe_char(int c) {
  if (c < 0) return "the end of the data";
  const char ch = static_cast<char>(c);
  return "'" + kaldi_printable(std::string_view(&ch, 1)) + "'";
}

/// Parses a real number the way Kaldi's readers accept it (decimal or scientific, inf, nan, any
/// case, an optional leading '+'). Returns false unless the whole word is one number.
template <class Real>
bool kaldi_parse_real(std::string_view w, Real& out) {
  if (!w.empty() && w[0] == '+') w.remove_prefix(1);
  if (w.empty()) return false;
  const char* end = w.data() + w.size();
  auto r = std::from_chars(w.data(), end, out);
  if (r.ec == std::errc::result_out_of_range) {
    // Kaldi (operator>>) saturates overflow to +-inf and underflow to zero; so do we.
    double d = 0;
    auto r2 = std::from_chars(w.data(), end, d);
    if (r2.ptr != end) return false;
    if (r2.ec == std::errc::result_out_of_range) {
      const bool negative = w[0] == '-';
      bool tiny = true;  // underflow when the exponent is negative
      const auto e = w.find_first_of("eE");
      if (e != std::string_view::npos && e + 1 < w.size() && w[e + 1] != '-') tiny = false;
      out = tiny ? Real(negative ? -0.0 : 0.0)
                 : (negative ? -std::numeric_limits<Real>::infinity() : std::numeric_limits<Real>::infinity());
    } else {
      out = static_cast<Real>(d);  // a double that overflows float: +-inf, or a float denormal underflow
    }
    return true;
  }
  return r.ec == std::errc() && r.ptr == end;
}

/// Appends the shortest text that reads back to exactly `v` ("0.1", "1e-05", "inf", "-nan").
template <class Real>
void kaldi_append_real(std::string& s, Real v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

}  // namespace detail

}  // namespace ivkit
