/// @file
/// Deterministic parallel loops over fixed-size blocks.
///
/// Work is cut into blocks whose boundaries do not depend on the thread count; reductions give
/// each block its own partial accumulator and add the partials strictly in block order. Results are
/// therefore bit-identical for 1 and N threads. Plain std::thread: a build without OpenMP works.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// The options of a call whose only option is its thread count (cosine and PLDA scoring, score
/// normalisation, dense scores). Every parallel call in ivkit asks for threads the same way, as the
/// `num_threads` field of its options struct (this one, ScoringOptions, ExtractionOptions,
/// ScoreNormOptions, ...): 1 by default, 0 = all hardware threads, and results that do not depend on
/// it (docs/conventions.md).
struct ThreadOptions {
  int num_threads = 1;  ///< worker threads; 0 = all hardware threads
};

/// Number of worker threads actually used for `requested` (0 means all hardware threads).
inline int resolve_num_threads(int requested) {
  if (requested < 0)
    throw InvalidArgument(detail::message("resolve_num_threads: num_threads must be >= 0, got ", requested));
  if (requested == 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
  }
  return requested;
}

/// Number of blocks of `block_size` items needed to cover `num_items` items.
inline Index num_blocks(Index num_items, Index block_size) {
  return num_items <= 0 ? 0 : (num_items + block_size - 1) / block_size;
}

/// Calls `body(block, state)` for every block in [0, num_blocks) on up to `num_threads` threads
/// (0 = all hardware threads), where `state` is the running thread's own `make_state()`, made once
/// per thread and reused for all the blocks that thread runs. Scratch buffers belong there: a
/// buffer of a few hundred KiB made afresh for every block is a new mapping from the allocator
/// each time, and every 4 KiB page of it costs a page fault on first touch (measured: 92% of a
/// diagonal GMM's frame log-likelihoods, C = 64, D = 40, float64). Blocks must write disjoint
/// outputs and must not depend on what an earlier block left in `state`. If bodies (or
/// make_state) throw, the exception of the lowest-numbered failing block is rethrown, so the
/// error a caller sees does not depend on the thread count.
template <class MakeState, class Body>
void parallel_for_blocks_with_state(Index num_blocks, int num_threads, MakeState&& make_state, Body&& body) {
  const int threads = static_cast<int>(std::min<Index>(resolve_num_threads(num_threads), num_blocks));
  if (threads <= 1) {
    if (num_blocks == 0) return;
    auto state = make_state();
    for (Index b = 0; b < num_blocks; ++b) body(b, state);
    return;
  }
  std::atomic<Index> next{0};
  std::atomic<Index> first_failed{num_blocks};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto fail = [&](Index b) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (b < first_failed.load()) {
      first_failed.store(b);
      error = std::current_exception();
    }
  };
  auto worker = [&] {
    std::optional<decltype(make_state())> state;
    for (;;) {
      const Index b = next.fetch_add(1);
      if (b >= num_blocks || b > first_failed.load()) return;
      try {
        if (!state) state.emplace(make_state());
        body(b, *state);
      } catch (...) {
        fail(b);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

/// Calls `body(block)` for every block in [0, num_blocks) on up to `num_threads` threads
/// (0 = all hardware threads). Blocks must write disjoint outputs. If bodies throw, the exception
/// of the lowest-numbered failing block is rethrown, so the error a caller sees does not depend on
/// the thread count. (Blocks that need scratch space: parallel_for_blocks_with_state.)
template <class Body>
void parallel_for_blocks(Index num_blocks, int num_threads, Body&& body) {
  struct NoState {};
  parallel_for_blocks_with_state(num_blocks, num_threads, [] { return NoState{}; }, [&](Index b, NoState&) { body(b); });
}

/// Whether ordered_block_reduce(num_blocks, num_threads, ...) runs on the calling thread alone,
/// combining each partial right after computing it (a caller may then add into its total directly).
inline bool block_reduce_is_serial(Index num_blocks, int num_threads) {
  return std::min<Index>(resolve_num_threads(num_threads), num_blocks) <= 1;
}

/// Deterministic reduction over blocks.
///
/// For each block `b`, `compute(b, p)` fills a partial accumulator `p`, and `combine(p)` is called
/// with the partials strictly in block order 0, 1, 2, ... whatever the thread count. At most a
/// small window of partials is alive at once and they are recycled, so memory and allocations do
/// not grow with the number of blocks.
/// @param make_partial  () -> Partial, creates an accumulator
/// @param compute       (Index block, Partial&) -> void; must overwrite (reset) the partial it gets,
///                      which may hold a previous block's values
/// @param combine       (Partial&) -> void, adds a partial to the caller's total (called serially)
template <class MakePartial, class Compute, class Combine>
void ordered_block_reduce(Index num_blocks, int num_threads, MakePartial&& make_partial, Compute&& compute,
                          Combine&& combine) {
  using Partial = decltype(make_partial());
  const int threads = static_cast<int>(std::min<Index>(resolve_num_threads(num_threads), num_blocks));
  if (block_reduce_is_serial(num_blocks, num_threads)) {
    if (num_blocks == 0) return;
    Partial p = make_partial();
    for (Index b = 0; b < num_blocks; ++b) {
      compute(b, p);
      combine(p);
    }
    return;
  }
  const Index window = 2 * static_cast<Index>(threads);
  std::vector<std::optional<Partial>> slots(static_cast<std::size_t>(window));
  std::vector<Partial> free_list;  // recycled partials, guarded by mutex
  std::mutex mutex;
  std::condition_variable slot_freed;
  Index next_block = 0;     // guarded by mutex
  Index next_commit = 0;    // guarded by mutex
  Index first_failed = num_blocks;
  std::exception_ptr error;

  auto worker = [&] {
    for (;;) {
      Index b;
      {
        std::unique_lock<std::mutex> lock(mutex);
        slot_freed.wait(lock, [&] {
          return next_block >= num_blocks || first_failed < num_blocks || next_block < next_commit + window;
        });
        if (next_block >= num_blocks || first_failed < num_blocks) return;
        b = next_block++;
      }
      std::optional<Partial> p;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!free_list.empty()) {
          p.emplace(std::move(free_list.back()));
          free_list.pop_back();
        }
      }
      try {
        if (!p) p.emplace(make_partial());
        compute(b, *p);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (b < first_failed) {
          first_failed = b;
          error = std::current_exception();
        }
        slot_freed.notify_all();
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex);
      slots[static_cast<std::size_t>(b % window)] = std::move(p);
      // Commit every finished partial that is next in block order; the order never depends on timing.
      try {
        while (next_commit < num_blocks && first_failed == num_blocks) {
          auto& slot = slots[static_cast<std::size_t>(next_commit % window)];
          if (!slot) break;
          combine(*slot);
          free_list.push_back(std::move(*slot));
          slot.reset();
          ++next_commit;
        }
      } catch (...) {
        if (next_commit < first_failed) {
          first_failed = next_commit;
          error = std::current_exception();
        }
      }
      slot_freed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ivkit
