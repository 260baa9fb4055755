#include "common/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/cli.hpp"

namespace ivkit_tools {

namespace {

std::string amount(double v) {
  char buf[64];
  if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

}  // namespace

Progress::Progress(std::string tool, std::string label, double total, std::string unit, bool enabled)
    : tool_(std::move(tool)), label_(std::move(label)), unit_(std::move(unit)), total_(total > 0 ? total : 0), enabled_(enabled) {
  start_ = last_ = std::chrono::steady_clock::now();
  if (!enabled_) return;
  tty_ = ::isatty(STDERR_FILENO) == 1;
  if (const char* env = std::getenv("IVKIT_PROGRESS_INTERVAL")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && v >= 0) interval_ = v;
  }
}

Progress::~Progress() {
  // An exception unwinding through a redrawn line leaves the cursor at its end: end the line.
  if (enabled_ && tty_ && drawn_ && !finished_) std::fputc('\n', stderr);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::add(double amount_done) {
  done_ += amount_done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since >= (tty_ ? 0.1 : interval_)) {
    last_ = now;
    draw(false);
  }
}

void Progress::draw(bool final) {
  const double t = elapsed();
  const double rate = t > 0 ? done_ / t : 0;
  std::string line = tool_ + ": " + label_;
  if (final) {
    line += ": done, " + amount(done_) + " " + unit_ + " in " + format_duration(t);
    if (t > 0 && done_ > 0) line += " (" + amount(std::round(rate)) + " " + unit_ + "/s)";
    if (!suffix_.empty()) line += "; " + suffix_;
  } else {
    if (total_ > 0) {
      const double frac = std::min(1.0, done_ / total_);
      if (tty_) {
        const int width = 24, filled = static_cast<int>(frac * width);
        line += " [" + std::string(static_cast<std::size_t>(filled), '=') + (filled < width ? ">" : "") +
                std::string(static_cast<std::size_t>(std::max(0, width - filled - 1)), ' ') + "]";
      }
      char pct[32];
      std::snprintf(pct, sizeof pct, " %3.0f%%", 100.0 * frac);
      line += std::string(pct) + " " + amount(done_) + "/" + amount(total_) + " " + unit_;
      line += ", " + amount(std::round(rate)) + " " + unit_ + "/s";
      line += ", ETA " + (rate > 0 ? clock_text((total_ - done_) / rate) : std::string("?"));
    } else {
      line += " " + amount(done_) + " " + unit_ + ", " + amount(std::round(rate)) + " " + unit_ + "/s, " + clock_text(t) + " elapsed";
    }
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    drawn_ = !final;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& suffix) {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  suffix_ = suffix;
  draw(true);
}

}  // namespace ivkit_tools
