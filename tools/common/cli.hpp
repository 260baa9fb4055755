// Shared command-line behaviour of the ivkit tools: CLI11 set-up, --help with an example, the
// common options (--threads, --quiet, --version), logging to stderr, and the exit codes:
//   0 success (and --help), 1 a runtime error (ivkit::Error and friends: one line, "tool: error: ..."),
//   2 a usage error (unknown option, missing argument, invalid value, inconsistent options).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ivkit_tools {

/// An inconsistent or invalid combination of options found after parsing: exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

/// One command-line tool: its CLI11 app, common options and the error handling of main().
class Tool {
 public:
  /// @param name the program name (ivkit-train-ubm)
  /// @param description one paragraph for --help
  /// @param example one or more example command lines for --help
  Tool(std::string name, const std::string& description, const std::string& example);

  CLI::App& app() { return app_; }
  const std::string& name() const { return name_; }

  /// Adds --threads N (0 = all hardware threads) to the options.
  void add_threads_option(const std::string& what = "worker threads (0 = all hardware threads); results do not depend on it");
  /// The value of --threads (0 = all).
  int threads() const { return threads_; }
  bool quiet() const { return quiet_; }
  /// Silences progress and informational messages (the other ranks of an MPI run).
  void set_quiet(bool q) { quiet_ = q; }

  /// Kaldi's option conventions, for the tools that stand in for Kaldi's feature programs:
  /// `--config FILE` (or `--config=FILE`, repeatable) reads Kaldi's config files (one `--name=value`
  /// per line, `#` comments), whose options come before the command line's (so the command line
  /// overrides them, as in Kaldi); an unknown option in a file is a usage error naming the file and
  /// line; and `_` in option names reads as `-` (`--num_ceps=20`).
  void enable_kaldi_config();

  /// "<name> (ivkit <version>)" and the kernel path in use (core/isa.hpp), for --version.
  std::string version_text() const;

  /// Parses the command line and runs `body`; returns the process exit code (see the file comment).
  int run(int argc, char** argv, const std::function<void()>& body);

  /// "name: message" on stderr, unless --quiet.
  template <class... Parts>
  void info(Parts&&... parts) const {
    if (quiet_) return;
    std::ostringstream s;
    (s << ... << std::forward<Parts>(parts));
    log_line(s.str());
  }
  /// "name: warning: message" on stderr (also with --quiet).
  template <class... Parts>
  void warn(Parts&&... parts) const {
    std::ostringstream s;
    s << "warning: ";
    (s << ... << std::forward<Parts>(parts));
    log_line(s.str());
  }

 private:
  void log_line(const std::string& line) const;

  std::string name_;
  CLI::App app_;
  /// The arguments after Kaldi's conventions (enable_kaldi_config), in CLI11's reversed order.
  std::vector<std::string> kaldi_arguments(int argc, char** argv) const;

  int threads_ = 0;
  bool quiet_ = false;
  bool kaldi_config_ = false;
  std::vector<std::string> config_files_;
};

/// "<tool>: warning: message" on stderr, for shared code that has no Tool at hand (reading models).
void warn(const std::string& message);

/// Writes `text` to `path` atomically (temporary file, then rename), or to stdout for "-".
/// @throws ivkit::IoError naming what failed
void write_text_output(const std::string& tool, const std::string& path, const std::string& text);

/// The checkpoint options of the training tools (common/checkpoint.hpp): --resume, --stop-after and
/// --keep-checkpoint.
void add_checkpoint_options(CLI::App& app, bool& resume, int& stop_after, bool& keep_checkpoint);

/// Shortest decimal text that reads back to exactly `v` (scores, model values in text).
std::string format_real(double v);
/// Shortest decimal text that reads back to exactly the float `v` (scores computed in float).
std::string format_float(float v);
/// "1.2 s", "3 min 4 s", "2 h 5 min".
std::string format_duration(double seconds);

}  // namespace ivkit_tools
