/// @file
/// Writing Kaldi tables: `ark:<file>`, `ark,t:<file>`, `ark:-` (stdout), `ark:| cmd` (a command's
/// input; close() waits for the command and reports its failure), and `ark,scp:<ark>,<scp>`
/// (an archive and a script file whose entries `key <ark>:<offset>` point at each object's binary
/// marker or text, as Kaldi's TableWriter writes them).
///
/// Files are written atomically: the data go to temporary files next to the targets, and close()
/// flushes them to disk and renames them (the archive first, then the script file). A writer that
/// is destroyed without close() (an exception, an interrupted run) removes its temporary files, so
/// no half-written archive is ever left under the target name: call close() to keep the output.
/// Objects are serialised completely before they reach the archive, so an object that cannot be
/// written (e.g. too large for Kaldi's int32 sizes) leaves the archive as it was.
///
/// A script-only wspecifier (`scp:<file>`, which in Kaldi writes each object to a file named by an
/// existing script) is not supported; use `ark,scp:`.
#pragma once

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include "ivkit/core/error.hpp"
#include "ivkit/io/detail/kaldi_files.hpp"
#include "ivkit/io/kaldi_holder.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_specifier.hpp"

namespace ivkit {

/// Writes a table:
///
///     KaldiWriter<Vector<float>> out("ark,scp:ivectors.ark,ivectors.scp");
///     out.write("spk1-utt1", ivector);
///     out.close();   // renames the finished files into place
template <class T>
class KaldiWriter {
  using Traits = KaldiTableTraits<T>;

 public:
  /// Opens the outputs of `wspecifier` (temporary files for file targets).
  /// @throws InvalidArgument for a malformed or unsupported specifier, IoError when a file cannot be created
  explicit KaldiWriter(const std::string& wspecifier, KaldiWriteOptions opts = {})
      : spec_(parse_kaldi_wspecifier(wspecifier)), opts_(opts) {
    if (!spec_.has_archive)
      throw InvalidArgument(detail::message(kFn, ": '", wspecifier, "': writing through an existing script file (scp:) is not supported; use ark,scp:<archive>,<script>"));
    const bool ark_stdout = spec_.archive.empty() || spec_.archive == "-";
    if (spec_.has_script && ark_stdout)
      throw InvalidArgument(detail::message(kFn, ": '", wspecifier, "': a script file needs the archive in a file (offsets into stdout mean nothing)"));
    if (spec_.has_script && (spec_.script.empty() || spec_.script == "-") && ark_stdout)
      throw InvalidArgument(detail::message(kFn, ": '", wspecifier, "': archive and script file cannot both go to stdout"));
    if (spec_.archive_is_pipe()) {
      pipe_ = std::make_unique<detail::CommandPipe>(kFn, detail::kaldi_pipe_command(spec_.archive), detail::CommandPipe::Mode::Write);
      ark_.emplace(pipe_->output(), spec_.binary, spec_.archive, kFn);
    } else if (ark_stdout) {
      ark_.emplace(std::cout, spec_.binary, "stdout", kFn);
    } else {
      ark_file_ = std::make_unique<detail::AtomicOutputFile>(kFn, spec_.archive);
      ark_.emplace(ark_file_->stream(), spec_.binary, spec_.archive, kFn);
    }
    if (spec_.has_script) {
      if (spec_.script.empty() || spec_.script == "-") {
        scp_ = &std::cout;
        scp_name_ = "stdout";
      } else {
        scp_file_ = std::make_unique<detail::AtomicOutputFile>(kFn, spec_.script);
        scp_ = &scp_file_->stream();
        scp_name_ = spec_.script;
      }
    }
    open_ = true;
  }

  /// Writes an archive to a stream (which must outlive the writer); close() flushes it.
  KaldiWriter(std::ostream& out, bool binary, std::string name = "<stream>", KaldiWriteOptions opts = {}) : opts_(opts) {
    spec_.has_archive = true;
    spec_.archive = name;
    spec_.binary = binary;
    spec_.text = "ark:" + name;
    ark_.emplace(out, binary, std::move(name), kFn);
    external_ = &out;
    open_ = true;
  }

  KaldiWriter(const KaldiWriter&) = delete;
  KaldiWriter& operator=(const KaldiWriter&) = delete;
  KaldiWriter(KaldiWriter&&) = default;
  KaldiWriter& operator=(KaldiWriter&&) = default;

  /// Removes the temporary files unless close() succeeded.
  ~KaldiWriter() {
    if (open_ && !ark_file_ && !external_ && !pipe_) std::cout.flush();
  }

  /// Appends `key` and `value` (an Eigen matrix or vector expression, converted to T's scalar).
  /// @throws InvalidArgument for a key that is empty or holds white space or control characters, or
  ///         after close(); DimensionMismatch for a vector writer given a matrix; IoError
  template <class V>
  void write(const std::string& key, const V& value) {
    if (!open_) throw InvalidArgument(detail::message(kFn, ": write('", key, "') after close()"));
    check_key(key);
    // The object is serialised first: a failure leaves the archive untouched.
    std::ostringstream buf;
    KaldiOutput obj(buf, spec_.binary, ark_->destination(), kFn, ark_->offset() + key.size() + 1);
    Traits::write(obj, value, opts_);
    const std::uint64_t object_at = ark_->offset() + key.size() + 1;
    try {
      ark_->write_text(key);
      ark_->write_char(' ');
      ark_->write_text(buf.str());
      if (pipe_ && !pipe_->output()) throw IoError(detail::message(kFn, ": writing to the command '", pipe_->command(), "' failed"));
    } catch (const IoError&) {
      // A command that stopped reading: its exit status says why, when it failed.
      if (pipe_) {
        open_ = false;
        std::unique_ptr<detail::CommandPipe> pipe = std::move(pipe_);
        pipe->finish();
      }
      throw;
    }
    if (scp_) {
      *scp_ << key << ' ' << spec_.archive << ':' << object_at << '\n';
      if (!*scp_) throw IoError(detail::message(kFn, ": writing to '", scp_name_, "' failed (disk full?)"));
    }
    ++count_;
    if (spec_.flush && !ark_file_) flush_streams();
  }

  /// Finishes the output: renames the archive, then the script file, into place (files), or flushes
  /// (stdout, streams). Further writes are errors; a second close() does nothing.
  /// @throws IoError when the data cannot be flushed, synced or renamed (the temporary files are removed)
  void close() {
    if (!open_) return;
    open_ = false;
    if (pipe_) {
      std::unique_ptr<detail::CommandPipe> pipe = std::move(pipe_);
      pipe->finish();
      return;
    }
    if (ark_file_) {
      if (scp_file_ == nullptr) {
        ark_file_->commit();
      } else {
        scp_file_->stream().flush();
        if (!scp_file_->stream()) {
          ark_file_->discard();
          scp_file_->discard();
          throw IoError(detail::message(kFn, ": writing to '", scp_name_, "' failed (disk full?)"));
        }
        ark_file_->commit();
        scp_file_->commit();
      }
    }
    flush_streams();
  }

  bool is_open() const { return open_; }
  /// Number of objects written.
  std::size_t size() const { return count_; }
  const KaldiWspecifier& wspecifier() const { return spec_; }

 private:
  static constexpr const char* kFn = "KaldiWriter";

  static void check_key(const std::string& key) {
    bool ok = !key.empty();
    for (unsigned char c : key)
      if (c < 0x80 && (c <= ' ' || c == 0x7f)) ok = false;
    if (!ok)
      throw InvalidArgument(detail::message(kFn, ": '", detail::kaldi_printable(key),
                                            "' is not a valid key (keys are non-empty, without white space or control characters)"));
  }

  void flush_streams() {
    std::ostream* streams[2] = {external_ ? external_ : (ark_file_ ? nullptr : (pipe_ ? &pipe_->output() : &std::cout)),
                                scp_file_ ? nullptr : scp_};
    for (std::ostream* s : streams) {
      if (!s) continue;
      s->flush();
      if (!*s) throw IoError(detail::message(kFn, ": flushing ", s == scp_ ? scp_name_ : ark_->destination(), " failed"));
    }
  }

  KaldiWspecifier spec_;
  KaldiWriteOptions opts_;
  std::unique_ptr<detail::AtomicOutputFile> ark_file_, scp_file_;
  std::unique_ptr<detail::CommandPipe> pipe_;  // `ark:| cmd`
  std::optional<KaldiOutput> ark_;
  std::ostream* scp_ = nullptr;
  std::ostream* external_ = nullptr;
  std::string scp_name_;
  std::size_t count_ = 0;
  bool open_ = false;
};

}  // namespace ivkit
