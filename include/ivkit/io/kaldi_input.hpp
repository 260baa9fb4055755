/// @file
/// Reading Kaldi's serialisation primitives (binary marker, tokens, integers, reals, booleans,
/// integer vectors, in both modes) from a stream, with byte offsets and the context every error
/// names. The format facts are listed in io/kaldi_io.hpp.
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
  /// Skips spaces, tabs and carriage returns, not newlines (a text table entry ends at one), and
  /// returns the next byte, or -1 at the end.
  int skip_blanks() {
    int c = peek();
    while (c == ' ' || c == '\t' || c == '\r') {
      get();
      c = peek();
    }
    return c;
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

namespace detail {

/// A binary Kaldi vector of vectors, one row per frame (Gaussian selections, posteriors): an int32
/// frame count, then per frame an int32 count and that many entries, each `entry_bytes` long
/// (size bytes included) and read by `read_entry(in, entry)`. Counts are checked against the data
/// left before anything is allocated; messages name "<what> of N frames" and "a frame of n
/// <entries>".
template <class Entry, class ReadEntry>
std::vector<std::vector<Entry>> read_kaldi_binary_frames(KaldiInput& in, std::uint64_t entry_bytes, const char* what,
                                                         const char* entries, ReadEntry read_entry) {
  const std::uint64_t at = in.offset();
  const auto frames = in.read_int<std::int32_t>();
  if (frames < 0) in.fail_at(at, message("negative frame count ", frames));
  in.require_array(static_cast<std::uint64_t>(frames), 5, message(what, " of ", frames, " frames"));
  std::vector<std::vector<Entry>> out(static_cast<std::size_t>(frames));
  for (auto& row : out) {
    const std::uint64_t row_at = in.offset();
    const auto n = in.read_int<std::int32_t>();
    if (n < 0) in.fail_at(row_at, message("negative count ", n));
    in.require_array(static_cast<std::uint64_t>(n), entry_bytes, message("a frame of ", n, " ", entries));
    row.resize(static_cast<std::size_t>(n));
    for (auto& e : row) read_entry(in, e);
  }
  return out;
}

}  // namespace detail

}  // namespace ivkit
