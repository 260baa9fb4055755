/// @file
/// Whole-file reads and atomic whole-file writes. Every model or plot ivkit writes goes through
/// write_file_atomically: a reader (or a crash mid-write) sees the old file or the complete new
/// one, never a partial one.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "ivkit/core/error.hpp"

namespace ivkit {

/// Writes `pieces`, one after another, to `path` atomically: a new temporary file in the same directory, flushed to
/// disk, then renamed over `path`. On any failure the temporary file is removed and `path` is left
/// as it was. `fn` names the caller in the error message.
/// @throws IoError when the file cannot be created, written, synced or renamed
inline void write_file_atomically(const char* fn, const std::string& path, const std::vector<std::string_view>& pieces) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path();
  const std::string dir_name = dir.empty() ? std::string(".") : dir.string();
  static std::atomic<unsigned> counter{0};
  const auto stamp = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                     (static_cast<unsigned long long>(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1);
  std::FILE* f = nullptr;
  fs::path tmp;
  for (int attempt = 0; attempt < 100 && !f; ++attempt) {
    tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(stamp % 1000000007ull) + "-" +
                 std::to_string(counter.fetch_add(1)));
    errno = 0;
    f = std::fopen(tmp.string().c_str(), "wbx");  // exclusive creation (C11 "x")
    if (!f && errno != EEXIST) break;
  }
  if (!f) throw IoError(detail::message(fn, ": cannot create a temporary file in '", dir_name, "' for '", path, "'"));
  bool written = true;
  for (const std::string_view piece : pieces) written = written && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
  bool flushed = std::fflush(f) == 0;
#if defined(__unix__) || defined(__APPLE__)
  flushed = flushed && ::fsync(fileno(f)) == 0;  // the data reach the disk before the rename does
#endif
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!(written && flushed && closed)) {
    fs::remove(tmp, ec);
    throw IoError(detail::message(fn, ": writing the temporary file for '", path, "' failed (disk full?)"));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw IoError(detail::message(fn, ": cannot rename the temporary file to '", path, "': ", ec.message()));
  }
}

/// The same for one string.
inline void write_file_atomically(const char* fn, const std::string& path, const std::string& content) {
  write_file_atomically(fn, path, std::vector<std::string_view>{std::string_view(content)});
}

/// The whole content of the file at `path`. @throws IoError when it cannot be opened or read
inline std::string read_file(const char* fn, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(detail::message(fn, ": cannot open '", path, "'"));
  std::string out;
  char buf[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw IoError(detail::message(fn, ": error reading '", path, "'"));
  return out;
}

}  // namespace ivkit
