// A progress report on stderr for the long loops of the tools (reading features, EM iterations,
// extraction). On a terminal: one line redrawn in place, with a bar, the rate and the ETA. When
// stderr is not a terminal (a log file, a pipe, CTest): a plain line every few seconds
// (IVKIT_PROGRESS_INTERVAL seconds, default 10; 0 prints every update) and a final summary line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ivkit_tools {

class Progress {
 public:
  /// @param tool the program name that starts every line
  /// @param label what is being done ("iteration 3/10")
  /// @param total the amount of work in `unit`s, or 0 when unknown (no bar and no ETA)
  /// @param unit "frames", "utterances", ...
  /// @param enabled false (--quiet) prints nothing
  Progress(std::string tool, std::string label, double total, std::string unit, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Adds `amount` to the work done and redraws when due.
  void add(double amount);
  /// Ends the report: "label: done, N unit in T (R unit/s); suffix".
  void finish(const std::string& suffix = "");
  double done() const { return done_; }
  double elapsed() const;

 private:
  void draw(bool final);

  std::string tool_, label_, unit_, suffix_;
  double total_ = 0, done_ = 0;
  bool enabled_ = false, tty_ = false, finished_ = false, drawn_ = false;
  double interval_ = 10.0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ivkit_tools
