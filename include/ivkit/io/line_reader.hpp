/// @file
/// Line-by-line reading of large text files without an allocation per line: `LineReader` reads
/// blocks of 1 MiB with read(2) and hands out each line as a string_view into its buffer, with the
/// line number for messages; ivkit/core/text_fields.hpp splits it into fields. Score files and trial lists of 10^8 lines are read this way.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ivkit/core/error.hpp"
#include "ivkit/core/text_fields.hpp"

namespace ivkit {

/// Reads a text file (or standard input, "-", or text already in memory) one line at a time. The
/// view returned by next() stays valid until the next call. A NUL byte is taken as binary data and
/// refused, naming the line.
class LineReader {
 public:
  static constexpr std::size_t kBlockBytes = std::size_t{1} << 20;

  /// @param path a file, or "-" for standard input
  /// @throws IoError when the file cannot be opened
  explicit LineReader(const std::string& path) : source_(path == "-" ? std::string("stdin") : path) {
    if (path == "-") {
      fd_ = 0;
    } else {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) throw IoError(detail::message("cannot open '", path, "': ", std::strerror(errno)));
      owns_fd_ = true;
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      file_size_ = static_cast<std::uint64_t>(st.st_size);
      is_regular_ = true;
    }
    buffer_.reset(new char[kBlockBytes]);
    capacity_ = kBlockBytes;
  }

  /// Lines of `text` (kept alive by the pointer), named `source` in messages.
  LineReader(std::shared_ptr<const std::string> text, std::string source) : source_(std::move(source)), text_(std::move(text)) {
    begin_ = 0;
    end_ = text_->size();
    eof_ = true;
    nul_seen_ = std::memchr(text_->data(), '\0', text_->size()) != nullptr;
  }

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader() {
    if (owns_fd_) ::close(fd_);
  }

  /// The next line without its '\n' (a last line without one included). False at the end.
  /// @throws IoError (read error), FormatError (a NUL byte)
  bool next(std::string_view& line) {
    while (true) {
      const char* data = text_ ? text_->data() : buffer_.get();
      const void* nl = std::memchr(data + begin_, '\n', end_ - begin_);
      if (nl || eof_) {
        const std::size_t stop = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - data) : end_;
        if (!nl && stop == begin_) return false;
        line = std::string_view(data + begin_, stop - begin_);
        begin_ = nl ? stop + 1 : stop;
        ++line_;
        // Lines are searched for a NUL only once one has been read (a block is searched as it comes).
        if (nul_seen_ && std::memchr(line.data(), '\0', line.size()))
          throw FormatError(detail::message("'", source_, "' line ", line_, ": a NUL byte: binary data, not text"));
        return true;
      }
      fill();
    }
  }

  /// True when rewind() can start the lines again (a regular file, or text in memory).
  bool rewindable() const { return text_ != nullptr || is_regular_; }

  /// Starts again at the first line. @throws IoError (standard input, a pipe, a failed seek)
  void rewind() {
    if (!rewindable()) throw IoError(detail::message("'", source_, "' cannot be read twice (it is not a regular file)"));
    if (!text_) {
      if (::lseek(fd_, 0, SEEK_SET) != 0) throw IoError(detail::message("cannot seek in '", source_, "': ", std::strerror(errno)));
      end_ = 0;
      eof_ = false;
      bytes_read_ = 0;
    } else {
      end_ = text_->size();
    }
    begin_ = 0;
    line_ = 0;
  }

  /// 1-based number of the line last returned by next().
  std::size_t line_number() const { return line_; }
  /// The file name ("stdin" for standard input).
  const std::string& source() const { return source_; }
  /// Bytes after the line last returned, when known (a regular file or text); 0 otherwise.
  std::uint64_t remaining_bytes() const {
    if (text_) return end_ - begin_;
    const std::uint64_t consumed = bytes_read_ - (end_ - begin_);
    return file_size_ > consumed ? file_size_ - consumed : 0;
  }

 private:
  // Moves the unfinished line to the front (growing the buffer for a line longer than it) and
  // reads more after it.
  void fill() {
    const std::size_t pending = end_ - begin_;
    if (begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, pending);
      begin_ = 0;
      end_ = pending;
    }
    if (end_ == capacity_) {
      std::unique_ptr<char[]> bigger(new char[2 * capacity_]);
      std::memcpy(bigger.get(), buffer_.get(), end_);
      buffer_ = std::move(bigger);
      capacity_ *= 2;
    }
    while (true) {
      const ::ssize_t got = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw IoError(detail::message("error reading '", source_, "' after line ", line_, ": ", std::strerror(errno)));
      if (got == 0) eof_ = true;
      if (got > 0 && std::memchr(buffer_.get() + end_, '\0', static_cast<std::size_t>(got))) nul_seen_ = true;
      end_ += static_cast<std::size_t>(got);
      bytes_read_ += static_cast<std::uint64_t>(got);
      return;
    }
  }

  std::string source_;
  std::shared_ptr<const std::string> text_;  // set: lines of this text instead of a file
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0, begin_ = 0, end_ = 0, line_ = 0;
  std::uint64_t bytes_read_ = 0, file_size_ = 0;
  int fd_ = -1;
  bool owns_fd_ = false, eof_ = false, is_regular_ = false, nul_seen_ = false;
};

}  // namespace ivkit
