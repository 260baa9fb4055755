/// @file
/// A reusable buffer for large temporaries (tens to hundreds of MB). On Linux it is mapped with
/// MAP_POPULATE: the pages are faulted in by one system call instead of one page fault per 4 KiB
/// on first touch, which on a virtual machine costs as much as a fifth of a float product that
/// writes the buffer once. (Transparent huge pages were tried and made the products writing into
/// the buffer twice as slow on the virtual machine the benchmarks ran on.)
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ivkit::detail {

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
