/// @file
/// The primitive layer of Kaldi's serialisation, shared by every Kaldi reader and writer in ivkit
/// (tables of matrices and vectors, and the model files: `final.dubm`, `final.ubm`, `final.ie`,
/// PLDA): the binary marker, tokens, integers, reals and booleans, integer vectors, in both of
/// Kaldi's modes.
///
/// Format facts (from Kaldi's `base/io-funcs.{h,cc}`, `base/io-funcs-inl.h`):
///  - A binary object starts with the two bytes `\0B`; a text object starts with anything else.
///  - A token (`<DiagGMM>`, `FM`, ...) is a non-empty word without white space, written as the word
///    and one space in both modes. Readers skip white space before it and consume one white-space
///    character after it.
///  - Binary integer: one size byte (+sizeof for signed types, -sizeof for unsigned types), then the
///    integer in the host's (little-endian) byte order. Text: the decimal value and a space.
///  - Binary real: one size byte (4 for float, 8 for double), then the IEEE value; a reader of
///    either type accepts both sizes. Text: the value and a space.
///  - Boolean: the letter `T` or `F` (text: followed by a space).
///  - Binary integer vector: one byte sizeof(element), a raw int32 count (no size byte), then the
///    raw elements. Text: `[ 1 2 3 ]` and a newline.
///
/// Text reals are written in the shortest form that reads back to the same value (Kaldi itself
/// prints 7 significant digits, which loses precision); readers accept any decimal or scientific
/// form and `inf`, `-inf`, `nan` (any case), as Kaldi does.
///
/// read_kaldi_object / write_kaldi_object open a file (or stdin/stdout) holding one object, handle
/// the binary marker, and write atomically: the entry points for Kaldi's model files.
///
/// Every failure of a reader is an ivkit::FormatError naming the function, the source (a file
/// name, or `stdin`), the current table key when there is one, and the byte offset; a size field
/// never causes an allocation larger than the data actually present (see KaldiInput::require).
/// Only little-endian hosts are supported (as Kaldi's own files are little-endian in practice).
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

/// Reads Kaldi objects from a std::istream (a file, stdin, a string stream), with its own buffer,
/// the absolute byte offset of everything it reads, and the context (function, source, key) that
/// every error message names. The stream must stay alive while the KaldiInput is used; the
/// KaldiInput reads ahead of what it has returned, so use the stream only through it (or seek
/// through KaldiInput::seek).
class KaldiInput {
 public:
  /// @param in the stream, positioned at byte `offset` of the source
  /// @param source the file name (or "stdin") shown in messages
  /// @param fn the function or class named at the start of messages
  /// @param offset the source offset of the stream's current position
  /// @param size the total size of the source when known (regular files): size fields are then
  ///        checked against it before anything is allocated
  KaldiInput(std::istream& in, std::string source, const char* fn = "KaldiInput", std::uint64_t offset = 0,
             std::optional<std::uint64_t> size = std::nullopt)
      : in_(&in), source_(std::move(source)), fn_(fn), pos_(offset), size_(size) {
    if (!detail::host_is_little_endian()) throw Error("KaldiInput: big-endian hosts are not supported");
  }

  KaldiInput(const KaldiInput&) = delete;
  KaldiInput& operator=(const KaldiInput&) = delete;
  KaldiInput(KaldiInput&&) = default;
  KaldiInput& operator=(KaldiInput&&) = default;

  // ---- context ------------------------------------------------------------------------------

  const std::string& source() const { return source_; }
  const char* function() const { return fn_; }
  void set_function(const char* fn) { fn_ = fn; }
  /// The table key (utterance id) named in messages; empty for none.
  void set_key(std::string key) { key_ = std::move(key); }
  const std::string& key() const { return key_; }
  /// Extra context appended to the location in messages, e.g. "from 'feats.scp' line 3".
  void set_origin(std::string origin) { origin_ = std::move(origin); }
  /// Absolute offset in the source of the next byte to be read.
  std::uint64_t offset() const { return pos_; }
  /// Total size of the source, when known.
  std::optional<std::uint64_t> size() const { return size_; }
  /// Bytes left in the source, when its size is known.
  std::optional<std::uint64_t> remaining() const {
    if (!size_) return std::nullopt;
    return *size_ > pos_ ? *size_ - pos_ : 0;
  }

  /// The mode of the object being read: set by read_binary_marker (or set_binary).
  bool binary() const { return binary_; }
  void set_binary(bool b) { binary_ = b; }

  /// "fn: 'source' (key 'k', offset n, origin)" — the start of every message.
  std::string where(std::uint64_t at) const {
    std::string s = detail::message(fn_, ": ");
    s += source_ == "stdin" ? source_ : "'" + source_ + "'";
    s += " (";
    if (!key_.empty()) s += "key '" + key_ + "', ";
    s += detail::message("offset ", at);
    if (!origin_.empty()) s += ", " + origin_;
    s += ")";
    return s;
  }
  /// Throws FormatError "<where(at)>: <what>".
  [[noreturn]] void fail_at(std::uint64_t at, const std::string& what) const { throw FormatError(where(at) + ": " + what); }
  /// Throws FormatError at the current offset.
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }

  // ---- bytes --------------------------------------------------------------------------------

  /// The next byte (0..255) without consuming it, or -1 at the end of the data.
  int peek() {
    if (beg_ == end_ && !fill(1)) return -1;
    return static_cast<unsigned char>(buf_[beg_]);
  }
  /// The byte `k` places ahead (peek_at(0) == peek()), or -1 past the end.
  int peek_at(std::size_t k) {
    if (end_ - beg_ <= k && !fill(k + 1)) return -1;
    return static_cast<unsigned char>(buf_[beg_ + k]);
  }
  /// Consumes and returns the next byte, or -1 at the end.
  int get() {
    const int c = peek();
    if (c >= 0) {
      ++beg_;
      ++pos_;
    }
    return c;
  }
  bool at_end() { return peek() < 0; }
  /// Skips white space (space, tab, newlines, \f, \v).
  void skip_space() {
    while (detail::kaldi_is_space(peek())) get();
  }

  /// Checks that `bytes` more bytes can be read before anything of that size is allocated. When the
  /// source size is known, this compares with it. When it is not (stdin, a pipe), objects up to
  /// 64 MiB pass (a bounded allocation), and larger ones are first pulled into the buffer, which
  /// grows only as data arrive. Sizes above 2^50 bytes are refused outright.
  /// @throws FormatError "truncated: <what> needs N bytes but only M remain"
  void require(std::uint64_t bytes, const std::string& what) {
    if (bytes > kMaxObject) fail(detail::message("implausible size: ", what, " would need ", bytes, " bytes"));
    if (size_) {
      const std::uint64_t left = *remaining();
      if (bytes > left) fail(detail::message("truncated: ", what, " needs ", bytes, " bytes but only ", left, " remain"));
      return;
    }
    if (bytes <= (std::uint64_t{1} << 26)) return;
    if (!fill(static_cast<std::size_t>(bytes)))
      fail(detail::message("truncated: ", what, " needs ", bytes, " bytes but only ", end_ - beg_, " remain"));
  }

  /// require() for `count` elements of `elem_size` bytes, safe from overflow; returns the byte count.
  std::uint64_t require_array(std::uint64_t count, std::uint64_t elem_size, const std::string& what) {
    if (elem_size != 0 && count > kMaxObject / elem_size)
      fail(detail::message("implausible size: ", what, " (", count, " elements of ", elem_size, " bytes)"));
    require(count * elem_size, what);
    return count * elem_size;
  }

  /// Reads exactly `n` bytes. @throws FormatError naming `what` when the data end first
  void read_bytes(void* dst, std::size_t n, const std::string& what) {
    auto* out = static_cast<char*>(dst);
    const std::uint64_t start = pos_;
    std::size_t done = std::min(n, end_ - beg_);
    if (done) std::memcpy(out, buf_.data() + beg_, done);
    beg_ += done;
    pos_ += done;
    if (done < n) {
      const std::size_t want = n - done;
      if (want >= kChunk) {
        while (done < n) {
          const auto got = static_cast<std::size_t>(in_->rdbuf()->sgetn(out + done, static_cast<std::streamsize>(n - done)));
          if (got == 0) break;
          done += got;
          pos_ += got;
        }
      } else {
        fill(want);
        const std::size_t take = std::min(want, end_ - beg_);
        std::memcpy(out + done, buf_.data() + beg_, take);
        beg_ += take;
        pos_ += take;
        done += take;
      }
    }
    if (done < n) fail_at(start, detail::message("truncated: ", what, " needs ", n, " bytes but only ", done, " remain"));
  }

  /// Skips `n` bytes (seeking when the stream allows). @throws FormatError when the data end first
  void skip_bytes(std::uint64_t n, const std::string& what) {
    require(n, what);
    const std::size_t in_buffer = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - beg_));
    beg_ += in_buffer;
    pos_ += in_buffer;
    n -= in_buffer;
    if (n == 0) return;
    if (size_) {  // a source of known size is a seekable file
      seek(pos_ + n);
      return;
    }
    char tmp[4096];
    while (n > 0) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof tmp));
      read_bytes(tmp, k, what);
      n -= k;
    }
  }

  /// Moves to absolute source offset `offset` (within the buffered data when possible, else by
  /// seeking the stream). @throws FormatError past the end of a source of known size, IoError when
  /// the stream cannot seek
  void seek(std::uint64_t offset) {
    if (size_ && offset > *size_)
      fail_at(offset, detail::message("offset ", offset, " is past the end of the ", *size_, "-byte file"));
    const std::uint64_t buf_start = pos_ - beg_;  // source offset of buf_[0]
    if (offset >= buf_start && offset <= buf_start + end_) {
      beg_ = static_cast<std::size_t>(offset - buf_start);
      pos_ = offset;
      return;
    }
    in_->clear();
    in_->seekg(static_cast<std::streamoff>(offset), std::ios::beg);
    if (!*in_) throw IoError(where(offset) + ": cannot seek");
    beg_ = end_ = 0;
    pos_ = offset;
  }

  // ---- Kaldi primitives ---------------------------------------------------------------------

  /// Consumes the binary marker `\0B` if present and sets the mode: binary with it, text without.
  /// @throws FormatError for a `\0` not followed by `B`
  bool read_binary_marker() {
    if (peek() == 0) {
      if (peek_at(1) != 'B') fail(detail::message("a \\0 not followed by 'B' (the binary marker is \\0B), found ", detail::kaldi_describe_char(peek_at(1))));
      get();
      get();
      binary_ = true;
    } else {
      binary_ = false;
    }
    return binary_;
  }

  /// Reads a white-space-delimited word of at most `max_len` bytes after skipping white space,
  /// without consuming the delimiter. @throws FormatError at the end of the data or for a longer word
  std::string read_word(const char* what, std::size_t max_len = 4096) {
    skip_space();
    if (peek() < 0) fail(detail::message("expected ", what, ", found the end of the data"));
    std::string w;
    for (int c = peek(); c >= 0 && !detail::kaldi_is_space(c); c = peek()) {
      if (w.size() >= max_len) fail(detail::message("expected ", what, ", found a word longer than ", max_len, " bytes"));
      w += static_cast<char>(c);
      get();
    }
    return w;
  }

  /// Reads a token: skips white space, reads the word, and consumes the one white-space character
  /// that must follow it (Kaldi's ReadToken).
  std::string read_token() {
    std::string t = read_word("a token", 1024);
    const int c = peek();
    if (!detail::kaldi_is_space(c))
      fail(detail::message("expected a space after token '", detail::kaldi_printable(t), "', found ", detail::kaldi_describe_char(c)));
    get();
    return t;
  }

  /// Reads a token that must equal `token`. @throws FormatError naming both
  void expect_token(std::string_view token) {
    const std::uint64_t at = (skip_space(), pos_);
    const std::string t = read_token();
    if (t != token) fail_at(at, detail::message("expected token ", token, ", found '", detail::kaldi_printable(t), "'"));
  }

  /// Skips white space and returns the first character of the next token, or the character after
  /// '<' when the token starts with '<' (Kaldi's PeekToken), without consuming anything; -1 at the end.
  int peek_token() {
    skip_space();
    return peek() == '<' ? peek_at(1) : peek();
  }

  /// The next token without consuming it (white space before it is skipped); empty at the end.
  std::string peek_token_string(std::size_t max_len = 1024) {
    skip_space();
    std::string t;
    for (std::size_t k = 0; k < max_len; ++k) {
      const int c = peek_at(k);
      if (c < 0 || detail::kaldi_is_space(c)) break;
      t += static_cast<char>(c);
    }
    return t;
  }

  /// Reads an integer of type Int (Kaldi's ReadBasicType for integers).
  template <class Int>
  Int read_int() {
    static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>, "KaldiInput::read_int: integer types only");
    if (binary_) {
      const int size = peek();
      if (size < 0) fail("expected an integer, found the end of the data");
      const int expected = std::is_signed_v<Int> ? int(sizeof(Int)) : -int(sizeof(Int));
      if (static_cast<signed char>(size) != expected)
        fail(detail::message("expected a ", sizeof(Int), "-byte ", std::is_signed_v<Int> ? "signed" : "unsigned",
                             " integer (size byte ", expected, "), found size byte ", int(static_cast<signed char>(size))));
      get();
      Int v;
      read_bytes(&v, sizeof v, "an integer");
      return v;
    }
    const std::uint64_t at = (skip_space(), pos_);
    const std::string w = read_word("an integer", 64);
    long long v = 0;
    const auto r = std::from_chars(w.data(), w.data() + w.size(), v);
    if (r.ec != std::errc() || r.ptr != w.data() + w.size() || v < static_cast<long long>(std::numeric_limits<Int>::min()) ||
        (v > 0 && static_cast<unsigned long long>(v) > static_cast<unsigned long long>(std::numeric_limits<Int>::max())))
      fail_at(at, detail::message("expected a ", sizeof(Int), "-byte integer, found '", detail::kaldi_printable(w), "'"));
    return static_cast<Int>(v);
  }

  /// Reads a real number into float or double; binary data of either size are accepted and converted.
  template <class Real>
  Real read_real() {
    static_assert(std::is_same_v<Real, float> || std::is_same_v<Real, double>, "KaldiInput::read_real: float or double");
    if (binary_) {
      const int size = peek();
      if (size == 4) {
        get();
        float f;
        read_bytes(&f, 4, "a float");
        return static_cast<Real>(f);
      }
      if (size == 8) {
        get();
        double d;
        read_bytes(&d, 8, "a double");
        return static_cast<Real>(d);
      }
      fail(detail::message("expected a real number (size byte 4 or 8), found ",
                           size < 0 ? std::string("the end of the data") : detail::message("size byte ", size)));
    }
    const std::uint64_t at = (skip_space(), pos_);
    const std::string w = read_word("a real number", 128);
    Real v;
    if (!detail::kaldi_parse_real(w, v)) fail_at(at, detail::message("expected a real number, found '", detail::kaldi_printable(w), "'"));
    return v;
  }

  /// Reads a boolean, `T` or `F` (Kaldi's ReadBasicType<bool>).
  bool read_bool() {
    if (!binary_) skip_space();
    const int c = peek();
    if (c != 'T' && c != 'F') fail(detail::message("expected a boolean (T or F), found ", detail::kaldi_describe_char(c)));
    get();
    return c == 'T';
  }

  /// Reads an integer vector (Kaldi's ReadIntegerVector).
  template <class Int>
  std::vector<Int> read_int_vector() {
    static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>, "KaldiInput::read_int_vector: integer types only");
    std::vector<Int> v;
    if (binary_) {
      const int size = peek();
      if (size != int(sizeof(Int)))
        fail(detail::message("expected an integer vector of ", sizeof(Int), "-byte elements, found ",
                             size < 0 ? std::string("the end of the data") : detail::message("element size ", size)));
      get();
      const std::uint64_t at = pos_;
      std::int32_t n;
      read_bytes(&n, 4, "the length of an integer vector");
      if (n < 0) fail_at(at, detail::message("negative integer vector length ", n));
      require_array(std::uint64_t(n), sizeof(Int), detail::message("an integer vector of ", n, " elements"));
      v.resize(static_cast<std::size_t>(n));
      if (n) read_bytes(v.data(), v.size() * sizeof(Int), detail::message("an integer vector of ", n, " elements"));
      return v;
    }
    skip_space();
    if (get() != '[') fail_at(pos_ - 1, "expected '[' at the start of a text integer vector");
    for (;;) {
      skip_space();
      const int c = peek();
      if (c < 0) fail("the text integer vector ends before its closing ']'");
      if (c == ']') {
        get();
        break;
      }
      const std::uint64_t at = pos_;
      std::string w;
      for (int d = peek(); d >= 0 && !detail::kaldi_is_space(d) && d != ']' && w.size() < 64; d = peek()) {
        w += static_cast<char>(d);
        get();
      }
      long long x = 0;
      const auto r = std::from_chars(w.data(), w.data() + w.size(), x);
      if (r.ec != std::errc() || r.ptr != w.data() + w.size() || x < static_cast<long long>(std::numeric_limits<Int>::min()) ||
          (x > 0 && static_cast<unsigned long long>(x) > static_cast<unsigned long long>(std::numeric_limits<Int>::max())))
        fail_at(at, detail::message("expected an integer in the text integer vector, found '", detail::kaldi_printable(w), "'"));
      v.push_back(static_cast<Int>(x));
    }
    return v;
  }

 private:
  static constexpr std::size_t kChunk = 1 << 16;
  static constexpr std::uint64_t kMaxObject = std::uint64_t{1} << 50;

  /// Makes at least `need` unread bytes available in the buffer; false if the data end first. The
  /// buffer grows geometrically only as data arrive, never to a size merely asked for.
  bool fill(std::size_t need) {
    if (end_ - beg_ >= need) return true;
    if (beg_ == end_ && buf_.size() > 64 * kChunk) {  // release the room a huge object needed
      buf_.clear();
      buf_.shrink_to_fit();
      beg_ = end_ = 0;
    }
    if (beg_ > 0) {
      std::memmove(buf_.data(), buf_.data() + beg_, end_ - beg_);
      end_ -= beg_;
      beg_ = 0;
    }
    while (end_ < need) {
      if (end_ == buf_.size()) buf_.resize(std::min(std::max(need, kChunk), std::max(kChunk, buf_.size() * 2)));
      const std::size_t want = buf_.size() - end_;
      const auto got = static_cast<std::size_t>(in_->rdbuf()->sgetn(buf_.data() + end_, static_cast<std::streamsize>(want)));
      if (got == 0) return false;
      end_ += got;
    }
    return true;
  }

  std::istream* in_;
  std::string source_;
  const char* fn_;
  std::string key_, origin_;
  std::uint64_t pos_;
  std::optional<std::uint64_t> size_;
  bool binary_ = false;
  std::vector<char> buf_;
  std::size_t beg_ = 0, end_ = 0;
};

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

// ---- single objects in files ----------------------------------------------------------------

/// Reads the one object held by an rxfilename (`path`, `path:offset` into an archive, `-` for
/// stdin, or `cmd |` for a command's output, as `'fgmm-global-to-gmm final.ubm - |'`): opens it,
/// detects the binary marker, and returns `read(in)` — the entry point for Kaldi model files
/// (`final.dubm`, `final.ie`, ...) and single matrices. `fn` names the caller in messages.
/// @throws InvalidArgument for a malformed rxfilename (ranges), IoError when the file cannot
///         be opened or the command fails, and whatever `read` throws (FormatError naming file and offset)
template <class ReadFn>
auto read_kaldi_object(const char* fn, const std::string& rxfilename, ReadFn read) -> decltype(read(std::declval<KaldiInput&>())) {
  KaldiLocation loc;
  try {
    loc = parse_kaldi_location(rxfilename);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(detail::message(fn, ": ", e.what()));
  }
  if (!loc.range.empty()) throw InvalidArgument(detail::message(fn, ": '", rxfilename, "': ranges are for script files"));
  if (detail::kaldi_is_input_pipe(loc.path)) {
    std::istringstream data(detail::run_command_output(fn, detail::kaldi_pipe_command(loc.path)));
    const auto size = static_cast<std::uint64_t>(data.str().size());
    KaldiInput in(data, loc.path, fn, 0, size);
    in.read_binary_marker();
    return read(in);
  }
  if (loc.path == "-") {
    if (loc.offset) throw InvalidArgument(detail::message(fn, ": '", rxfilename, "': stdin has no offsets"));
    std::istream& cin = std::cin;
    KaldiInput in(cin, "stdin", fn);
    in.read_binary_marker();
    return read(in);
  }
  auto file = detail::open_kaldi_input_file(fn, loc.path);
  KaldiInput in(*file.stream, loc.path, fn, 0, file.size);
  if (loc.offset) in.seek(*loc.offset);
  in.read_binary_marker();
  return read(in);
}

/// Writes one object to a wxfilename: a file, written atomically (temporary file, then rename, so
/// an interrupted write leaves the old file or none), or stdout for `-`. Writes the binary marker
/// in binary mode, then calls `write(out)`; `| cmd` writes to a command's input.
/// @throws IoError when the file cannot be written or the command fails
template <class WriteFn>
void write_kaldi_object(const char* fn, const std::string& wxfilename, bool binary, WriteFn write) {
  if (wxfilename.empty() || wxfilename == "-") {
    KaldiOutput out(std::cout, binary, "stdout", fn);
    out.write_binary_marker();
    write(out);
    std::cout.flush();
    if (!std::cout) throw IoError(detail::message(fn, ": writing to stdout failed"));
    return;
  }
  if (detail::kaldi_is_output_pipe(wxfilename)) {
    detail::CommandPipe pipe(fn, detail::kaldi_pipe_command(wxfilename), detail::CommandPipe::Mode::Write);
    KaldiOutput out(pipe.output(), binary, wxfilename, fn);
    out.write_binary_marker();
    write(out);
    pipe.finish();
    return;
  }
  if (detail::kaldi_is_input_pipe(wxfilename))
    throw InvalidArgument(detail::message(fn, ": '", wxfilename, "' reads from a command ('cmd |'), but a file is written here: use '| cmd'"));
  detail::AtomicOutputFile file(fn, wxfilename);
  KaldiOutput out(file.stream(), binary, wxfilename, fn);
  out.write_binary_marker();
  write(out);
  file.commit();
}

}  // namespace ivkit
