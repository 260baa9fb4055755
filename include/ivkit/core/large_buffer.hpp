/// @file
/// Large memory: a reusable buffer for large temporaries (tens to hundreds of MB), and
/// prepare_large_table for large tables kept for a whole run.
/// The buffer is mapped with MAP_POPULATE on Linux: the pages are faulted in by one system call
/// instead of one page fault per 4 KiB on first touch, which on a virtual machine costs as much as
/// a fifth of a float product that writes the buffer once. (Transparent huge pages were tried for
/// it and made the products rewriting it every batch twice as slow on the virtual machine the
/// benchmarks ran on; for the model tables and accumulators, written once and then read by every
/// batch, they were the faster choice on the same machine: see prepare_large_table.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace ivkit::detail {

/// Makes the pages of a large table that is about to be written ([p, p + bytes), e.g. an Eigen
/// matrix just resized) present before the first write: transparent huge pages where the kernel
/// offers them, then all pages faulted in by one call (Linux 5.14's MADV_POPULATE_WRITE). An
/// extractor's tables (850 MB at C = 2048, R = 400) otherwise take one page fault per 4 KiB, and
/// with 4 KiB pages every later pass over them misses the TLB: on the virtual machine the
/// benchmarks ran on, writing 1 GB took 2.7 s that way and 0.1-1.0 s this way (the range: how
/// readily the kernel found free huge pages; most of it zeroing them). Below 8 MB, on other
/// systems or on older kernels it does nothing (the memory is then faulted in as it is written).
inline void prepare_large_table(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (!p || bytes < (std::size_t{8} << 20)) return;
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / page * page;
  if (end <= begin) return;
#if defined(MADV_HUGEPAGE)
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // a hint: may be refused
#endif
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);  // EINVAL before 5.14: no harm
#else
  (void)p;
  (void)bytes;
#endif
}

template <class T>
class LargeBuffer {
 public:
  LargeBuffer() = default;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  ~LargeBuffer() { release(); }

  /// Room for at least `count` elements (contents not kept when it grows); aligned to 64 bytes.
  T* reserve(std::size_t count) {
    if (count <= capacity_) return data_;
    release();
    const std::size_t bytes = (count * sizeof(T) + 4095) / 4096 * 4096;
#if defined(__linux__) && defined(MAP_POPULATE)
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mapped_ = true;
#else
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    mapped_ = false;
#endif
    data_ = static_cast<T*>(p);
    bytes_ = bytes;
    capacity_ = bytes / sizeof(T);
    return data_;
  }

 private:
  void release() {
    if (!data_) return;
#if defined(__linux__) && defined(MAP_POPULATE)
    if (mapped_) munmap(data_, bytes_);
#endif
    if (!mapped_) std::free(data_);
    data_ = nullptr;
    capacity_ = bytes_ = 0;
  }

  T* data_ = nullptr;
  std::size_t capacity_ = 0, bytes_ = 0;
  bool mapped_ = false;
};

}  // namespace ivkit::detail
