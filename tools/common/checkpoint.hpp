// Checkpoints of the training tools. After EM iteration N the model goes to `<out>.iterN` (always
// ivkit's format, which round-trips float models exactly), then the index `<out>.checkpoint`
// (text: tool, iterations done, model file, and the options that determine the result) is
// replaced atomically, then `<out>.iter<N-1>` is removed. A crash at any point leaves an index that
// names a complete model. --resume reads the index, checks that the options are the same, and
// continues after the recorded iteration; since every iteration depends only on the model, the data
// and the iteration number (random choices are seeded from the seed and the iteration), the final
// model is the one an uninterrupted run writes. When the final model is written, the index and the
// last iteration file are removed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ivkit_tools {

/// The options that determine a training run's result, in a fixed order.
using Fingerprint = std::vector<std::pair<std::string, std::string>>;

struct CheckpointState {
  int iterations_done = 0;
  std::string model_path;  ///< the model after `iterations_done` iterations
};

class Checkpointer {
 public:
  Checkpointer(std::string tool, const std::string& output, Fingerprint fingerprint);

  /// `<out>.checkpoint`
  const std::string& index_path() const { return index_; }

  /// The recorded state, or nothing when there is no index file.
  /// @throws ivkit::FormatError for a malformed index or one written by another tool;
  ///         ivkit::InvalidArgument when it was written with other options (naming the first one)
  std::optional<CheckpointState> load() const;

  /// Records the model after `iterations_done` iterations: `save_model(path)` writes it to
  /// `<out>.iter<iterations_done>`, then the index is replaced and the previous iteration file removed.
  void save(int iterations_done, const std::function<void(const std::string&)>& save_model);

  /// Tells the checkpointer that the run continues from the model after `iterations_done` iterations
  /// (its file is removed with the next save, or by remove()).
  void resumed(int iterations_done);

  /// Removes the index and the last iteration file (after the final model is written).
  void remove();

 private:
  std::string model_path(int iterations) const;

  std::string tool_, output_, index_;
  Fingerprint fingerprint_;
  int last_saved_ = -1;
};

}  // namespace ivkit_tools
