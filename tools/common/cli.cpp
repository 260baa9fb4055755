#include "common/cli.hpp"

#include <charconv>
#include <csignal>
#include <cmath>
#include <exception>
#include <fstream>
#include <iostream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <new>

#include <ivkit/core/error.hpp>
#include <ivkit/core/file_io.hpp>
#include <ivkit/core/isa.hpp>

namespace ivkit_tools {

namespace {

// Messages are printed on one line: embedded newlines (rare; from system errors) become spaces.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

namespace {
std::string g_tool_name = "ivkit";  // the running tool's name, for warn()
}  // namespace

void warn(const std::string& message) {
  std::cerr << g_tool_name << ": warning: " << message << '\n';
  std::cerr.flush();
}

Tool::Tool(std::string name, const std::string& description, const std::string& example)
    : name_(std::move(name)), app_(description, name_) {
  g_tool_name = name_;
#if defined(__GLIBC__)
  // The tools allocate and free buffers of several MiB per utterance (frames, expanded frames,
  // posteriors). By default glibc maps each from the kernel and unmaps it when freed, so every
  // utterance pays its page faults afresh (13% of i-vector extraction); kept in the heap, they
  // are reused. Peak memory is the same: what is kept is what the largest utterance needed.
  mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
  app_.footer("Example:\n" + example + "\n\nExit status: 0 on success, 1 on an error (one line on stderr), 2 on a usage error.");
  // An option given twice takes its last value (as Kaldi's programs do), so that a script can
  // override a default it passes earlier on the command line.
  app_.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app_.get_formatter()->column_width(36);
  app_.add_flag("-q,--quiet", quiet_, "no progress and no informational messages on stderr (errors are still printed)");
  app_.set_version_flag("--version", [this] { return version_text(); },
                        "print the version and the kernel path in use (IVKIT_ISA forces one), then exit");
}

std::string Tool::version_text() const {
#ifndef IVKIT_VERSION
#define IVKIT_VERSION "unknown"
#endif
  std::string kernels;
  try {
    kernels = ivkit::isa_description();
  } catch (const ivkit::Error& e) {
    kernels = std::string("error: ") + e.what();
  }
  return name_ + " (ivkit " IVKIT_VERSION ")\nkernels: " + kernels;
}

void Tool::add_threads_option(const std::string& what) {
  app_.add_option("--threads", threads_, what)->check(CLI::NonNegativeNumber);
}

void Tool::log_line(const std::string& line) const {
  std::cerr << name_ << ": " << line << '\n';
  std::cerr.flush();
}

void Tool::enable_kaldi_config() {
  kaldi_config_ = true;
  app_.add_option("--config", config_files_,
                  "Kaldi config file(s): one --name=value per line, '#' comments (conf/mfcc.conf); the command line overrides them")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

namespace {

/// `--num_ceps=3` -> `--num-ceps=3` (Kaldi's NormalizeArgName).
std::string normalise_kaldi_arg(std::string arg) {
  if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) return arg;
  const auto eq = arg.find('=');
  for (std::size_t i = 2; i < std::min(eq, arg.size()); ++i)
    if (arg[i] == '_') arg[i] = '-';
  return arg;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) + 1 - b);
}

}  // namespace

std::vector<std::string> Tool::kaldi_arguments(int argc, char** argv) const {
  std::vector<std::string> from_files, command_line;
  for (int i = 1; i < argc; ++i) {
    std::string arg = normalise_kaldi_arg(argv[i]);
    std::string file;
    if (arg.compare(0, 9, "--config=") == 0) {
      file = arg.substr(9);
    } else if (arg == "--config") {
      if (i + 1 >= argc) throw CLI::ArgumentMismatch("--config needs a file name");
      file = argv[++i];
    } else {
      command_line.push_back(std::move(arg));
      continue;
    }
    std::ifstream in(file);
    if (!in) throw UsageError("cannot open the config file '" + file + "'");
    std::string line;
    for (std::size_t no = 1; std::getline(in, line); ++no) {
      const auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      line = trim(line);
      if (line.empty()) continue;
      if (line.compare(0, 2, "--") != 0 || line.size() < 3)
        throw UsageError("'" + file + "' line " + std::to_string(no) + ": expected --name=value, found '" + line + "'");
      line = normalise_kaldi_arg(line);
      const std::string name = line.substr(0, line.find('='));
      if (name == "--config" || app_.get_option_no_throw(name) == nullptr)
        throw UsageError("'" + file + "' line " + std::to_string(no) + ": unknown option '" + name + "'");
      from_files.push_back(line);
    }
  }
  // CLI11 takes the arguments last first; the files' come before the command line's.
  std::vector<std::string> all = std::move(from_files);
  all.insert(all.end(), command_line.begin(), command_line.end());
  return {all.rbegin(), all.rend()};
}

int Tool::run(int argc, char** argv, const std::function<void()>& body) {
  // A command of a piped specifier (`ark:| gzip -c > x.gz`) that exits early must give an error
  // naming it (ivkit/io/detail/command_pipe.hpp), not kill the tool silently.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (kaldi_config_) {
      std::vector<std::string> args = kaldi_arguments(argc, argv);
      app_.parse(args);
    } else {
      app_.parse(argc, argv);
    }
  } catch (const UsageError& e) {
    std::cerr << name_ << ": usage error: " << one_line(e.what()) << " (run '" << name_ << " --help' for usage)\n";
    return 2;
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app_.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << name_ << ": usage error: " << one_line(e.what()) << " (run '" << name_ << " --help' for usage)\n";
    return 2;
  }
  try {
    ivkit::active_isa();  // an invalid IVKIT_ISA is an error before any work
    body();
    return 0;
  } catch (const UsageError& e) {
    std::cerr << name_ << ": usage error: " << one_line(e.what()) << " (run '" << name_ << " --help' for usage)\n";
    return 2;
  } catch (const ivkit::Error& e) {
    std::cerr << name_ << ": error: " << one_line(e.what()) << '\n';
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << name_ << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << name_ << ": error: " << one_line(e.what()) << '\n';
    return 1;
  }
}

std::string format_real(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_float(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ld min %ld s", s / 60, s % 60);
  } else {
    const long m = std::lround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%ld h %ld min", m / 60, m % 60);
  }
  return buf;
}

void write_text_output(const std::string& tool, const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) throw ivkit::IoError(tool + ": error writing to stdout");
    return;
  }
  ivkit::write_file_atomically(tool.c_str(), path, text);
}

void add_checkpoint_options(CLI::App& app, bool& resume, int& stop_after, bool& keep_checkpoint) {
  app.add_flag("--resume", resume, "continue from OUT.checkpoint (same options); starts over when there is none");
  app.add_option("--stop-after", stop_after, "stop after this many iterations of this run, leaving the checkpoint (0 = run to the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--keep-checkpoint", keep_checkpoint, "keep OUT.checkpoint and the last OUT.iterN after the final model is written");
}

}  // namespace ivkit_tools
