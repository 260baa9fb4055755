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
//
// FeatureProcessing is Kaldi's sid feature pipeline done on the fly, so that no intermediate
// archive is needed: add-deltas, apply-cmvn-sliding, select-voiced-frames (in that order, as
// sid/*.sh run them), each optional; --sid-pipeline sets all three as sid's scripts do.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ivkit/core/types.hpp>

namespace CLI {
class App;
}

namespace ivkit_tools {

class Progress;
class Tool;

/// Per-utterance processing of the features as they are read.
class FeatureProcessing {
 public:
  int delta_order = 0;        ///< add-deltas --delta-order (0: no deltas)
  int delta_window = 2;       ///< add-deltas --delta-window
  int cmn_window = 0;         ///< apply-cmvn-sliding --cmn-window (0: no sliding CMN)
  bool cmn_center = true;     ///< apply-cmvn-sliding --center (sid passes true; Kaldi's default is false)
  bool cmn_norm_vars = false; ///< apply-cmvn-sliding --norm-vars
  int cmn_min_window = 100;   ///< apply-cmvn-sliding --min-cmn-window (with --center=false)
  std::string vad_rspecifier; ///< select-voiced-frames with this VAD table (empty: all frames)
  bool sid = false;           ///< --sid-pipeline: delta order 2, window 3, CMN window 300 centred, VAD required

  /// Adds --delta-order, --delta-window, --cmn-window, --cmn-center, --cmn-norm-vars, --vad-rspecifier and --sid-pipeline.
  void add_options(CLI::App& app);
  /// After parsing: applies --sid-pipeline, checks the options and says what runs on the fly
  /// (through `tool`). @throws UsageError
  void finish_options(const CLI::App& app, const Tool& tool);
  bool active() const { return delta_order > 0 || cmn_window > 0 || !vad_rspecifier.empty(); }
  /// "deltas (order 2, window 3), sliding CMN (300 frames, centred), voiced frames of 'scp:vad.scp'", or "" when inactive.
  std::string describe() const;

  /// The processed frames of utterance `key` read from `rspecifier`. Not thread-safe (reads the VAD table).
  /// @throws ivkit::Error naming the utterance (no VAD entry, a VAD of another length)
  ivkit::Matrix<float> apply(const std::string& key, ivkit::Matrix<float> frames, const std::string& rspecifier);

  FeatureProcessing();
  ~FeatureProcessing();
  FeatureProcessing(const FeatureProcessing&) = delete;
  FeatureProcessing& operator=(const FeatureProcessing&) = delete;

 private:
  struct Vad;
  std::unique_ptr<Vad> vad_;
};

/// The number of entries of a script-file rspecifier (for progress totals), 0 when it cannot be
/// known in advance (an archive, stdin).
std::size_t count_script_entries(const std::string& rspecifier);

/// Throws ivkit::NonFiniteInput naming the utterance, the frame and the table when a frame holds NaN or Inf.
void check_finite_frames(const ivkit::Matrix<float>& frames, const std::string& key, const std::string& rspecifier);

/// Which utterances of a table this process takes: those whose position i (from 0, in table order)
/// has i % count == index (the ranks of an MPI run).
struct Shard {
  int index = 0, count = 1;
};

class FrameChunks {
 public:
  /// @param subsample keep frames 0, n, 2n, ... of each utterance (1 = all)
  /// @param chunk_frames frames per chunk
  /// @param cache_bytes keep the chunks in memory up to this size (0: never)
  /// @param processing applied to each utterance as it is read (may be null)
  /// @param shard the utterances this process reads (MPI ranks)
  FrameChunks(std::string rspecifier, int subsample, ivkit::Index chunk_frames, std::size_t cache_bytes, FeatureProcessing* processing = nullptr,
              Shard shard = {});

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
  bool subsampled() const { return subsample_ > 1; }
  const std::string& rspecifier() const { return rspecifier_; }

 private:
  std::string rspecifier_;
  FeatureProcessing* processing_;
  Shard shard_;
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
/// each. `expected_dim` (> 0) is checked for every utterance (the UBM's dimension), after
/// `processing` (may be null). Only the utterances of `shard` are processed.
void for_each_utterance_batch(const std::string& rspecifier, std::size_t batch_size, ivkit::Index expected_dim,
                              const std::function<void(std::vector<Utterance>&)>& f, FeatureProcessing* processing = nullptr,
                              Shard shard = {});

}  // namespace ivkit_tools
