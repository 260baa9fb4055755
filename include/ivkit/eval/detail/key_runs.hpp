/// @file
/// The disk side of external sorting (eval/external_sort.hpp): order-preserving 64-bit score keys
/// sorted in place with fixed scratch memory, written as sorted runs to binary files, and merged k
/// ways through fixed-size blocks.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/sorted_scores.hpp"

namespace ivkit {

namespace detail {

/// Sorts keys in place, with fixed scratch memory (about 1.6 MB, whatever n): one in-place
/// distribution (American flag sort) by the top 16 bits (sign, exponent, 4 mantissa bits of the
/// score), then each bucket in cache: LSD radix on its low 48 bits through a scratch of at most 2^16
/// keys (detail::lsd_radix_low_bits, as sorted_scores), std::sort for small buckets and for buckets
/// too large for the scratch (very concentrated scores). std::sort alone for short arrays. The
/// result is the ascending order of the keys, as std::sort gives it.
inline void sort_keys_in_place(std::uint64_t* a, std::size_t n) {
  if (n < 4096) {
    std::sort(a, a + n);
    return;
  }
  constexpr std::size_t kScratch = std::size_t{1} << 16;
  constexpr int kShift = 48;
  constexpr std::size_t kBuckets = std::size_t{1} << 16;
  std::vector<std::size_t> start(kBuckets + 1, 0);
  for (std::size_t i = 0; i < n; ++i) ++start[(a[i] >> kShift) + 1];
  for (std::size_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  for (std::size_t b = 0; b < kBuckets; ++b) {
    const std::size_t end = start[b + 1];
    while (next[b] < end) {
      std::uint64_t v = a[next[b]];
      std::size_t d = static_cast<std::size_t>(v >> kShift);
      while (d != b) {  // follow the cycle: put v where it belongs, pick up what was there
        std::swap(v, a[next[d]++]);
        d = static_cast<std::size_t>(v >> kShift);
      }
      a[next[b]++] = v;
    }
  }
  next.clear();
  next.shrink_to_fit();
  std::vector<std::uint64_t> scratch;
  std::vector<std::uint32_t> counts;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    const std::size_t lo = start[b], m = start[b + 1] - lo;
    if (m < 2) continue;
    if (m < 512 || m > kScratch) {
      std::sort(a + lo, a + lo + m);
    } else {
      if (scratch.size() < m) scratch.resize(std::min(kScratch, std::max(m, 2 * scratch.size())));
      lsd_radix_low_bits(a + lo, scratch.data(), m, kShift, counts);
    }
  }
}

/// A sorted run of 64-bit sort keys (detail::sort_key, native byte order) in a temporary file; the
/// destructor removes the file.
class KeyRunFile {
 public:
  KeyRunFile(std::string path, std::uint64_t size) : path_(std::move(path)), size_(size) {}
  KeyRunFile(const KeyRunFile&) = delete;
  KeyRunFile& operator=(const KeyRunFile&) = delete;
  KeyRunFile(KeyRunFile&& o) noexcept : path_(std::move(o.path_)), size_(o.size_) { o.path_.clear(); }
  KeyRunFile& operator=(KeyRunFile&& o) noexcept {
    if (this != &o) {
      remove();
      path_ = std::move(o.path_);
      size_ = o.size_;
      o.path_.clear();
    }
    return *this;
  }
  ~KeyRunFile() { remove(); }

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }  ///< keys in the run

 private:
  void remove() noexcept {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    path_.clear();
  }
  std::string path_;
  std::uint64_t size_ = 0;
};

/// Writes a new temporary run file in `dir` (created exclusively under a fresh name). On error, or
/// when destroyed before close(), the file is removed.
class KeyRunWriter {
 public:
  KeyRunWriter(const char* fn, const std::string& dir) : fn_(fn) {
    static std::atomic<unsigned> counter{0};
    const auto stamp = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                       (static_cast<unsigned long long>(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1);
    int err = 0;
    for (int attempt = 0; attempt < 100 && !f_; ++attempt) {
      path_ = (std::filesystem::path(dir) / ("ivkit-scores-" + std::to_string(stamp % 1000000007ull) + "-" +
                                             std::to_string(counter.fetch_add(1)) + ".run"))
                  .string();
      errno = 0;
      f_ = std::fopen(path_.c_str(), "wbx");  // exclusive creation (C11 "x")
      err = errno;
      if (!f_ && err != EEXIST) break;
    }
    if (!f_)
      throw IoError(message(fn_, ": cannot create the temporary file '", path_, "'", err ? ": " : "", err ? std::strerror(err) : ""));
  }
  KeyRunWriter(const KeyRunWriter&) = delete;
  KeyRunWriter& operator=(const KeyRunWriter&) = delete;
  ~KeyRunWriter() { discard(); }

  void write(const std::uint64_t* keys, std::size_t n) {
    if (n == 0) return;
    if (std::fwrite(keys, sizeof(std::uint64_t), n, f_) != n) {
      const int err = errno;
      discard();
      throw IoError(message(fn_, ": cannot write the temporary file '", path_, "'", err ? ": " : "", err ? std::strerror(err) : "",
                            " (disk full?)"));
    }
    size_ += n;
  }

  /// Flushes and closes the file; the run then belongs to the returned object.
  KeyRunFile close() {
    const bool ok = std::fflush(f_) == 0;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!(ok && closed)) {
      discard();
      throw IoError(message(fn_, ": cannot write the temporary file '", path_, "' (disk full?)"));
    }
    KeyRunFile run(std::move(path_), size_);
    path_.clear();
    return run;
  }

 private:
  void discard() noexcept {
    if (f_) std::fclose(f_);
    f_ = nullptr;
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
      path_.clear();
    }
  }
  const char* fn_;
  std::string path_;
  std::FILE* f_ = nullptr;
  std::uint64_t size_ = 0;
};

/// Ascending k-way merge of sorted key sequences: in-memory arrays, or run files read through
/// caller-provided blocks. A binary heap over the sources' current keys.
class KeyMerge {
 public:
  explicit KeyMerge(const char* fn) : fn_(fn) {}
  KeyMerge(const KeyMerge&) = delete;
  KeyMerge& operator=(const KeyMerge&) = delete;
  ~KeyMerge() {
    for (Source& s : src_)
      if (s.f) std::fclose(s.f);
  }

  void add_array(const std::uint64_t* keys, std::size_t n) {
    if (n > 0) src_.push_back(Source{keys, n, n, 0, nullptr, nullptr, nullptr, 0});
  }
  /// Reads `run` through `block` (capacity `cap` keys, owned by the caller).
  void add_run(const KeyRunFile& run, std::uint64_t* block, std::size_t cap) {
    if (run.size() == 0) return;
    std::FILE* f = std::fopen(run.path().c_str(), "rb");
    if (!f) {
      const int err = errno;
      throw IoError(message(fn_, ": cannot open the temporary file '", run.path(), "'", err ? ": " : "", err ? std::strerror(err) : ""));
    }
    src_.push_back(Source{block, cap, 0, 0, f, block, &run.path(), run.size()});
    refill(src_.back());
  }
  /// Call once every source is added.
  void start() {
    heap_.clear();
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i].pos < src_[i].len) heap_.push_back({src_[i].data[src_[i].pos], static_cast<std::uint32_t>(i)});
    for (std::size_t i = heap_.size() / 2; i-- > 0;) sift_down(i);
  }
  bool empty() const { return heap_.empty(); }
  std::uint64_t top() const { return heap_[0].key; }
  void pop() {
    Source& s = src_[heap_[0].src];
    if (++s.pos < s.len || refill(s)) {
      heap_[0].key = s.data[s.pos];
    } else {
      heap_[0] = heap_.back();
      heap_.pop_back();
      if (heap_.empty()) return;
    }
    sift_down(0);
  }

 private:
  struct Source {
    const std::uint64_t* data;  // current block (or the whole array)
    std::size_t cap, len, pos;
    std::FILE* f;               // null for an in-memory array
    std::uint64_t* block;
    const std::string* path;
    std::uint64_t left;         // keys still in the file
  };
  struct Entry {
    std::uint64_t key;
    std::uint32_t src;
  };

  bool refill(Source& s) {
    if (!s.f || s.left == 0) return false;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.cap, s.left));
    const std::size_t got = std::fread(s.block, sizeof(std::uint64_t), n, s.f);
    if (got != n)
      throw IoError(message(fn_, ": cannot read the temporary file '", *s.path, "'",
                            std::ferror(s.f) ? " (read error)" : " (shorter than written)"));
    s.left -= n;
    s.data = s.block;
    s.len = n;
    s.pos = 0;
    return true;
  }
  void sift_down(std::size_t i) {
    const std::size_t n = heap_.size();
    const Entry e = heap_[i];
    for (;;) {
      std::size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap_[c + 1].key < heap_[c].key) ++c;
      if (!(heap_[c].key < e.key)) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = e;
  }

  const char* fn_;
  std::vector<Source> src_;
  std::vector<Entry> heap_;
};

}  // namespace detail

}  // namespace ivkit
