#include "common/cli.hpp"

#include <charconv>
#include <cmath>
#include <exception>
#include <iostream>
#include <new>

#include <ivkit/core/error.hpp>

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

Tool::Tool(std::string name, const std::string& description, const std::string& example)
    : name_(std::move(name)), app_(description, name_) {
  app_.footer("Example:\n" + example + "\n\nExit status: 0 on success, 1 on an error (one line on stderr), 2 on a usage error.");
  // An option given twice takes its last value (as Kaldi's programs do), so that a script can
  // override a default it passes earlier on the command line.
  app_.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app_.get_formatter()->column_width(36);
  app_.add_flag("-q,--quiet", quiet_, "no progress and no informational messages on stderr (errors are still printed)");
}

void Tool::add_threads_option(const std::string& what) {
  app_.add_option("--threads", threads_, what)->check(CLI::NonNegativeNumber);
}

void Tool::log_line(const std::string& line) const {
  std::cerr << name_ << ": " << line << '\n';
  std::cerr.flush();
}

int Tool::run(int argc, char** argv, const std::function<void()>& body) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app_.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << name_ << ": usage error: " << one_line(e.what()) << " (run '" << name_ << " --help' for usage)\n";
    return 2;
  }
  try {
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

void add_checkpoint_options(CLI::App& app, bool& resume, int& stop_after, bool& keep_checkpoint) {
  app.add_flag("--resume", resume, "continue from OUT.checkpoint (same options); starts over when there is none");
  app.add_option("--stop-after", stop_after, "stop after this many iterations of this run, leaving the checkpoint (0 = run to the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--keep-checkpoint", keep_checkpoint, "keep OUT.checkpoint and the last OUT.iterN after the final model is written");
}

}  // namespace ivkit_tools
