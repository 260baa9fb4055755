/// @file
/// Writing Kaldi's serialisation primitives to a stream in either mode, counting bytes. The
/// format facts are listed in io/kaldi_io.hpp.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <istream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <sstream>
#include <utility>
#include <vector>

#include "ivkit/core/byte_order.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/io/detail/command_pipe.hpp"
#include "ivkit/io/detail/kaldi_files.hpp"
#include "ivkit/io/kaldi_specifier.hpp"
#include "ivkit/io/detail/kaldi_text.hpp"

namespace ivkit {

/// Writes Kaldi objects to a std::ostream, counting the bytes written (the offsets a script file
/// records). Errors of the stream are IoError naming the destination.
class KaldiOutput {
 public:
  /// @param binary the mode of the objects written
  /// @param dest the file name (or "stdout") for messages
  /// @param offset the destination offset of the stream's current position
  KaldiOutput(std::ostream& out, bool binary, std::string dest = "<stream>", const char* fn = "KaldiOutput",
              std::uint64_t offset = 0)
      : out_(&out), dest_(std::move(dest)), fn_(fn), pos_(offset), binary_(binary) {
    if (!detail::host_is_little_endian()) throw Error("KaldiOutput: big-endian hosts are not supported");
  }

  bool binary() const { return binary_; }
  void set_binary(bool b) { binary_ = b; }
  /// Destination offset of the next byte written.
  std::uint64_t offset() const { return pos_; }
  const std::string& destination() const { return dest_; }
  const char* function() const { return fn_; }
  void set_function(const char* fn) { fn_ = fn; }

  /// Raw bytes. @throws IoError when the stream fails
  void write_bytes(const void* p, std::size_t n) {
    if (n == 0) return;
    const auto put = out_->rdbuf()->sputn(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    if (put != static_cast<std::streamsize>(n)) {
      out_->setstate(std::ios::badbit);
      throw IoError(detail::message(fn_, ": writing to ", dest_ == "stdout" ? dest_ : "'" + dest_ + "'", " failed (disk full?)"));
    }
    pos_ += n;
  }
  void write_text(std::string_view s) { write_bytes(s.data(), s.size()); }
  void write_char(char c) { write_bytes(&c, 1); }

  /// `\0B` in binary mode; nothing in text mode (Kaldi's InitKaldiOutputStream).
  void write_binary_marker() {
    if (binary_) write_bytes("\0B", 2);
  }

  /// A token and one space, in both modes. @throws InvalidArgument for an empty token or one with white space
  void write_token(std::string_view token) {
    if (token.empty() || std::any_of(token.begin(), token.end(), [](char c) { return detail::kaldi_is_space(static_cast<unsigned char>(c)); }))
      throw InvalidArgument(detail::message(fn_, ": '", detail::kaldi_printable(token), "' is not a valid token (empty or with white space)"));
    write_text(token);
    write_char(' ');
  }

  template <class Int>
  void write_int(Int v) {
    static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>, "KaldiOutput::write_int: integer types only");
    if (binary_) {
      const signed char size = std::is_signed_v<Int> ? static_cast<signed char>(sizeof(Int)) : static_cast<signed char>(-int(sizeof(Int)));
      write_char(static_cast<char>(size));
      write_bytes(&v, sizeof v);
    } else {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
      write_bytes(buf, static_cast<std::size_t>(r.ptr - buf));
      write_char(' ');
    }
  }

  template <class Real>
  void write_real(Real v) {
    static_assert(std::is_same_v<Real, float> || std::is_same_v<Real, double>, "KaldiOutput::write_real: float or double");
    if (binary_) {
      write_char(static_cast<char>(sizeof(Real)));
      write_bytes(&v, sizeof v);
    } else {
      std::string s;
      detail::kaldi_append_real(s, v);
      s += ' ';
      write_text(s);
    }
  }

  void write_bool(bool b) {
    write_char(b ? 'T' : 'F');
    if (!binary_) write_char(' ');
  }

  template <class Int>
  void write_int_vector(const std::vector<Int>& v) {
    static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>, "KaldiOutput::write_int_vector: integer types only");
    if (binary_) {
      if (v.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw InvalidArgument(detail::message(fn_, ": an integer vector of ", v.size(), " elements is too long for Kaldi's format"));
      write_char(static_cast<char>(sizeof(Int)));
      const auto n = static_cast<std::int32_t>(v.size());
      write_bytes(&n, 4);
      write_bytes(v.data(), v.size() * sizeof(Int));
    } else {
      std::string s = "[ ";
      char buf[32];
      for (Int x : v) {
        const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(x));
        s.append(buf, r.ptr);
        s += ' ';
      }
      s += "]\n";
      write_text(s);
    }
  }

 private:
  std::ostream* out_;
  std::string dest_;
  const char* fn_;
  std::uint64_t pos_;
  bool binary_;
};

}  // namespace ivkit
