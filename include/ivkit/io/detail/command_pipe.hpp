/// @file
/// Kaldi's piped file names: `cmd |` reads what a shell command writes to its standard output, and
/// `| cmd` writes to its standard input (Kaldi's `util/kaldi-io.cc` runs them through popen, and so
/// does ivkit). The command runs under `/bin/sh -c`; its standard error passes through.
///
/// A command that fails is an error naming it: when the reader has read everything (or the writer
/// has written everything), the exit status is checked, and a non-zero status or a signal is an
/// IoError. A pipe abandoned early (an exception elsewhere, a reader destroyed before the end) is
/// closed without that check: the command then dies of SIGPIPE, which is not its fault.
///
/// Writing to a command that has exited raises SIGPIPE in the writing process; the ivkit tools
/// ignore that signal so that the failed write becomes an IoError. A program of your own that
/// writes to pipes should do the same (`std::signal(SIGPIPE, SIG_IGN)`), as Kaldi's binaries do not
/// and die silently instead.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <istream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#define IVKIT_HAVE_POPEN 1
#endif

#include "ivkit/core/error.hpp"
#include "ivkit/io/kaldi_specifier.hpp"  // kaldi_is_input_pipe, kaldi_pipe_command

namespace ivkit::detail {

/// A running shell command with its standard output (Read) or input (Write) as a C++ stream.
class CommandPipe {
 public:
  enum class Mode { Read, Write };

  /// Starts `command` (the command text without the bar). @throws InvalidArgument for an empty
  /// command, IoError when it cannot be started
  CommandPipe(const char* fn, std::string command, Mode mode) : fn_(fn), command_(std::move(command)), mode_(mode) {
    if (command_.empty()) throw InvalidArgument(detail::message(fn_, ": an empty command in a pipe ('|' alone)"));
#ifdef IVKIT_HAVE_POPEN
    std::fflush(nullptr);  // what this process buffered must not be written twice by the child
    file_ = ::popen(command_.c_str(), mode == Mode::Read ? "r" : "w");
    if (!file_) throw IoError(detail::message(fn_, ": cannot start the command '", command_, "': ", std::strerror(errno)));
    buf_ = std::make_unique<Buffer>(file_, mode == Mode::Read);
    stream_ = std::make_unique<std::iostream>(buf_.get());
#else
    throw IoError(detail::message(fn_, ": '", command_, "': pipes are not supported on this platform"));
#endif
  }
  CommandPipe(const CommandPipe&) = delete;
  CommandPipe& operator=(const CommandPipe&) = delete;
  ~CommandPipe() { abandon(); }

  std::istream& input() { return *stream_; }
  std::ostream& output() { return *stream_; }
  const std::string& command() const { return command_; }

  /// Flushes (Write), waits for the command and checks how it ended.
  /// @throws IoError "fn: the command 'cmd' failed (exit status n)" or "(killed by signal n)", or
  ///         when writing failed (the command exited before reading everything)
  void finish() {
    if (!file_) return;
    bool write_failed = false;
    if (mode_ == Mode::Write) {
      stream_->flush();
      write_failed = !*stream_ || buf_->failed();
    }
#ifdef IVKIT_HAVE_POPEN
    const int status = ::pclose(file_);
    file_ = nullptr;
    if (status == -1) throw IoError(detail::message(fn_, ": waiting for the command '", command_, "' failed: ", std::strerror(errno)));
    if (WIFSIGNALED(status))
      throw IoError(detail::message(fn_, ": the command '", command_, "' was killed by signal ", WTERMSIG(status)));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      throw IoError(detail::message(fn_, ": the command '", command_, "' failed (exit status ", WEXITSTATUS(status), ")"));
#endif
    if (write_failed)
      throw IoError(detail::message(fn_, ": writing to the command '", command_, "' failed (it stopped reading its input)"));
  }

  /// Closes without checking the exit status. Never throws.
  void abandon() noexcept {
#ifdef IVKIT_HAVE_POPEN
    if (file_) ::pclose(file_);
#endif
    file_ = nullptr;
  }

 private:
  /// A streambuf over the FILE* of popen, 64 KiB at a time.
  class Buffer : public std::streambuf {
   public:
    Buffer(std::FILE* f, bool reading) : f_(f), data_(kSize, '\0') {
      if (reading) setg(data_.data(), data_.data(), data_.data());
      else setp(data_.data(), data_.data() + kSize);
    }
    bool failed() const { return failed_; }

   protected:
    int_type underflow() override {
      if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
      const std::size_t n = std::fread(data_.data(), 1, kSize, f_);
      if (n == 0) return traits_type::eof();
      setg(data_.data(), data_.data(), data_.data() + n);
      return traits_type::to_int_type(*gptr());
    }
    int_type overflow(int_type c) override {
      if (flush_put() != 0) return traits_type::eof();
      if (!traits_type::eq_int_type(c, traits_type::eof())) {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
      }
      return traits_type::not_eof(c);
    }
    int sync() override {
      if (flush_put() != 0) return -1;
      if (pbase() != nullptr && std::fflush(f_) != 0) {
        failed_ = true;
        return -1;
      }
      return 0;
    }

   private:
    static constexpr std::size_t kSize = 1 << 16;
    int flush_put() {
      const std::ptrdiff_t n = pptr() - pbase();
      if (n > 0) {
        if (failed_ || std::fwrite(pbase(), 1, static_cast<std::size_t>(n), f_) != static_cast<std::size_t>(n)) {
          failed_ = true;
          return -1;
        }
        pbump(static_cast<int>(-n));
      }
      return 0;
    }
    std::FILE* f_;
    std::string data_;
    bool failed_ = false;
  };

  const char* fn_;
  std::string command_;
  Mode mode_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Buffer> buf_;
  std::unique_ptr<std::iostream> stream_;
};

/// Runs `command` and returns everything it writes to its standard output.
/// @throws IoError naming the command (and `context`) when it cannot start or fails
inline std::string run_command_output(const char* fn, const std::string& command, const std::string& context = "") {
  try {
    CommandPipe pipe(fn, command, CommandPipe::Mode::Read);
    std::string out;
    char buf[1 << 16];
    std::istream& in = pipe.input();
    while (in.read(buf, sizeof buf) || in.gcount() > 0) out.append(buf, static_cast<std::size_t>(in.gcount()));
    pipe.finish();
    return out;
  } catch (const IoError& e) {
    if (context.empty()) throw;
    throw IoError(std::string(e.what()) + context);
  }
}

}  // namespace ivkit::detail
