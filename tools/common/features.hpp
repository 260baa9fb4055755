// Reading features for the tools, one utterance at a time (corpora larger than memory stream
// through), in a background thread so that reading overlaps the computation.
//
//  - FrameChunks: the frames of a whole table cut into chunks of a fixed number of frames (the
//    boundaries depend only on the data, so EM statistics summed chunk by chunk are the same for any
//    thread count), optionally every n-th frame only (Kaldi's subsample-feats), kept in memory after
//    the first pass when they fit in the cache, so later EM passes need not read the files again.
//  - for_each_utterance_batch: utterances in batches, for the statistics of the extractor tools.
//
// Every utterance is checked: its dimension must be the first utterance's, and its frames finite
// (ivkit::FormatError / NonFiniteInput naming the utterance and the rspecifier).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <ivkit/core/types.hpp>

namespace ivkit_tools {

class Progress;

/// The number of entries of a script-file rspecifier (for progress totals), 0 when it cannot be
/// known in advance (an archive, stdin).
std::size_t count_script_entries(const std::string& rspecifier);

/// Throws ivkit::NonFiniteInput naming the utterance, the frame and the table when a frame holds NaN or Inf.
void check_finite_frames(const ivkit::Matrix<float>& frames, const std::string& key, const std::string& rspecifier);

class FrameChunks {
 public:
  /// @param subsample keep frames 0, n, 2n, ... of each utterance (1 = all)
  /// @param chunk_frames frames per chunk
  /// @param cache_bytes keep the chunks in memory up to this size (0: never)
  FrameChunks(std::string rspecifier, int subsample, ivkit::Index chunk_frames, std::size_t cache_bytes);

  /// One pass over the data: `on_chunk` for each chunk, in order. `on_utterance` (may be empty) sees
  /// each utterance's frames (after subsampling) as they are read, in the reading thread. `progress`
  /// (may be null) counts frames once the total is known (after a first pass), utterances before.
  void pass(const std::function<void(const ivkit::Matrix<float>&)>& on_chunk,
            const std::function<void(const std::string&, const ivkit::Matrix<float>&)>& on_utterance, Progress* progress);

  bool counted() const { return counted_; }        ///< a pass has completed
  double num_frames() const { return frames_; }      ///< after a pass
  std::size_t num_utterances() const { return utterances_; }
  ivkit::Index dim() const { return dim_; }
  bool cached() const { return cache_complete_; }
  const std::string& rspecifier() const { return rspecifier_; }

 private:
  std::string rspecifier_;
  int subsample_;
  ivkit::Index chunk_frames_;
  std::size_t cache_limit_;
  std::vector<ivkit::Matrix<float>> cache_;
  std::size_t cache_bytes_ = 0;
  bool cache_enabled_ = true, cache_complete_ = false, counted_ = false;
  double frames_ = 0;
  std::size_t utterances_ = 0;
  ivkit::Index dim_ = -1;
};

struct Utterance {
  std::string key;
  ivkit::Matrix<float> frames;
};

/// Reads `rspecifier` in batches of up to `batch_size` utterances (in table order) and calls `f` on
/// each. `expected_dim` (> 0) is checked for every utterance (the UBM's dimension).
void for_each_utterance_batch(const std::string& rspecifier, std::size_t batch_size, ivkit::Index expected_dim,
                              const std::function<void(std::vector<Utterance>&)>& f);

}  // namespace ivkit_tools
