/// @file
/// Files behind the Kaldi readers and writers: opening an input file with its size, and an output
/// file written atomically while it streams (a temporary file in the same directory, flushed to
/// disk and renamed over the target at commit; removed if never committed), the technique of
/// ivkit/core/file_io.hpp for data written piece by piece.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "ivkit/core/error.hpp"

namespace ivkit::detail {

/// An input file opened in binary mode, with its size.
struct KaldiInputFile {
  std::unique_ptr<std::ifstream> stream;
  std::optional<std::uint64_t> size;  ///< none for a FIFO or a device
};

/// Opens `path` for reading. @throws IoError "<fn>: cannot open '<path>'<context>"
inline KaldiInputFile open_kaldi_input_file(const char* fn, const std::string& path, const std::string& context = "") {
  KaldiInputFile f;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw IoError(detail::message(fn, ": cannot open '", path, "'", context, ": no such file"));
  if (std::filesystem::is_directory(status)) throw IoError(detail::message(fn, ": cannot open '", path, "'", context, ": it is a directory"));
  f.stream = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*f.stream) throw IoError(detail::message(fn, ": cannot open '", path, "'", context));
  if (std::filesystem::is_regular_file(status)) {
    f.size = static_cast<std::uint64_t>(std::filesystem::file_size(path, ec));
    if (ec) throw IoError(detail::message(fn, ": cannot read the size of '", path, "'", context));
  }
  return f;
}

/// An output file that appears under its name only when commit() succeeds. Until then the data go
/// to a temporary file `.<name>.tmp<stamp>-<n>` in the same directory, which discard() (and the
/// destructor, when commit() was not reached) removes.
class AtomicOutputFile {
 public:
  AtomicOutputFile(const char* fn, std::string path) : fn_(fn), path_(std::move(path)) {
    namespace fs = std::filesystem;
    const fs::path target(path_);
    const fs::path dir = target.parent_path();
    static std::atomic<unsigned> counter{0};
    const auto stamp = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                       (static_cast<unsigned long long>(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(stamp % 1000000007ull) + "-" +
                                  std::to_string(counter.fetch_add(1)));
      std::FILE* f = std::fopen(tmp.string().c_str(), "wbx");  // reserve the name (exclusive creation)
      if (!f) {
        if (errno == EEXIST) continue;
        break;
      }
      std::fclose(f);
      tmp_ = tmp.string();
      break;
    }
    if (tmp_.empty())
      throw IoError(detail::message(fn_, ": cannot create a temporary file in '", dir.empty() ? std::string(".") : dir.string(),
                                    "' for '", path_, "'"));
    stream_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!stream_) {
      std::error_code ec;
      fs::remove(tmp_, ec);
      tmp_.clear();
      throw IoError(detail::message(fn_, ": cannot open a temporary file for '", path_, "'"));
    }
  }
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;
  ~AtomicOutputFile() { discard(); }

  std::ostream& stream() { return stream_; }
  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return tmp_; }
  bool committed() const { return committed_; }

  /// Flushes, syncs to disk and renames the temporary file over the target.
  /// @throws IoError (the temporary file is then removed and the target left as it was)
  void commit() {
    if (committed_ || tmp_.empty()) return;
    stream_.flush();
    bool ok = static_cast<bool>(stream_);
    stream_.close();
    ok = ok && !stream_.fail();
#if defined(__unix__) || defined(__APPLE__)
    if (ok) {
      const int fd = ::open(tmp_.c_str(), O_RDONLY);
      ok = fd >= 0 && ::fsync(fd) == 0;
      if (fd >= 0) ::close(fd);
    }
#endif
    if (!ok) {
      discard();
      throw IoError(detail::message(fn_, ": writing the temporary file for '", path_, "' failed (disk full?)"));
    }
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
      const std::string why = ec.message();
      discard();
      throw IoError(detail::message(fn_, ": cannot rename the temporary file to '", path_, "': ", why));
    }
    committed_ = true;
    tmp_.clear();
  }

  /// Closes and removes the temporary file; the target is untouched. Never throws.
  void discard() noexcept {
    if (tmp_.empty()) return;
    try {
      if (stream_.is_open()) stream_.close();
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
    tmp_.clear();
  }

 private:
  const char* fn_;
  std::string path_, tmp_;
  std::ofstream stream_;
  bool committed_ = false;
};

}  // namespace ivkit::detail
